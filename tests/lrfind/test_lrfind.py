"""The range test's pieces: schedule, suggestions on known curves, the finder's guarantees, the chart."""

from __future__ import annotations

import json
import math
import threading

import pytest
import torch

from lrtui.engine.config import RunConfig
from lrtui.engine.lrfind import (
    DEFAULT_METHOD,
    LABELS,
    METHODS,
    MIN_POINTS,
    FindStep,
    LRFindResult,
    find_lr,
    lr_schedule,
    max_stable,
    steepest,
    suggest,
    valley,
)
from lrtui.plots.lrfind_chart import draw, render_chart

SMALL = RunConfig(train_limit=400, device="cpu")


def _curve(n: int = 300) -> tuple[list[float], list[float]]:
    """A textbook curve: flat at 2.3 up to 1e-3, falling to 0.5 at 0.1 (log-linear), then climbing fast."""
    lrs = lr_schedule(1e-6, 10.0, n)
    losses = []
    for lr in lrs:
        x = math.log10(lr)
        if x < -3:
            losses.append(2.3)
        elif x < -1:
            losses.append(2.3 - 0.9 * (x + 3))
        else:
            losses.append(0.5 + 3.0 * (x + 1) ** 2)
    return lrs, losses


def _result() -> LRFindResult:
    """A result holding the textbook curve (as both raw and smoothed loss) and its suggestions."""
    lrs, losses = _curve()
    found, lr, why = suggest(lrs, losses)
    return LRFindResult(tuple(lrs), tuple(losses), tuple(losses), found, lr, DEFAULT_METHOD, why)


def test_schedule_is_exponential_from_start_to_end() -> None:
    lrs = lr_schedule(1e-6, 10.0, 8)
    assert lrs[0] == pytest.approx(1e-6) and lrs[-1] == pytest.approx(10.0)
    ratios = {round(b / a, 9) for a, b in zip(lrs, lrs[1:])}
    assert len(ratios) == 1


def test_suggestions_on_a_known_curve() -> None:
    lrs, losses = _curve()
    assert 1e-3 < steepest(lrs, losses) < 0.1  # the fall is log-linear: anywhere inside it
    assert max_stable(lrs, losses) == pytest.approx(0.01, rel=0.1)  # bottom at 0.1, ÷10
    v = valley(lrs, losses)
    assert 1e-3 < v < 0.1 and v == pytest.approx(0.01, rel=0.5)  # halfway down the fall, in log steps
    found, lr, why = suggest(lrs, losses)
    assert set(found) == set(METHODS) and lr == found[DEFAULT_METHOD]
    assert "longest fall" in why


def test_no_valley_in_a_flat_curve_says_so() -> None:
    lrs = lr_schedule(1e-6, 1e-4, 200)
    found, lr, why = suggest(lrs, [2.3 + 0.001 * math.sin(i) for i in range(200)])
    assert lr is None and all(v is None for v in found.values())
    assert why.startswith("no clear valley") and "never fell" in why


def test_too_few_points_says_so() -> None:
    lrs, losses = _curve(MIN_POINTS)
    found, lr, why = suggest(lrs, losses)
    assert lr is None and "usable points" in why


def test_finder_without_a_valley_suggests_nothing() -> None:
    """A range far below where this model learns: the loss never falls, so no number is invented."""
    result = find_lr(SMALL, start=1e-7, end=1e-5, steps=40)
    assert result.lr is None and result.method is None
    assert result.why.startswith("no clear valley")
    assert json.loads(json.dumps(result.to_dict()))["suggestion"]["lr"] is None


def test_steps_are_capped_at_one_epoch_and_said() -> None:
    steps_seen: list[FindStep] = []
    result = find_lr(SMALL, steps=500, emit=steps_seen.append)  # 400 samples / batch 10 = 40 batches
    assert len(result.lrs) == 40 and result.lrs[-1] == pytest.approx(10.0)
    assert any("capped at 40" in note for note in result.notes)
    assert steps_seen and steps_seen[-1].steps == 40 and steps_seen[-1].step == 40


def test_same_seed_same_result_and_global_rng_untouched() -> None:
    before = torch.random.get_rng_state()
    a = find_lr(SMALL, steps=40)
    assert torch.equal(before, torch.random.get_rng_state())
    b = find_lr(SMALL, steps=40)
    assert a.losses == b.losses and a.suggestions == b.suggestions
    c = find_lr(RunConfig(train_limit=400, device="cpu", seed=1), steps=40)
    assert c.losses != a.losses


def test_smoothing_is_bias_corrected_ema() -> None:
    result = find_lr(SMALL, steps=40)
    assert result.smoothed[0] == pytest.approx(result.losses[0])  # no pull towards zero at the start
    avg = 0.0
    for i, loss in enumerate(result.losses):
        avg = 0.98 * avg + 0.02 * loss
        assert result.smoothed[i] == pytest.approx(avg / (1 - 0.98 ** (i + 1)))


def test_cancel_stops_at_once_without_suggestion() -> None:
    cancel = threading.Event()
    cancel.set()
    result = find_lr(SMALL, steps=40, cancel=cancel)
    assert result.lrs == () and result.lr is None and "cancelled" in result.why


@pytest.mark.parametrize("start,end,steps", [(1.0, 0.1, 50), (0.0, 1.0, 50), (1e-6, 10.0, 1)])
def test_bad_range_is_a_clear_error(start: float, end: float, steps: int) -> None:
    with pytest.raises(ValueError, match="start|steps"):
        find_lr(SMALL, start=start, end=end, steps=steps)


def test_dict_has_the_documented_shape() -> None:
    result = _result()
    data = json.loads(json.dumps(result.to_dict()))
    assert data["suggestion"] == {"lr": result.lr, "method": DEFAULT_METHOD, "why": result.why}
    assert data["suggestions"] == result.suggestions and set(data["suggestions"]) == set(METHODS)
    assert len(data["lrs"]) == len(data["losses"]) == len(data["smoothed"]) == len(result.lrs) > 0


def test_chart_marks_suggestions_and_leaves_plotext_global_state_alone() -> None:
    import plotext

    plotext.clear_figure()
    plotext.plotsize(30, 8)
    before = plotext.build()
    result = _result()
    text = render_chart(result, 80, 20)
    assert plotext.build() == before
    assert "\x1b[" not in text
    lines = text.splitlines()
    assert len(lines) == 20 and max(len(line) for line in lines) <= 80
    for method, lr in result.suggestions.items():
        assert f"{LABELS[method]} {lr:.2g}" in text
    assert "1e-06" in text and "1e+01" in text  # log axis, decade ticks


def test_the_chart_survives_repeated_builds() -> None:
    """A widget rebuilds its figure on every repaint; plotext 5's own log scale fails the second time."""
    from lrtui.plots.terminal_charts import new_figure

    figure = new_figure(60, 15)
    draw(figure, _result())
    assert figure.build() == figure.build()


def test_the_onecycle_peak_is_the_smaller_of_three_valleys_and_the_curve_bottom() -> None:
    from lrtui.engine.lrfind import onecycle_peak

    assert onecycle_peak({"valley": 0.05, "max_stable": 0.06}) == pytest.approx(0.15)  # 3 x valley < 0.6
    assert onecycle_peak({"valley": 0.05, "max_stable": 0.01}) == pytest.approx(0.1)  # the bottom, 0.1
    assert onecycle_peak({"valley": None, "max_stable": 0.02}) == pytest.approx(0.2)
    assert onecycle_peak({"valley": None, "max_stable": None}) is None
