"""The step trace: what single steps did, dense where networks die (their first few hundred steps).

Why: an epoch's mean step hides the steps that kill a network. On full MNIST lr 0.5's epoch
means sit inside the healthy band while its single steps move layers by 46–69% of their
weights and kill fc1 within its first few hundred steps (DESIGN.md). The trace keeps those
steps, one point each:

* every measured step (every :data:`~lrtui.engine.diagnostics.SAMPLE_EVERY`-th) of a run's first
  :data:`DENSE_STEPS` steps, then one every :func:`stride` steps, chosen from the run's length so
  that no run keeps more than :data:`MAX_POINTS` points;
* each point: the step (0-based, as ``lr_trace``), its minibatch loss, its update ratio per layer
  ‖Δw‖/‖w‖, and, every :data:`DEAD_EVERY` steps of the first :data:`DEAD_STEPS` and at log points,
  the dead share of each ReLU layer *on a fixed batch* of :data:`PROBE_IMAGES` validation images
  (``dead_on``: fewer images than the whole validation set, so more units look dead than the
  epoch's diagnostics say: fc1 at init, 23% on 32 images, 16% on 200, 13% on 800).

What it costs (one CPU core, batch 10): a dead-unit probe is a forward pass of its 32 images, ~2 ms
(64 images: ~4.5 ms, which made the trace ~4.5% of a 5k-digit epoch); the rows are one copy per
measured step; the reads and the provisional verdict at a log point well under a millisecond.

The device records every measured step of an epoch (:class:`lrtui.engine.diagnostics.StepStats`);
the points are read at log points only (:mod:`lrtui.engine.tracing`). Pure Python: records,
the session schema and the app read this module without torch.

JSON: a list of ``{"step", "loss", "update_ratio", "dead_fraction"[, "dead_on"]}`` dicts in
documents (:meth:`StepTrace.rows`); columns in a session's run files (:meth:`StepTrace.columns`).
:meth:`StepTrace.from_json` reads both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: Every measured step of the first this many steps is kept (lr 0.5 kills fc1 within ~160-500 steps).
DENSE_STEPS = 512
#: The most points one run keeps, however long it trains.
MAX_POINTS = 2000
#: Dead units are probed on the fixed batch every this many steps of the first :data:`DEAD_STEPS` (full
#: MNIST, lr 0.5: fc1 32% dead at step 32, 47% at 64, 90% at 96, 99% at 224), then at log points.
DEAD_EVERY, DEAD_STEPS = 32, 256
#: Validation images in the fixed batch the dead units are probed on (the first ones).
PROBE_IMAGES = 32
#: Significant digits kept of each number (evidence for people, not for arithmetic).
DIGITS = 4


def stride(total_steps: int, every: int) -> int:
    """Steps between two points after :data:`DENSE_STEPS`: a multiple of ``every`` (so it lands on measured
    steps), at least 8 of them, large enough that the points after the dense window (and a dead probe at
    most as often) stay within :data:`MAX_POINTS`."""
    dense = -(-DENSE_STEPS // every) + -(-DENSE_STEPS // DEAD_EVERY)  # (log points' probes: at most as often)
    room = max(1, (MAX_POINTS - dense) // 2 - 2)
    raw = max(8 * every, -(-max(0, total_steps - DENSE_STEPS) // room))
    return -(-raw // every) * every


def rounded(x: Any) -> float | None:
    """A finite number to :data:`DIGITS` significant digits; anything else (NaN, inf, None) as None."""
    if not isinstance(x, (int, float)) or isinstance(x, bool) or not math.isfinite(x):
        return None
    return float(f"{x:.{DIGITS}g}")


def _layers(values: Mapping[str, Any] | None) -> dict[str, float | None] | None:
    return None if values is None else {str(k): rounded(v) for k, v in values.items()}


@dataclass(frozen=True)
class TracePoint:
    """One step of the trace; what was not measured at this step is None."""

    step: int  #: 0-based optimizer step of the run
    loss: float | None  #: that step's minibatch loss
    update_ratio: dict[str, float | None] | None = None  #: ‖Δw‖/‖w‖ of this step per layer
    dead_fraction: dict[str, float | None] | None = None  #: per ReLU layer, never > 0 on the fixed batch after it

    @classmethod
    def of(
        cls,
        step: int,
        loss: Any,
        update_ratio: Mapping[str, Any] | None = None,
        dead_fraction: Mapping[str, Any] | None = None,
    ) -> TracePoint:
        """A point with its numbers rounded (:data:`DIGITS`) and non-finite ones as None."""
        return cls(int(step), rounded(loss), _layers(update_ratio), _layers(dead_fraction))


@dataclass
class StepTrace:
    """A run's trace so far: points in step order, and how many images the dead shares were measured on."""

    dead_on: int = PROBE_IMAGES  #: images of the fixed batch behind every ``dead_fraction``
    points: list[TracePoint] = field(default_factory=list)

    def extend(self, points: Sequence[TracePoint]) -> None:
        self.points.extend(points)

    def __len__(self) -> int:
        return len(self.points)

    def latest_dead(self) -> TracePoint | None:
        """The last point with a dead-unit probe."""
        return next((p for p in reversed(self.points) if p.dead_fraction), None)

    def largest_step(self) -> tuple[int, str, float] | None:
        """(step, layer, ratio) of the largest single step kept, or None."""
        found = [(r, p.step, k) for p in self.points for k, r in (p.update_ratio or {}).items() if r is not None]
        if not found:
            return None
        ratio, step, layer = max(found)
        return step, layer, ratio

    # -- JSON -----------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        """One dict per point (documents: ``lrtui run --json``, session.json)."""
        out = []
        for p in self.points:
            row: dict[str, Any] = {
                "step": p.step,
                "loss": p.loss,
                "update_ratio": p.update_ratio,
                "dead_fraction": p.dead_fraction,
            }
            if p.dead_fraction is not None:
                row["dead_on"] = self.dead_on
            out.append(row)
        return out

    def columns(self) -> dict[str, Any]:
        """The same as columns (run files: a few thousand points stay small): per layer a list with null gaps."""

        def table(key: str) -> dict[str, list[float | None]]:
            layers = dict.fromkeys(k for p in self.points for k in (getattr(p, key) or {}))
            return {k: [(getattr(p, key) or {}).get(k) for p in self.points] for k in layers}

        return {
            "step": [p.step for p in self.points],
            "loss": [p.loss for p in self.points],
            "update_ratio": table("update_ratio"),
            "dead_fraction": table("dead_fraction"),
            "dead_on": self.dead_on,
        }

    @classmethod
    def from_json(cls, data: Any) -> StepTrace:
        """Either form (:meth:`rows` or :meth:`columns`), as :mod:`lrtui.sessions.schema` checked it."""
        if isinstance(data, Mapping):
            tables = {
                key: {str(k): list(v) for k, v in (data.get(key) or {}).items()}
                for key in ("update_ratio", "dead_fraction")
            }

            def at(key: str, i: int) -> dict[str, Any] | None:
                values = {layer: column[i] for layer, column in tables[key].items()}
                return values if any(v is not None for v in values.values()) else None

            points = [
                TracePoint.of(s, loss, at("update_ratio", i), at("dead_fraction", i))
                for i, (s, loss) in enumerate(zip(data["step"], data["loss"], strict=True))
            ]
            return cls(int(data.get("dead_on") or PROBE_IMAGES), points)
        rows = list(data)
        dead_on = next((int(r["dead_on"]) for r in rows if r.get("dead_on") is not None), PROBE_IMAGES)
        return cls(
            dead_on,
            [TracePoint.of(r["step"], r.get("loss"), r.get("update_ratio"), r.get("dead_fraction")) for r in rows],
        )
