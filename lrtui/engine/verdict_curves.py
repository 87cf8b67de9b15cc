"""The verdict from the curves alone, and the one rule both verdicts share (an accuracy that fell).

Sessions saved before the diagnostics existed have only losses and accuracies; :func:`judge_curves`
labels them with the rules that need nothing else. :func:`unstable_fall` is also one of the measured
verdict's rules (:mod:`lrtui.engine.verdict`).
"""

from __future__ import annotations

from lrtui.engine.events import Verdict, VerdictLabel
from lrtui.engine.verdict_setting import (
    FAR_FROM_BEST,
    GOOD_ACC,
    LOSS_STILL,
    MORE_EPOCHS,
    SMALLER_LR,
    STEADY_EPOCHS,
    Setting,
)
from lrtui.engine.verdict_words import falling, trend


def unstable_fall(acc: list[float], train: list[float], val_loss: list[float], setting: Setting) -> str | None:
    """The reason a run is unstable because its accuracy fell (beyond noise, a loss rising), or None."""
    if len(acc) < 2:
        return None
    best = max(range(len(acc) - 1), key=lambda i: acc[i])
    rose = train[-1] > train[-2] or val_loss[-1] > val_loss[-2]
    if not rose or not setting.differs(acc[best], acc[-1]) or acc[best] < acc[-1]:
        return None
    which = (
        f"the training loss rose ({trend(train[-2], train[-1])})"
        if train[-1] > train[-2]
        else f"the validation loss rose ({trend(val_loss[-2], val_loss[-1])})"
    )
    return (
        f"validation accuracy fell from {setting.acc(acc[best])} (epoch {best + 1}) to "
        f"{setting.acc(acc[-1])} while {which}"
    )


def judge_curves(
    train: list[float], val_loss: list[float], acc: list[float], best_val_acc: float | None, setting: Setting
) -> Verdict:
    """The rules without diagnostics (sessions saved before they existed): the curves alone."""
    n, last, pct = len(acc), acc[-1], setting.acc
    peak = max(acc[:-1], default=0.0)
    if n > 1 and peak > setting.chance and last <= setting.chance:
        return Verdict(
            VerdictLabel.DIVERGED,
            f"validation accuracy fell back to chance ({pct(last)}) after reaching {pct(peak)}",
            SMALLER_LR,
        )
    steady = n >= STEADY_EPOCHS and falling(train) and falling(val_loss)
    if max(acc) <= setting.chance and not steady:
        if n < STEADY_EPOCHS:
            return Verdict(
                VerdictLabel.TOO_EARLY,
                f"validation accuracy at chance ({pct(last)}) after {n} epoch{'s' if n > 1 else ''}: "
                f"stuck and slow look alike until {STEADY_EPOCHS}+ epochs (no diagnostics were measured)",
                f"run {STEADY_EPOCHS}+ epochs",
            )
        changes = [abs(b - a) for a, b in zip(train, train[1:])]
        if max(changes) < LOSS_STILL:
            return Verdict(
                VerdictLabel.TOO_SLOW,
                f"validation accuracy at chance ({pct(last)}) and the training loss barely moves "
                f"({trend(train[0], train[-1])}): steps too small to matter",
                "try a 100x larger learning rate",
            )
        return Verdict(
            VerdictLabel.NOT_LEARNING,
            f"validation accuracy stayed at chance ({pct(last)}) and the loss is not falling "
            f"({trend(train[-2], train[-1])}; ln {setting.classes} = {setting.uniform:.3f} is a uniform guess)",
            SMALLER_LR,
        )
    if n >= 3 and falling(train[-3:]) and val_loss[-1] > val_loss[-2] > val_loss[-3]:
        return Verdict(
            VerdictLabel.OVERFITTING,
            f"validation loss rose for 2 epochs ({val_loss[-3]:.3f} → {val_loss[-1]:.3f}) while training loss fell",
            "stop earlier, add weight decay, or use more data",
        )
    fall = unstable_fall(acc, train, val_loss, setting)
    if fall:
        return Verdict(VerdictLabel.UNSTABLE, fall, f"{setting.smaller_lr()}: steps this large can kill the network")
    improving = n == 1 or (train[-1] < train[-2] and val_loss[-1] < val_loss[-2])
    far_from_best = best_val_acc is not None and last < best_val_acc - FAR_FROM_BEST
    gap = f", {100 * (best_val_acc - last):.1f} points below the best run" if far_from_best and best_val_acc else ""
    if max(acc) <= setting.chance:  # steady: falling at every epoch, but still at chance
        return Verdict(
            VerdictLabel.TOO_SLOW,
            f"validation accuracy only {pct(last)}{gap}, training loss falling slowly ({trend(train[-2], train[-1])})",
            "try a 10x larger learning rate",
        )
    if improving and far_from_best:
        return Verdict(
            VerdictLabel.TOO_SLOW,
            f"validation accuracy only {pct(last)}{gap}",
            "more epochs or a larger learning rate (try 10x)",
        )
    if improving and last < GOOD_ACC:
        rising = f"training loss {trend(train[-2], train[-1])}" if n > 1 else "only one epoch so far"
        return Verdict(VerdictLabel.STILL_LEARNING, f"validation accuracy {pct(last)}, {rising}", MORE_EPOCHS)
    return Verdict(
        VerdictLabel.CONVERGED,
        f"validation accuracy {pct(last)} (best {pct(max(acc))}), training loss {train[-1]:.3f}",
        "fine as it is; compare with a 10x smaller and larger learning rate",
    )
