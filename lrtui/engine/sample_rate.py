"""How often a lone run measures its step (:class:`~lrtui.engine.diagnostics.StepStats`): every 4th, or
less often where a measured step costs a network more.

Why: a measured step adds foreach norms over the weights and the update. On the reference CNN at
batch 10 on the CPU they cost ~6% of a step, so measuring every 4th costs ~1.5%. A 12-layer 128-wide
MLP's step is a few cheap passes over 267k weights, and its norms add ~20% of one: every 4th cost
~5-7% (benchmarks/diagnostics_overhead.py). So before training, a foreign network times a plain step
against a measured one (the only place these timings sync the device), and measures the
smallest interval of :data:`INTERVALS` whose extra cost is at most :data:`MEASURED_SHARE` of its steps
(1.5%: the validation pass's activation hooks and this timing itself take ~1-2% more of a short run).

The reference CNN keeps :data:`~lrtui.engine.diagnostics.SAMPLE_EVERY` (its numbers stay as they were),
and so does a run too short for the timing to pay (:data:`TIME_FROM_STEPS`). The choice is made once
per network, data, batch, optimizer and device in a process (:data:`_CHOSEN`), so the runs of one sweep
measure the same steps. The run's config records it (``sample_every``): "mean over every Nth step".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lrtui.engine.config import RunConfig
from lrtui.engine.diagnostics import SAMPLE_EVERY, LayerGroups, StepStats
from lrtui.engine.model import ConvNet
from lrtui.engine.rng import RNG_LOCK
from lrtui.engine.steps import SGD_OPTIMIZERS

#: The intervals a foreign network may measure at, smallest first.
INTERVALS = (SAMPLE_EVERY, 8, 16, 32)
#: The most the measured steps may add to a run's steps (their extra time over all steps' time).
MEASURED_SHARE = 0.015
#: Runs with fewer steps keep :data:`SAMPLE_EVERY`: the timing costs ~4 steps, more than it saves there.
TIME_FROM_STEPS = 200
#: Timed steps; the fastest of each figure counts (load, and the first call's allocations, only add time).
ROUNDS = 3

_CHOSEN: dict[tuple[object, ...], int] = {}  #: (network, data, batch, optimizer, device, trace) → interval
_LOCK = threading.Lock()


def interval_for(plain_s: float, measured_s: float) -> int:
    """The smallest of :data:`INTERVALS` at which steps taking ``measured_s`` instead of ``plain_s`` every
    Nth step add at most :data:`MEASURED_SHARE` (the largest where none does)."""
    extra = max(0.0, measured_s - plain_s)
    return next((n for n in INTERVALS if extra <= MEASURED_SHARE * n * plain_s), INTERVALS[-1])


def sync(device: torch.device) -> Callable[[], None]:
    """Waits for the device's queued work (a no-op on the CPU)."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    if device.type == "mps":
        return torch.mps.synchronize
    return lambda: None


def clock(device: torch.device) -> Callable[[], float]:
    """What a step's time is read from: on the CPU with one torch thread, that thread's CPU time (other
    processes on a shared machine do not add to it), else the wall clock."""
    return time.thread_time if device.type == "cpu" and torch.get_num_threads() == 1 else time.perf_counter


def step_times(
    model: nn.Module, config: RunConfig, x: torch.Tensor, y: torch.Tensor, groups: LayerGroups, traced: bool
) -> tuple[float, float]:
    """(plain, measured) seconds of one training step of ``model`` on the batch ``(x, y)``.

    A plain step is timed as forward, gradients and one update-sized pass over the weights (not applied:
    the weights stay, as do the buffers a forward moves, and torch's generators); a measured step adds
    what :class:`StepStats` does on it (with the optimizer's copy of the weights where it is not SGD),
    timed on its own: a difference of two step times would be as noisy as a shared machine. No copy of
    the network: a deep copy's many small objects cost a short run more than the timing itself. The
    fastest of :data:`ROUNDS` counts (the first, with its allocations, is the slowest)."""
    device = x.device
    wait, now = sync(device), clock(device)
    params: list[torch.Tensor] = list(model.parameters())
    stats = StepStats(device, groups, every=1, rows=ROUNDS if traced else 0)
    sgd = config.optimizer in SGD_OPTIMIZERS
    plain_sgd = sgd and not config.momentum and not config.weight_decay
    saved = [b.detach().clone() for b in model.buffers()]
    was_training = model.training
    times: list[tuple[float, float]] = []
    try:
        with RNG_LOCK, torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            model.train()
            for _ in range(ROUNDS):
                wait()
                began = now()
                grads = list(torch.autograd.grad(F.cross_entropy(model(x), y), params))
                with torch.no_grad():
                    after = torch._foreach_add(params, grads, alpha=-config.lr)
                wait()
                stepped = now()
                with torch.no_grad():
                    if sgd:
                        stats.add_sgd(params, grads, grads if plain_sgd else after, config.lr)
                    else:
                        stats.add_delta(torch._foreach_mul(params, 1.0), after, grads)
                wait()
                times.append((stepped - began, now() - stepped))
    finally:
        with torch.no_grad():
            for buffer, value in zip(model.buffers(), saved):
                buffer.copy_(value)
        model.train(was_training)
    plain, extra = min(p for p, _ in times), min(e for _, e in times)
    return plain, plain + extra


def sample_interval(
    model: nn.Module, config: RunConfig, x: torch.Tensor, y: torch.Tensor, total_steps: int, traced: bool = False
) -> int:
    """Every how many steps a lone run of ``model`` (a batch of its data: ``x``, ``y``) measures its step."""
    if isinstance(model, ConvNet) or total_steps < TIME_FROM_STEPS:
        return SAMPLE_EVERY
    shapes = tuple((name, tuple(p.shape)) for name, p in model.named_parameters())  # a factory's too (no spec)
    key = (
        config.model,
        shapes,
        config.data,
        config.dataset,
        config.batch_size,
        config.optimizer,
        bool(config.momentum),
        bool(config.weight_decay),
        str(x.device),
        traced,
    )
    with _LOCK:
        if key not in _CHOSEN:
            groups = LayerGroups([name for name, _ in model.named_parameters()])
            _CHOSEN[key] = interval_for(*step_times(model, config, x, y, groups, traced))
        return _CHOSEN[key]


def forget() -> None:
    """Choose again at the next run (a benchmark times the choice with each run)."""
    with _LOCK:
        _CHOSEN.clear()
