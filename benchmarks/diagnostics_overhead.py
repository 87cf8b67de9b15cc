"""What diagnostics and the step probe cost: the same run with them off, diagnostics on, both on.

    python benchmarks/diagnostics_overhead.py [--device cpu] [--train-limit N] [--epochs 1] [--repeats 3]
                                              [--batch 10] [--stacked K]

Rows alternate in rounds after one untimed warm-up (machine load hits all alike); each reports its
median. ``samples/s`` = training samples per second of the run's training + validation time
(what the app's progress shows; probes run outside it), ``samples/CPU-s`` divides by this
process's CPU time of the whole call (probes included), which other processes disturb less.
``--stacked K`` measures a K-lr stacked sweep instead of one run. Goal: diagnostics cost <= 5%
on the CPU at batch 10.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lrtui.engine.config import RunConfig
from lrtui.engine.events import Event, ProbeResult
from lrtui.engine.sweep import run_many

ROWS = {"off": (False, False), "diagnostics": (True, False), "diagnostics + probes": (True, True)}


def measure(configs: list[RunConfig], diagnostics: bool, probes: bool) -> tuple[float, float, float]:
    """(samples/s of training+validation, samples per CPU-second of the whole call, probe seconds)."""
    probe_s = 0.0
    last = time.perf_counter()

    def emit(event: Event) -> None:
        nonlocal probe_s, last
        now = time.perf_counter()
        if isinstance(event, ProbeResult):
            probe_s += now - last  # the probe ran since the previous event
        last = now

    cpu = time.process_time()
    ends = run_many(configs, [f"r{i + 1}" for i in range(len(configs))], emit, batched=len(configs) > 1,
                    diagnostics=diagnostics, probes=probes)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    cpu = time.process_time() - cpu
    samples = sum(e.samples_per_s * e.duration_s for e in ends)
    seconds = max(e.duration_s for e in ends)
    return samples / seconds, samples / cpu, probe_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--train-limit", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--stacked", type=int, default=1)
    args = parser.parse_args(argv)
    base = RunConfig(lr=0.01, batch_size=args.batch, epochs=args.epochs, device=args.device,
                     train_limit=args.train_limit, log_every=10**9, seed=0)
    configs = [base.with_lr(0.01 * 2.0**i) for i in range(args.stacked)]
    measure(configs, True, True)  # warm-up: imports, caches, allocator
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in ROWS}
    for _ in range(args.repeats):
        for name, (diag, probes) in ROWS.items():
            results[name].append(measure(configs, diag, probes))
    ref_wall = statistics.median(r[0] for r in results["off"])
    ref_cpu = statistics.median(r[1] for r in results["off"])
    print(f"device {args.device}, batch {args.batch}, {len(configs)} model(s), {args.epochs} epoch(s), "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'row':22s} {'samples/s':>10s} {'vs off':>7s} {'samples/CPU-s':>14s} {'vs off':>7s} {'probe s':>8s}")
    for name, rows in results.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        probe = statistics.median(r[2] for r in rows)
        print(f"{name:22s} {wall:10.0f} {wall / ref_wall:7.3f} {cpu:14.0f} {cpu / ref_cpu:7.3f} {probe:8.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
