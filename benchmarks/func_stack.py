"""K learning rates of any network: stacked with torch.func against one by one, time per training epoch.

    python benchmarks/func_stack.py [--k 4] [--samples 3200] [--batch 10] [--repeats 3] [--threads 1]
                                    [--models mlp,cnn,reference,examples]

Per model (a small MLP, a small CNN, the reference CNN for scale, and ``examples``: the three example
networks of examples/, as ``--model`` loads them), one training epoch of K runs at K lrs (SGD with
momentum, batch 10, random digits; diagnostics on, as in a sweep):

* one by one: K :class:`~lrtui.engine.steps.LoneStep` epochs after each other;
* torch.func: one :class:`~lrtui.engine.func_stack.FuncStackedStep` epoch (vmap of functional_call);
* grouped (reference CNN only): its hand-written grouped-convolution stack.

The training loop only (:func:`lrtui.engine.loop.run_batches`), no validation or events.
One untimed warm-up round, then alternating rounds; each row is its median, in CPU seconds.
``ratio`` = one-by-one time / stacked time (> 1: the stack is faster). A network torch.func cannot stack
(:func:`~lrtui.engine.func_stack.stack_note`: a sweep trains it one by one) shows why instead.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from lrtui.engine.config import RunConfig
from lrtui.engine.diagnostics import SAMPLE_EVERY, StepStats, layer_groups
from lrtui.engine.func_stack import FuncStackedStep, stack_note
from lrtui.engine.loop import run_batches
from lrtui.engine.model import ConvNet, build_model, seeded_model
from lrtui.engine.steps import LoneStep, SGDStep, StackedStep, Step
from lrtui.engine.user_code import load_factory

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
#: The example networks: row label → ``--model`` spec.
EXAMPLE_SPECS = {
    "example mlp": "mlp.py:mlp",
    "example normed": "normed_cnn.py:normed_cnn",
    "example resnet": "resnet.py:tiny_resnet",
}


def small_mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 64), nn.ReLU(), nn.Linear(64, 10))


class SmallCNN(nn.Module):
    """conv(1→8)-pool-relu, conv(8→16)-pool-relu, fc(784→10): a quarter of the reference CNN's channels."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        return self.fc(x.flatten(1))


def epoch_of(step: Step, order: torch.Tensor, batches: int) -> Callable[[], None]:
    def epoch() -> None:
        run_batches(step, order, batches, 0, [], threading.Event())

    return epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--samples", type=int, default=3200)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--models", default="mlp,cnn,reference,examples", help="which rows: mlp, cnn, reference, examples"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(args.samples, 1, 28, 28, generator=gen)
    y = torch.randint(0, 10, (args.samples,), generator=gen)
    order = torch.randperm(args.samples, generator=gen)
    batches = -(-args.samples // args.batch)
    base = RunConfig(device="cpu", batch_size=args.batch, optimizer="sgd-momentum", momentum=0.9)
    configs = [base.with_lr(lr) for lr in (0.1, 0.03, 0.01, 0.003, 0.001, 3e-4, 1e-4, 3e-5)[: args.k]]
    cpu = torch.device("cpu")

    def lone(factory: Callable[[], nn.Module], cfg: RunConfig) -> Step:
        model = seeded_model(factory, 0) if factory is not ConvNet else build_model(0)
        stats = StepStats(cpu, layer_groups(model), every=SAMPLE_EVERY)
        return LoneStep(model, SGDStep(model.parameters(), cfg, stats), x, y, args.batch)

    rows: dict[str, list[tuple[str, Callable[[], nn.Module]]]] = {
        "mlp": [("small MLP", small_mlp)],
        "cnn": [("small CNN", SmallCNN)],
        "reference": [("reference CNN", ConvNet)],
        "examples": [(label, load_factory(f"{EXAMPLES / spec}", "model")) for label, spec in EXAMPLE_SPECS.items()],
    }
    models = [row for name in args.models.split(",") for row in rows[name]]
    print(
        f"K={args.k}, {args.samples} samples at batch {args.batch} ({batches} steps), {args.threads} torch "
        f"thread(s), SGD momentum, diagnostics on; CPU seconds per epoch of all K runs (median of {args.repeats})"
    )
    print(f"{'model':<16}{'one by one':>12}{'torch.func':>12}{'ratio':>8}{'grouped':>10}{'ratio':>8}")
    for label, factory in models:
        start = build_model(0) if factory is ConvNet else seeded_model(factory, 0)
        sides: dict[str, list[Callable[[], None]]] = {
            "one by one": [epoch_of(lone(factory, cfg), order, batches) for cfg in configs]
        }
        note = None if factory is ConvNet else stack_note(start, x[: args.batch], y[: args.batch])
        if note is None:
            sides["torch.func"] = [
                epoch_of(FuncStackedStep.of(start, configs, x, y, batches, batches, graphs=False), order, batches)
            ]
        if factory is ConvNet:
            assert isinstance(start, ConvNet)
            sides["grouped"] = [
                epoch_of(StackedStep.of(start, configs, x, y, batches, batches, graphs=False), order, batches)
            ]
        times: dict[str, list[float]] = {name: [] for name in sides}
        for round_ in range(args.repeats + 1):  # round 0 warms up
            for name, epochs in sides.items():
                began = time.process_time()  # CPU time: another process's load on a shared machine adds little
                for epoch in epochs:
                    epoch()
                if round_:
                    times[name].append(time.process_time() - began)
        med = {name: statistics.median(t) for name, t in times.items()}
        one = med["one by one"]
        if note is not None:
            print(f"{label:<16}{one:>12.2f}{'—':>12}{'':>8}  {note}", flush=True)
            continue
        func = med["torch.func"]
        grouped = f"{med['grouped']:>10.2f}{one / med['grouped']:>7.2f}x" if "grouped" in med else ""
        print(f"{label:<16}{one:>12.2f}{func:>12.2f}{one / func:>7.2f}x{grouped}", flush=True)


if __name__ == "__main__":
    main()
