"""One word on how a run went, with the mechanism in numbers and what to try next.

Pure Python on the epoch records a RunRecord keeps (and its step probes), so a saved
session can be re-judged without torch. Runs saved before diagnostics existed are judged
on their curves alone (the older rules, which need 3+ epochs to tell stuck from slow).
What is healthy depends on the optimizer: the bands live in :mod:`lrtui.engine.bands`, one
per family, each on a named statistic; :func:`judge` reads the run's family from its config.

The rules, in the order they are tried (each names its numbers; "the band" is the family's):

1. *Weight decay too strong* (not learning): the decay part of each step (SGD: exactly lr·wd,
   lr·wd/(1−β) under momentum; AdamW: lr·wd) is most of the measured step and the loss sits at
   ln 10 (wd 0.5 at lr 0.01: 5e-3 of 5e-3, loss 2.3028 for 8 epochs). A "healthy" step can be all decay.
2. *Dying ReLUs* (not learning): at chance with >= :data:`DEAD_HIGH` of a layer dead (every failed
   SGD run: >= 75%). A dead network's update ratio is exactly 0, which is why this comes before
   step size. Under momentum the reason names the effective step lr/(1−β) (lr 0.1 with momentum
   0.9 dies like lr 1.0).
3. *Steps too small* (too slow): the update ratio below the band's floor, if the step probe agrees
   (its best step is at least :data:`PROBE_FACTOR` times the lr: 1e2-1e7x for every too-slow run
   above, 1-20x for the healthy ones).
4. *Too few steps* (too slow): progress is steps × step size, not the per-step ratio alone. Batch 256
   takes 13 steps per epoch of a healthy 2.2e-4: 2.9e-3 of the weights per epoch (17% after 3 epochs,
   34% after 15, while lr 0.3 at batch 256 reaches 92% in 5): below the band's epoch-travel floor.
5. *Overfitting*: the validation loss rose for 2 epochs while the training loss fell, or it sits
   :data:`OVERFIT_RISE` above its minimum while training accuracy leads validation by
   :data:`OVERFIT_GAP` and the training loss still falls (100 digits at lr 0.1, 20 epochs: 0.565 vs
   0.482 at epoch 14; 100% vs 88%).
6. *Unstable*: validation accuracy fell from its best by more than its binomial noise (and at least
   :data:`FALL_MIN`) while a loss rose (lr 0.4 on 800 digits: 74.5% → 39.0%, 67.5% → 57.5%), or
   more of a layer is dead than in any run of the family that learned (lr 0.5 on 1,000 digits after
   one epoch: 45.6% with 41% of conv2 dead, at chance an epoch later). The dead-unit half is tried
   right after rule 2 (a dying layer's update ratio is 0: it must not read as steps too small), the
   falling half after rule 5 (a falling accuracy with the training loss still falling and a growing
   train/validation gap is overfitting).
7. At chance with live units and a falling loss: not taken off yet, *still learning* (lr 0.01 on 500
   samples: 14% for 2 epochs, 29% at the 4th); not falling: *not learning*.
8. *Still learning* needs a real rise of the accuracy (:data:`RISING_POINTS`) or a real fall of the
   loss (training loss down :data:`LOSS_FALLING` in the last epoch, validation loss down
   :data:`VAL_FALLING`: Adam 1e-4 after 3 epochs, 0.61 → 0.41, −33%). *Converged* needs :data:`GOOD_ACC` and the loss to have
   flattened (lr 0.01 at epoch 5: −15%). Below :data:`GOOD_ACC` with neither: stalled, *not learning*.

Below :data:`SMALL_VAL` validation images each accuracy carries its Wilson interval: too few to be sure.

The mechanism and the labels these rules give (reference grid, full MNIST) are tabled in the README ("How
the verdicts are calibrated"); rerun ``benchmarks/calibrate_verdicts.py`` after changing a rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lrtui.engine.bands import (
    SGD,
    dead_layers,
    epoch_travel,
    largest_update,
    median_update_ratio,
)
from lrtui.engine.config import RunConfig
from lrtui.engine.events import RunState, Verdict, VerdictLabel
from lrtui.engine.numbers import as_float, finite
from lrtui.engine.probe_reading import larger_step_safe
from lrtui.engine.records import Diagnostics, EpochRecord, ProbeRecord
from lrtui.engine.verdict_curves import judge_curves, unstable_fall
from lrtui.engine.verdict_setting import (
    AT_UNIFORM,
    BLOWN_UP_FACTOR,
    CLASSES,
    DEAD_HIGH,
    DEAD_NOTE,
    EXPLODE_FACTOR,
    FAR_FROM_BEST,
    GOOD_ACC,
    LOSS_FALLING,
    LOSS_MOVING,
    MORE_EPOCHS,
    NEUTRAL,
    OVERFIT_GAP,
    OVERFIT_RISE,
    PROBE_FACTOR,
    PROBE_MIN_GAIN,
    REFERENCE_BATCH,
    RISING_POINTS,
    SMALLER_LR,
    VAL_FALLING,
    Setting,
)
from lrtui.engine.verdict_setting import (
    CHANCE_ACC as CHANCE_ACC,
)
from lrtui.engine.verdict_setting import (
    RATIO_HIGH as RATIO_HIGH,
)
from lrtui.engine.verdict_setting import (
    RATIO_LOW as RATIO_LOW,
)
from lrtui.engine.verdict_setting import (
    RATIO_TARGET as RATIO_TARGET,
)
from lrtui.engine.verdict_setting import (
    SMALL_VAL as SMALL_VAL,
)
from lrtui.engine.verdict_setting import (  # re-exported: other modules read them here
    UNIFORM_LOSS as UNIFORM_LOSS,
)
from lrtui.engine.verdict_words import (
    dead_shares,
    falling,
    largest_step,
    pct,
    probe_gain,
    rel_fall,
    share,
    times,
    trend,
)


def judge(
    epochs: Sequence[EpochRecord],
    status: str,
    *,
    best_val_acc: float | None = None,
    probes: Sequence[ProbeRecord] | None = None,
    lr: float | None = None,
    config: RunConfig | None = None,
    n_train: int | None = None,
    n_val: int | None = None,
) -> Verdict:
    """Label a run from its epochs (losses, accuracies, diagnostics when measured) and ``probes`` (optional).

    ``status`` is the run's (``diverged`` always wins); ``best_val_acc`` is the best validation
    accuracy of the runs it is compared with, if any; ``lr`` the run's configured lr (a schedule
    may have lowered the one its last probe saw: hints scale the configured one; default
    ``config.lr``). ``config`` (its optimizer, momentum, weight decay, batch size), ``n_train`` and
    ``n_val`` (the training and validation set sizes) let the verdict use the optimizer's bands, the
    steps per epoch, the weight decay's share of each step and the accuracies' binomial noise; a run
    judged without them is judged as plain SGD with those rules left out.
    """
    setting = Setting.of(config, lr, n_train, n_val)
    verdict = _judge(epochs, status, best_val_acc, probes or [], setting)
    if setting.small_val and verdict.label not in (VerdictLabel.DIVERGED, VerdictLabel.TOO_EARLY):
        verdict = Verdict(
            verdict.label,
            f"{verdict.reason}; only {setting.n_val} validation images: too few validation images to be sure",
            verdict.hint,
        )
    return verdict


def _judge(
    epochs: Sequence[EpochRecord],
    status: str,
    best_val_acc: float | None,
    probes: Sequence[ProbeRecord],
    setting: Setting,
) -> Verdict:
    if status == RunState.DIVERGED:
        done = f" after {len(epochs)} full epoch{'s' if len(epochs) != 1 else ''}" if epochs else " in the first epoch"
        return Verdict(VerdictLabel.DIVERGED, f"the loss became infinite or NaN{done}", SMALLER_LR)
    if not epochs:
        return Verdict(
            VerdictLabel.TOO_EARLY, "no epoch finished, so there is nothing to judge yet", "run at least one epoch"
        )
    if not all(finite(e.train_loss) and finite(e.val_loss) for e in epochs):
        return Verdict(VerdictLabel.DIVERGED, "the loss became infinite or NaN", SMALLER_LR)
    train, val_loss = [float(e.train_loss or 0.0) for e in epochs], [float(e.val_loss or 0.0) for e in epochs]
    n = len(epochs)

    worst = max(train + val_loss)
    if worst > BLOWN_UP_FACTOR * setting.uniform:
        return Verdict(
            VerdictLabel.DIVERGED,
            f"the loss blew up to {worst:.3g} (a fresh model starts at {setting.uniform:.2f})",
            SMALLER_LR,
        )
    if n > 1 and train[-1] > EXPLODE_FACTOR * train[0] and train[-1] > setting.uniform:
        return Verdict(
            VerdictLabel.DIVERGED, f"the training loss grew from {train[0]:.3f} to {train[-1]:.3f}", SMALLER_LR
        )

    if epochs[-1].diagnostics is not None:
        return _Measured(epochs, probes, best_val_acc, setting).verdict()
    return judge_curves(train, val_loss, _accs(epochs), best_val_acc, setting)


def _accs(epochs: Sequence[EpochRecord]) -> list[float]:  # one saved as null: NaN, which every comparison refuses
    return [math.nan if e.val_acc is None else e.val_acc for e in epochs]


def last_probe(probes: Sequence[ProbeRecord]) -> tuple[tuple[float, float] | None, float | None, bool]:
    """(the last probe's gain, the lr it saw, whether it agrees that larger steps would do better)."""
    gain = probe_gain(probes[-1]) if probes else None
    lr = as_float(probes[-1].current_lr) if probes else None
    current = lr if lr is not None and lr > 0 else None
    real = larger_step_safe(probes[-1], PROBE_FACTOR) if probes else None  # real steps decide
    agrees = gain is None or (
        real
        if real is not None
        else (current is not None and gain[0] >= PROBE_FACTOR * current and gain[1] >= PROBE_MIN_GAIN)
    )
    return gain, current, agrees


class _Measured:
    """The rules with diagnostics (see the module docstring): the mechanism first, then the curve."""

    def __init__(
        self, epochs: Sequence[EpochRecord], probes: Sequence[ProbeRecord], best_val_acc: float | None, setting: Setting
    ) -> None:
        self.s, self.b = setting, setting.bands
        self.train = [float(e.train_loss or 0.0) for e in epochs]  # finite: checked by _judge
        self.val_loss = [float(e.val_loss or 0.0) for e in epochs]
        self.acc = _accs(epochs)
        self.train_acc = [e.train_acc for e in epochs]
        diags = [e.diagnostics or Diagnostics() for e in epochs]
        self.n, self.last, diag = len(epochs), self.acc[-1], diags[-1]
        self.ratio = median_update_ratio(diag.update_ratio)
        self.step_ratios = [r for d in diags if (r := median_update_ratio(d.update_ratio)) is not None]
        self.diags = diags
        self.dead = dead_layers(diag)
        self.top = diag.top_class_share
        self.at_chance = self.last <= setting.chance
        self.probes, self.best_val_acc = probes, best_val_acc
        decay = setting.decay_step()
        self.decay = decay
        self.share = min(1.0, decay / self.ratio) if decay and self.ratio else None

    # -- pieces of reasons ------------------------------------------------------------------
    def steps(self) -> str:
        """ "steps 2.2e-03 of the weights (healthy)": the update ratio against the family's band."""
        if self.ratio is None:
            return "steps measured"
        band, who = self.b.update_ratio, "" if self.b is SGD else f" for {self.b.name}"
        if band.above(self.ratio):
            size = f"large{who}: above {band.high:.0e}"
        elif band.below(self.ratio):
            size = f"small{who}: below {band.low:.0e}"
        else:
            size = f"healthy{who}"
        return f"steps {self.ratio:.1e} of the weights ({size})"

    def dead_note(self, always: bool = False) -> str:
        """The dead share: named when notable (or ``always``); "no dead units" only when none are."""
        if not self.dead:
            return ""
        if self.dead[0][1] == 0:
            return "no dead units"
        if self.dead[0][1] >= DEAD_NOTE:
            named = dead_shares([(k, f) for k, f in self.dead if f >= DEAD_NOTE])
            bound = self.b.dead_fraction.high
            where = "above" if self.b.dead_fraction.above(self.dead[0][1]) else "within"
            band = f" ({where} {self.b.name}'s band: up to {100 * bound:.0f}%)" if bound is not None else ""
            return f"{named} never fire{band}"
        name, frac = self.dead[0]
        return f"at most {share(frac)} of {name} dead" if always else ""

    def decay_note(self) -> str:
        if self.share is None or self.decay is None or self.ratio is None or not self.b.decay_share.above(self.share):
            return ""
        return (
            f"most of each step is weight decay ({100 * self.share:.0f}%: lr·wd = {self.decay:.1e} of the "
            f"{self.ratio:.1e} measured)"
        )

    def join(self, *parts: str) -> str:
        return "; ".join(p for p in (*parts, self.decay_note(), self.s.momentum_note()) if p)

    def gap_to_best(self) -> str:
        best = self.best_val_acc
        if best is not None and self.last < best - FAR_FROM_BEST:
            return f", {100 * (best - self.last):.1f} points below the best run"
        return ""

    # -- the rules --------------------------------------------------------------------------
    def verdict(self) -> Verdict:
        # dead units before step size: a dead layer's update ratio is 0; overfitting before a falling accuracy
        for rule in (
            self.decay_too_strong,
            self.dying,
            self.unstable_dead,
            self.too_small,
            self.too_few_steps,
            self.overfitting,
            self.unstable_fall,
            self.at_chance_rule,
        ):
            found = rule()
            if found is not None:
                return found
        return self.learning()

    def decay_too_strong(self) -> Verdict | None:
        s, last = self.s, self.last
        if (
            self.share is None
            or self.decay is None
            or self.ratio is None
            or not self.at_chance
            or not self.b.decay_share.above(self.share)
            or abs(self.val_loss[-1] - s.uniform) > AT_UNIFORM
        ):
            return None
        wd = s.config.weight_decay if s.config is not None else 0.0
        reason = (
            f"weight decay too strong: it alone moves the weights by lr·wd = {self.decay:.1e} per step, "
            f"{100 * self.share:.0f}% of the measured step ({self.ratio:.1e}), so the weights shrink instead "
            f"of learning; validation accuracy {s.acc(last)}, loss {self.val_loss[-1]:.4f} ≈ ln {s.classes} "
            f"(a uniform guess)"
        )
        parts = [reason, self.dead_note(), s.momentum_note()]
        return Verdict(
            VerdictLabel.NOT_LEARNING,
            "; ".join(p for p in parts if p),
            f"try a smaller weight decay (10x smaller: {wd / 10:g})",
        )

    def dying(self) -> Verdict | None:
        dead, s = self.dead, self.s
        if not (self.at_chance and dead and dead[0][1] >= DEAD_HIGH):
            return None
        killed = dead_shares([(name, f) for name, f in dead if f >= DEAD_HIGH])
        peak = max(self.acc[:-1], default=0.0)
        fell = f" (after reaching {s.acc(peak)})" if peak > s.chance else ""
        # epoch means count dead steps (0) and hide the killing ones: quote a killed layer's largest single step
        # (update_ratio_max), else (runs saved before it) the largest epoch mean where it shows
        top, big = largest_update(self.diags, [k for k, f in dead if f >= DEAD_HIGH]), max(self.step_ratios or [0.0])
        steps = (
            f"; {largest_step(*top)}"
            if top
            else f", killed by steps of up to {big:.0e} of the weights"
            if self.b.update_ratio.above(big)
            else ""
        )
        one = f"; one class for {100 * self.top:.0f}% of images" if self.top is not None and self.top >= 0.5 else ""
        reason = (
            f"dying ReLUs: {killed} never fire{steps}{one}; validation accuracy {s.acc(self.last)}{fell}, "
            f"loss {self.val_loss[-1]:.3f} ≈ ln {s.classes} (a uniform guess)"
        )
        tail = " (or less momentum)" if s.momentum else ""
        return Verdict(VerdictLabel.NOT_LEARNING, self.join(reason), f"steps too large: {SMALLER_LR}{tail}")

    def moved(self) -> str:
        return f"training loss {trend(self.train[0], self.train[-1])}" if self.n > 1 else "after 1 epoch"

    def too_small(self) -> Verdict | None:
        ratio, band = self.ratio, self.b.update_ratio
        gain, current, agrees = last_probe(self.probes)
        if ratio is None or not band.below(ratio) or self.last >= GOOD_ACC or not agrees:
            return None
        floor = band.low or 0.0
        factor = self.b.larger_lr_factor(ratio)
        probe_note = ""
        if gain is not None and current is not None:
            probe_note = f"; a {times(gain[0] / current)} larger step lowers the probe loss {gain[1]:.2g} more"
        base = self.s.lr if self.s.lr is not None and self.s.lr > 0 else current
        target = f" (≈ {base * factor:.2g})" if base is not None else ""
        lowered = ""
        if base is not None and current is not None and current < base * (1 - 1e-6):
            lowered = f" (the schedule has lowered the lr to {current:.2g})"
        who = "" if self.b is SGD else f" {self.b.name}"
        reason = (
            f"steps too small: {ratio:.1e} of the weights per step, {times(floor / ratio)} below the "
            f"healthy{who} floor {floor:.0e}{lowered}{probe_note}; validation accuracy {self.s.acc(self.last)}, "
            f"{self.moved()}"
        )
        return Verdict(VerdictLabel.TOO_SLOW, self.join(reason), f"try a {times(factor)} larger learning rate{target}")

    def too_few_steps(self) -> Verdict | None:
        s, ratio, spe = self.s, self.ratio, self.s.steps_per_epoch
        _, _, agrees = last_probe(self.probes)
        if ratio is None or spe is None or s.config is None or self.last >= GOOD_ACC or not agrees:
            return None
        travel, band = epoch_travel(spe, ratio), self.b.epoch_travel
        if not band.below(travel):
            return None
        floor, batch = band.low or 0.0, s.config.batch_size
        reason = (
            f"too few steps: {spe} steps per epoch ({s.n_train:,} samples / batch {batch}) × {ratio:.1e} "
            f"of the weights each = {travel:.1e} per epoch, {times(floor / travel)} below the {floor:.0e} "
            f"runs that learn move; validation accuracy {s.acc(self.last)}, {self.moved()}"
        )
        if batch > REFERENCE_BATCH and s.lr:
            scaled = s.lr * batch / REFERENCE_BATCH
            hint = (
                f"raise the lr with the batch (scale the lr with the batch size: {s.lr:g} × {batch}/"
                f"{REFERENCE_BATCH} ≈ {scaled:.2g}), or use a smaller batch"
            )
        else:
            hint = "run more epochs or try a larger learning rate (few steps per epoch)"
        return Verdict(VerdictLabel.TOO_SLOW, self.join(reason), hint)

    def overfitting(self) -> Verdict | None:
        train, val_loss, n, s = self.train, self.val_loss, self.n, self.s
        hint = "stop earlier, add weight decay, or use more data"
        if n >= 3 and falling(train[-3:]) and val_loss[-1] > val_loss[-2] > val_loss[-3]:
            reason = (
                f"validation loss rose for 2 epochs ({val_loss[-3]:.3f} → {val_loss[-1]:.3f}) while training loss fell"
            )
            return Verdict(VerdictLabel.OVERFITTING, reason, hint)
        train_acc = self.train_acc[-1]
        if n < 3 or train_acc is None or not train[-1] < train[-2]:
            return None
        lowest = min(range(n - 1), key=lambda i: val_loss[i])
        rise = val_loss[-1] / val_loss[lowest] - 1 if val_loss[lowest] > 0 else 0.0
        gap = train_acc - self.last
        if rise < OVERFIT_RISE or gap < OVERFIT_GAP:
            return None
        reason = (
            f"validation loss {val_loss[-1]:.3f}, {100 * rise:.0f}% above its minimum {val_loss[lowest]:.3f} "
            f"(epoch {lowest + 1}), while training accuracy {pct(train_acc)} is {100 * gap:.1f} points above "
            f"validation accuracy {s.acc(self.last)} and the training loss still falls "
            f"({trend(train[-2], train[-1])})"
        )
        return Verdict(VerdictLabel.OVERFITTING, reason, hint)

    def unstable_dead(self) -> Verdict | None:
        """More of a layer dead than the family's runs that learned usually have, in a run that has not learned
        (below :data:`GOOD_ACC`): the dying explains it. A run that learned anyway keeps its label, and its reason
        names the dead share (SGD 0.3: 92% with half of fc1 dead; Adam 1e-2: 88% with 80% of conv2 dead)."""
        dead, bound = self.dead, self.b.dead_fraction
        return self._unstable() if dead and bound.above(dead[0][1]) and self.last < GOOD_ACC else None

    def unstable_fall(self) -> Verdict | None:
        return self._unstable() if unstable_fall(self.acc, self.train, self.val_loss, self.s) else None

    def _unstable(self) -> Verdict:
        s, dead, bound = self.s, self.dead, self.b.dead_fraction
        fall = unstable_fall(self.acc, self.train, self.val_loss, s)
        parts = [fall] if fall else []
        if dead and bound.above(dead[0][1]):
            killed = dead_shares([(k, f) for k, f in dead if bound.above(f)])
            top = largest_update(self.diags, [k for k, f in dead if bound.above(f)])
            mean = (
                f"; {largest_step(*top)}"
                if top
                else f"; epoch-mean step {self.ratio:.1e} of the weights"
                if self.ratio is not None
                else ""
            )
            parts.append(
                f"units are dying: {killed} never fire, more than {self.b.name} runs that learned usually have "
                f"(up to {100 * (bound.high or 0):.0f}%): the mark of steps too large{mean}"
            )
            if not fall:
                parts.append(f"validation accuracy {s.acc(self.last)}")
        return Verdict(
            VerdictLabel.UNSTABLE, self.join(*parts), f"{s.smaller_lr()}: steps this large can kill the network"
        )

    def at_chance_rule(self) -> Verdict | None:
        if not self.at_chance:
            return None
        train, val_loss, n, s = self.train, self.val_loss, self.n, self.s
        falling = n >= 2 and train[-1] < train[-2] and val_loss[-1] < val_loss[-2]
        if n == 1 or falling:
            moving = f"training loss {trend(train[-2], train[-1])}" if n > 1 else "one epoch so far"
            dead = self.dead_note(always=True)
            reason = f"not taken off yet: validation accuracy {s.acc(self.last)}, {moving}; {self.steps()}"
            return Verdict(VerdictLabel.STILL_LEARNING, self.join(reason, dead), MORE_EPOCHS)
        gain, current, _ = last_probe(self.probes)
        hint = NEUTRAL
        if gain is not None and current is not None and gain[1] >= PROBE_MIN_GAIN:
            hint = "try a 10x larger learning rate" if gain[0] > current else SMALLER_LR
        reason = (
            f"validation accuracy at chance ({s.acc(self.last)}) and the training loss is not falling "
            f"({trend(train[-2], train[-1])}; ln {s.classes} = {s.uniform:.3f} is a uniform guess)"
        )
        return Verdict(VerdictLabel.NOT_LEARNING, self.join(reason, self.dead_note()), hint)

    def learning(self) -> Verdict:
        """Above chance, nothing wrong measured: done, still going, or stalled."""
        acc, train, val_loss, n, last, s = self.acc, self.train, self.val_loss, self.n, self.last, self.s
        gained = last - (acc[-2] if n > 1 else 1 / CLASSES)
        fall = rel_fall(train[-2], train[-1]) if n > 1 else 0.0
        still_falling = n > 1 and fall >= LOSS_FALLING and rel_fall(val_loss[-2], val_loss[-1]) >= VAL_FALLING
        large = self.ratio is not None and self.b.update_ratio.above(self.ratio)
        dead = self.dead_note()
        if n > 1 and last < GOOD_ACC and gained < RISING_POINTS and fall < LOSS_MOVING:
            reason = (
                f"stalled at {s.acc(last)}: validation accuracy {s.acc(acc[-2])} → {s.acc(last)} and the "
                f"training loss {trend(train[-2], train[-1])} in the last epoch{self.gap_to_best()}; "
                f"{self.steps()}"
            )
            return Verdict(VerdictLabel.NOT_LEARNING, self.join(reason, dead), NEUTRAL)
        if n == 1 or last < GOOD_ACC or gained >= RISING_POINTS or still_falling:
            if n == 1:
                rose = f"validation accuracy {s.acc(last)} after one epoch"
            elif gained < RISING_POINTS and still_falling:
                rose = (
                    f"training loss still falling: {trend(train[-2], train[-1])} (−{100 * fall:.0f}%) in the "
                    f"last epoch, validation accuracy {s.acc(acc[-2])} → {s.acc(last)}"
                )
            else:
                rose = f"validation accuracy {s.acc(acc[-2])} → {s.acc(last)}"
            hint = f"{MORE_EPOCHS}; steps are large: watch for dying ReLUs" if large else MORE_EPOCHS
            more = (
                ", still improving"
                if n > 1 and gained >= RISING_POINTS
                else ""
                if n == 1 or still_falling
                else f", training loss {trend(train[-2], train[-1])}"
            )  # "improving" only where accuracy rose
            reason = self.join(f"{rose}{self.gap_to_best()}, {self.steps()}{more}", dead)
            return Verdict(VerdictLabel.STILL_LEARNING, reason, hint)
        if n > 1 and val_loss[-1] >= val_loss[-2] * (1 - VAL_FALLING):
            flat = f"the validation loss no longer falls ({trend(val_loss[-2], val_loss[-1])})"
        else:
            flat = f"training loss {trend(train[-2], train[-1])} (−{100 * fall:.0f}%: flattening)"
        reason = f"validation accuracy {s.acc(last)} (best {s.acc(max(acc))}), {flat}{self.gap_to_best()}"
        return Verdict(
            VerdictLabel.CONVERGED,
            self.join(reason, dead),
            "fine as it is; compare with a 10x smaller and larger learning rate",
        )
