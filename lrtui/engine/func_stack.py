"""Sweeps for any network: K copies of any ``nn.Module`` trained as one with ``torch.func``.

The reference CNN has its own hand-written stack (:mod:`lrtui.engine.stacked_model`: grouped
convolutions, ~2x the speed of this one on the CPU). Any other model is stacked generically:
its parameters get a leading ``[K]`` dimension, and ``torch.func.vmap`` over
``torch.func.functional_call`` runs the K copies' forward (and, through autograd, their
backward) in one go. Everything else is the stacked sweep's (:class:`~lrtui.engine.steps.StackedStep`):
the same batches for every copy, :class:`~lrtui.engine.steps.StackedSGD` with a ``[K]`` lr
tensor and a per-copy "alive" mask, the on-device bookkeeping, the events under each run's id.

Not every model stacks. A copy must compute exactly what the model computes alone, so before
training :func:`stack_note` tries one batch and says why not, in one line, when:

* a buffer changes while the model trains (BatchNorm's running statistics): K copies would
  need K buffers, and vmap refuses to update one shared buffer in place;
* the model draws random numbers (dropout): ``vmap`` cannot draw them as K separate runs would;
* its forward branches on its data (``if x.sum() > 0``): ``vmap`` refuses;
* anything else raises, or the stacked copies' loss or gradients differ from the model's own.

Such a sweep trains one by one (:func:`train_sweep` returns that line as ``note``): slower,
never wrong.

Diagnostics: each step's update-to-weight ratio per member is kept per parameter-owning
module path (``"0"``, ``"block.conv1"``, ...; :class:`lrtui.engine.diagnostics.LayerGroups`), over the same steps a lone
run measures, and reaches each run's ``BatchLog.update_ratio``. Validation diagnostics (dead units,
collapse) and the step trace come from each run's own model (:class:`lrtui.engine.diagnostics.Observer`),
as for a lone run.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lrtui.engine.config import RunConfig, detect_devices, resolve_device
from lrtui.engine.data import load_splits
from lrtui.engine.events import Emit, RunEnd, RunState
from lrtui.engine.machine import run_threads
from lrtui.engine.model import ConvNet, seeded_model
from lrtui.engine.rng import RNG_LOCK
from lrtui.engine.run import Run
from lrtui.engine.stacked_model import StackedNet
from lrtui.engine.steps import StackedStep
from lrtui.engine.trainer import Fit, one_line

#: What builds a model: called once per run, under the run's seed (:func:`lrtui.engine.model.seeded_model`).
ModelFactory = Callable[[], nn.Module]
#: Every fallback note starts so.
NOTE_PREFIX = "trained one by one, not stacked: "
#: How close the stacked copies' loss and gradients must be to the model's own on the trial batch.
TRIAL_RTOL, TRIAL_ATOL = 1e-3, 1e-5
#: Copies in the trial (two: a mix-up between copies shows, a third adds nothing).
TRIAL_K = 2


def module_path(name: str) -> str:
    """The module that owns parameter ``name``: ``"block.conv1.weight"`` → ``"block.conv1"`` (top level: ``""``)."""
    return name.rpartition(".")[0]


class FuncStackedNet(StackedNet):
    """K copies of any module: :class:`StackedNet`'s interface, its forward a ``vmap`` of ``functional_call``.

    The copies share the model's buffers (read only: :func:`stack_note` checks they do not change).
    """

    def __init__(self, model: nn.Module, k: int) -> None:  # noqa: D107 — a StackedNet for any model
        self.k = k
        self.memory_format = torch.contiguous_format
        self.names = [name for name, _ in model.named_parameters()]
        self.params = [
            p.detach().unsqueeze(0).repeat(k, *[1] * p.dim()).requires_grad_() for _, p in model.named_parameters()
        ]
        self.buffers = {name: b.detach().clone() for name, b in model.named_buffers()}
        self.skeleton = copy.deepcopy(model).to("meta")  # the module's code; its own tensors are never read
        self.forward = torch.func.vmap(self._one, in_dims=(0, None))

    def _one(self, params: tuple[torch.Tensor, ...], x: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(self.skeleton, ({**dict(zip(self.names, params)), **self.buffers},), (x,))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[K, B, C]`` of every copy for the same batch ``x``."""
        return self.forward(tuple(self.params), x)

    def copy_into(self, i: int, model: nn.Module) -> None:
        """Put copy ``i``'s weights into a plain model of the same kind (the trainer evaluates that one)."""
        with torch.no_grad():
            for name, p in zip(self.names, self.params):
                model.get_parameter(name).copy_(p[i])


class FuncStackedStep(StackedStep):
    """:class:`StackedStep` over a :class:`FuncStackedNet`: the same step, optimizer and diagnostics (per
    parameter-owning module, :class:`lrtui.engine.diagnostics.LayerGroups`), only the stack differs."""

    @staticmethod
    def stacked_net(model: nn.Module, k: int) -> FuncStackedNet:
        """K copies of any module, stacked through ``torch.func``."""
        return FuncStackedNet(model, k)


def is_reference_net(model: nn.Module) -> bool:
    """The reference CNN, which has its own faster grouped-convolution stack."""
    return type(model) is ConvNet


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(a, b) or (a.is_floating_point() and torch.allclose(a, b, rtol=0, atol=0, equal_nan=True))


def _owner_of(model: nn.Module, buffer: str) -> str:
    path = module_path(buffer)
    return f"{type(model.get_submodule(path)).__name__} '{path or 'model'}'"


def _why(error: BaseException, model: nn.Module) -> str:
    """The one-line reason a stacked trial raised."""
    text = " ".join(str(error).split())
    if "random" in text:
        drops = [
            f"{type(m).__name__} '{n}'"
            for n, m in model.named_modules()
            if isinstance(m, nn.modules.dropout._DropoutNd)
        ]
        where = f" ({', '.join(drops[:2])})" if drops else ""
        return (
            f"the model draws random numbers as it trains{where}, which stacked copies cannot draw as separate runs do"
        )
    if "data-dependent control flow" in text:
        return "the model's forward branches on its data, which torch.func.vmap cannot stack"
    short = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return f"stacking failed on a trial batch ({short[:160]})"


def stack_note(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> str | None:
    """None when K copies of ``model`` stack; else the one-line note why the sweep trains one by one.

    One batch (``x``, ``y``: a training batch) is trained on a copy, alone and stacked; ``model``
    and the global RNG are left as they were.
    """
    devices = [x.device.index or 0] if x.device.type == "cuda" else []
    with RNG_LOCK, torch.random.fork_rng(devices=devices):
        try:
            trial = copy.deepcopy(model).train()
            before = {name: b.clone() for name, b in trial.named_buffers()}
            params = [p for _, p in trial.named_parameters()]
            plain_logits = trial(x)
            plain_grads = torch.autograd.grad(F.cross_entropy(plain_logits, y), params)
        except Exception as e:  # noqa: BLE001 — one by one, the runs will say what fails
            return NOTE_PREFIX + _why(e, model)
        changed = [name for name, b in trial.named_buffers() if not _same(b, before[name])]
        if changed:
            return (
                f"{NOTE_PREFIX}{_owner_of(trial, changed[0])} updates its buffer "
                f"'{changed[0].rpartition('.')[2]}' as it trains (one per copy would be needed)"
            )
        try:
            net = FuncStackedNet(model, TRIAL_K)
            logits = net(x)
            losses = F.cross_entropy(logits.transpose(1, 2), y.expand(TRIAL_K, -1), reduction="none").mean(1)
            grads = torch.autograd.grad(losses.sum(), net.params)
        except Exception as e:  # noqa: BLE001 — whatever vmap refuses, one by one still trains
            return NOTE_PREFIX + _why(e, trial)
    with torch.no_grad():
        close = all(
            torch.allclose(logits[i], plain_logits, rtol=TRIAL_RTOL, atol=TRIAL_ATOL)
            and all(torch.allclose(g[i], p, rtol=TRIAL_RTOL, atol=TRIAL_ATOL) for g, p in zip(grads, plain_grads))
            for i in range(TRIAL_K)
        )
    return None if close else NOTE_PREFIX + "the stacked copies did not compute what the model does on a trial batch"


@dataclass(frozen=True)
class StackPlan:
    """How K runs of one model train: ``grouped`` (the reference CNN's stack), ``func`` (torch.func), ``one-by-one``."""

    kind: str
    note: str | None = None  #: why one by one (``kind == "one-by-one"``), one line


def plan_stack(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> StackPlan:
    """Reference CNN → grouped convolutions; any other model → torch.func if a trial batch stacks, else one by one."""
    if is_reference_net(model):
        return StackPlan("grouped")
    note = stack_note(model, x, y)
    return StackPlan("one-by-one", note) if note is not None else StackPlan("func")


def stacked_fit(runs: Sequence[Run], graphs: bool = True) -> Fit:
    """Set-up runs trained as one stack: the reference CNN's grouped one, else torch.func's (:meth:`Fit.stacked`)."""
    assert runs[0].model is not None
    return Fit.stacked(runs, graphs, StackedStep if is_reference_net(runs[0].model) else FuncStackedStep)


@dataclass(frozen=True)
class SweepOutcome:
    """What :func:`train_sweep` did: every run's end, how they trained, and why not stacked (one line, or None)."""

    ends: list[RunEnd]
    plan: StackPlan
    note: str | None = None


def train_sweep(
    factory: ModelFactory,
    configs: Sequence[RunConfig],
    run_ids: Sequence[str],
    emit: Emit,
    cancel: threading.Event | None = None,
    *,
    stacked: bool = True,
    graphs: bool = True,
    diagnostics: bool = True,
    probes: bool = True,
    trace: bool = True,
    stop_dead: bool = False,
) -> SweepOutcome:
    """Train K configs (equal but for lr, schedule and warmup; SGD family) of the model ``factory`` builds.

    Every run builds its model with ``factory`` under its seed, so all start from the same weights
    and see the same batches. Stacked where :func:`plan_stack` says so, else one run after another
    (``note`` says why); ``stacked=False``: one by one anyway (no note). Never raises: a failure ends
    the runs ``failed``.
    """
    cancel = cancel or threading.Event()
    try:
        reference = is_reference_net(seeded_model(factory, configs[0].seed))
    except Exception:  # noqa: BLE001 — each run's setup calls the factory again and ends failed with its error
        reference = False
    runs = [
        Run(
            config,
            emit,
            cancel,
            run_id,
            diagnostics=diagnostics,
            probes=probes,
            trace=trace,
            stop_dead=stop_dead,
            model_factory=factory,
        )
        for config, run_id in zip(configs, run_ids, strict=True)
    ]
    plan = StackPlan("grouped" if reference else "func")
    with run_threads():
        try:
            device = torch.device(resolve_device(configs[0].device, detect_devices()))
            splits = load_splits(configs[0], device)
            for run in runs:
                run.setup(splits)
            first = runs[0]
            assert first.model is not None
            b = configs[0].batch_size
            plan = (
                plan_stack(first.model, splits.train_x[:b], splits.train_y[:b]) if stacked else StackPlan("one-by-one")
            )
            if plan.kind == "one-by-one":
                for run in runs:  # each measures its own model, as any lone run does (Run.setup)
                    Fit([run], run.step).run()
            else:
                stacked_fit(runs, graphs).run()
        except Exception as e:  # noqa: BLE001 — as in train(): a failure is a run status, never a traceback
            for run in runs:
                if run.ended is None:
                    run.end(RunState.FAILED, None, error=one_line(e))
    return SweepOutcome([run.ended for run in runs if run.ended is not None], plan, plan.note)
