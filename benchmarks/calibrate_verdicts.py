"""The verdict calibration grid: learning rates × epochs × training-set sizes, with the evidence.

    python benchmarks/calibrate_verdicts.py [--limits 500,2000,all] [--epochs 3] [--seed 0]
                                            [--lrs 1e-7,1e-5,1e-4,1e-3,0.01,0.05,0.1,0.3,0.5,1]
                                            [--mnist /work/shared/data] [--save grid.json] [--load grid.json]
                                            [--details]
    python benchmarks/calibrate_verdicts.py --cases [--only wd0.5,b256] [--save cases.json | --load cases.json]
    python benchmarks/calibrate_verdicts.py --choices [--cases] [--mnist DIR] [--only sgd,adam] [--save runs.json]
    python benchmarks/calibrate_verdicts.py --load runs.json[,more.json] [--indep results.json]

For each training-set size, one stacked sweep trains every lr for ``--epochs`` epochs (SGD,
batch 10, the 5k digits; ``--mnist DIR`` adds full MNIST from a torchvision folder). Because a
run's first n epochs are exactly an n-epoch run of the same seed, judging the first n epochs
(and the probes up to epoch n) gives the n-epoch row without training again. Each cell prints
the label and the evidence: validation accuracy, the median update ratio over layers, the
largest dead fraction, the top-class share, and the probe's best step relative to the lr.
``--save`` keeps the raw runs (JSON) so ``--load`` can re-judge them after a rule changes;
``--details`` adds every cell's reason and hint. Cost here (one CPU core): ~2 min for the
three 5k-digit sets at 4 epochs, ~6 min for full MNIST at 3 epochs and 6 lrs.

``--choices`` moves one factor at a time around SGD lr 0.01, batch 10, 1,000 digits, 3 epochs (:data:`GROUPS`:
optimizer × lr, epochs 1-5, batch, weight decay, training-set size, full MNIST with ``--mnist``; with
``--cases`` the cases too), judges every run after each epoch by lrtui and by the stated criterion of
``expected_verdicts.py`` (apart from lrtui's verdict), and prints setting | measured | expected | lrtui |
agree?; ``--load a.json,b.json --indep results.json`` re-judges saved runs and sets an independent
re-implementation's labels beside them (~35 min of one core for all 58 runs).

``--cases`` runs the settings outside that grid, where the first verdicts misled (:data:`CASES`:
weight decay, batch 256, momentum, Adam, 100 digits, lrs at the edge), one run each, and prints
each case's label next to what it should be, then every reason and hint (~1.5 min here).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from expected_verdicts import Curve, expected  # beside this script: the criterion apart from lrtui's

from lrtui.engine.config import RunConfig
from lrtui.engine.events import EpochEnd, Event, ProbeResult, RunStarted, Verdict
from lrtui.engine.records import Diagnostics, EpochRecord, ProbeRecord
from lrtui.engine.sweep import BATCHABLE_OPTIMIZERS, run_many
from lrtui.engine.trainer import train
from lrtui.engine.verdict import judge, probe_gain

DEFAULT_LRS = "1e-7,1e-5,1e-4,1e-3,0.01,0.05,0.1,0.3,0.5,1"


def collect(config: RunConfig, lrs: list[float]) -> dict[str, dict[str, Any]]:
    """Train every lr (one stacked sweep); per lr: status, epoch dicts (with diagnostics), probes."""
    runs: dict[str, dict[str, Any]] = {
        f"r{i}": {"lr": lr, "epochs": [], "probes": [], "status": ""} for i, lr in enumerate(lrs)
    }

    ends = run_many([config.with_lr(lr) for lr in lrs], list(runs), lambda event: keep(runs[event.run_id], event))
    for end in ends:
        runs[end.run_id]["status"] = str(end.status)
        runs[end.run_id]["diverged_at"] = end.diverged_at
    return runs


def keep(run: dict[str, Any], event: Event) -> None:
    """Store what the verdict reads of ``event`` in ``run``: epochs, probes, the setting (config, set sizes)."""
    if isinstance(event, RunStarted):
        run.update(config=event.config.to_dict(), n_train=event.n_train, n_val=event.n_val)
    elif isinstance(event, EpochEnd):
        run["epochs"].append(event.record())
    elif isinstance(event, ProbeResult):
        run["probes"].append(ProbeRecord.of(event))


def evidence(run: dict[str, Any], n: int) -> str:
    """The numbers behind a cell's label, short."""
    epochs = run["epochs"][:n]
    if not epochs:
        return "diverged in epoch 1" if run["status"] == "diverged" else "-"
    last = epochs[-1]
    diag = last.diagnostics or Diagnostics()
    ratios = [r for r in diag.update_ratio.values() if r is not None]
    ratio = f"{statistics.median(ratios):.0e}" if ratios else "?"
    dead = max(v or 0.0 for v in (diag.dead_fraction or {"-": 0.0}).values())
    probes = [p for p in run["probes"] if p.epoch <= n]
    gain = probe_gain(probes[-1]) if probes else None
    best = f"{gain[0] / run['lr']:.0e}x" if gain else "?"
    return (
        f"acc {100 * (last.val_acc or 0):.0f}% r {ratio} dead {100 * dead:.0f}% "
        f"top {100 * (diag.top_class_share or 0):.0f}% best {best}"
    )


def label(run: dict[str, Any], n: int) -> Verdict:
    """The verdict the first ``n`` epochs of ``run`` get (its probes up to epoch ``n``), in its setting."""
    status = run["status"] if n >= len(run["epochs"]) else "finished"
    config = RunConfig.from_dict(run["config"]) if run.get("config") else None
    return judge(
        run["epochs"][:n],
        status,
        probes=[p for p in run["probes"] if p.epoch <= n],
        config=config,
        n_train=run.get("n_train"),
        n_val=run.get("n_val"),
    )


def summary(grid: dict[str, dict[str, dict[str, Any]]], epochs: int) -> None:
    """One line per lr: label, validation accuracy, median update ratio, largest dead fraction per epoch."""
    for name, runs in grid.items():
        print(f"\n## {name}: label  val acc  median ‖Δw‖/‖w‖  dead (max layer)")
        print("lr      | " + " | ".join(f"{n} epoch{'s' if n > 1 else ' '}".ljust(33) for n in range(1, epochs + 1)))
        for run in runs.values():
            cells = []
            for n in range(1, epochs + 1):
                if n > len(run["epochs"]):
                    cells.append(f"{str(label(run, n)):14s} (stopped)".ljust(33))
                    continue
                e = run["epochs"][n - 1]
                d = e.diagnostics or Diagnostics()
                ratio = statistics.median([r for r in d.update_ratio.values() if r is not None] or [math.nan])
                dead = max([f for f in d.dead_fraction.values() if f is not None] or [math.nan])
                cells.append(
                    f"{str(label(run, n).label):14s} {100 * (e.val_acc or 0):3.0f}% {ratio:7.1e} {100 * dead:3.0f}%"
                )
            print(f"{run['lr']:<7g} | " + " | ".join(cells))


def table(grid: dict[str, dict[str, dict[str, Any]]], epochs: int) -> None:
    """Every cell with its evidence, its reason and its hint."""
    for name, runs in grid.items():
        print(f"\n## {name}")
        for run in runs.values():
            print(f"lr {run['lr']:g}")
            for n in range(1, epochs + 1):
                v = label(run, n)
                print(f"  {n} ep: {str(v.label):15s} {evidence(run, n):60s} | {v.reason} | hint: {v.hint}")


@dataclass(frozen=True)
class Case:
    """One setting outside the reference grid, and what its verdict should say."""

    key: str  #: for ``--only``
    setting: str
    expected: str
    changes: dict[str, Any] = field(default_factory=dict)  #: RunConfig fields over :data:`CASE_BASE`


#: The 5k digits (3,200 training / 800 validation images), SGD lr 0.01, batch 10, 3 epochs, seed 0.
CASE_BASE = RunConfig(lr=0.01, batch_size=10, epochs=3, seed=0, device="cpu", log_every=10**9)
CASES: tuple[Case, ...] = (
    Case(
        "wd0.5",
        "SGD lr 0.01, weight decay 0.5",
        "not learning: weight decay named, a smaller wd",
        {"weight_decay": 0.5},
    ),
    Case("wd0.1", "SGD lr 0.01, weight decay 0.1", "may stay; most of the step is decay", {"weight_decay": 0.1}),
    Case("b256", "SGD lr 0.01, batch 256", "too slow: 13 steps per epoch, lr with the batch", {"batch_size": 256}),
    Case("mom0.9", "SGD lr 0.1, momentum 0.9", "not learning: effective step named", {"lr": 0.1, "momentum": 0.9}),
    Case(
        "lr0.3s1",
        "lr 0.3, seed 1, 800 digits",
        "unstable if its accuracy falls",
        {"lr": 0.3, "seed": 1, "train_limit": 800},
    ),
    Case(
        "lr0.4s0",
        "lr 0.4, seed 0, 800 digits",
        "unstable: accuracy fell, a smaller lr",
        {"lr": 0.4, "train_limit": 800},
    ),
    Case("adam1e-4", "Adam 1e-4", "still learning: the loss still falling", {"optimizer": "adam", "lr": 1e-4}),
    Case(
        "tiny100",
        "100 digits, lr 0.1, 20 epochs (25 validation)",
        "overfitting, with the interval",
        {"lr": 0.1, "train_limit": 100, "epochs": 20},
    ),
    Case(
        "lr0.5_1k",
        "lr 0.5, 1 epoch, 1,000 digits",
        "unstable or not learning: dead share, a smaller lr",
        {"lr": 0.5, "train_limit": 1000, "epochs": 1},
    ),
    Case("adam1e-2", "Adam 1e-2", "may stay; the dead share named", {"optimizer": "adam", "lr": 1e-2}),
    Case(
        "adam1e-3",
        "Adam 1e-3 (the best region)",
        "learning; fc1 ~50% dead is no failure",
        {"optimizer": "adam", "lr": 1e-3},
    ),
    Case("lr0.1", "lr 0.1, 5 epochs (the best SGD run)", "not called large", {"lr": 0.1, "epochs": 5}),
    Case("lr0.01", "lr 0.01, 5 epochs (the lesson)", "converged", {"epochs": 5}),
)


def run_case(case: Case, device: str) -> dict[str, Any]:
    """One case's run, stored as :func:`keep` stores a grid cell's."""
    run: dict[str, Any] = {"lr": case.changes.get("lr", CASE_BASE.lr), "epochs": [], "probes": []}
    end = train(replace(CASE_BASE, device=device, **case.changes), lambda event: keep(run, event))
    run.update(status=str(end.status), diverged_at=end.diverged_at)
    return run


def show_cases(runs: dict[str, dict[str, Any]]) -> None:
    """Each case's label against what it should be, its validation accuracy by epoch, then every reason and hint."""
    cases = {c.key: c for c in CASES}
    print("\n## settings outside the reference grid (the 5k digits, seed 0, 3 epochs unless named)")
    print(
        f"{'case':9s} | {'setting':47s} | {'label':14s} | {'should be':50s} | val acc by epoch (median ratio, "
        "most dead)"
    )
    for key, run in runs.items():
        case, n = cases[key], len(run["epochs"])
        accs = " ".join(f"{100 * (e.val_acc or 0):.1f}" for e in run["epochs"])
        print(
            f"{key:9s} | {case.setting:47s} | {str(label(run, n).label):14s} | {case.expected:50s} | "
            f"{accs} ({evidence_short(run)})"
        )
    print()
    for key, run in runs.items():
        v = label(run, len(run["epochs"]))
        print(f"{key}: {v.label}: {v.reason}\n    hint: {v.hint}")


def evidence_short(run: dict[str, Any]) -> str:
    diag = (run["epochs"][-1].diagnostics if run["epochs"] else None) or Diagnostics()
    ratios = [r for r in diag.update_ratio.values() if r is not None]
    dead = max(((k, v or 0.0) for k, v in (diag.dead_fraction or {"-": 0.0}).items()), key=lambda kv: kv[1])
    ratio = f"{statistics.median(ratios):.1e}" if ratios else "?"
    return f"{ratio}, {100 * dead[1]:.0f}% of {dead[0]}"


@dataclass(frozen=True)
class Group:
    """One factor moved away from :data:`CHOICE_BASE` (``changes``), over a few lrs: one sweep (stacked for SGD)."""

    key: str  #: for ``--only``
    setting: str
    changes: dict[str, Any]
    lrs: tuple[float, ...]


#: The reference of ``--choices``: SGD, batch 10, no weight decay, 3 epochs, 1,000 training digits (250 validation).
CHOICE_BASE = replace(CASE_BASE, train_limit=1000)
GROUPS: tuple[Group, ...] = (
    Group("sgd", "SGD, epochs 1-5", {"epochs": 5}, (1e-4, 1e-3, 0.01, 0.05, 0.1, 0.3, 0.5, 1.0)),
    Group("momentum", "SGD momentum 0.9", {"optimizer": "sgd-momentum", "momentum": 0.9}, (1e-4, 1e-3, 0.01, 0.1)),
    Group("nesterov", "Nesterov 0.9", {"optimizer": "nesterov", "momentum": 0.9}, (1e-4, 1e-3, 0.01, 0.1)),
    Group("adam", "Adam", {"optimizer": "adam"}, (1e-5, 1e-4, 1e-3, 1e-2, 0.1)),
    Group("rmsprop", "RMSprop", {"optimizer": "rmsprop"}, (1e-5, 1e-4, 1e-3, 1e-2)),
    Group("batch64", "batch 64", {"batch_size": 64}, (0.01, 0.1, 0.5)),
    Group("batch256", "batch 256", {"batch_size": 256}, (0.01, 0.1, 0.5)),
    Group("decay1e-3", "weight decay 1e-3", {"weight_decay": 1e-3}, (0.01, 0.1)),
    Group("decay0.1", "weight decay 0.1", {"weight_decay": 0.1}, (0.01, 0.1)),
    Group("decay0.5", "weight decay 0.5", {"weight_decay": 0.5}, (0.01, 0.1)),
    Group("n100", "100 training digits", {"train_limit": 100}, (0.01, 0.1)),
    Group("n300", "300 training digits", {"train_limit": 300}, (0.01, 0.1)),
    Group("n3200", "3,200 training digits (all)", {"train_limit": None}, (0.01, 0.1)),
    Group("mnist", "full MNIST (48k), 2 epochs", {"dataset": "mnist", "train_limit": None, "epochs": 2}, (0.01, 0.1)),
)


def run_group(group: Group, device: str, mnist: str | None) -> dict[str, dict[str, Any]]:
    """A group's runs (stacked where the engine stacks), stored as :func:`keep` stores a grid cell's."""
    changes = {**group.changes, **({"data_dir": mnist} if group.key == "mnist" and mnist else {})}
    config = replace(CHOICE_BASE, device=device, **changes)
    runs: dict[str, dict[str, Any]] = {
        f"{group.key} lr {lr:g}": {"lr": lr, "epochs": [], "probes": [], "status": ""} for lr in group.lrs
    }
    ends = run_many(
        [config.with_lr(lr) for lr in group.lrs],
        list(runs),
        lambda e: keep(runs[e.run_id], e),
        batched=True if config.optimizer in BATCHABLE_OPTIMIZERS else None,
    )
    for end in ends:
        runs[end.run_id].update(status=str(end.status), diverged_at=end.diverged_at)
    return runs


def saved(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Runs as plain JSON: the records by their ``to_dict``."""
    return {
        k: {**run, "epochs": [e.to_dict() for e in run["epochs"]], "probes": [p.to_dict() for p in run["probes"]]}
        for k, run in runs.items()
    }


def loaded(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """:func:`saved`'s runs with their records back (older files kept epochs as dicts without probes: judged so)."""

    def epoch(e: Any) -> EpochRecord:
        d = e.get("diagnostics") if isinstance(e, dict) else None
        fields = {k: e.get(k) for k in ("train_loss", "train_acc", "val_loss", "val_acc", "seconds")}
        return EpochRecord.of(e["epoch"], **fields, diagnostics=None if d is None else Diagnostics.of(**d))

    def probe(p: dict[str, Any]) -> ProbeRecord:
        def tup(x: Any) -> Any:
            return None if x is None else tuple(x)

        return ProbeRecord(
            p["epoch"],
            tuple(p["lrs"]),
            tuple(p["losses"]),
            p.get("current_lr"),
            p.get("base_loss"),
            tup(p.get("raised_fraction")),
            tup(p.get("dead_after")),
            p.get("minibatches"),
        )

    return {
        k: {
            **run,
            "epochs": [epoch(e) for e in run["epochs"]],
            "probes": [probe(p) for p in run["probes"] if isinstance(p, dict)],
        }
        for k, run in runs.items()
    }


def curves(run: dict[str, Any]) -> list[Curve]:
    """The plain numbers per epoch that :func:`expected_verdicts.expected` reads."""
    out = []
    for e in run["epochs"]:
        d = e.diagnostics or Diagnostics()
        ratios = [r for r in d.update_ratio.values() if r is not None]
        largest = [r for r in (d.update_ratio_max or d.update_ratio).values() if r is not None]
        dead = [f for f in d.dead_fraction.values() if f is not None]
        out.append(
            Curve(
                e.train_loss,
                e.train_acc,
                e.val_loss,
                e.val_acc,
                statistics.median(ratios) if ratios else None,
                max(largest, default=None),
                max(dead, default=None),
            )
        )
    return out


@dataclass(frozen=True)
class Cell:
    """One judged cell: a run's first ``n`` epochs, what its curves call for and what lrtui says."""

    group: str
    lr: float
    n: int
    measured: str
    expected: str
    lrtui: str

    @property
    def agree(self) -> bool:
        return self.expected == self.lrtui


def cells(group: str, run: dict[str, Any], ns: list[int]) -> list[Cell]:
    """``run`` judged at each of ``ns`` epochs, by the stated criterion and by lrtui."""
    out, all_curves = [], curves(run)
    n_val = int(run.get("n_val") or 800)
    for n in ns:
        status = run["status"] if n >= len(run["epochs"]) else "finished"
        c = all_curves[:n]
        accs = " ".join(f"{100 * (x.val_acc or 0):.0f}" for x in c) or "-"
        fall = (
            f"{100 * (c[-1].train_loss - c[-2].train_loss) / c[-2].train_loss:+.0f}%"
            if (len(c) >= 2 and c[-2].train_loss and c[-1].train_loss is not None)
            else "-"
        )
        step = f"{c[-1].largest_step:.0e}" if c and c[-1].largest_step is not None else "?"
        dead = f"{100 * c[-1].dead:.0f}%" if c and c[-1].dead is not None else "?"
        measured = f"acc {accs}; loss {fall}; step {step}; dead {dead}" + (
            "" if status == "finished" else f"; {status}"
        )
        out.append(Cell(group, run["lr"], n, measured, expected(c, status, n_val), str(label(run, n).label)))
    return out


def all_cells(groups: dict[str, dict[str, dict[str, Any]]], cases: dict[str, dict[str, Any]]) -> list[Cell]:
    """Every group run at each of its epochs, every case at its last."""
    out = []
    for runs in groups.values():
        for key, run in runs.items():
            out.extend(cells(key.rsplit(" lr ", 1)[0], run, list(range(1, max(len(run["epochs"]), 1) + 1))))
    for key, run in cases.items():
        out.extend(cells(f"case {key}", run, [max(len(run["epochs"]), 1)]))
    return out


def show_cells(found: list[Cell]) -> None:
    """setting | measured | expected | lrtui | agree?, then the counts and every disagreement."""
    print(
        f"\n{'setting':24s} | {'measured (val acc %/epoch; last train-loss fall; largest step; most dead)':62s} | "
        f"{'expected':14s} | {'lrtui':14s} | agree?"
    )
    for c in found:
        print(
            f"{c.group + f' lr {c.lr:g} {c.n}ep':24s} | {c.measured:62s} | {c.expected:14s} | {c.lrtui:14s} | "
            f"{'yes' if c.agree else 'NO'}"
        )
    off = [c for c in found if not c.agree]
    print(f"\n{len(found)} cells: {len(found) - len(off)} agree, {len(off)} disagree")


def setting_key(
    optimizer: str, momentum: float, lr: float, batch: int, wd: float, limit: int | None
) -> tuple[Any, ...]:
    """What two runs must share to be the same cell (SGD with momentum is sgd-momentum)."""
    name = "sgd-momentum" if optimizer == "sgd" and momentum else optimizer
    return name, float(momentum), round(float(lr), 12), int(batch), float(wd), limit


def show_indep(file: str, groups: dict[str, dict[str, dict[str, Any]]], cases: dict[str, dict[str, Any]]) -> None:
    """An independent re-implementation's labels (a JSON list of cells: optimizer, lr, batch, weight_decay,
    momentum, train_limit, epochs, seed, label) next to the criterion's and lrtui's for the same setting here
    (seed 0 here; the other implementation splits the 5k digits its own way)."""
    with open(file, encoding="utf-8") as f:
        theirs = json.load(f)
    mine: dict[tuple[Any, ...], tuple[str, dict[str, Any]]] = {}
    for name, run in [(k, r) for runs in groups.values() for k, r in runs.items()] + list(cases.items()):
        c = run.get("config") or {}
        if c.get("dataset", "mnist-5k") == "mnist-5k":
            key = setting_key(
                c["optimizer"], c["momentum"], c["lr"], c["batch_size"], c["weight_decay"], c.get("train_limit")
            )
            if key not in mine or len(run["epochs"]) > len(mine[key][1]["epochs"]):
                mine[key] = (name, run)
    print(
        f"\n{'independent cell':18s} | {'their label':14s} | {'here':30s} | {'expected':14s} | "
        f"{'lrtui':14s} | they = expected? | they = lrtui?"
    )
    same = same_lrtui = compared = 0
    for t in theirs:
        key = setting_key(t["optimizer"], t["momentum"], t["lr"], t["batch"], t["weight_decay"], t["train_limit"])
        if key not in mine or len(mine[key][1]["epochs"]) < t["epochs"]:
            print(f"{t['cell']:18s} | {t['label']:14s} | (no such run here)")
            continue
        name, run = mine[key]
        cell = cells(name, run, [t["epochs"]])[0]
        compared += 1
        same += cell.expected == t["label"]
        same_lrtui += cell.lrtui == t["label"]
        seed = (run.get("config") or {}).get("seed")
        print(
            f"{t['cell']:18s} | {t['label']:14s} | {name + ' ' + str(t['epochs']) + 'ep seed ' + str(seed):30s} | "
            f"{cell.expected:14s} | {cell.lrtui:14s} | {'yes' if cell.expected == t['label'] else 'NO':16s} | "
            f"{'yes' if cell.lrtui == t['label'] else 'NO'}"
        )
    print(f"{compared} compared: {same} the criterion's label here, {same_lrtui} lrtui's")


def choices(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``--choices``: the groups (``--only``: these keys, case keys too), then with ``--cases`` the cases."""
    known = [g.key for g in GROUPS if g.key != "mnist" or args.mnist] + ([c.key for c in CASES] if args.cases else [])
    keys = args.only.split(",") if args.only else known
    if set(keys) - set(known):
        parser.error(f"unknown group {', '.join(sorted(set(keys) - set(known)))} (known: {', '.join(known)})")
    groups, cases, out = {}, {}, {}
    for group in (g for g in GROUPS if g.key in keys):
        start = time.perf_counter()
        groups[group.key] = run_group(group, args.device, args.mnist)
        print(f"{group.key}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        out["groups"] = {k: saved(v) for k, v in groups.items()}
        if args.save:  # after every group: a stopped run keeps what it measured
            with open(args.save, "w", encoding="utf-8") as f:
                json.dump(out, f)
    for case in (c for c in CASES if c.key in keys):
        start = time.perf_counter()
        cases[case.key] = run_case(case, args.device)
        print(f"{case.key}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        out["cases"] = saved(cases)
        if args.save:
            with open(args.save, "w", encoding="utf-8") as f:
                json.dump(out, f)
    show_cells(all_cells(groups, cases))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lrs", default=DEFAULT_LRS)
    parser.add_argument("--limits", default="500,2000,all", help="training-set sizes of the 5k digits")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist", default=None, help="a torchvision MNIST folder: add full MNIST rows")
    parser.add_argument("--mnist-limit", default="all", help="training-set size on full MNIST")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--save", default=None)
    parser.add_argument("--load", default=None)
    parser.add_argument("--details", action="store_true", help="also print every cell's reason and hint")
    parser.add_argument("--cases", action="store_true", help="run the settings outside the grid instead")
    parser.add_argument("--only", default=None, help="with --cases: these case keys only (comma list)")
    parser.add_argument(
        "--choices",
        action="store_true",
        help="run the groups around the reference (and, with --cases, the cases) and judge every cell",
    )
    parser.add_argument("--indep", default=None, help="with --load: an independent re-implementation's results JSON")
    args = parser.parse_args(argv)
    if args.load:
        groups: dict[str, dict[str, dict[str, Any]]] = {}
        cases: dict[str, dict[str, Any]] = {}
        for name in args.load.split(","):
            with open(name, encoding="utf-8") as f:
                data = json.load(f)
            groups.update({k: loaded(v) for k, v in data.get("groups", {}).items()})
            cases.update(loaded(data.get("cases", {})))
        if groups or args.choices:
            show_cells(all_cells(groups, cases))
            if args.indep:
                show_indep(args.indep, groups, cases)
            return 0
        if cases:
            show_cases(cases)
            return 0
        grid = {k: loaded(v) for k, v in data["grid"].items()}
        summary(grid, data["epochs"])
        if args.details:
            table(grid, data["epochs"])
        return 0
    torch.set_num_threads(1)
    if args.choices:
        return choices(args, parser)
    if args.cases:
        keys = args.only.split(",") if args.only else [c.key for c in CASES]
        unknown = sorted(set(keys) - {c.key for c in CASES})
        if unknown:
            parser.error(f"unknown case {', '.join(unknown)} (known: {', '.join(c.key for c in CASES)})")
        runs = {}
        for case in (c for c in CASES if c.key in keys):
            start = time.perf_counter()
            runs[case.key] = run_case(case, args.device)
            print(f"{case.key}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
        show_cases(runs)
        if args.save:
            with open(args.save, "w", encoding="utf-8") as f:
                json.dump({"cases": saved(runs)}, f)
        return 0
    lrs = [float(x) for x in args.lrs.split(",")]
    base = RunConfig(batch_size=10, epochs=args.epochs, device=args.device, seed=args.seed, log_every=10**9)
    sets: list[tuple[str, RunConfig]] = []
    for limit in filter(None, args.limits.split(",")):
        tl = None if limit == "all" else int(limit)
        sets.append((f"mnist-5k, train_limit {limit}", replace(base, train_limit=tl)))
    if args.mnist:
        tl = None if args.mnist_limit == "all" else int(args.mnist_limit)
        sets.append(
            (
                f"mnist, train_limit {args.mnist_limit}",
                replace(base, dataset="mnist", data_dir=args.mnist, train_limit=tl),
            )
        )
    grid = {}
    for name, config in sets:
        start = time.perf_counter()
        grid[name] = collect(config, lrs)
        print(f"{name}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    summary(grid, args.epochs)
    if args.details:
        table(grid, args.epochs)
    if args.save:
        with open(args.save, "w", encoding="utf-8") as f:
            json.dump({"epochs": args.epochs, "grid": {k: saved(v) for k, v in grid.items()}}, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
