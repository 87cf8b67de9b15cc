"""The verdict calibration grid: learning rates × epochs × training-set sizes, with the evidence.

    python benchmarks/calibrate_verdicts.py [--limits 500,2000,all] [--epochs 3] [--seed 0]
                                            [--lrs 1e-7,1e-5,1e-4,1e-3,0.01,0.05,0.1,0.3,0.5,1]
                                            [--mnist /work/shared/data] [--save grid.json] [--load grid.json]
                                            [--details]
    python benchmarks/calibrate_verdicts.py --cases [--only wd0.5,b256] [--save cases.json | --load cases.json]

For each training-set size, one stacked sweep trains every lr for ``--epochs`` epochs (SGD,
batch 10, the 5k digits; ``--mnist DIR`` adds full MNIST from a torchvision folder). Because a
run's first n epochs are exactly an n-epoch run of the same seed, judging the first n epochs
(and the probes up to epoch n) gives the n-epoch row without training again. Each cell prints
the label and the evidence: validation accuracy, the median update ratio over layers, the
largest dead fraction, the top-class share, and the probe's best step relative to the lr.
``--save`` keeps the raw runs (JSON) so ``--load`` can re-judge them after a rule changes;
``--details`` adds every cell's reason and hint. Cost here (one CPU core): ~2 min for the
three 5k-digit sets at 4 epochs, ~6 min for full MNIST at 3 epochs and 6 lrs.

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

from lrtui.engine.config import RunConfig
from lrtui.engine.events import EpochEnd, Event, ProbeResult, RunStarted, Verdict
from lrtui.engine.records import Diagnostics, EpochRecord, ProbeRecord
from lrtui.engine.sweep import run_many
from lrtui.engine.trainer import train
from lrtui.engine.verdict import judge, probe_gain

DEFAULT_LRS = "1e-7,1e-5,1e-4,1e-3,0.01,0.05,0.1,0.3,0.5,1"


def collect(config: RunConfig, lrs: list[float]) -> dict[str, dict[str, Any]]:
    """Train every lr (one stacked sweep); per lr: status, epoch dicts (with diagnostics), probes."""
    runs: dict[str, dict[str, Any]] = {f"r{i}": {"lr": lr, "epochs": [], "probes": [], "status": ""}
                                       for i, lr in enumerate(lrs)}

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
        run["epochs"].append(EpochRecord.of(event.epoch, event.train_loss, event.train_acc, event.val_loss,
                                            event.val_acc, diagnostics=event.diagnostics))
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
    return (f"acc {100 * (last.val_acc or 0):.0f}% r {ratio} dead {100 * dead:.0f}% "
            f"top {100 * (diag.top_class_share or 0):.0f}% best {best}")


def label(run: dict[str, Any], n: int) -> Verdict:
    """The verdict the first ``n`` epochs of ``run`` get (its probes up to epoch ``n``), in its setting."""
    status = run["status"] if n >= len(run["epochs"]) else "finished"
    config = RunConfig.from_dict(run["config"]) if run.get("config") else None
    return judge(run["epochs"][:n], status, probes=[p for p in run["probes"] if p.epoch <= n], config=config,
                 n_train=run.get("n_train"), n_val=run.get("n_val"))


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
                cells.append(f"{str(label(run, n).label):14s} {100 * (e.val_acc or 0):3.0f}% {ratio:7.1e} {100 * dead:3.0f}%")
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
    Case("wd0.5", "SGD lr 0.01, weight decay 0.5", "not learning: weight decay named, a smaller wd",
         {"weight_decay": 0.5}),
    Case("wd0.1", "SGD lr 0.01, weight decay 0.1", "may stay; most of the step is decay", {"weight_decay": 0.1}),
    Case("b256", "SGD lr 0.01, batch 256", "too slow: 13 steps per epoch, lr with the batch", {"batch_size": 256}),
    Case("mom0.9", "SGD lr 0.1, momentum 0.9", "not learning: effective step named", {"lr": 0.1, "momentum": 0.9}),
    Case("lr0.3s1", "lr 0.3, seed 1, 800 digits", "unstable if its accuracy falls",
         {"lr": 0.3, "seed": 1, "train_limit": 800}),
    Case("lr0.4s0", "lr 0.4, seed 0, 800 digits", "unstable: accuracy fell, a smaller lr",
         {"lr": 0.4, "train_limit": 800}),
    Case("adam1e-4", "Adam 1e-4", "still learning: the loss still falling", {"optimizer": "adam", "lr": 1e-4}),
    Case("tiny100", "100 digits, lr 0.1, 20 epochs (25 validation)", "overfitting, with the interval",
         {"lr": 0.1, "train_limit": 100, "epochs": 20}),
    Case("lr0.5_1k", "lr 0.5, 1 epoch, 1,000 digits", "unstable or not learning: dead share, a smaller lr",
         {"lr": 0.5, "train_limit": 1000, "epochs": 1}),
    Case("adam1e-2", "Adam 1e-2", "may stay; the dead share named", {"optimizer": "adam", "lr": 1e-2}),
    Case("adam1e-3", "Adam 1e-3 (the best region)", "learning; fc1 ~50% dead is no failure",
         {"optimizer": "adam", "lr": 1e-3}),
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
    print(f"{'case':9s} | {'setting':47s} | {'label':14s} | {'should be':50s} | val acc by epoch (median ratio, "
          "most dead)")
    for key, run in runs.items():
        case, n = cases[key], len(run["epochs"])
        accs = " ".join(f"{100 * e['val_acc']:.1f}" for e in run["epochs"])
        print(f"{key:9s} | {case.setting:47s} | {str(label(run, n).label):14s} | {case.expected:50s} | "
              f"{accs} ({evidence_short(run)})")
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
    args = parser.parse_args(argv)
    if args.load:
        with open(args.load, encoding="utf-8") as f:
            saved = json.load(f)
        if "cases" in saved:
            show_cases(saved["cases"])
            return 0
        summary(saved["grid"], saved["epochs"])
        if args.details:
            table(saved["grid"], saved["epochs"])
        return 0
    torch.set_num_threads(1)
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
                json.dump({"cases": runs}, f, default=lambda x: None if x is None else str(x))
        return 0
    lrs = [float(x) for x in args.lrs.split(",")]
    base = RunConfig(batch_size=10, epochs=args.epochs, device=args.device, seed=args.seed, log_every=10**9)
    sets: list[tuple[str, RunConfig]] = []
    for limit in filter(None, args.limits.split(",")):
        tl = None if limit == "all" else int(limit)
        sets.append((f"mnist-5k, train_limit {limit}", replace(base, train_limit=tl)))
    if args.mnist:
        tl = None if args.mnist_limit == "all" else int(args.mnist_limit)
        sets.append((f"mnist, train_limit {args.mnist_limit}",
                     replace(base, dataset="mnist", data_dir=args.mnist, train_limit=tl)))
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
            json.dump({"epochs": args.epochs, "grid": grid}, f, default=lambda x: None if x is None else str(x))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
