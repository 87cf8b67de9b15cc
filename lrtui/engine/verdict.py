"""One word on how a run went, with the mechanism in numbers and what to try next.

Pure Python on the per-epoch dicts a RunRecord keeps (and its step probes), so a saved
session can be re-judged without torch. Runs saved before diagnostics existed are judged
on their curves alone (the older rules, which need 3+ epochs to tell stuck from slow).

The mechanism, measured (``benchmarks/calibrate_verdicts.py``: SGD, batch 10, seed 0, the
5k digits at 500 / 2,000 / 3,200 training samples, lrs 1e-7 .. 1, epochs 1-4)::

    lr      median ‖Δw‖/‖w‖ per step   dead (max layer)   val acc, 3,200 samples, epochs 1→4
    1e-7    7e-9                       13-16% (= init)     12% flat
    1e-5    7e-7                       13-16%              12% flat (loss falls in the 5th digit)
    1e-4    7e-6                       13-16%              12 → 14%
    1e-3    7e-5                       12-16%              16 → 26%
    0.01    7e-4 → 5e-3                4-16%               47 → 77 → 88 → 91%
    0.05    4e-3 → 1e-2                1-15%               87 → 96%
    0.1     1e-2 → 3e-2                0-12%               92 → 96%
    0.3     2e-2 → 6e-2                9-38%               94 → 96%
    0.5     2e-2 → 9e-2, then 0        75-100% (dead)      12% (500 samples: 59% after epoch 1, then 13%, 4%)
    1       3e-2 → 5e-2, then 0        96-100% (dead)      9%

* Steps too small are the *update ratio*: below :data:`RATIO_LOW` (2e-4, ~3x from both lr 1e-3
  at 7e-5, which reaches only 26% in 4 epochs, and lr 0.01 at 7e-4, which learns) the run
  is *too slow*, if the step probe agrees (its best step is at least :data:`PROBE_FACTOR` times
  the lr: 1e2-1e7x for every too-slow run above, 1-20x for the healthy ones).
* Steps too large kill the ReLUs: every failed run (lr 0.5 and 1) had >= 75% of a layer's units
  dead while at chance; every run that learned had <= 38%. :data:`DEAD_HIGH` sits between.
  A dead network's update ratio is exactly 0, which is why dead units are checked before
  step size. A large ratio alone is no failure (lr 0.3 learns at 5e-2).
* One-class answers alone are no failure either: an untrained network answers one class for
  52-100% of images with a near-uniform output (entropy ~2.30 = ln 10).
* A run at chance with healthy steps, nothing dead and a falling loss has not taken off yet
  (lr 0.01 on 500 samples: 14% for 2 epochs, 29% at the 4th): *still learning*.
* *Converged* needs :data:`GOOD_ACC` and an accuracy gain under :data:`RISING_POINTS` in the last
  epoch (lr 0.01 on 3,200 samples: +30, +11, +3 points, then +0.7 over epochs 2-5).

The labels these rules give on that grid (3,200 samples; 500 and 2,000 agree but for the
epochs it takes to converge; rerun ``benchmarks/calibrate_verdicts.py`` after changing a rule)::

    lr      1 epoch          2 epochs         3 epochs         4 epochs
    1e-7    too slow         too slow         too slow         too slow
    1e-5    too slow         too slow         too slow         too slow
    1e-4    too slow         too slow         too slow         too slow
    1e-3    too slow         too slow         too slow         too slow
    0.01    still learning   still learning   still learning   still learning (91%, +3 points)
    0.05    still learning   still learning   converged        converged
    0.1     still learning   still learning   still learning   converged
    0.3     still learning   converged        converged        converged
    0.5     not learning     not learning     not learning     not learning  (dying ReLUs)
    1       not learning     not learning     not learning     not learning  (dying ReLUs)

On 500 samples lr 0.5 first reaches 59% with large steps (*still learning*, its hint warns of
dying ReLUs), then dies in epoch 2 (*not learning*, "after reaching 59.2%").

Full MNIST (48k/12k, ``--mnist /work/shared/data --epochs 3``; validation accuracy by epoch)::

    lr      epoch 1                      epoch 2                epoch 3
    1e-5    too slow (12%, 6.6e-7)       too slow (12%)         too slow (13%)
    1e-4    too slow (16%, 6.8e-6)       too slow (24%)         too slow (43%)
    1e-3    too slow (76%, 1.6e-4)       still learning (89%)   still learning (91%, 5.3e-4)
    0.01    still learning (96%)         converged (97%)        converged (98%)
    0.1     still learning (97%)         converged (98%)        converged (99%)
    0.5     not learning (12%, fc1 100% dead)  not learning     not learning

lr 1e-3 is the one borderline cell: its first epoch's mean step (1.6e-4) sits just under the
floor, then its steps grow (gradients grow as the network leaves the flat start) to 5e-4.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from lrtui.engine.events import RunState, Verdict, VerdictLabel

CLASSES = 10
#: ln 10: the loss of a uniform guess (and of a fresh model).
UNIFORM_LOSS = math.log(CLASSES)
#: Validation accuracy at or below this is "at chance" (chance is 10% with ten classes).
CHANCE_ACC = 0.2
#: Below this validation accuracy a run is not done.
GOOD_ACC = 0.8
#: A last-epoch gain of at least this much validation accuracy means "still improving".
RISING_POINTS = 0.02
#: A run this far (in accuracy) below the session's best run is "far from the best".
FAR_FROM_BEST = 0.1
#: Fewest epochs whose losses all fall before a run at chance counts as slowly learning (no diagnostics).
STEADY_EPOCHS = 3
#: Loss this many times the first epoch's (and above the initial ~ln 10) means it exploded.
EXPLODE_FACTOR = 1.5
#: An epoch's mean loss above this many times a fresh model's (~ln 10) means it blew up on the way,
#: even if it came back down to a finite constant guess (lr 100: epoch means of ~1e35).
BLOWN_UP_FACTOR = 5.0
#: The healthy band of the per-step update ratio ‖Δw‖/‖w‖ (median over layers). The floor is the
#: geometric middle between lr 1e-3 (7e-5: 26% after 4 epochs) and lr 0.01 at its slowest (7e-4:
#: learns), ~3x from each; above the ceiling steps are large (lr 0.3: 5e-2, learns; 0.5: 7e-2, dies).
RATIO_LOW, RATIO_HIGH = 2e-4, 1e-2
#: A ratio this close to the middle of the band is what a "try Nx larger" hint aims at (lr 0.01: 7e-4).
RATIO_TARGET = 1e-3
#: Share of a ReLU layer's units that never fire on validation above which the network is dead.
DEAD_HIGH = 0.6
#: The probe agrees "steps too small" when its best step is this many times the lr or more.
PROBE_FACTOR = 10.0
#: ... and lowers the probe loss by at least this much (nats) against the lr's own step.
PROBE_MIN_GAIN = 1e-3
#: Without diagnostics: epoch-to-epoch train-loss changes all below this mean steps too small to matter.
LOSS_STILL = 2e-4

SMALLER_LR = "try a 10x smaller learning rate"
MORE_EPOCHS = "run more epochs (the same learning rate)"
NEUTRAL = "compare with a 10x smaller and a 10x larger learning rate"


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _num(x: Any) -> float | None:
    """A finite number as a float, anything else (None, NaN, text) as None."""
    return float(x) if _finite(x) else None


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _falling(values: Sequence[float]) -> bool:
    """Strictly decreasing at every step (and at least one step)."""
    return len(values) >= 2 and all(b < a for a, b in zip(values, values[1:]))


def trend(a: float, b: float, digits: int = 4) -> str:
    """``a → b`` with enough digits (up to 7) that the two differ, or ``flat at a`` when they do not:
    a reason never shows two equal numbers as a trend."""
    for d in range(digits, 8):
        x, y = f"{a:.{d}f}", f"{b:.{d}f}"
        if x != y:
            return f"{x} → {y}"
    return f"flat at {a:.{digits}f}"


def probe_gain(probe: Mapping[str, Any]) -> tuple[float, float] | None:
    """(best η, how much lower its loss is than at the current lr) of one probe, or None if unusable."""
    pairs = [(lr, loss) for lr, loss in zip(probe.get("lrs") or [], probe.get("losses") or []) if _finite(loss)]
    current = probe.get("current_lr")
    at_lr = [loss for lr, loss in pairs if current and math.isclose(lr, current, rel_tol=1e-6)]
    if not pairs or not at_lr:
        return None
    best_lr, best_loss = min(pairs, key=lambda p: p[1])
    return best_lr, at_lr[0] - best_loss


def _median_ratio(diag: Mapping[str, Any]) -> float | None:
    ratios = [r for r in (diag.get("update_ratio") or {}).values() if _finite(r)]
    return statistics.median(ratios) if ratios else None


def _dead(diag: Mapping[str, Any]) -> list[tuple[str, float]]:
    """ReLU layers by dead fraction, largest first."""
    dead = [(k, float(v)) for k, v in (diag.get("dead_fraction") or {}).items() if _finite(v)]
    return sorted(dead, key=lambda kv: -kv[1])


def _times(factor: float) -> str:
    """1.4 → "1.4x", 10 → "10x", 1e7 → "1e+07x"."""
    if factor < 10:
        return f"{factor:.1f}x"
    return f"{factor:.0f}x" if factor < 1e6 else f"{factor:.0e}x"


def judge(
    epochs: Sequence[Mapping[str, Any]],
    status: str,
    *,
    best_val_acc: float | None = None,
    probes: Sequence[Mapping[str, Any]] | None = None,
    lr: float | None = None,
) -> Verdict:
    """Label a run from its epochs (``train_loss``, ``train_acc``, ``val_loss``, ``val_acc``, and
    ``diagnostics`` when measured) and its step ``probes`` (RunRecord.probes; optional).

    ``status`` is the run's (``diverged`` always wins); ``best_val_acc`` is the best validation
    accuracy of the runs it is compared with, if any; ``lr`` the run's configured lr (a schedule
    may have lowered the one its last probe saw: hints scale the configured one).
    """
    if status == RunState.DIVERGED:
        done = f" after {len(epochs)} full epoch{'s' if len(epochs) != 1 else ''}" if epochs else " in the first epoch"
        return Verdict(VerdictLabel.DIVERGED, f"the loss became infinite or NaN{done}", SMALLER_LR)
    if not epochs:
        return Verdict(VerdictLabel.TOO_EARLY, "no epoch finished, so there is nothing to judge yet",
                       "run at least one epoch")
    losses = [(e.get("train_loss"), e.get("val_loss")) for e in epochs]
    if not all(_finite(t) and _finite(v) for t, v in losses):
        return Verdict(VerdictLabel.DIVERGED, "the loss became infinite or NaN", SMALLER_LR)
    train = [float(e["train_loss"]) for e in epochs]
    val_loss = [float(e["val_loss"]) for e in epochs]
    n = len(epochs)

    worst = max(train + val_loss)
    if worst > BLOWN_UP_FACTOR * UNIFORM_LOSS:
        return Verdict(VerdictLabel.DIVERGED,
                       f"the loss blew up to {worst:.3g} (a fresh model starts at {UNIFORM_LOSS:.2f})", SMALLER_LR)
    if n > 1 and train[-1] > EXPLODE_FACTOR * train[0] and train[-1] > UNIFORM_LOSS:
        return Verdict(VerdictLabel.DIVERGED, f"the training loss grew from {train[0]:.3f} to {train[-1]:.3f}",
                       SMALLER_LR)

    diags = [e.get("diagnostics") for e in epochs]
    if isinstance(diags[-1], Mapping):
        return _judge_measured(epochs, [d if isinstance(d, Mapping) else {} for d in diags], probes or [],
                               best_val_acc, lr)
    return _judge_curves(train, val_loss, [float(e["val_acc"]) for e in epochs], best_val_acc)


def _judge_measured(epochs: Sequence[Mapping[str, Any]], diags: list[Mapping[str, Any]],
                    probes: Sequence[Mapping[str, Any]], best_val_acc: float | None,
                    configured_lr: float | None = None) -> Verdict:
    """The rules with diagnostics: the mechanism first, then the curve."""
    train = [float(e["train_loss"]) for e in epochs]
    val_loss = [float(e["val_loss"]) for e in epochs]
    acc = [float(e["val_acc"]) for e in epochs]
    n, last, diag = len(epochs), acc[-1], diags[-1]
    ratio = _median_ratio(diag)
    step_ratios = [r for d in diags if (r := _median_ratio(d)) is not None]
    dead = _dead(diag)
    top = _num(diag.get("top_class_share"))
    at_chance = last <= CHANCE_ACC
    peak = max(acc[:-1], default=0.0)

    # 1. dead ReLUs: the mark of steps too large
    if at_chance and dead and dead[0][1] >= DEAD_HIGH:
        killed = ", ".join(f"{100 * f:.0f}% of {name}" for name, f in dead if f >= DEAD_HIGH)
        fell = f" (after reaching {_pct(peak)})" if peak > CHANCE_ACC else ""
        # an epoch's mean counts the dead steps too (ratio 0): quote it only where it shows the large steps
        big = max(step_ratios, default=0.0)
        steps = f", killed by steps of up to {big:.0e} of the weights" if big > RATIO_HIGH else ""
        one = f"; one class for {100 * top:.0f}% of images" if top is not None and top >= 0.5 else ""
        return Verdict(
            VerdictLabel.NOT_LEARNING,
            f"dying ReLUs: {killed} never fire{steps}{one}; validation accuracy {_pct(last)}{fell}, "
            f"loss {val_loss[-1]:.3f} ≈ ln 10 (a uniform guess)",
            f"steps too large: {SMALLER_LR}",
        )

    # 2. steps too small, the probe agreeing
    gain = probe_gain(probes[-1]) if probes else None
    lr = _num(probes[-1].get("current_lr")) if probes else None
    current = lr if lr is not None and lr > 0 else None  #: the run's lr, known from its probes
    probe_says_larger = gain is None or (
        current is not None and gain[0] >= PROBE_FACTOR * current and gain[1] >= PROBE_MIN_GAIN)
    if ratio is not None and ratio < RATIO_LOW and last < GOOD_ACC and probe_says_larger:
        factor = 10.0 ** max(1, round(math.log10(RATIO_TARGET / max(ratio, 1e-12))))
        probe_note = ""
        if gain is not None and current is not None:
            probe_note = f"; a {_times(gain[0] / current)} larger step lowers the probe loss {gain[1]:.2g} more"
        base = configured_lr if configured_lr is not None and configured_lr > 0 else current
        target = f" (≈ {base * factor:.2g})" if base is not None else ""
        lowered = ""
        if base is not None and current is not None and current < base * (1 - 1e-6):
            lowered = f" (the schedule has lowered the lr to {current:.2g})"
        moved = f"training loss {trend(train[0], train[-1])}" if n > 1 else "after 1 epoch"
        return Verdict(
            VerdictLabel.TOO_SLOW,
            f"steps too small: {ratio:.1e} of the weights per step, {_times(RATIO_LOW / ratio)} below the "
            f"healthy floor {RATIO_LOW:.0e}{lowered}{probe_note}; validation accuracy {_pct(last)}, {moved}",
            f"try a {_times(factor)} larger learning rate{target}",
        )

    large = ratio is not None and ratio > RATIO_HIGH
    size = "large" if large else "small" if ratio is not None and ratio < RATIO_LOW else "healthy"
    healthy = f"steps {ratio:.1e} of the weights ({size})" if ratio is not None else "steps measured"
    # 3. overfitting
    if n >= 3 and _falling(train[-3:]) and val_loss[-1] > val_loss[-2] > val_loss[-3]:
        return Verdict(
            VerdictLabel.OVERFITTING,
            f"validation loss rose for 2 epochs ({val_loss[-3]:.3f} → {val_loss[-1]:.3f}) while training loss fell",
            "stop earlier, add weight decay, or use more data",
        )

    # 4. at chance with live units: not taken off yet, or stuck
    if at_chance:
        falling = n >= 2 and train[-1] < train[-2] and val_loss[-1] < val_loss[-2]
        if n == 1 or falling:
            moving = f"training loss {trend(train[-2], train[-1])}" if n > 1 else "one epoch so far"
            return Verdict(
                VerdictLabel.STILL_LEARNING,
                f"not taken off yet: validation accuracy {_pct(last)}, {moving}; {healthy}, no dead units",
                MORE_EPOCHS,
            )
        hint = NEUTRAL
        if gain is not None and current is not None and gain[1] >= PROBE_MIN_GAIN:
            hint = "try a 10x larger learning rate" if gain[0] > current else SMALLER_LR
        return Verdict(
            VerdictLabel.NOT_LEARNING,
            f"validation accuracy at chance ({_pct(last)}) and the training loss is not falling "
            f"({trend(train[-2], train[-1])}; ln 10 = {UNIFORM_LOSS:.3f} is a uniform guess)",
            hint,
        )

    # 5. learning: done, or not yet
    gained = last - (acc[-2] if n > 1 else 1 / CLASSES)
    far_from_best = best_val_acc is not None and last < best_val_acc - FAR_FROM_BEST
    gap = f", {100 * (best_val_acc - last):.1f} points below the best run" if far_from_best and best_val_acc else ""
    if last < GOOD_ACC or gained >= RISING_POINTS:
        rose = (f"validation accuracy {_pct(acc[-2])} → {_pct(last)}" if n > 1
                else f"validation accuracy {_pct(last)} after one epoch")
        hint = f"{MORE_EPOCHS}; steps are large: watch for dying ReLUs" if large else MORE_EPOCHS
        return Verdict(VerdictLabel.STILL_LEARNING, f"{rose}{gap}, {healthy}, still improving", hint)
    return Verdict(
        VerdictLabel.CONVERGED,
        f"validation accuracy {_pct(last)} (best {_pct(max(acc))}), training loss {train[-1]:.3f}{gap}",
        "fine as it is; compare with a 10x smaller and larger learning rate",
    )


def _judge_curves(train: list[float], val_loss: list[float], acc: list[float],
                  best_val_acc: float | None) -> Verdict:
    """The rules without diagnostics (sessions saved before they existed): the curves alone."""
    n, last = len(acc), acc[-1]
    peak = max(acc[:-1], default=0.0)
    if n > 1 and peak > CHANCE_ACC and last <= CHANCE_ACC:
        return Verdict(
            VerdictLabel.DIVERGED,
            f"validation accuracy fell back to chance ({_pct(last)}) after reaching {_pct(peak)}",
            SMALLER_LR,
        )
    steady = n >= STEADY_EPOCHS and _falling(train) and _falling(val_loss)
    if max(acc) <= CHANCE_ACC and not steady:
        if n < STEADY_EPOCHS:
            return Verdict(
                VerdictLabel.TOO_EARLY,
                f"validation accuracy at chance ({_pct(last)}) after {n} epoch{'s' if n > 1 else ''}: "
                f"stuck and slow look alike until {STEADY_EPOCHS}+ epochs (no diagnostics were measured)",
                f"run {STEADY_EPOCHS}+ epochs",
            )
        changes = [abs(b - a) for a, b in zip(train, train[1:])]
        if max(changes) < LOSS_STILL:
            return Verdict(
                VerdictLabel.TOO_SLOW,
                f"validation accuracy at chance ({_pct(last)}) and the training loss barely moves "
                f"({trend(train[0], train[-1])}): steps too small to matter",
                "try a 100x larger learning rate",
            )
        return Verdict(
            VerdictLabel.NOT_LEARNING,
            f"validation accuracy stayed at chance ({_pct(last)}) and the loss is not falling "
            f"({trend(train[-2], train[-1])}; ln 10 = {UNIFORM_LOSS:.3f} is a uniform guess)",
            SMALLER_LR,
        )
    if n >= 3 and _falling(train[-3:]) and val_loss[-1] > val_loss[-2] > val_loss[-3]:
        return Verdict(
            VerdictLabel.OVERFITTING,
            f"validation loss rose for 2 epochs ({val_loss[-3]:.3f} → {val_loss[-1]:.3f}) while training loss fell",
            "stop earlier, add weight decay, or use more data",
        )
    improving = n == 1 or (train[-1] < train[-2] and val_loss[-1] < val_loss[-2])
    far_from_best = best_val_acc is not None and last < best_val_acc - FAR_FROM_BEST
    gap = f", {100 * (best_val_acc - last):.1f} points below the best run" if far_from_best and best_val_acc else ""
    if max(acc) <= CHANCE_ACC:  # steady: falling at every epoch, but still at chance
        return Verdict(
            VerdictLabel.TOO_SLOW,
            f"validation accuracy only {_pct(last)}{gap}, training loss falling slowly "
            f"({trend(train[-2], train[-1])})",
            "try a 10x larger learning rate",
        )
    if improving and far_from_best:
        return Verdict(
            VerdictLabel.TOO_SLOW,
            f"validation accuracy only {_pct(last)}{gap}",
            "more epochs or a larger learning rate (try 10x)",
        )
    if improving and last < GOOD_ACC:
        rising = f"training loss {trend(train[-2], train[-1])}" if n > 1 else "only one epoch so far"
        return Verdict(VerdictLabel.STILL_LEARNING, f"validation accuracy {_pct(last)}, {rising}", MORE_EPOCHS)
    return Verdict(
        VerdictLabel.CONVERGED,
        f"validation accuracy {_pct(last)} (best {_pct(max(acc))}), training loss {train[-1]:.3f}",
        "fine as it is; compare with a 10x smaller and larger learning rate",
    )
