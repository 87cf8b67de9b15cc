"""What a step probe says, in one honest sentence, and whom to believe when the probe and the run disagree.

Pure functions on a :class:`~lrtui.engine.events.ProbeResult` (no torch), for the report and the screen.

The probe (:mod:`lrtui.engine.probe`) takes m real optimizer steps of each size from one set of
weights. Its honest claim is local: "from these weights, one step of η raises the loss on this
share of minibatches". A step is *safe* here when it raises the loss on at most half of them
(:data:`SAFE_SHARE`) and the median loss after it is no higher than before: a real minibatch's
gradient points away from the evaluation images' on some minibatches even for tiny steps (a
quarter of them from the initial weights, measured), so "never raises" would call nothing safe.

The run's outcome is the sum of thousands of such steps. When the two disagree the run wins on
what happened, for two reasons the probe cannot see: steps that each raise the loss a little still
average to progress (their excess is noise around a downhill mean), and a step that is safe from
these weights can become unsafe as training moves them (the loss sharpens, momentum builds).
The probe wins only where the run measured nothing (it stopped before its first epoch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from lrtui.engine.events import ProbeResult
from lrtui.engine.verdict import CHANCE_ACC, GOOD_ACC
from lrtui.engine.verdict_words import share

#: A step size is safe when it raises the loss on at most this share of the minibatches (and not the median).
SAFE_SHARE = 0.5
#: A step that grows a ReLU layer's dead share by this much (against the smallest step) is worth saying.
DEAD_GROWTH = 0.10


def _eta(x: float) -> str:
    return f"{x:.3g}"


def _is_safe(probe: ProbeResult, i: int) -> bool:
    loss, before = probe.losses[i], probe.base_loss
    not_higher = math.isfinite(loss) and (not math.isfinite(before) or loss <= before)
    return probe.raised_fraction[i] <= SAFE_SHARE and not_higher


def measured(probe: ProbeResult) -> bool:
    """Whether the probe took real minibatch steps (older probes stepped along one mean gradient)."""
    return bool(probe.raised_fraction) and len(probe.raised_fraction) == len(probe.lrs) == len(probe.losses)


def largest_safe_step(probe: ProbeResult) -> float | None:
    """The largest η of the grid below which every measured step size was safe; None if even the smallest was not."""
    safe = None
    for i, eta in enumerate(probe.lrs):
        if not _is_safe(probe, i):
            break
        safe = eta
    return safe


def _lr_index(probe: ProbeResult) -> int | None:
    return next((i for i, eta in enumerate(probe.lrs) if math.isclose(eta, probe.current_lr, rel_tol=1e-6)), None)


def raised_at_lr(probe: ProbeResult) -> float | None:
    """Share of the minibatches whose step of the run's own lr raised the loss (None: not measured)."""
    i = _lr_index(probe)
    return probe.raised_fraction[i] if measured(probe) and i is not None else None


def _dead_note(probe: ProbeResult, i: int) -> str:
    """", leaving fc1 43% dead (17% after the smallest step)" where a step of lrs[i] kills a layer's units."""
    if len(probe.dead_after) != len(probe.lrs) or i == 0:
        return ""
    after, small = probe.dead_after[i], probe.dead_after[0]
    grown = [(after[k] - small[k], k) for k in after if k in small and after[k] - small[k] >= DEAD_GROWTH]
    if not grown:
        return ""
    _, layer = max(grown)
    return f", leaving {layer} {share(after[layer])} dead ({share(small[layer])} after a step of {_eta(probe.lrs[0])})"


def read_probe(probe: ProbeResult) -> str:
    """One sentence: what a step of the run's lr does, and the largest safe step measured.

    E.g. "Before training, a step of 1 (the run's lr) raises the loss on 88% of 16 minibatches, leaving
    fc1 43% dead (17% after a step of 0.1); the largest safe step measured here is 0.1."
    """
    when = "Before training" if probe.epoch == 0 else f"After epoch {probe.epoch}"
    if not measured(probe):
        return (f"{when}, this probe stepped along one averaged gradient, not real minibatch steps: "
                "it cannot say which steps are safe.")
    i = _lr_index(probe)
    n = probe.minibatches
    if i is None:
        head = f"{when}, the run's lr {_eta(probe.current_lr)} was not among the step sizes measured"
    else:
        head = (f"{when}, a step of {_eta(probe.current_lr)} (the run's lr) raises the loss on "
                f"{share(probe.raised_fraction[i])} of {n} minibatches{_dead_note(probe, i)}")
    safe = largest_safe_step(probe)
    if safe is None:
        tail = f"no step size measured here is safe, not even {_eta(probe.lrs[0])}"
    elif safe == probe.lrs[-1]:
        tail = f"every step size measured is safe, up to {_eta(safe)}"
    else:
        tail = f"the largest safe step measured here is {_eta(safe)}"
    return f"{head}; {tail}."


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


def whom_to_believe(probe: ProbeResult, outcome: RunOutcome) -> Belief:
    """Settle a disagreement between the probe's reading of the run's lr and what the run did."""
    raised = raised_at_lr(probe)
    if raised is None:
        return Belief("run", "the probe measured no real step of the run's lr; the run's outcome is the evidence.")
    lr = _eta(probe.current_lr)
    unsafe = raised > SAFE_SHARE
    failed = outcome.diverged or (outcome.best_val_acc is not None and outcome.best_val_acc < CHANCE_ACC)
    trained = not outcome.diverged and outcome.best_val_acc is not None and outcome.best_val_acc >= GOOD_ACC
    if outcome.epochs_done == 0 and not outcome.diverged:
        return Belief("probe", f"the run stopped before it measured anything; the probe's steps of {lr} are the "
                               "only evidence.")
    if unsafe and trained:
        return Belief("run", f"the run learned ({share(outcome.best_val_acc or 0.0)} validation accuracy) although "
                             f"single steps of {lr} raised the loss on {share(raised)} of minibatches: steps that each "
                             "overshoot a little still average to progress over thousands of steps, which one step "
                             "cannot show; believe the run.")
    if not unsafe and failed:
        what = "diverged" if outcome.diverged else "ended at chance"
        return Belief("run", f"the run {what} although single steps of {lr} were safe from these weights: instability "
                             "builds as training moves the weights (the loss sharpens, momentum accumulates), which "
                             "one step from here cannot show; believe the run.")
    agree = "the run confirms it" if (unsafe and failed) or (not unsafe and trained) else "the run does not contradict it"
    verdict = "unsafe" if unsafe else "safe"
    return Belief("both", f"the probe finds steps of {lr} {verdict} ({share(raised)} raised the loss) and {agree}.")
