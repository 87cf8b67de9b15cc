"""With many layers, the charts and the story show those furthest from the healthy band; the rest on demand."""

from __future__ import annotations

import math

import pytest

from lrtui.engine.bands import ADAM, SGD, Band
from lrtui.engine.layer_pick import band_distance, chart_layers, furthest_layers
from lrtui.engine.records import Diagnostics


def test_distance_is_in_decades_for_ratios_and_in_share_points_for_shares() -> None:
    ratio = SGD.update_ratio  # 2e-4 .. 3e-2
    assert band_distance(3e-1, ratio) == pytest.approx(1.0)
    assert band_distance(2e-6, ratio) == pytest.approx(2.0)
    assert band_distance(2e-3, ratio) < 0  # inside
    assert band_distance(0.0, ratio) > 10  # a step of nothing is as far below as can be
    assert band_distance(0.9, SGD.dead_fraction) == pytest.approx(0.9 - 0.38)
    assert band_distance(0.5, Band("x")) == 0.0


def test_the_furthest_layers_are_shown_in_model_order_the_rest_hidden() -> None:
    epochs = [{f"l{i}": 1e-3 for i in range(10)}, {**{f"l{i}": 1e-3 for i in range(10)}, "l7": 0.5, "l2": 1e-7}]
    epochs[0]["l5"] = 0.1  # one epoch out of the band is enough
    pick = furthest_layers(epochs, SGD.update_ratio, shown=3)
    assert pick.shown == ("l2", "l5", "l7")
    assert pick.hidden == tuple(f"l{i}" for i in (0, 1, 3, 4, 6, 8, 9))
    assert pick.distance["l2"] == pytest.approx(math.log10(2e-4 / 1e-7))


def test_a_small_network_shows_every_layer_and_missing_values_rank_last() -> None:
    pick = furthest_layers([{"conv1": 1e-3, "conv2": None, "fc1": float("nan"), "fc2": 2e-3}, None], SGD.update_ratio)
    assert pick.shown == ("conv1", "conv2", "fc1", "fc2") and pick.hidden == ()
    assert furthest_layers([{"a": None, "b": 1e-3}], SGD.update_ratio, shown=1).shown == ("b",)


def test_chart_layers_picks_for_update_ratio_and_dead_units_by_the_family_bands() -> None:
    diags = [Diagnostics.of(update_ratio={"a": 1e-3, "b": 5e-2, "c": 1e-3}, dead_fraction={"a": 0.6, "b": 0.1}), None]
    sgd, adam = chart_layers(diags, SGD, shown=1), chart_layers(diags, ADAM, shown=1)
    assert sgd["update_ratio"].shown == ("b",) and sgd["dead_fraction"].shown == ("a",)
    assert sgd["dead_fraction"].distance["a"] > 0 > adam["dead_fraction"].distance["a"]  # Adam's band is wider
