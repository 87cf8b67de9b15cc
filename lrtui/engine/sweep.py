"""Several learning rates in one go: the entry point front ends call for any list of configs.

Batched sweeps: when K configs differ only in their learning rate and the
optimizer is SGD (plain, momentum or Nesterov), the K models are trained as one
stacked model (:mod:`lrtui.engine.stacked_model`) — grouped convolutions and batched matmuls over parameters of
shape ``[K, ...]`` (on the CPU, one thread, K=4: 2x the samples/s of
``torch.func.vmap`` + ``functional_call`` over ConvNet). Every model starts
from the same seeded weights and sees the same batches in the same order, so the
comparison is controlled, and the per-epoch metrics equal K sequential runs of
:func:`lrtui.engine.trainer.train` (same seed) up to float rounding (grouped
kernels round differently in the last bit; plain SGD stays within ~1e-6 on the CPU, while a
momentum trajectory near a ReLU kink can grow that to ~1e-3 within an epoch; on CUDA,
cuDNN's TF32 convolutions make ~1e-3 the rule).

Diagnostics and probes are per model: each step adds every model's update ratio
per layer and gradient norm to ``[4, K]``/``[K]`` device sums (pure tensor ops,
inside the CUDA graph); validation, dead units and the step probe run on each
run's own plain model after its weights are copied out, as in a lone run.

Each model keeps its own learning rate in a device tensor and its own "alive"
flag: the first non-finite loss of a model masks all its later updates and ends
its run as ``diverged`` at that batch, while the others go on. The K runs train
through the same driver and batch loop as a lone run (:class:`lrtui.engine.trainer.Fit`),
with the stack's step (:class:`lrtui.engine.steps.StackedStep`) in place of each run's
own; events go out under each run's id through its own :class:`~lrtui.engine.run.Run`
(RunStarted, BatchLog, Progress, EpochEnd, the test evaluation, the verdict and RunEnd),
so consumers see K runs exactly as if they had run one by one.

On CUDA the whole step (forward, backward, the masked SGD update and the
on-device metric sums) is captured once in a CUDA graph and replayed, because
at batch 10 the loop is bound by kernel launches; metrics stay on the device
until an event needs them. If capture fails, the same step runs eagerly (as on
the CPU, and for an epoch's short last batch). Auto mode stacks every batchable
run on CUDA (a stack of one, to get the graph); for two or more it stacks where a
short calibration on this device measured the stack faster (:mod:`lrtui.engine.stack_choice`).

Schedules: runs that differ in lr, schedule and/or warmup still stack. Each epoch the
K runs' lrs of every step (:func:`lrtui.engine.schedule.device_table`) are copied once
into a fixed ``[batches, K]`` device buffer; the step copies its row, picked by the
on-device batch counter, into the optimizer's ``[K]`` lr tensor (no host sync, the same
ops in a CUDA graph). Constant lrs allocate no buffer and skip that copy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

import torch

from lrtui.engine.config import RunConfig, detect_devices, resolve_device
from lrtui.engine.data import load_splits
from lrtui.engine.events import Emit, RunEnd, RunState
from lrtui.engine.func_stack import ModelFactory, train_sweep
from lrtui.engine.machine import run_threads
from lrtui.engine.model_factory import factory_of
from lrtui.engine.run import Run
from lrtui.engine.stack_choice import stacked_is_faster
from lrtui.engine.steps import SGD_OPTIMIZERS
from lrtui.engine.trainer import Fit, one_line, train

#: Optimizers whose update the stacked step implements (torch.optim.SGD's exact arithmetic).
BATCHABLE_OPTIMIZERS = SGD_OPTIMIZERS


def batchable(configs: Sequence[RunConfig]) -> bool:
    """True when the configs can share one stacked model: SGD-family, and equal but for lr, schedule and warmup
    (the reference CNN stacks with grouped convolutions, a ``--model`` network through torch.func where it can)."""
    if not configs or configs[0].optimizer not in BATCHABLE_OPTIMIZERS:
        return False
    first = configs[0]
    return all(replace(c, lr=first.lr, schedule=first.schedule, warmup=first.warmup) == first for c in configs)


def use_batched(
    configs: Sequence[RunConfig],
    batched: bool | None,
    device: str,
    *,
    choice: Callable[[RunConfig, int, torch.device], bool] | None = None,
    model_factory: ModelFactory | None = None,
) -> bool:
    """``batched=None`` (auto): a lone run stacks on CUDA only (a stack of one, for the CUDA graph); K > 1
    stacks where :func:`lrtui.engine.stack_choice.stacked_is_faster` measured the stack faster on this
    device (cached per device, torch version, threads, K and batch size). ``choice`` replaces that
    measurement (tests). True/False force the stack (where the configs allow it) / one by one.
    ``model_factory``: another model than the reference CNN (its torch.func stack is measured).

    Why measured: the same K=4/K=8 stack ran at 1.30x/1.44x of one-by-one speed on an Intel CPU
    and at 0.84x/0.81x on an AMD EPYC (benchmarks/sweep.py).
    """
    if not batchable(configs) or batched is False:
        return False
    if batched is True:
        return True
    if len(configs) == 1:
        return device.startswith("cuda")
    with run_threads():  # measured at the thread count training will use (part of the cache key)
        if choice is None and model_factory is not None:
            return stacked_is_faster(configs[0], len(configs), torch.device(device), factory=model_factory)
        return (choice or stacked_is_faster)(configs[0], len(configs), torch.device(device))


def run_many(
    configs: Sequence[RunConfig],
    run_ids: Sequence[str],
    emit: Emit,
    cancel: threading.Event | None = None,
    *,
    batched: bool | None = None,
    diagnostics: bool = True,
    probes: bool = True,
    trace: bool = True,
    stop_dead: bool = False,
    model_factory: ModelFactory | None = None,
    note: Callable[[str], None] | None = None,
) -> list[RunEnd]:
    """Train every config, emitting each run's events under its id. A cancel stops the rest too.

    ``batched``: True forces the stacked path where the configs allow it (else they run one
    by one), False forces one by one, None chooses (see :func:`use_batched`). ``diagnostics``/``probes``/``trace``:
    as for :func:`lrtui.engine.trainer.train`. ``stop_dead``: a run provably dead
    (:mod:`lrtui.engine.dead_stop`) ends *finished* at the next epoch's end, one by one or stacked alike (the
    runner asks for it for a batch of several runs, so that the others get the machine sooner).
    ``model_factory``: the runs' model (None: the reference CNN);
    SGD-family sweeps of it train through :func:`lrtui.engine.func_stack.train_sweep` (stacked as
    :func:`use_batched` says), and ``note`` hears the one line that says why a sweep that would have
    stacked trained one by one instead.
    """
    if len(configs) != len(run_ids):
        raise ValueError(f"{len(configs)} configs but {len(run_ids)} run ids")
    cancel = cancel or threading.Event()
    if model_factory is None and configs:
        model_factory = factory_of(configs[0])
    if model_factory is not None and batchable(configs):
        stack = use_batched(
            configs, batched, resolve_device(configs[0].device, detect_devices()), model_factory=model_factory
        )
        outcome = train_sweep(
            model_factory,
            configs,
            run_ids,
            emit,
            cancel,
            diagnostics=diagnostics,
            probes=probes,
            trace=trace,
            stacked=stack,
            stop_dead=stop_dead,
        )
        if outcome.note is not None and note is not None:
            note(outcome.note)
        return outcome.ends
    if configs and use_batched(configs, batched, resolve_device(configs[0].device, detect_devices())):
        return train_stacked(
            configs, run_ids, emit, cancel, diagnostics=diagnostics, probes=probes, trace=trace, stop_dead=stop_dead
        )
    ends = []
    for config, run_id in zip(configs, run_ids, strict=True):
        if cancel.is_set():
            break
        if batched is None and len(configs) > 1:  # one by one, each as auto runs a lone run (CUDA: a graph)
            ends.extend(
                run_many(
                    [config],
                    [run_id],
                    emit,
                    cancel,
                    diagnostics=diagnostics,
                    probes=probes,
                    trace=trace,
                    stop_dead=stop_dead,
                    model_factory=model_factory,
                )
            )
        else:
            ends.append(
                train(
                    config,
                    emit,
                    cancel,
                    run_id=run_id,
                    diagnostics=diagnostics,
                    probes=probes,
                    trace=trace,
                    stop_dead=stop_dead,
                    model_factory=model_factory,
                )
            )
    return ends


def train_stacked(
    configs: Sequence[RunConfig],
    run_ids: Sequence[str],
    emit: Emit,
    cancel: threading.Event,
    *,
    graphs: bool = True,
    diagnostics: bool = True,
    probes: bool = True,
    trace: bool = True,
    stop_dead: bool = False,
) -> list[RunEnd]:
    """Train K configs that differ only in lr, schedule or warmup as one stacked model.

    Never raises: a failure ends the runs ``failed``. ``stop_dead``: a dead model's run ends at an epoch's end
    and the stack masks it; the others' numbers stay what they would have been.
    """
    runs = [
        Run(config, emit, cancel, run_id, diagnostics=diagnostics, probes=probes, trace=trace, stop_dead=stop_dead)
        for config, run_id in zip(configs, run_ids, strict=True)
    ]
    with run_threads():  # as train() does: leave a core free
        try:
            device = torch.device(resolve_device(configs[0].device, detect_devices()))
            splits = load_splits(configs[0], device)
            for run in runs:  # every run emits its RunStarted, builds its (identical) model and its generator
                run.setup(splits)
            Fit.stacked(runs, graphs).run()
        except Exception as e:  # noqa: BLE001 — as in train(): a failure is a run status, never a traceback
            for run in runs:
                if run.ended is None:
                    run.end(RunState.FAILED, None, error=one_line(e))
    return [run.ended for run in runs if run.ended is not None]
