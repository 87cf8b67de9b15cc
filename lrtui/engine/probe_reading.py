"""What a step probe says: which steps are safe, in one honest sentence (whom to believe when the probe and
the run disagree: :mod:`lrtui.engine.probe_belief`).

Pure functions on a :class:`~lrtui.engine.events.ProbeRecord` (no torch), for the verdict, the report and
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

from lrtui.engine.records import ProbeRecord
from lrtui.engine.verdict_words import layer_text, share

#: A step size is safe when it raises the loss on at most this share of the minibatches (and not the median).
SAFE_SHARE = 0.5
#: A step that grows a ReLU layer's dead share by this much (against the smallest step) is worth saying.
DEAD_GROWTH = 0.10
#: A median loss within this many nats of the loss before is unchanged: a step a decade below the lr moves the
#: evaluation loss by ~1e-5 (full MNIST, from the initial weights), far less than the minibatches disagree.
LOSS_NOISE = 1e-3


def step_text(eta: float) -> str:
    """A step size of the grid, to three significant digits."""
    return f"{eta:.3g}"


def _is_safe(probe: ProbeRecord, i: int) -> bool:
    """A step size that raises the loss on no more minibatches than half, or than the smallest step measured does
    (plus one): an infinitesimal step already raises it on some (full MNIST, from the initial weights: 9 of 16,
    each minibatch's gradient disagreeing with the evaluation images), and its median loss stays within noise."""
    loss, before, raised = probe.losses[i], probe.base_loss, probe.raised_fraction
    if raised is None or loss is None:  # None: a step that blew up
        return False
    share = max(SAFE_SHARE, raised[0]) + 1 / max(1, probe.minibatches or 1)
    return raised[i] <= share and (before is None or loss <= before + LOSS_NOISE)


def measured(probe: ProbeRecord) -> bool:
    """Whether the probe took real minibatch steps (older probes stepped along one mean gradient)."""
    raised = probe.raised_fraction
    return bool(raised) and raised is not None and len(raised) == len(probe.lrs) == len(probe.losses)


def largest_safe_step(probe: ProbeRecord) -> float | None:
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


def _lr_index(probe: ProbeRecord) -> int | None:
    lr = probe.current_lr
    return (
        None
        if lr is None
        else next((i for i, eta in enumerate(probe.lrs) if math.isclose(eta, lr, rel_tol=1e-6)), None)
    )


def raised_at_lr(probe: ProbeRecord) -> float | None:
    """Share of the minibatches whose step of the run's own lr raised the loss (None: not measured)."""
    i, raised = _lr_index(probe), probe.raised_fraction
    return raised[i] if measured(probe) and raised is not None and i is not None else None


def larger_step_safe(probe: ProbeRecord, factor: float) -> bool | None:
    """Whether a real step ``factor`` times the lr or more was safe (raised the loss on at most half the
    minibatches, its median no higher than before): the probe's "steps too small". Not whether it lowered the
    loss more than the lr's own step: at lr 1e-4 both move the evaluation loss by less than the minibatches'
    noise (full MNIST: that comparison kept "too slow" back from step 1,250 to step 15,650). None for a probe
    without real steps (the caller reads its curve instead)."""
    i, lr = _lr_index(probe), probe.current_lr
    if not measured(probe) or i is None or lr is None:
        return None
    return any(eta >= factor * lr * (1 - 1e-9) and _is_safe(probe, j) for j, eta in enumerate(probe.lrs))


def safe_at_lr(probe: ProbeRecord) -> bool | None:
    """Whether a real step of the run's own lr was safe (None: not measured)."""
    i = _lr_index(probe)
    return _is_safe(probe, i) if measured(probe) and i is not None else None


def _dead_note(probe: ProbeRecord, i: int) -> str:
    """ ", leaving fc1 43% dead (17% after the smallest step)" where a step of lrs[i] kills a layer's units."""
    dead = probe.dead_after
    if dead is None or len(dead) != len(probe.lrs) or i == 0:
        return ""
    after, small = dead[i], dead[0]
    grown = [
        (a - b, k)
        for k in after  # a layer's name from a file is shown only if it is a plain word
        if k.isalnum() and (a := after[k]) is not None and (b := small.get(k)) is not None and a - b >= DEAD_GROWTH
    ]
    if not grown:
        return ""
    _, layer = max(grown)
    return (
        f", leaving {layer_text(layer)} {share(after[layer] or 0)} dead "
        f"({share(small[layer] or 0)} after a step of {step_text(probe.lrs[0])})"
    )


def read_probe(probe: ProbeRecord) -> str:
    """One sentence: what a step of the run's lr does, and the largest safe step measured.

    E.g. "Before training, a step of 1 (the run's lr) raises the loss on 88% of 16 minibatches, leaving
    fc1 43% dead (17% after a step of 0.1); the largest safe step measured here is 0.1."
    """
    when = "Before training" if probe.epoch == 0 else f"After epoch {probe.epoch}"
    if not measured(probe):
        return (
            f"{when}, this probe stepped along one averaged gradient, not real minibatch steps: "
            "it cannot say which steps are safe."
        )
    i = _lr_index(probe)
    n = probe.minibatches
    if i is None:
        head = f"{when}, the run's lr {step_text(probe.current_lr or 0)} was not among the step sizes measured"
    else:
        head = (
            f"{when}, a step of {step_text(probe.current_lr or 0)} (the run's lr) raises the loss on "
            f"{share(raised_at_lr(probe) or 0)} of {n} minibatches{_dead_note(probe, i)}"
        )
    safe = largest_safe_step(probe)
    if safe is None:
        tail = f"no step size measured here is safe, not even {step_text(probe.lrs[0])}"
    elif safe == probe.lrs[-1]:
        tail = f"every step size measured is safe, up to {step_text(safe)}"
    else:
        tail = f"the largest safe step measured here is {step_text(safe)}"
    return f"{head}; {tail}."
