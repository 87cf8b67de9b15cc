"""What re-reading a data factory's training dataset every epoch costs, against training that epoch.

    python benchmarks/dataset_read.py [--data examples/shifted_digits.py:shifted_digits] [--repeats 3]

A factory that returns ``(train_dataset, test_dataset)`` has its training split read again at the
start of every epoch (so its random transforms stay random). Rows, each the median of ``--repeats``
after one untimed warm-up, one torch thread, on the CPU:

* ``refill``: lrtui's read of the training split into the run's tensor (``TrainStream.refill``);
* ``notebook``: the same items through ``DataLoader(batch_size=10, shuffle=True)`` without training
  (what a notebook loop spends on its data every epoch, with ``num_workers=0``);
* ``epoch``: one training epoch of the reference CNN on those tensors (diagnostics on; no probe, no evaluation).

The ratio columns are against ``epoch``: the share of an epoch's time the read adds. Then whole runs
(``--epochs``, default 3, probes off), median of ``--repeats``: the next epoch read ahead on a thread while
this one trains (what a run does) against each epoch read before it trains (what a network that draws
randomness on the CPU gets); the ratio is in turn / ahead (> 1: reading ahead is faster).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from lrtui.engine import data_stream
from lrtui.engine.config import RunConfig
from lrtui.engine.data import load_splits, raw_of
from lrtui.engine.events import Event
from lrtui.engine.run import Run
from lrtui.engine.trainer import Fit, train

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "shifted_digits.py"


def median_s(fn: Callable[[], object], repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=f"{EXAMPLE}:shifted_digits")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--device", default="cpu", help="where the whole runs train (the rows above: the CPU)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = RunConfig(data=args.data, epochs=1, device="cpu", lr=0.01, batch_size=args.batch_size)
    raw_of(config)  # the factory's first read, once per process (not timed)
    splits = load_splits(config, torch.device("cpu"))
    stream = splits.stream
    if stream is None:
        raise SystemExit(f"{args.data} returned tensors: nothing is read again")
    x, y = splits.train_x.clone(), splits.train_y.clone()
    epoch = [0]

    def refill() -> None:
        epoch[0] += 1
        stream.refill(x, y, 0, epoch[0], threading.Event())

    def notebook() -> None:
        for _ in DataLoader(Subset(stream.dataset, list(stream.rows)), batch_size=10, shuffle=True):
            pass

    events: list[Event] = []
    run = Run(config, events.append, threading.Event(), "b", probes=False)
    run.setup(replace(splits, stream=None))  # the epoch alone: its tensors as they are, no read
    epoch_fit = Fit([run], run.step)

    def train_epoch() -> None:
        epoch_fit.train_epoch(1)

    rows = {"refill": median_s(refill, args.repeats), "notebook": median_s(notebook, args.repeats)}
    rows["epoch"] = median_s(train_epoch, args.repeats)
    items = len(stream.rows)
    print(f"{args.data}: {items:,} training items, 1 torch thread, median of {args.repeats}")
    print(f"{'what':<10}{'seconds':>9}{'items/s':>10}{'of an epoch':>13}")
    for name, seconds in rows.items():
        print(f"{name:<10}{seconds:>9.3f}{items / seconds:>10,.0f}{seconds / rows['epoch']:>13.3f}")

    whole = replace(config, epochs=args.epochs, device=args.device)

    def whole_run(ahead: bool) -> None:
        data_stream.draws_randomness = (lambda model, x: False) if ahead else (lambda model, x: True)
        end = train(whole, lambda event: None, probes=False)
        assert end.status == "finished", end.error

    both = {"ahead": [], "in turn": []}
    whole_run(True)  # warm-up
    for _ in range(args.repeats):  # alternating, so a slow minute of the machine hits both
        for name, ahead in (("ahead", True), ("in turn", False)):
            start = time.perf_counter()
            whole_run(ahead)
            both[name].append(time.perf_counter() - start)
    ahead_s, turn_s = statistics.median(both["ahead"]), statistics.median(both["in turn"])
    print(
        f"whole run on {args.device}, {args.epochs} epochs: read ahead {ahead_s:.2f} s, in turn {turn_s:.2f} s -> {turn_s / ahead_s:.2f}x"
    )


if __name__ == "__main__":
    main()
