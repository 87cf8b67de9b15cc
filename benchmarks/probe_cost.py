"""What one step probe costs, on its own and against one training epoch of the same run.

    python benchmarks/probe_cost.py [--dataset mnist --data-dir /work/shared/data] [--device cpu]
                                    [--batch 10] [--optimizer sgd] [--lr 0.01] [--repeats 5]

A run probes once before training and once after each epoch (:mod:`lrtui.engine.probe`): m real
minibatch steps per grid point, each measured by a forward of the evaluation images. This times
the probe from the initial weights ``--repeats`` times (median; the probe's work does not depend on
the weights) and one epoch of the same run without probes (training + validation, the diagnostics
and step trace on, as the app runs it), and prints each in wall and in this process's CPU seconds
(other processes disturb CPU time less) and the probe as a share of the epoch. Probes and the epoch
alternate: half the probes are timed before the epoch, half after.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from dataclasses import replace

import torch

from lrtui.engine.config import RunConfig
from lrtui.engine.events import EpochEnd, Event, ProbeResult
from lrtui.engine.machine import run_threads
from lrtui.engine.probe import probe_grid
from lrtui.engine.run import Run
from lrtui.engine.trainer import train


def sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def time_probes(config: RunConfig, repeats: int) -> tuple[list[float], list[float], ProbeResult]:
    """(wall seconds, CPU seconds) of each of ``repeats`` probes from the initial weights, and the last probe."""
    events: list[Event] = []
    run = Run(config, events.append, threading.Event(), "bench")
    run.setup()
    run.probe(0)  # warm-up: the scratch model, allocator, kernels
    walls, cpus = [], []
    for _ in range(repeats):
        sync()
        wall, cpu = time.perf_counter(), time.process_time()
        run.probe(0)
        sync()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    probes = [e for e in events if isinstance(e, ProbeResult)]
    return walls, cpus, probes[-1]


def time_epoch(config: RunConfig) -> tuple[float, float]:
    """(wall seconds of training + validation, CPU seconds of the whole call) of one epoch without probes."""
    events: list[Event] = []
    cpu = time.process_time()
    train(replace(config, epochs=1), events.append, probes=False)
    sync()
    cpu = time.process_time() - cpu
    epoch = next(e for e in events if isinstance(e, EpochEnd))
    return epoch.seconds, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dataset", default="mnist-5k")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--optimizer", default="sgd")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    config = RunConfig(
        lr=args.lr,
        batch_size=args.batch,
        epochs=1,
        device=args.device,
        dataset=args.dataset,
        optimizer=args.optimizer,
        train_limit=args.train_limit,
        seed=0,
        **({"data_dir": args.data_dir} if args.data_dir else {}),
    )
    with run_threads():  # the thread count a run trains with
        first = time_probes(config, (args.repeats + 1) // 2)
        epoch_wall, epoch_cpu = time_epoch(config)
        second = time_probes(config, args.repeats // 2)
    walls, cpus, probe = first[0] + second[0], first[1] + second[1], second[2] if args.repeats > 1 else first[2]
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(
        f"{args.dataset}, {args.device} ({torch.get_num_threads()} threads), batch {args.batch}, {args.optimizer}, "
        f"lr {args.lr:g}: {probe.minibatches} minibatches x {len(probe_grid(args.lr))} step sizes"
    )
    print(f"probe:  {wall:.3f} s wall (median of {len(walls)}, min {min(walls):.3f}), {cpu:.3f} CPU-s")
    print(f"epoch:  {epoch_wall:.2f} s wall (training + validation), {epoch_cpu:.2f} CPU-s (the whole call)")
    print(
        f"share:  {wall / epoch_wall:.1%} of the epoch's wall time, {cpu / epoch_cpu:.1%} of its CPU time; "
        f"a run probes epochs + 1 times"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
