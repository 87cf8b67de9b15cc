"""Which layers a chart or the story shows when a network has many: the ones furthest from the healthy band.

Why: the reference CNN has four layers, and every chart draws each. A ResNet has dozens; drawn
together they are a smear, and the one layer whose steps are 10x too large (or whose units all
died) is what the lesson is about. So the charts and the story show the :data:`SHOWN` layers
furthest outside their band (:mod:`lrtui.engine.bands`), in the model's order; the rest stay
one keypress away (:attr:`LayerPick.hidden`). A network with at most :data:`SHOWN` layers shows
them all. Pure Python: the terminal UI reads it before torch is imported.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lrtui.engine.bands import DEAD_FRACTION, EPOCH_TRAVEL, UPDATE_RATIO, Band, FamilyBands
from lrtui.engine.numbers import finite
from lrtui.engine.records import Diagnostics

#: Layers shown at once (the reference CNN's four layers all are).
SHOWN = 4
#: Statistics whose bands span decades: their distance is counted in decades, the others' in their own units.
_LOG_SCALE = frozenset({UPDATE_RATIO, EPOCH_TRAVEL})


@dataclass(frozen=True)
class LayerPick:
    """The layers to show and the ones on demand, each in the model's order, and how far each lay from the band."""

    shown: tuple[str, ...]
    hidden: tuple[str, ...]
    #: per layer, its largest distance outside the band (> 0 outside; <= 0 inside, by how much); -inf: no value
    distance: dict[str, float]


def band_distance(x: float, band: Band) -> float:
    """How far ``x`` lies outside ``band``: > 0 outside (decades for a ratio, share points for a share),
    <= 0 inside (minus the way to the nearer edge); 0 for a band with no edge."""
    if band.low is None and band.high is None:
        return 0.0
    if band.statistic in _LOG_SCALE:

        def scale(v: float) -> float:
            return math.log10(max(v, 1e-30))
    else:

        def scale(v: float) -> float:
            return v

    sides = ([scale(band.low) - scale(x)] if band.low is not None else []) + (
        [scale(x) - scale(band.high)] if band.high is not None else []
    )
    return max(sides)


def furthest_layers(values: Iterable[Mapping[str, Any] | None], band: Band, shown: int = SHOWN) -> LayerPick:
    """The ``shown`` layers whose values lay furthest from ``band`` at any point of ``values`` (one layer →
    value mapping per epoch or trace point; None or non-finite values are skipped). Layers in first-seen order."""
    distance: dict[str, float] = {}
    for point in values:
        for layer, v in (point or {}).items():
            d = band_distance(float(v), band) if finite(v) else -math.inf
            distance[layer] = max(distance.get(layer, -math.inf), d)
    order = list(distance)
    ranked = sorted(order, key=lambda layer: (-distance[layer], order.index(layer)))
    keep = set(ranked[:shown])
    return LayerPick(tuple(k for k in order if k in keep), tuple(k for k in order if k not in keep), distance)


def chart_layers(
    diagnostics: Iterable[Diagnostics | None], bands: FamilyBands, shown: int = SHOWN
) -> dict[str, LayerPick]:
    """For epochs' ``diagnostics``: the layers to chart for the update ratio and for dead units."""
    epochs = [d for d in diagnostics if d is not None]
    return {
        statistic: furthest_layers((getattr(d, statistic) for d in epochs), bands.band(statistic), shown)
        for statistic in (UPDATE_RATIO, DEAD_FRACTION)
    }
