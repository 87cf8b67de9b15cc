"""One word on how a run went, with the reason in numbers and what to try next.

Pure Python on the per-epoch metrics (the dicts a RunRecord keeps), so a saved
session can be re-judged without torch.

Thresholds were tuned on real curves (mnist-5k, batch 10, SGD, 5 epochs, seeds
0-5: every one got the intended label). At lr 0.5 the network collapses to a constant guess within the first
epoch: validation accuracy ~9-12% and the training loss stuck at ~2.31, wobbling
by a few thousandths from epoch to epoch. At lr 1e-4 the validation accuracy is
*also* ~10-14% after 5 epochs, but the training and validation losses fall by
~0.0005 every single epoch, with no wobble. So "still learning" is judged by the
*direction* of the losses (falling at every epoch), not by their size, and only
with at least three epochs, since two falling steps in a row happen by chance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lrtui.engine.events import Verdict

CLASSES = 10
#: Validation accuracy at or below this is "at chance" (chance is 10% with ten classes).
CHANCE_ACC = 0.2
#: Below this validation accuracy a run still learning is "far from good".
GOOD_ACC = 0.8
#: A run this far (in accuracy) below the session's best run is "far from the best".
FAR_FROM_BEST = 0.1
#: Fewest epochs whose losses all fall before a run at chance counts as slowly learning.
STEADY_EPOCHS = 3
#: Loss this many times the first epoch's (and above the initial ~ln 10) means it exploded.
EXPLODE_FACTOR = 1.5
#: An epoch's mean loss above this many times a fresh model's (~ln 10) means it blew up on the way,
#: even if it came back down to a finite constant guess (lr 100: epoch means of ~1e35).
BLOWN_UP_FACTOR = 5.0

SMALLER_LR = "try a 10x smaller learning rate"
LARGER_LR = "more epochs or a larger learning rate (try 10x)"


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _falling(values: Sequence[float]) -> bool:
    """Strictly decreasing at every step (and at least one step)."""
    return len(values) >= 2 and all(b < a for a, b in zip(values, values[1:]))


def judge(
    epochs: Sequence[Mapping[str, Any]],
    status: str,
    *,
    best_val_acc: float | None = None,
) -> Verdict:
    """Label a run from its epochs (``train_loss``, ``train_acc``, ``val_loss``, ``val_acc`` each).

    ``status`` is the run's (``diverged`` always wins); ``best_val_acc`` is the best
    validation accuracy of the runs it is compared with, if any, for "too slow".
    """
    if status == "diverged":
        done = f" after {len(epochs)} full epoch{'s' if len(epochs) != 1 else ''}" if epochs else " in the first epoch"
        return Verdict("diverged", f"the loss became infinite or NaN{done}", SMALLER_LR)
    if not epochs:
        return Verdict("not learning", "no epoch finished, so there is nothing to judge", "run at least one epoch")
    losses = [(e.get("train_loss"), e.get("val_loss")) for e in epochs]
    if not all(_finite(t) and _finite(v) for t, v in losses):
        return Verdict("diverged", "the loss became infinite or NaN", SMALLER_LR)
    train = [float(e["train_loss"]) for e in epochs]
    val_loss = [float(e["val_loss"]) for e in epochs]
    acc = [float(e["val_acc"]) for e in epochs]
    n, last = len(epochs), acc[-1]

    worst = max(train + val_loss)
    if worst > BLOWN_UP_FACTOR * math.log(CLASSES):
        return Verdict(
            "diverged",
            f"the loss blew up to {worst:.3g} (a fresh model starts at {math.log(CLASSES):.2f})",
            SMALLER_LR,
        )

    peak = max(acc[:-1], default=0.0)
    if n > 1 and peak > CHANCE_ACC and last <= CHANCE_ACC:
        return Verdict(
            "diverged",
            f"validation accuracy fell back to chance ({_pct(last)}) after reaching {_pct(peak)}",
            SMALLER_LR,
        )
    if n > 1 and train[-1] > EXPLODE_FACTOR * train[0] and train[-1] > math.log(CLASSES):
        return Verdict(
            "diverged",
            f"the training loss grew from {train[0]:.3f} to {train[-1]:.3f}",
            SMALLER_LR,
        )

    steady = n >= STEADY_EPOCHS and _falling(train) and _falling(val_loss)
    if max(acc) <= CHANCE_ACC and not steady:
        why = "" if n >= STEADY_EPOCHS else f" (judge the trend with {STEADY_EPOCHS}+ epochs)"
        return Verdict(
            "not learning",
            f"validation accuracy stayed at chance ({_pct(last)}) and the loss is not falling ({train[-1]:.3f}){why}",
            f"{SMALLER_LR}; if it is already tiny, try a 10x larger one",
        )

    if n >= 3 and _falling(train[-3:]) and val_loss[-1] > val_loss[-2] > val_loss[-3]:
        return Verdict(
            "overfitting",
            f"validation loss rose for 2 epochs ({val_loss[-3]:.3f} → {val_loss[-1]:.3f}) while training loss fell",
            "stop earlier, add weight decay, or use more data",
        )

    improving = n == 1 or (train[-1] < train[-2] and val_loss[-1] < val_loss[-2])
    far_from_best = best_val_acc is not None and last < best_val_acc - FAR_FROM_BEST
    if improving and (last < GOOD_ACC or far_from_best):
        gap = f", {100 * (best_val_acc - last):.1f} points below the best run" if far_from_best and best_val_acc else ""
        trend = (
            f"training loss still falling ({train[-2]:.4f} → {train[-1]:.4f})"
            if n > 1
            else "only one epoch so far"
        )
        return Verdict("too slow", f"validation accuracy only {_pct(last)}{gap}, {trend}", LARGER_LR)

    return Verdict(
        "converged",
        f"validation accuracy {_pct(last)} (best {_pct(max(acc))}), training loss {train[-1]:.3f}",
        "fine as it is; compare with a 10x smaller and larger learning rate",
    )
