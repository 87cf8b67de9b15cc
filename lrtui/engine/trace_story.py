"""The step trace in words: when a layer died and how far the largest single step moved one.

Why: an epoch's numbers say *that* fc1 is dead; the trace (:mod:`lrtui.engine.step_trace`) says
*when*, and which single steps were large enough to do it. The story line and the report say it
in one sentence built here, from the trace alone, e.g. (lr 0.5, 3,200 digits)::

    conv2 went from 0% to 100% dead between step 0 and step 192 (on the 32-image probe batch);
    the largest step, step 84, moved conv1 by 82% of its weights

A fact is *alarming* (shown in red) when a layer's dead share rose by at least :data:`RISE` to above
its family's healthy band (:mod:`lrtui.engine.bands`), or when one step moved a layer by at least
:data:`LARGE_STEP` of its weights. Calibration (the 5k digits, batch 10, seed 0, 3 epochs): the
largest single step of lr 0.05 moved fc2 by 10%, of lr 0.1 (the best run) fc2 by 14%, of lr 0.5
conv1 by 82%; on 1,000 images lr 0.5's moved conv1 by 49% and lr 0.01's fc2 by 0.29%. Dead shares on
the 32-image batch wander by ~10 points at init (fc1 23% → 21% at lr 0.01), hence a rise of 20 points.

Pure Python: the app reads it without torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from lrtui.engine.bands import bands_for
from lrtui.engine.step_trace import StepTrace
from lrtui.engine.verdict_words import layer_text, share

#: A dead share that rose by this much (0..1) between two probes of the trace is a rise worth telling.
RISE = 0.2
#: A single step that moved a layer by this share of its weights is alarming (lr 0.1's largest: 14%).
LARGE_STEP = 0.25
#: A layer that fell back by this much from its peak "came back" (said after the rise).
RECOVERED = 0.1


@dataclass(frozen=True)
class DeadRise:
    """The largest rise of one ReLU layer's dead share: from its lowest probe before the peak to the peak."""

    layer: str
    start: float  #: the share at ``from_step`` (0..1)
    peak: float  #: the share at ``to_step``, the layer's highest
    from_step: int  #: the last probe at the lowest share before the peak
    to_step: int  #: the first probe at the peak
    last: float  #: the share at the trace's last probe
    last_step: int

    @property
    def rise(self) -> float:
        return self.peak - self.start


@dataclass(frozen=True)
class TraceFact:
    """One clause of the sentence, and whether it is a warning."""

    text: str
    alarming: bool = False


def dead_series(trace: StepTrace) -> dict[str, list[tuple[int, float]]]:
    """(step, dead share) per ReLU layer, over every probe of the trace that measured it."""
    out: dict[str, list[tuple[int, float]]] = {}
    for p in trace.points:
        for layer, value in (p.dead_fraction or {}).items():
            if value is not None:
                out.setdefault(layer, []).append((p.step, value))
    return out


def dead_rise(trace: StepTrace) -> DeadRise | None:
    """The layer whose dead share rose the most (ties: the later layer, the one the gradient reaches first),
    None without a probe."""
    rises = []
    for layer, series in dead_series(trace).items():
        peak = max(v for _, v in series)
        top = next(i for i, (_, v) in enumerate(series) if v == peak)
        low = min(v for _, v in series[: top + 1])
        start = max(i for i, (_, v) in enumerate(series[: top + 1]) if v == low)
        rises.append(DeadRise(layer, low, peak, series[start][0], series[top][0], series[-1][1], series[-1][0]))
    return max(reversed(rises), key=lambda r: (r.rise, r.peak), default=None)


def dead_fact(trace: StepTrace, optimizer: str | None = None) -> TraceFact | None:
    """What happened to the ReLU layers on the probe batch; None when the trace probed none."""
    series = dead_series(trace)
    if not series:
        return None
    probe = f"{trace.dead_on}-image probe batch"
    if all(v == 0 for points in series.values() for _, v in points):
        probed = trace.latest_dead()
        return TraceFact(f"no dead units on the {probe} up to step {probed.step if probed else 0:,}")
    rise = dead_rise(trace)
    assert rise is not None
    if rise.rise >= RISE:
        text = (
            f"{layer_text(rise.layer)} went from {share(rise.start)} to {share(rise.peak)} dead between step "
            f"{rise.from_step:,} and step {rise.to_step:,}"
        )
        if rise.peak - rise.last >= RECOVERED:
            text += f", back to {share(rise.last)} by step {rise.last_step:,}"
        high = bands_for(optimizer).dead_fraction.high
        return TraceFact(f"{text} (on the {probe})", alarming=high is not None and rise.peak > high)
    layer, points = max(series.items(), key=lambda kv: (kv[1][-1][1], kv[0]))
    (first_step, first), (last_step, last) = points[0], points[-1]
    return TraceFact(
        f"dead units did not spread: {layer_text(layer)} {share(first)} at step {first_step:,}, "
        f"{share(last)} at step {last_step:,} (on the {probe})"
    )


def step_fact(trace: StepTrace) -> TraceFact | None:
    """The largest single step kept, and which layer it moved how far; None when no step was measured."""
    largest = trace.largest_step()
    if largest is None:
        return None
    step, layer, ratio = largest
    return TraceFact(
        f"the largest step, step {step:,}, moved {layer_text(layer)} by {share(ratio)} of its weights",
        alarming=ratio >= LARGE_STEP,
    )


def trace_facts(trace: StepTrace | None, optimizer: str | None = None) -> list[TraceFact]:
    """The dead units' story, then the largest step's (either left out when the trace lacks it)."""
    if trace is None:
        return []
    return [f for f in (dead_fact(trace, optimizer), step_fact(trace)) if f is not None]


def trace_sentence(trace: StepTrace | None, optimizer: str | None = None) -> str:
    """:func:`trace_facts` as one sentence ("" without a trace); it starts with a layer's name, kept lower case."""
    facts = trace_facts(trace, optimizer)
    return "; ".join(f.text for f in facts) + "." if facts else ""
