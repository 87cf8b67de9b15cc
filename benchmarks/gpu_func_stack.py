"""The ``--model`` sweep on the GPU: examples/mlp.py stacked through torch.func, against the same runs one by one.

    python benchmarks/gpu_func_stack.py [--device cuda] [--lrs 0.1,0.03,0.01,0.003] [--train-limit 400]
                                        [--epochs 1] [--out DIR]

Run by benchmarks/gpu_check.sh (one process: torch and CUDA start once). Two checks:

1. the step: :class:`~lrtui.engine.func_stack.FuncStackedStep` for K copies of the MLP on random digits,
   replayed as a CUDA graph, against the same step run eagerly. On CUDA the graph must have been
   captured (a refused capture falls back to eager silently: the sweep would still be right, only slow),
   and every batch loss and weight must agree within float rounding.
2. the sweep, as a user runs it: ``lrtui run --model examples/mlp.py:mlp --optimizer sgd-momentum --lr ...
   --batched`` (momentum: the weights move far in a few dozen steps, so a mix-up between copies shows) against
   ``--no-batched`` (in this process, through the CLI's own ``main``; each writes its ``--json`` to
   ``--out``). The batched one must have been planned as a torch.func stack (not the one-by-one fallback)
   and, on CUDA, replayed a captured graph; every run must end with the same status, and its final
   losses (the last batch, the epoch's train and validation loss, the test loss) must agree within
   :data:`RTOL` (cuBLAS's batched and plain matmuls round differently in the last bits).

Between them, how the other examples (a residual CNN, a BatchNorm CNN) would stack here: a figure, not a check.
Prints one line per finding and ``ok`` or ``FAILED: <why>`` last; exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

from lrtui import cli
from lrtui.engine import func_stack
from lrtui.engine.config import RunConfig, detect_devices, resolve_device
from lrtui.engine.func_stack import FuncStackedStep
from lrtui.engine.model import seeded_model
from lrtui.engine.model_factory import factory_of
from lrtui.engine.steps import GRAPH_WARMUP

MODEL = "examples/mlp.py:mlp"
#: How close a stacked run's final losses must be to its one-by-one twin's (relative, plus an absolute floor).
RTOL, ATOL = 1e-3, 1e-4
#: The step check: graph replay against eager, a few dozen steps of one epoch.
STEP_RTOL, STEP_ATOL = 1e-4, 1e-5


def step_check(device: torch.device, lrs: list[float]) -> list[str]:
    """The FuncStackedStep of the MLP, graphed against eager on the same batches; the problems found."""
    batch, batches = 10, 12  # GRAPH_WARMUP eager steps, the capture, then replays; a short last batch (eager)
    gen = torch.Generator().manual_seed(0)
    n = batch * (batches - 1) + 5
    x = torch.rand(n, 1, 28, 28, generator=gen).to(device)
    y = torch.randint(0, 10, (n,), generator=gen).to(device)
    factory = factory_of(RunConfig(model=MODEL))
    assert factory is not None
    configs = [RunConfig(lr=lr, optimizer="sgd-momentum", momentum=0.9, model=MODEL) for lr in lrs]
    steps = {}
    for graphs in (True, False):
        model = seeded_model(factory, 0, device)
        step = FuncStackedStep.of(model, configs, x, y, batches, batches, graphs=graphs)
        step.new_epoch()
        for b in range(batches):
            step(torch.arange(b * batch, min(n, (b + 1) * batch), device=device))
        steps[graphs] = step
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    graphed, eager = steps[True], steps[False]
    problems = []
    if device.type == "cuda" and graphed.graph is None:
        problems.append("the torch.func step was not captured as a CUDA graph (capture refused: eager fallback)")
    if int(graphed.counter) != batches or int(eager.counter) != batches:
        problems.append(f"steps counted {int(graphed.counter)} (graph) and {int(eager.counter)} (eager), not {batches}")
    loss_diff = (graphed.batch_losses - eager.batch_losses).abs().max().item()
    if not torch.allclose(graphed.batch_losses, eager.batch_losses, rtol=STEP_RTOL, atol=STEP_ATOL):
        problems.append(f"graph and eager batch losses differ by up to {loss_diff:.3g}")
    weight_diff = max((p - q).abs().max().item() for p, q in zip(graphed.net.params, eager.net.params))
    if not all(
        torch.allclose(p, q, rtol=STEP_RTOL, atol=STEP_ATOL) for p, q in zip(graphed.net.params, eager.net.params)
    ):
        problems.append(f"graph and eager weights differ by up to {weight_diff:.3g}")
    how = (
        f"captured after {GRAPH_WARMUP} eager steps, replayed"
        if graphed.graph is not None
        else "eager (no CUDA: graphs are CUDA's)"
    )
    print(
        f"step: K={len(lrs)} MLP copies, {batches} steps {how}; vs eager: batch losses within {loss_diff:.2g}, "
        f"weights within {weight_diff:.2g}"
    )
    return problems


def plans_of_examples(device: torch.device) -> None:
    """How the other examples would train as a sweep here (a figure, not a check): the trial batch decides, and on
    CUDA cuDNN's TF32 convolutions round the stacked (grouped) and the plain ones differently, which the trial may
    take for copies that do not compute what the model does (then such a sweep trains one by one)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(10, 1, 28, 28, generator=gen).to(device)
    y = torch.randint(0, 10, (10,), generator=gen).to(device)
    for spec in ("examples/resnet.py:tiny_resnet", "examples/normed_cnn.py:normed_cnn"):
        factory = factory_of(RunConfig(model=spec))
        assert factory is not None
        plan = func_stack.plan_stack(seeded_model(factory, 0, device), x, y)
        print(f"plan of {spec}: {plan.kind}" + (f" ({plan.note})" if plan.note else ""))


def final_losses(run: dict) -> dict[str, float]:
    """A run's final losses from its --json record (NaN where it has none)."""
    last = run["epochs"][-1] if run.get("epochs") else {}
    return {
        "last batch": float(run["batch_losses"][-1]) if run.get("batch_losses") else math.nan,
        "train": float(last.get("train_loss", math.nan)),
        "val": float(last.get("val_loss", math.nan)),
        "test": float(run["test"]["loss"]) if run.get("test") else math.nan,
    }


def sweep_check(device: torch.device, lrs: list[float], epochs: int, train_limit: int, out: Path) -> list[str]:
    """``lrtui run --model`` batched against one by one, through the CLI; the problems found."""
    plans: list[str] = []
    captures: list[bool] = []
    real_plan, real_capture = func_stack.plan_stack, FuncStackedStep._capture

    def plan_stack(*args, **kwargs):  # type: ignore[no-untyped-def]
        plan = real_plan(*args, **kwargs)
        plans.append(plan.kind + (f" ({plan.note})" if plan.note else ""))
        return plan

    def capture(self, idx):  # type: ignore[no-untyped-def]
        graph = real_capture(self, idx)
        captures.append(graph is not None)
        return graph

    func_stack.plan_stack, FuncStackedStep._capture = plan_stack, capture  # type: ignore[method-assign]
    docs, problems = {}, []
    try:
        for flag in ("--batched", "--no-batched"):
            path = out / f"model-sweep{flag[1:].replace('-', '_')}.json"
            argv = [
                "run",
                "--model",
                MODEL,
                "--optimizer",
                "sgd-momentum",
                "--lr",
                ",".join(map(str, lrs)),
                "--epochs",
                str(epochs),
                "--train-limit",
                str(train_limit),
                "--device",
                str(device),
                flag,
                "--quiet",
                "--json",
                str(path),
            ]
            t0 = time.perf_counter()
            rc = cli.main(argv)
            print(f"lrtui {' '.join(argv)}: exit {rc} in {time.perf_counter() - t0:.1f} s")
            if rc != 0:
                problems.append(f"lrtui run {flag} exited {rc}")
                continue
            docs[flag] = json.loads(path.read_text(encoding="utf-8"))["runs"]
    finally:
        func_stack.plan_stack, FuncStackedStep._capture = real_plan, real_capture  # type: ignore[method-assign]
    print(f"plans: {plans or 'none'}; CUDA graph captures: {captures or 'none'}")
    if plans[:1] != ["func"]:
        problems.append(f"the --batched sweep was planned {plans[:1] or 'never'}, not as a torch.func stack")
    if device.type == "cuda" and not any(captures):
        problems.append("the --batched sweep replayed no CUDA graph (every capture refused)")
    if len(docs) < 2:
        return problems
    stacked, alone = docs["--batched"], docs["--no-batched"]
    if len(stacked) != len(lrs) or len(alone) != len(lrs):
        return [*problems, f"{len(stacked)} stacked and {len(alone)} one-by-one runs, not {len(lrs)} each"]
    print(f"{'lr':>8s} {'status':>9s}  {'loss':10s} {'stacked':>10s} {'one by one':>10s} {'diff':>9s}")
    largest = 0.0
    for s, a in zip(stacked, alone):
        lr = s["config"]["lr"]
        if s["status"] != a["status"]:
            problems.append(f"lr {lr}: {s['status']} stacked, {a['status']} one by one")
        for (what, sv), av in zip(final_losses(s).items(), final_losses(a).values()):
            same = (math.isnan(sv) and math.isnan(av)) or math.isclose(sv, av, rel_tol=RTOL, abs_tol=ATOL)
            print(
                f"{lr:8g} {s['status']:>9s}  {what:10s} {sv:10.6f} {av:10.6f} {abs(sv - av):9.2g}"
                f"{'' if same else '  DIFFERENT'}"
            )
            if not same:
                problems.append(f"lr {lr}: {what} loss {sv:.6g} stacked, {av:.6g} one by one")
            elif math.isfinite(sv - av):
                largest = max(largest, abs(sv - av))
    graphs = f"graph captured {sum(captures)}x" if device.type == "cuda" else "eager (no CUDA)"
    print(
        f"figure: K={len(lrs)} {plans[0] if plans else '-'} stack, {graphs}; final losses = one by one's "
        f"within {largest:.1g} (tolerance {RTOL:g} relative)"
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu (a rehearsal: no graphs)")
    parser.add_argument("--lrs", default="0.1,0.03,0.01,0.003", help="the sweep's learning rates (K = how many)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-limit", type=int, default=400, help="training digits per run (a few dozen steps)")
    parser.add_argument("--out", help="where the two --json documents go (default: a temporary folder)")
    args = parser.parse_args(argv)
    device = torch.device(resolve_device(args.device, detect_devices()))
    lrs = [float(v) for v in args.lrs.split(",")]
    print(
        f"device {device}{' (' + torch.cuda.get_device_name(device) + ')' if device.type == 'cuda' else ''}, "
        f"torch {torch.__version__}, model {MODEL}, K={len(lrs)}"
    )
    t0 = time.perf_counter()
    problems = step_check(device, lrs)
    plans_of_examples(device)
    print(f"step check: {time.perf_counter() - t0:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        problems += sweep_check(device, lrs, args.epochs, args.train_limit, out)
    for p in problems:
        print(f"FAILED: {p}")
    if not problems:
        print(
            f"ok: the --model sweep stacked through torch.func on {device} equals one by one "
            f"(final losses within {RTOL:g} relative)"
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
