"""When a run is provably dead, so that a batch of several runs may stop it and free the machine for the rest.

Why: lr 1.0 on the 5k digits kills fc1 (every unit silent on the step trace's fixed batch) within
its first hundred steps; from then on the network answers one constant guess and every further
epoch of it only keeps the other runs of the sweep waiting. A layer that never fires passes no
gradient to anything below it, so it cannot come back on its own.

The evidence (all of it, at each of the last :data:`DEAD_POINTS` log points in a row):

* a ReLU layer 100% dead on the fixed batch (:mod:`lrtui.engine.step_trace`): the last dead-unit
  probe taken at or before that log point found none of its units firing;
* training accuracy at chance since the previous log point (at most
  :data:`~lrtui.engine.verdict.CHANCE_ACC` for 10 classes, twice a uniform guess);
* training loss at ln C (a uniform guess), within :data:`UNIFORM_BAND` of it: a dead network's
  constant logits cannot do much better, and a loss far above means it still moves.

Pure: the trainer asks at an epoch's end (:class:`lrtui.engine.trainer.Fit`); who may stop (a
batch of several runs, unless the user keeps dead runs) is the runner's choice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lrtui.engine.provisional import LogPoint
from lrtui.engine.step_trace import StepTrace, TracePoint
from lrtui.engine.verdict import CHANCE_ACC, CLASSES
from lrtui.engine.verdict_words import layer_text, pct

#: Consecutive log points of evidence before a run counts as dead.
DEAD_POINTS = 3
#: The training loss is "at ln C" within this share of ln C (ln 10 ± 0.23): a dead lr 1.0 run's
#: log points read 2.21-2.44 on the 5k digits (its output bias still swings).
UNIFORM_BAND = 0.1


@dataclass(frozen=True)
class DeadRun:
    """Why a run counts as dead: the layer, since when, and the last log point's numbers."""

    layer: str  #: a ReLU layer whose units all stay silent on the fixed batch
    since: int  #: the (0-based) step of the first probe of the streak that found it all dead
    points: int  #: log points in a row with all the evidence
    accuracy: float  #: training accuracy at the last log point
    loss: float  #: training loss at the last log point
    classes: int = CLASSES

    def note(self, epoch: int, epochs: int) -> str:
        """The words a stopped run's verdict ends with."""
        return (
            f"stopped early at epoch {epoch} of {epochs}: {layer_text(self.layer)} 100% dead since step "
            f"{self.since:,}, accuracy at chance ({pct(self.accuracy)}) and loss {self.loss:.3f} ≈ ln {self.classes} "
            f"for {self.points} log points"
        )


def probe_before(trace: StepTrace, step: int) -> TracePoint | None:
    """The last dead-unit probe taken after at most ``step`` optimizer steps (a probe's step is 0-based)."""
    return next((p for p in reversed(trace.points) if p.dead_fraction and p.step < step), None)


def all_dead(point: TracePoint | None) -> list[str]:
    """The layers none of whose units fired on the fixed batch at that probe."""
    return [k for k, v in (point.dead_fraction or {}).items() if v is not None and v >= 1.0] if point else []


def dead_since(trace: StepTrace, layer: str, until: int) -> int:
    """The step of the first probe of the unbroken run of probes up to ``until`` that found ``layer`` all dead."""
    since = until
    for p in reversed([p for p in trace.points if p.dead_fraction and p.step <= until]):
        if layer not in all_dead(p):
            break
        since = p.step
    return since


def provably_dead(
    points: Sequence[LogPoint], trace: StepTrace | None, *, classes: int = CLASSES, need: int = DEAD_POINTS
) -> DeadRun | None:
    """The evidence that the run is dead at its last log point (see the module docstring), or None."""
    if trace is None or len(points) < max(1, need):
        return None
    chance, uniform = CHANCE_ACC * CLASSES / classes, math.log(classes)
    recent = points[-need:]
    if not all(
        p.train_acc <= chance and math.isfinite(p.train_loss) and abs(p.train_loss - uniform) <= UNIFORM_BAND * uniform
        for p in recent
    ):
        return None
    probes = [probe_before(trace, p.step) for p in recent]
    layers = [k for k in all_dead(probes[-1]) if all(k in all_dead(p) for p in probes)]
    if not layers or probes[-1] is None:
        return None
    last = probes[-1].step
    since, layer = min((dead_since(trace, k, last), k) for k in layers)
    return DeadRun(layer, since, need, recent[-1].train_acc, recent[-1].train_loss, classes)
