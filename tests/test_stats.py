"""Paired seed differences, binomial intervals and grid edges (lrtui.engine.stats)."""

from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest

from lrtui.engine.stats import (
    binomial_interval,
    grid_edge,
    paired_difference,
    paired_sentence,
    proportions_differ,
)


def test_three_agreeing_seeds_are_not_resolved() -> None:
    """The audit's example: +27.6, +18.0, +11.2 points on 3 paired seeds → [−1.5, +39.4]."""
    paired = paired_difference([77.6, 68.0, 61.2], [50.0, 50.0, 50.0])
    assert paired.n == 3 and paired.wins == 3
    assert paired.mean == pytest.approx(18.93, abs=0.01)
    assert paired.lo == pytest.approx(-1.5, abs=0.05) and paired.hi == pytest.approx(39.4, abs=0.05)
    assert not paired.resolved


def test_a_consistent_difference_is_resolved_either_way() -> None:
    assert paired_difference([10.0, 11.0, 12.0, 10.5], [1.0, 1.5, 2.0, 1.2]).resolved
    worse = paired_difference([1.0, 1.5, 2.0, 1.2], [10.0, 11.0, 12.0, 10.5])
    assert worse.resolved and worse.hi < 0 and worse.wins == 0


def test_one_pair_has_no_interval_and_lengths_must_match() -> None:
    one = paired_difference([3.0], [1.0])
    assert one.mean == 2.0 and math.isnan(one.lo) and not one.resolved
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        paired_difference([], [])


def test_the_sentence_says_who_won_by_how_much_and_how_sure() -> None:
    paired = paired_difference([77.6, 68.0, 61.2], [50.0, 50.0, 50.0])
    assert paired_sentence("0.1", "0.03", paired) == (
        "0.1 better than 0.03 on all 3 paired seeds by 18.9 points on average, 95% interval −1.5 … +39.4: "
        "not resolved — run more seeds"
    )
    flipped = paired_sentence("0.03", "0.1", paired_difference([50.0, 50.0, 50.0], [77.6, 68.0, 61.2]))
    assert flipped == paired_sentence("0.1", "0.03", paired)  # the same sentence, interval included, either way
    mixed = paired_sentence("a", "b", paired_difference([2.0, 3.0, 0.5], [1.0, 1.0, 1.0]))
    assert "on 2 of 3 paired seeds" in mixed
    resolved = paired_sentence("a", "b", paired_difference([10.0, 11.0, 12.0, 10.5], [1.0, 1.5, 2.0, 1.2]))
    assert resolved.endswith(": resolved")
    assert "one seed gives no interval" in paired_sentence("a", "b", paired_difference([2.0], [1.0]))


@pytest.mark.parametrize(("correct", "n"), [(22, 25), (0, 10), (10, 10), (183, 200), (1, 3), (640, 800)])
def test_the_binomial_interval_is_wilsons(correct: int, n: int) -> None:
    ci = binomtest(correct, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = binomial_interval(correct, n)
    assert lo == pytest.approx(ci.low, abs=1e-9) and hi == pytest.approx(ci.high, abs=1e-9)
    assert 0 <= lo <= correct / n <= hi <= 1


def test_binomial_interval_edges() -> None:
    assert binomial_interval(0, 0) == (0.0, 1.0)
    assert binomial_interval(0, 10)[0] == 0.0 and binomial_interval(10, 10)[1] == 1.0
    lo, hi = binomial_interval(22, 25)  # 88% of 25 validation images: 70–96%
    assert round(100 * lo) == 70 and round(100 * hi) == 96
    with pytest.raises(ValueError):
        binomial_interval(11, 10)


def test_two_accuracies_differ_only_beyond_their_noise() -> None:
    assert not proportions_differ(0.80, 25, 0.68, 25)  # 3 of 25 images
    assert proportions_differ(0.80, 800, 0.68, 800)
    assert not proportions_differ(0.5, 0, 0.1, 10)


def test_grid_edge() -> None:
    assert grid_edge(1.0, [0.01, 0.1, 1.0]) and grid_edge(0.01, [1.0, 0.1, 0.01])
    assert not grid_edge(0.1, [0.01, 0.1, 1.0])
    assert grid_edge(0.1, [0.1, 0.3])  # two values: either is an edge
    assert not grid_edge(0.1, [0.1, 0.1])  # one distinct value is no grid
    assert grid_edge(0.1 + 1e-17, [0.03, 0.1])
