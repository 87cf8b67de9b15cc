"""Provisional verdicts: a run judged again at every log point, from what exists there.

Why: the final verdict (:mod:`lrtui.engine.verdict`) reads whole epochs and their validation
pass, so it comes at the run's end: on full MNIST lr 0.5's fc1 is 100% dead after a minute while
the screen still said "no verdict yet". At a log point there already is the training loss and
accuracy since the previous one, the epoch's mean and largest step per layer so far, the step
trace's dead shares on its fixed batch (:mod:`lrtui.engine.step_trace`) and the step probe from
the initial weights. That is enough for the lessons within the first epoch; anything else waits.

The rules, in order (the final verdict's bands, constants and words):

Chance and a uniform guess are the run's own (``RunConfig.classes``: three classes are at chance below
43%, a uniform guess loses ln 3), and layers are whatever the network names them, so a ``--model``
network is judged by the same rules.

1. *Dying ReLUs* (not learning): training accuracy at chance since the previous log point and at
   least :data:`~lrtui.engine.verdict.DEAD_HIGH` of a layer dead on the fixed batch (full MNIST,
   lr 0.5, step 1,250: fc1 100%). The reason quotes the largest single step so far.
2. *Steps too small* (too slow): the epoch's mean step so far below the family's floor, training
   accuracy below :data:`~lrtui.engine.verdict.GOOD_ACC`, and the last step probe agreeing (lr 1e-4:
   ~7e-6 of the weights per step, 30x below the floor).
3. At chance otherwise: *too early* to tell stuck from not yet taken off.
4. Above chance: *still learning* (a provisional verdict never says converged: the run is not over).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from lrtui.engine.bands import median_update_ratio
from lrtui.engine.config import RunConfig
from lrtui.engine.events import Verdict, VerdictLabel
from lrtui.engine.records import ProbeRecord
from lrtui.engine.step_trace import StepTrace
from lrtui.engine.verdict import DEAD_HIGH, GOOD_ACC, SMALLER_LR, Setting, last_probe
from lrtui.engine.verdict_words import dead_shares, largest_step, pct, times


@dataclass(frozen=True)
class LogPoint:
    """What a log point knows of the training since the previous one (or the epoch's start)."""

    step: int  #: optimizer steps taken
    since: int  #: steps taken at the previous log point
    train_loss: float  #: mean minibatch loss over those steps
    train_acc: float  #: training accuracy over those steps
    update_ratio: Mapping[str, float] | None = None  #: this epoch's mean step per layer so far
    update_ratio_max: Mapping[str, float] | None = None  #: this epoch's largest step per layer so far

    @property
    def span(self) -> str:
        return f"steps {self.since + 1:,}–{self.step:,}"


def largest(points: Sequence[LogPoint], layers: Collection[str]) -> tuple[str, float] | None:
    """(layer, ratio) of the largest single measured step of one of ``layers`` at any log point so far."""
    found = [(v, k) for p in points for k, v in (p.update_ratio_max or {}).items() if k in layers and math.isfinite(v)]
    return (max(found)[1], max(found)[0]) if found else None


def judge_provisional(
    points: Sequence[LogPoint],
    trace: StepTrace | None,
    *,
    probes: Sequence[ProbeRecord] = (),
    config: RunConfig | None = None,
    n_train: int | None = None,
    n_val: int | None = None,
) -> Verdict:
    """The run as it looks at its last log point (``points[-1]``); see the module docstring for the rules."""
    s = Setting.of(config, None, n_train, n_val)
    last = points[-1]
    at_chance = last.train_acc <= s.chance  # 1/C + 10 points for the run's C classes
    accuracy = f"training accuracy {pct(last.train_acc)} over {last.span}"
    dead_point = trace.latest_dead() if trace is not None else None
    dead = (
        sorted(((v, k) for k, v in (dead_point.dead_fraction or {}).items() if v is not None), reverse=True)
        if dead_point is not None
        else []
    )
    tail = s.momentum_note()
    if at_chance and dead and dead[0][0] >= DEAD_HIGH and trace is not None and dead_point is not None:
        killed = dead_shares([(k, f) for f, k in dead if f >= DEAD_HIGH])
        big = largest(points, [k for f, k in dead if f >= DEAD_HIGH])
        parts = [
            f"dying ReLUs: {killed} never fire on a fixed batch of {trace.dead_on} validation images "
            f"(step {dead_point.step:,})",
            largest_step(*big) if big else "",
            f"{accuracy}, loss {last.train_loss:.3f} (ln {s.classes} = {s.uniform:.3f} is a uniform guess)",
            tail,
        ]
        hint = f"steps too large: {SMALLER_LR}" + (" (or less momentum)" if s.momentum else "")
        return Verdict(VerdictLabel.NOT_LEARNING, "; ".join(p for p in parts if p), hint)
    ratio = median_update_ratio(last.update_ratio) if last.update_ratio else None
    band = s.bands.update_ratio
    if ratio is not None and ratio > 0 and band.below(ratio) and last.train_acc < GOOD_ACC and last_probe(probes)[2]:
        floor = band.low or 0.0
        factor = s.bands.larger_lr_factor(ratio)
        target = f" (≈ {s.lr * factor:.2g})" if s.lr else ""
        reason = (
            f"steps too small: {ratio:.1e} of the weights per step, {times(floor / ratio)} below the healthy "
            f"floor {floor:.0e}; {accuracy}"
        )
        return Verdict(
            VerdictLabel.TOO_SLOW,
            "; ".join(p for p in (reason, tail) if p),
            f"try a {times(factor)} larger learning rate{target}",
        )
    size = "" if ratio is None else "large" if band.above(ratio) else "small" if band.below(ratio) else "healthy"
    steps = f"steps {ratio:.1e} of the weights ({size})" if ratio is not None else ""
    alive = f"at most {dead_shares([(dead[0][1], dead[0][0])])} dead on the fixed batch" if dead else ""
    if at_chance:
        reason = f"{accuracy}, at chance: too early to tell stuck from not yet taken off"
        return Verdict(
            VerdictLabel.TOO_EARLY,
            "; ".join(p for p in (reason, steps, alive, tail) if p),
            "let it train: the verdict firms up at the next log points",
        )
    reason = f"{accuracy}, above chance"
    return Verdict(
        VerdictLabel.STILL_LEARNING,
        "; ".join(p for p in (reason, steps, alive, tail) if p),
        "let it train: the final verdict comes at the run's end",
    )
