"""The range test's chart with numbers at the ends of what a float holds: drawn, never an OverflowError."""

from __future__ import annotations

import pytest

from lrtui.engine.lrfind import LRFindResult
from lrtui.plots.lrfind_chart import render_chart

BIG, TINY = 1.7976931348623157e308, 5e-324


@pytest.mark.parametrize(
    "lrs, smoothed",
    [
        ((TINY, 1e-2, BIG), (BIG, BIG, BIG)),
        ((TINY, 2 * TINY, 3 * TINY), (TINY, TINY, TINY)),
        ((1e-3, 1e-2, 1e-1), (2.3, BIG, float("inf"))),
        ((1e-308, 1e-2, 1e308), (2.3, 1e-308, 1e308)),
    ],
    ids=["huge", "tiny", "inf-adjacent", "mixed"],
)
def test_the_range_test_chart_draws_extreme_values(lrs, smoothed) -> None:
    result = LRFindResult(
        lrs=lrs,
        losses=smoothed,
        smoothed=smoothed,
        suggestions={"valley": lrs[1], "steepest": lrs[0], "max_stable": lrs[-1]},
        lr=lrs[1],
        method="valley",
        why="test",
    )
    text = render_chart(result, 80, 20)
    assert "┤" in text and "smoothed loss" in text
    labels = text.splitlines()[-2]  # the x ticks: decades, at most 12 of them
    assert 1 <= labels.count("1e") <= 12
