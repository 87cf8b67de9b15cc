"""Whom to believe when the step probe and the run disagree about the run's lr, and why.

The probe (:mod:`lrtui.engine.probe`, read by :mod:`lrtui.engine.probe_reading`) makes a local
claim: from these weights, one real step of the lr raises the loss on this share of minibatches.
The run's outcome is the sum of thousands of such steps. When the two disagree the run wins on
what happened, for two reasons the probe cannot see: steps that each raise the loss a little still
average to progress (their excess is noise around a downhill mean), and a step that is safe from
these weights can become unsafe as training moves them (the loss sharpens, momentum builds).
The probe wins only where the run measured nothing (it stopped before its first epoch).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lrtui.engine.probe_reading import raised_at_lr, safe_at_lr, step_text
from lrtui.engine.records import ProbeRecord
from lrtui.engine.verdict import CHANCE_ACC, GOOD_ACC
from lrtui.engine.verdict_words import share


@dataclass(frozen=True)
class RunOutcome:
    """What the whole run did, as far as the probe's claim goes."""

    diverged: bool
    best_val_acc: float | None  #: None: no epoch finished
    epochs_done: int


@dataclass(frozen=True)
class Belief:
    """Which to believe about the run's lr, and why, in one sentence."""

    believe: Literal["both", "run", "probe"]  #: "both": they agree (or the run says nothing against the probe)
    why: str


def whom_to_believe(probe: ProbeRecord, outcome: RunOutcome) -> Belief:
    """Settle a disagreement between the probe's reading of the run's lr and what the run did."""
    raised, safe = raised_at_lr(probe), safe_at_lr(probe)
    if raised is None or safe is None:
        return Belief("run", "the probe measured no real step of the run's lr; the run's outcome is the evidence.")
    lr = step_text(probe.current_lr or 0)  # measured at the lr: current_lr is known
    unsafe = not safe
    failed = outcome.diverged or (outcome.best_val_acc is not None and outcome.best_val_acc <= CHANCE_ACC)
    trained = not outcome.diverged and outcome.best_val_acc is not None and outcome.best_val_acc >= GOOD_ACC
    if outcome.epochs_done == 0 and not outcome.diverged:
        return Belief(
            "probe", f"the run stopped before it measured anything; the probe's steps of {lr} are the only evidence."
        )
    if unsafe and trained:
        return Belief(
            "run",
            f"the run learned ({share(outcome.best_val_acc or 0.0)} validation accuracy) although "
            f"single steps of {lr} raised the loss on {share(raised)} of minibatches: steps that each "
            "overshoot a little still average to progress over thousands of steps, which one step "
            "cannot show; believe the run.",
        )
    if not unsafe and failed:
        what = "diverged" if outcome.diverged else "ended at chance"
        return Belief(
            "run",
            f"the run {what} although single steps of {lr} were safe from these weights: instability "
            "builds as training moves the weights (the loss sharpens, momentum accumulates), which "
            "one step from here cannot show; believe the run.",
        )
    agree = (
        "the run confirms it" if (unsafe and failed) or (not unsafe and trained) else "the run does not contradict it"
    )
    verdict = "unsafe" if unsafe else "safe"
    return Belief("both", f"the probe finds steps of {lr} {verdict} ({share(raised)} raised the loss) and {agree}.")
