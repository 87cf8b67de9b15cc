"""Which of a network's layers a chart or the story shows, and the one drawn as each run's line.

Why: the reference CNN has four layers (conv1, conv2, fc1, fc2) and every chart draws each, fc1 as
the run's line; a user's ResNet has dozens, named by module path (``layer2.0.conv1``). Drawn together
they are a smear, so a chart shows the :data:`~lrtui.engine.layer_pick.SHOWN` layers furthest from
the healthy band (:func:`lrtui.engine.layer_pick.furthest_layers`, on SGD's bands, which the charts
draw) and names how many it leaves out; the ``a`` key shows them all. Layer names come from the
run's records (a user's model, a session file): callers show them as text, never as markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from lrtui.engine.bands import SGD
from lrtui.engine.layer_pick import SHOWN, LayerPick, furthest_layers
from lrtui.sessions.record import RunRecord

#: The reference CNN's layer drawn as each run's line (its other layers as dots); another network's is the
#: layer furthest from the band.
KEY_LAYER = "fc1"
ALL_KEY = "a"  #: the key that shows every layer (see :mod:`lrtui.tui.keys`)
_EVERY = 10**9  #: "shown" for every layer


def pick(values: Iterable[Mapping[str, Any] | None], statistic: str, all_layers: bool = False) -> LayerPick:
    """The layers of ``values`` (one layer → value mapping per epoch or step) to show for ``statistic``."""
    return furthest_layers(values, SGD.band(statistic), _EVERY if all_layers else SHOWN)


def epoch_values(runs: Sequence[RunRecord], statistic: str) -> list[Mapping[str, Any] | None]:
    """Every epoch's per-layer ``statistic`` (a field of Diagnostics) of these runs."""
    return [getattr(e.diagnostics, statistic) for r in runs for e in r.epochs if e.diagnostics is not None]


def step_values(runs: Sequence[RunRecord], statistic: str) -> list[Mapping[str, Any] | None]:
    """Every traced step's per-layer ``statistic`` of these runs."""
    return [getattr(p, statistic) for r in runs if r.step_trace is not None for p in r.step_trace.points]


def chart_pick(runs: Sequence[RunRecord], statistic: str, *, steps: bool, all_layers: bool = False) -> LayerPick:
    """The layers a chart of ``statistic`` draws: per step (``steps``; per epoch when no run has a trace of it)
    or per epoch."""
    values = step_values(runs, statistic) if steps else []
    if not any(values):
        values = epoch_values(runs, statistic)
    return pick(values, statistic, all_layers)


def key_layer(pick: LayerPick) -> str:
    """The layer drawn as each run's line: fc1 when shown (the reference CNN), else the one furthest from the band."""
    if KEY_LAYER in pick.shown or not pick.shown:
        return KEY_LAYER
    return max(pick.shown, key=lambda layer: (pick.distance.get(layer, 0.0), -pick.shown.index(layer)))


def draw_order(pick: LayerPick) -> list[str]:
    """The shown layers in the model's order, the key layer last: drawn on top."""
    key = key_layer(pick)
    return sorted(pick.shown, key=lambda name: name == key)


def hidden_note(pick: LayerPick, all_layers: bool = False) -> str:
    """``+11 layers nearer the band (a: all)``; with every layer shown, how to go back; "" for a small network."""
    if pick.hidden:
        return f"+{len(pick.hidden)} layers nearer the band ({ALL_KEY}: all)"
    if all_layers and len(pick.shown) > SHOWN:
        return f"all {len(pick.shown)} layers ({ALL_KEY}: the {SHOWN} furthest from the band)"
    return ""
