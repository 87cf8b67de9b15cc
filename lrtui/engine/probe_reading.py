"""What a step probe says: which steps are safe, in one honest sentence (whom to believe when the probe and
the run disagree: :mod:`lrtui.engine.probe_belief`).

Pure functions on a :class:`~lrtui.engine.events.ProbeResult` (no torch), for the verdict, the report and
the screen.

The probe (:mod:`lrtui.engine.probe`) takes m real optimizer steps of each size from one set of
weights. Its honest claim is local: "from these weights, one step of η raises the loss on this
share of minibatches". A step is *safe* here when it raises the loss on at most half of them
(:data:`SAFE_SHARE`) and the median loss after it is no higher than before: a real minibatch's
gradient points away from the evaluation images' on some minibatches even for tiny steps (a
quarter of them from the initial weights, measured), so "never raises" would call nothing safe.
"""

from __future__ import annotations

import math

from lrtui.engine.events import ProbeResult
from lrtui.engine.verdict_words import share

#: A step size is safe when it raises the loss on at most this share of the minibatches (and not the median).
SAFE_SHARE = 0.5
#: A step that grows a ReLU layer's dead share by this much (against the smallest step) is worth saying.
DEAD_GROWTH = 0.10


def step_text(eta: float) -> str:
    """A step size of the grid, to three significant digits."""
    return f"{eta:.3g}"


def _is_safe(probe: ProbeResult, i: int) -> bool:
    loss, before = probe.losses[i], probe.base_loss
    not_higher = math.isfinite(loss) and (not math.isfinite(before) or loss <= before)
    return probe.raised_fraction[i] <= SAFE_SHARE and not_higher


def measured(probe: ProbeResult) -> bool:
    """Whether the probe took real minibatch steps (older probes stepped along one mean gradient)."""
    return bool(probe.raised_fraction) and len(probe.raised_fraction) == len(probe.lrs) == len(probe.losses)


def largest_safe_step(probe: ProbeResult) -> float | None:
    """The largest η of the grid up to which every measured step size was safe; None if even the smallest was not
    (or the probe took no real steps)."""
    safe = None
    if not measured(probe):
        return None
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


def larger_step_safe(probe: ProbeResult, factor: float) -> bool | None:
    """Whether a real step ``factor`` times the lr or more was safe and left the loss below the lr's own step's:
    the probe's "steps too small". None for a probe without real steps (the caller reads its curve instead)."""
    i = _lr_index(probe)
    if not measured(probe) or i is None:
        return None
    return any(eta >= factor * probe.current_lr * (1 - 1e-9) and _is_safe(probe, j) and probe.losses[j] < probe.losses[i]
               for j, eta in enumerate(probe.lrs))


def safe_at_lr(probe: ProbeResult) -> bool | None:
    """Whether a real step of the run's own lr was safe (None: not measured)."""
    i = _lr_index(probe)
    return _is_safe(probe, i) if measured(probe) and i is not None else None


def _dead_note(probe: ProbeResult, i: int) -> str:
    """", leaving fc1 43% dead (17% after the smallest step)" where a step of lrs[i] kills a layer's units."""
    if len(probe.dead_after) != len(probe.lrs) or i == 0:
        return ""
    after, small = probe.dead_after[i], probe.dead_after[0]
    grown = [(after[k] - small[k], k) for k in after  # a layer's name from a file is shown only if it is a plain word
             if k in small and k.isalnum() and after[k] - small[k] >= DEAD_GROWTH]
    if not grown:
        return ""
    _, layer = max(grown)
    return f", leaving {layer} {share(after[layer])} dead ({share(small[layer])} after a step of {step_text(probe.lrs[0])})"


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
        head = f"{when}, the run's lr {step_text(probe.current_lr)} was not among the step sizes measured"
    else:
        head = (f"{when}, a step of {step_text(probe.current_lr)} (the run's lr) raises the loss on "
                f"{share(probe.raised_fraction[i])} of {n} minibatches{_dead_note(probe, i)}")
    safe = largest_safe_step(probe)
    if safe is None:
        tail = f"no step size measured here is safe, not even {step_text(probe.lrs[0])}"
    elif safe == probe.lrs[-1]:
        tail = f"every step size measured is safe, up to {step_text(safe)}"
    else:
        tail = f"the largest safe step measured here is {step_text(safe)}"
    return f"{head}; {tail}."
