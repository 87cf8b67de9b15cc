"""Sweeps on one device: the notebook loop, one engine run, K runs one by one, K runs stacked, K runs auto.

    python benchmarks/sweep.py [--device auto] [--epochs 1] [--train-limit N] [--ks 4,8] [--repeats 3] [--seed 0]

Before the table it prints, for each K, what auto mode picks on this machine and the
calibration behind it (:mod:`lrtui.engine.stack_choice`: a few timed steps of a K-stack
against one run's, cached in ``$LRTUI_CACHE/stack-choice.json``; measured afresh here).

Every row trains SGD at batch 10 on the embedded 5k digits (written as IDX files, the
engine's fixed train/validation split). After one untimed warm-up round the rows are
measured in alternating rounds (machine load hits all alike); each reports its median.
samples/s = training samples of all the row's runs per wall second of the whole call
(training, validation and the final test of every run); samples/CPU-s divides by this
process's CPU time instead, which other processes on a shared machine disturb less.
The reference loop always trains on the full 3,200 digits (``--train-limit`` only
shortens the engine rows). Goals on a GPU (H200): one run >= 10x the reference loop; a
K=8 stacked sweep in <= 1.5x the wall time of one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: import the sibling benchmark

from vs_reference import BATCH, LR, reference  # noqa: E402 — the reference loop lives there, once

from lrtui.engine.config import RunConfig, detect_devices, resolve_device, split_sizes  # noqa: E402
from lrtui.engine.data import export_mnist_5k  # noqa: E402
from lrtui.engine.machine import device_name, run_threads  # noqa: E402
from lrtui.engine.stack_choice import cache_key, read_choices, stacked_is_faster  # noqa: E402
from lrtui.engine.sweep import run_many  # noqa: E402

Case = Callable[[], tuple[float, float, int, str]]  #: () -> (wall s, CPU s, training samples, note)


def timed(configs: list[RunConfig], batched: bool | None, samples: int) -> tuple[float, float, int, str]:
    """One run_many call: wall and CPU seconds, the training samples, and a note unless every run finished."""
    ids = [f"r{i + 1}" for i in range(len(configs))]
    start, cpu_start = time.perf_counter(), time.process_time()
    ends = run_many(configs, ids, lambda event: None, batched=batched)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    statuses = {e.status for e in ends}
    return (
        time.perf_counter() - start,
        time.process_time() - cpu_start,
        samples,
        ("" if statuses == {"finished"} else f"statuses {sorted(statuses)}"),
    )


def lrs(k: int) -> list[float]:
    """K learning rates spread over the useful range (0.003 .. 0.3), so no model diverges."""
    return [0.003 * 100 ** (i / max(1, k - 1)) for i in range(k)]


def cases(root: str, device: torch.device, args: argparse.Namespace) -> dict[str, Case]:
    """Every row of the table, as a function that measures it once."""
    base = RunConfig(
        lr=LR,
        batch_size=BATCH,
        epochs=args.epochs,
        dataset="mnist",
        data_dir=root,
        device=str(device),
        seed=args.seed,
        train_limit=args.train_limit,
        log_every=10**9,
    )
    per_run = split_sizes(4000, base.val_fraction, args.train_limit)[0] * args.epochs

    def ref() -> tuple[float, float, int, str]:
        r = reference(root, device, args.epochs, args.seed)
        samples = 3200 * args.epochs
        return samples / r.samples_per_s, samples / r.samples_per_cpu_s, samples, ""

    table: dict[str, Case] = {"reference notebook loop": ref, "one run (train)": lambda: timed([base], False, per_run)}
    if device.type == "cuda":
        table["one run (stacked, K=1)"] = lambda: timed([base], True, per_run)
    for k in [int(k) for k in args.ks.split(",")]:
        configs = [base.with_lr(lr) for lr in lrs(k)]
        for name, batched in (("sequential", False), ("stacked", True), ("auto", None)):
            table[f"K={k} {name}"] = lambda c=configs, b=batched: timed(c, b, len(c) * per_run)
    return table


def calibrate(device: torch.device, args: argparse.Namespace) -> None:
    """Measure auto mode's choice afresh for every K (and cache it), and say what it picked."""
    config = RunConfig(lr=LR, batch_size=BATCH, device=str(device))
    for k in [int(k) for k in args.ks.split(",")]:
        with run_threads():  # the thread count training uses: part of the cache key
            stacked = stacked_is_faster(config, k, device, remeasure=True)
            entry = read_choices().get(cache_key(device, k, BATCH, torch.get_num_threads()), {})
        print(
            f"auto picks for K={k}: {'stacked' if stacked else 'one by one'} (calibration: stack step "
            f"{1e3 * entry.get('stack_step_s', 0):.2f} ms vs one run's {1e3 * entry.get('single_step_s', 0):.2f} ms "
            f"x K={entry.get('k')}: stack speed-up {entry.get('speedup', 0):.2f}x)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-limit", type=int, help="training digits per engine run (default: all 3,200)")
    parser.add_argument("--ks", default="4,8", help="sweep sizes, comma separated")
    parser.add_argument("--repeats", type=int, default=3, help="rounds; each row reports its median")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    device = torch.device(resolve_device(args.device, detect_devices()))
    results: dict[str, list[tuple[float, float, int, str]]] = {}
    with tempfile.TemporaryDirectory() as root:
        export_mnist_5k(root)
        table = cases(root, device, args)
        calibrate(device, args)
        print(
            f"device {device} ({device_name(device)}), torch {torch.__version__}, {torch.get_num_threads()} threads; "
            f"batch {BATCH}, {args.epochs} epoch(s), train limit {args.train_limit or 'none'}, "
            f"median of {args.repeats} alternating rounds"
        )
        for measure in table.values():  # warm-up round, not counted: kernels, caches, lazy imports, graphs
            measure()
        for _ in range(args.repeats):
            for name, measure in table.items():
                results.setdefault(name, []).append(measure())
    rows = {
        name: (
            statistics.median(r[0] for r in rs),
            statistics.median(r[1] for r in rs),
            rs[0][2],
            "; ".join(sorted({r[3] for r in rs if r[3]})),
        )
        for name, rs in results.items()
    }
    ref_wall, ref_cpu, ref_samples, _ = rows["reference notebook loop"]
    one_wall = rows["one run (train)"][0]
    print(
        f"{'':26s} {'wall s':>8s} {'samples/s':>10s} {'x reference':>12s} {'wall / one run':>15s} "
        f"{'samples/CPU-s':>14s} {'x reference':>12s}"
    )
    for name, (wall, cpu, samples, note) in rows.items():
        vs_one = f"{wall / one_wall:15.2f}" if name != "reference notebook loop" else f"{'':15s}"
        print(
            f"{name:26s} {wall:8.2f} {samples / wall:10.0f} {samples / wall / (ref_samples / ref_wall):12.2f} "
            f"{vs_one} {samples / cpu:14.0f} {samples / cpu / (ref_samples / ref_cpu):12.2f}  {note}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
