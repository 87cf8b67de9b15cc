"""The label a run's measured curves call for, by a stated criterion written apart from lrtui's verdict.

Used by ``calibrate_verdicts.py --choices`` to check :func:`lrtui.engine.verdict.judge` against
something it does not share: this module reads only plain numbers per epoch (losses, accuracies,
the median and largest per-step update ratio, the largest dead share) and imports nothing of lrtui.
Its thresholds were fixed before the comparison was run and are not tuned to agree.

The criterion, tried in this order (``acc`` is validation accuracy, "chance" is at most 20%):

E1 diverged      the run ended diverged, or a loss is not finite.
E2 not learning  at chance, with at least 60% of a layer dead (dying ReLUs).
E3 unstable      validation accuracy fell >= 5 points (and > 2 standard errors of the difference) below its
                 best earlier epoch, and the last epoch's training loss is above its minimum (training got worse).
E4 overfitting   the training loss still falls, the validation loss sits >= 10% above its minimum of an earlier
                 epoch, and training accuracy leads validation by >= 5 points.
E5 at chance     median step < 1e-4 of the weights: too slow; else the training loss fell >= 1% in the last
                 epoch: still learning; else not learning.
E6 below 80%     median step < 1e-4: too slow. Else, at the last epoch's gain of accuracy (the first epoch's: from
                 10%), reaching 80% would take more than 5 more epochs: too slow; a gain of < 0.5 points with the
                 training loss falling < 1%: not learning (stalled); else still learning.
E7 at 80%+       one epoch only, or accuracy rose >= 1.5 points, or the validation loss fell >= 10% in the last
                 epoch: still learning; else converged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CHANCE = 0.20
DEAD = 0.60
FALL_POINTS = 0.05
OVERFIT_RISE, OVERFIT_GAP = 0.10, 0.05
TINY_STEP = 1e-4
MOVING = 0.01
GOOD = 0.80
EPOCHS_LEFT = 5
STALLED_POINTS = 0.005
RISING_POINTS, VAL_FALLING = 0.015, 0.10


@dataclass(frozen=True)
class Curve:
    """One epoch's measured numbers (None: not measured)."""

    train_loss: float | None
    train_acc: float | None
    val_loss: float | None
    val_acc: float | None
    median_step: float | None = None  #: median over layers of the mean ‖Δw‖/‖w‖ per step
    largest_step: float | None = None  #: the largest ‖Δw‖/‖w‖ of one step, any layer
    dead: float | None = None  #: the largest share of a ReLU layer never active on validation


def _ok(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _fell(before: float, after: float) -> float:
    """Relative fall from ``before`` to ``after`` (0.25: down 25%)."""
    return (before - after) / before if before > 0 else 0.0


def expected(curves: Sequence[Curve], status: str, n_val: int) -> str:
    """The label E1-E7 give (``diverged``, ``not learning``, ``unstable``, ``overfitting``, ``too slow``,
    ``still learning``, ``converged``; ``too early`` with no epoch)."""
    if status == "diverged" or any(not _ok(c.train_loss) or not _ok(c.val_loss) for c in curves):
        return "diverged"
    if not curves:
        return "too early"
    acc = [c.val_acc or 0.0 for c in curves]
    train = [c.train_loss or 0.0 for c in curves]
    val = [c.val_loss or 0.0 for c in curves]
    last = curves[-1]
    if acc[-1] <= CHANCE and (last.dead or 0.0) >= DEAD:
        return "not learning"
    if len(curves) >= 2:
        best = max(acc[:-1])
        se = math.sqrt(best * (1 - best) / n_val + acc[-1] * (1 - acc[-1]) / n_val)
        if best - acc[-1] >= max(FALL_POINTS, 2 * se) and train[-1] > min(train[:-1]):
            return "unstable"
        gap = (last.train_acc or 0.0) - acc[-1]
        if train[-1] < train[-2] and val[-1] >= (1 + OVERFIT_RISE) * min(val[:-1]) and gap >= OVERFIT_GAP:
            return "overfitting"
    step = last.median_step if _ok(last.median_step) else None
    loss_fall = _fell(train[-2], train[-1]) if len(train) >= 2 else 1.0
    if acc[-1] <= CHANCE:
        if step is not None and step < TINY_STEP:
            return "too slow"
        return "still learning" if loss_fall >= MOVING else "not learning"
    if acc[-1] < GOOD:
        if step is not None and step < TINY_STEP:
            return "too slow"
        gain = acc[-1] - (acc[-2] if len(acc) >= 2 else 0.1)
        if gain < STALLED_POINTS and loss_fall < MOVING:
            return "not learning"
        if gain <= 0 or (GOOD - acc[-1]) / gain > EPOCHS_LEFT:
            return "too slow"
        return "still learning"
    if len(curves) == 1 or acc[-1] - acc[-2] >= RISING_POINTS or _fell(val[-2], val[-1]) >= VAL_FALLING:
        return "still learning"
    return "converged"
