"""Learning-rate schedules: the lr of every optimizer step, computed on the host from the config alone.

Why a table of plain floats: the whole schedule is known before the first step, so the
trainer looks up ``table[step]`` (a Python float: ``alpha=-lr`` or ``param_group["lr"]``
costs no device sync), and a stacked sweep uploads the rows once per epoch into a device
tensor that a captured CUDA graph indexes with its own on-device step counter
(:func:`device_table`). Pure Python; torch is imported only inside :func:`device_table`.

Steps are 0-based optimizer steps over the whole run: step ``s`` is the update made from
batch ``s + 1``; ``total_steps = epochs × batches_per_epoch`` (:func:`lrtui.engine.config.total_steps`).
With ``T = total_steps``, ``t = step`` and ``lr`` the config's (peak) learning rate:

* ``constant``: ``lr``.
* ``step``: ``lr × 0.1`` from step ``floor(0.5 T)`` on, ``lr × 0.01`` from ``floor(0.75 T)`` on
  (torch ``MultiStepLR(milestones=[⌊T/2⌋, ⌊3T/4⌋], gamma=0.1)`` stepped per batch). Fractions of the
  run rather than "every N epochs", so a 2-epoch run and a 50-epoch run both get both drops.
* ``exp``: ``lr × 0.01^(t / (T - 1))``: geometric per step, exactly ``lr / 100`` at the last step.
* ``cosine``: ``lr × ½(1 + cos(π t / T))``: from ``lr`` towards 0 (torch ``CosineAnnealingLR(T_max=T)``,
  ``eta_min=0``); the last step still moves (``t / T < 1``).
* ``onecycle``: torch ``OneCycleLR(max_lr=lr, total_steps=T)`` with its defaults (``pct_start=0.3``,
  cosine annealing, ``div_factor=25``, ``final_div_factor=1e4``): from ``lr/25`` up to ``lr`` at step
  ``0.3 T - 1``, then down to ``lr/25/1e4 = lr/2.5e5`` at the last step. Only the lr cycles; the
  run's momentum stays as configured (torch would also cycle it, ``cycle_momentum=True``).

``warmup = W > 0`` multiplies any of these by ``(t + 1) / W`` for ``t < W``: a linear ramp
``lr/W, 2 lr/W, ..., 1 × schedule`` over the first W steps (the first step already moves,
unlike a ramp that starts at exactly 0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from lrtui.engine.config import SCHEDULES, RunConfig

if TYPE_CHECKING:
    import torch

#: ``step``: the fractions of the run after which the lr is multiplied by :data:`STEP_GAMMA`.
STEP_MILESTONES: tuple[float, ...] = (0.5, 0.75)
STEP_GAMMA = 0.1
#: ``exp``: the lr at the last step is ``lr × EXP_FINAL``.
EXP_FINAL = 0.01
#: ``onecycle``: torch OneCycleLR's defaults.
ONECYCLE_PCT_START = 0.3
ONECYCLE_DIV = 25.0
ONECYCLE_FINAL_DIV = 1e4


def _cos_anneal(start: float, end: float, pct: float) -> float:
    """torch's ``OneCycleLR._annealing_cos``, term for term (the same float rounding)."""
    return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)


def _onecycle(lr: float, step: int, total: int) -> float:
    """OneCycleLR's two-phase lr at ``step`` (its ``get_lr`` with ``last_epoch = step``)."""
    initial = lr / ONECYCLE_DIV
    phases = ((float(ONECYCLE_PCT_START * total) - 1, initial, lr), (total - 1, lr, initial / ONECYCLE_FINAL_DIV))
    start_step = 0.0
    for i, (end_step, start_lr, end_lr) in enumerate(phases):
        if step <= end_step or i == len(phases) - 1:
            span = end_step - start_step
            return _cos_anneal(start_lr, end_lr, (step - start_step) / span if span else 1.0)
        start_step = end_step
    raise AssertionError("unreachable")  # pragma: no cover


def schedule_factor(schedule: str, step: int, total_steps: int) -> float:
    """The schedule's multiplier of the lr at ``step`` (before warmup); ``onecycle`` is handled by :func:`lr_at`."""
    t, n = step, total_steps
    if schedule == "constant":
        return 1.0
    if schedule == "step":
        drops = sum(1 for f in STEP_MILESTONES if t >= math.floor(f * n))
        return STEP_GAMMA**drops
    if schedule == "exp":
        return EXP_FINAL ** (t / (n - 1)) if n > 1 else 1.0
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * t / n))
    raise ValueError(f"unknown schedule {schedule!r}: choose one of {', '.join(SCHEDULES)}")


def is_scheduled(config: RunConfig | Any) -> bool:
    """Whether the lr changes during the run at all (a constant lr keeps the trainer's per-step work unchanged)."""
    return str(config.schedule) != "constant" or int(config.warmup) > 0


def lr_at(config: RunConfig | Any, step: int, total_steps: int) -> float:
    """The lr of optimizer step ``step`` (0-based) of a run of ``total_steps`` steps. See the module doc."""
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1 (got {total_steps})")
    if not 0 <= step < total_steps:
        raise ValueError(f"step {step} is outside the run (0..{total_steps - 1})")
    lr, schedule, warmup = float(config.lr), str(config.schedule), int(config.warmup)
    value = (
        _onecycle(lr, step, total_steps)
        if schedule == "onecycle"
        else lr * schedule_factor(schedule, step, total_steps)
    )
    if step < warmup:
        value *= (step + 1) / warmup
    return value


def lr_table(config: RunConfig | Any, total_steps: int, start: int = 0, stop: int | None = None) -> list[float]:
    """``[lr_at(config, s, total_steps) for s in range(start, stop)]``; ``stop`` defaults to ``total_steps``.

    ``start``/``stop`` let a trainer build one epoch's rows at a time: a 1000-epoch run on full
    MNIST at batch 1 has 48 million steps, too many to hold at once.
    """
    stop = total_steps if stop is None else stop
    return [lr_at(config, s, total_steps) for s in range(start, stop)]


def lr_trace(table: Sequence[float], log_points: Iterable[int]) -> list[list[float]]:
    """``[[step, lr], ...]`` for the run record: the first step, every logged step, and the last step of ``table``.

    ``table`` holds the lrs of the steps actually taken (cut it at a diverged or cancelled run's
    last step); ``log_points`` are 0-based steps (a BatchLog of batch ``b`` in epoch ``e`` is step
    ``(e - 1) × batches_per_epoch + b - 1``); those outside the table are ignored. Sorted, no repeats.
    Steps are ints (JSON numbers), lrs floats.
    """
    if not table:
        return []
    last = len(table) - 1
    steps = sorted({0, last, *(int(p) for p in log_points if 0 <= int(p) <= last)})
    return [[s, float(table[s])] for s in steps]


def lr_trace_at(
    config: RunConfig | Any, total_steps: int, log_points: Iterable[int], steps_done: int | None = None
) -> list[list[float]]:
    """:func:`lr_trace` of the first ``steps_done`` steps (default: all), computed at the traced steps only.

    What a trainer calls at a run's end: no table of every step is kept (a long run has millions).
    """
    done = total_steps if steps_done is None else min(steps_done, total_steps)
    if done <= 0:
        return []
    steps = sorted({0, done - 1, *(int(p) for p in log_points if 0 <= int(p) < done)})
    return [[s, lr_at(config, s, total_steps)] for s in steps]


def device_table(
    configs: Sequence[RunConfig | Any], total_steps: int, device: Any, start: int = 0, stop: int | None = None
) -> torch.Tensor:
    """A ``[stop - start, K]`` float32 tensor on ``device``: row ``s - start`` holds the K configs' lrs at step ``s``.

    One host-to-device copy for the whole block; a stacked sweep copies a row into its lr tensor
    inside the captured step (``index_select`` with its on-device step counter), so no per-step sync.
    """
    import torch

    columns = [lr_table(c, total_steps, start, stop) for c in configs]
    rows = [list(r) for r in zip(*columns, strict=True)]
    return torch.tensor(rows, dtype=torch.float32).reshape(len(rows), len(configs)).to(device)
