"""What diagnostics, the step probe and the step trace cost: the same run with them off, then on one by one.

    python benchmarks/diagnostics_overhead.py [--device cpu] [--train-limit N] [--epochs 1] [--repeats 3]
                                              [--batch 10] [--stacked K] [--dataset mnist --data-dir DIR]
                                              [--log-every N] [--rows off,probes,trace]
                                              [--model reference|mlp|resnet] [--threads N]

Rows alternate in rounds after one untimed warm-up (machine load hits all alike); each reports its
median, and ``paired``: the median over rounds of its samples/CPU-s against the first row's in the
same round (neighbours in time share the machine's load: on a busy machine the medians of whole rows
drift by ±10%, these pairs far less). ``samples/s`` = training samples per second of the run's training + validation time
(what the app's progress shows; probes run outside it), ``samples/CPU-s`` divides by this
process's CPU time of the whole call (probes included), which other processes disturb less.
``--stacked K`` measures a K-lr stacked sweep instead of one run. ``--rows probes,trace`` times only
the step trace against the same run without it (its reads and verdicts happen at log points: give
``--log-every 0``, auto, to time them as a run has them). Goals: diagnostics cost <= 5% on the CPU
at batch 10, the step trace <= 3% more.

``--model mlp`` / ``--model resnet`` train a deeper network than the reference CNN (:data:`MODELS`: 12 and
15 layers with parameters) through ``--model`` (:func:`model_spec`), measured as any network is
(:meth:`lrtui.engine.diagnostics.Observer.for_model`): the same goal holds however many layers there are.
A foreign network measures every Nth step, N timed at each run's setup (:mod:`lrtui.engine.sample_rate`;
each call here times it again, its cost counted); the header names the N the runs chose.
Measured (one thread, the 5k digits, batch 10, 1 epoch, 11 rounds, on a shared 2-core machine; paired
samples/CPU-s, diagnostics vs off): reference 0.981 (N = 4, 9 rounds), resnet 0.960 (N = 4 or 8), mlp 0.962
(N = 16). Every 4th step, as before, the mlp paid 0.926-0.937: its measured step adds ~20% to a ~1 ms step.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lrtui.engine.config import RunConfig
from lrtui.engine.events import Event, ProbeResult, RunStarted
from lrtui.engine.sample_rate import forget
from lrtui.engine.sweep import run_many

#: name: (diagnostics, probes, step trace)
ROWS = {
    "off": (False, False, False),
    "diagnostics": (True, False, False),
    "probes": (True, True, False),
    "trace": (True, True, True),
}
INTERVALS_USED: set[int] = set()  #: every ``sample_every`` the runs with diagnostics chose
LABELS = {"off": "off", "diagnostics": "diagnostics", "probes": "diagnostics + probes", "trace": "+ step trace"}


def deep_mlp() -> nn.Module:
    """12 linear layers (784 → 10 × 128 → 10), ReLU modules between them."""
    widths = [784] + [128] * 11 + [10]
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        layers += [nn.Linear(a, b)] + ([nn.ReLU()] if i < len(widths) - 2 else [])
    return nn.Sequential(*layers)


class _Block(nn.Module):
    """conv-bn-relu-conv-bn plus the input, then a ReLU call (as torchvision's BasicBlock)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class SmallResNet(nn.Module):
    """A stem, three residual blocks at 14×14 (8 channels), a linear head: 15 layers with parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.bn = nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.blocks = nn.Sequential(*(_Block(8) for _ in range(3)))
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn(self.stem(x))), 2)
        return self.head(self.blocks(x).mean((2, 3)))


def small_resnet() -> nn.Module:
    return SmallResNet()


#: Deeper networks than the reference CNN, as ``--model`` factories of this file (None: the reference CNN).
MODELS = {"reference": None, "mlp": "deep_mlp", "resnet": "small_resnet"}


def model_spec(name: str) -> str:
    """The ``FILE.py:FUNC`` spec that makes a run train ``name`` as ``--model`` does (empty: the reference CNN)."""
    factory = MODELS[name]
    return f"{Path(__file__).resolve()}:{factory}" if factory else ""


def measure(configs: list[RunConfig], diagnostics: bool, probes: bool, trace: bool) -> tuple[float, float, float]:
    """(samples/s of training+validation, samples per CPU-second of the whole call, probe seconds)."""
    probe_s = 0.0
    last = time.perf_counter()
    forget()  # each run times its own sampling interval, as a lone command does (its cost is in the CPU time)

    def emit(event: Event) -> None:
        nonlocal probe_s, last
        now = time.perf_counter()
        if isinstance(event, RunStarted) and diagnostics:
            INTERVALS_USED.add(event.config.sample_every)
        if isinstance(event, ProbeResult):
            probe_s += now - last  # the probe ran since the previous event
        last = now

    cpu = time.process_time()
    ends = run_many(
        configs,
        [f"r{i + 1}" for i in range(len(configs))],
        emit,
        batched=len(configs) > 1,
        diagnostics=diagnostics,
        probes=probes,
        trace=trace,
    )
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
    parser.add_argument("--dataset", default="mnist-5k")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--log-every", type=int, default=10**9, help="0: auto (~4 log points per epoch)")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"which of {', '.join(ROWS)}; the first is the base")
    parser.add_argument("--model", default="reference", choices=list(MODELS))
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.model != "reference" and args.stacked > 1:
        parser.error("--stacked stacks the reference CNN only")
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [r.strip() for r in args.rows.split(",")]
    if not rows or any(r not in ROWS for r in rows):
        parser.error(f"--rows: choose from {', '.join(ROWS)}")
    base = RunConfig(
        lr=0.01,
        batch_size=args.batch,
        epochs=args.epochs,
        device=args.device,
        dataset=args.dataset,
        train_limit=args.train_limit,
        log_every=args.log_every or None,
        seed=0,
        model=model_spec(args.model),
        **({"data_dir": args.data_dir} if args.data_dir else {}),
    )
    configs = [base.with_lr(0.01 * 2.0**i) for i in range(args.stacked)]
    measure(configs, *ROWS["trace"])  # warm-up: imports, caches, allocator
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in rows}
    for _ in range(args.repeats):  # alternating rounds: the machine's load hits every row alike
        for name in rows:
            results[name].append(measure(configs, *ROWS[name]))
    ref_wall = statistics.median(r[0] for r in results[rows[0]])
    ref_cpu = statistics.median(r[1] for r in results[rows[0]])
    print(
        f"device {args.device}, {args.dataset}, model {args.model}, batch {args.batch}, {len(configs)} model(s), {args.epochs} "
        f"epoch(s), log every {args.log_every or 'auto'}, {args.repeats} rounds, torch threads "
        f"{torch.get_num_threads()}; diagnostics over every Nth step, N = "
        f"{', '.join(map(str, sorted(INTERVALS_USED)))}"
    )
    vs = f"vs {rows[0]}"
    print(f"{'row':22s} {'samples/s':>10s} {vs:>13s} {'samples/CPU-s':>14s} {vs:>13s} {'paired':>17s} {'probe s':>8s}")
    for name in rows:
        wall = statistics.median(r[0] for r in results[name])
        cpu = statistics.median(r[1] for r in results[name])
        probe = statistics.median(r[2] for r in results[name])
        pairs = sorted(r[1] / b[1] for r, b in zip(results[name], results[rows[0]]))
        paired = f"{statistics.median(pairs):.3f} [{pairs[len(pairs) // 4]:.3f}, {pairs[-1 - len(pairs) // 4]:.3f}]"
        print(
            f"{LABELS[name]:22s} {wall:10.0f} {wall / ref_wall:13.3f} {cpu:14.0f} {cpu / ref_cpu:13.3f} "
            f"{paired:>17s} {probe:8.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
