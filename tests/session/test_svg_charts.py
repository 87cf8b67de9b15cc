"""The SVG line charts: well-formed, every point inside its frame, gaps kept, round ticks, distinct colours."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest
from svg_helpers import NS, assert_inside, svg_points

from lrtui.reports.colors import RUN_HEX, STATUS_HEX, VERDICT_HEX, color_distance
from lrtui.reports.svg_charts import (
    Band,
    Line,
    Panel,
    Rect,
    Ref,
    clip_segment,
    clipped_paths,
    figure,
    linear_ticks,
    log_ticks,
)


def test_wild_values_stay_inside_the_frame():
    """A blow-up (1e35), negative values on a log axis, NaN and inf: nothing is drawn outside."""
    xs = [1, 2, 3, 4, 5, 6, 7]
    ys = [0.5, 2.0, 1e35, float("nan"), -3.0, float("inf"), 0.1]
    panels = [
        Panel([Line(xs, ys, "#3b75d9", markers=True)], y_range=(0, 3)),
        Panel([Line(xs, ys, "#3b75d9", zeros_at_floor=True)], y_log=True, y_range=(1e-2, 10)),
        Panel(
            [Line([1e-5, 1e-3, 0, -1, 10, 1e9], [1, 2, 3, 4, 5, 6], "#f28e2b")],
            x_log=True,
            x_range=(1e-4, 100),
            y_range=(0, 5),
        ),
    ]
    svg = figure(panels, uid="t")
    assert assert_inside(svg) >= 6


def test_a_missing_value_breaks_the_line():
    svg = figure([Panel([Line([1, 2, 3, 4, 5], [1.0, 2.0, None, 2.0, 1.0], "#000000")])], uid="g")
    ((_, _, polylines),) = svg_points(svg)
    assert polylines == 2


def test_a_log_axis_drops_non_positive_values_and_can_mark_zeros():
    line = Line([1, 2, 3], [1e-3, 0.0, 1e-3], "#3b75d9", zeros_at_floor=True)
    svg = figure([Panel([line], y_log=True)], uid="z")
    ((frame, _, polylines),) = svg_points(svg)
    assert polylines == 0, "the zero splits the line into two lone points"
    root = ET.fromstring(svg)
    floor = [el for el in root.iter(f"{NS}polygon") if el.get("class") == "floor"]
    assert len(floor) == 1 and len(list(root.iter(f"{NS}circle"))) == 2
    assert assert_inside(svg) == 5


def test_clip_segment_cuts_at_the_frame():
    r = Rect(0, 0, 10, 10)
    assert clip_segment((5, 5), (5, 50), r) == ((5, 5), (5, 10))
    assert clip_segment((-10, 5), (20, 5), r) == ((0, 5), (10, 5))
    assert clip_segment((20, 20), (30, 30), r) is None
    paths, singles = clipped_paths([(1, 1), (1, 100), (2, 100), (2, 1), None, (5, 5)], r)
    assert paths == [[(1, 1), (1, 10)], [(2, 10), (2, 1)]] and singles == [(5, 5)]


@pytest.mark.parametrize(("lo", "hi"), [(0, 1), (0.0013, 0.0371), (2.1, 2.4), (0, 97.3), (-3, 8)])
def test_linear_ticks_are_round_and_cover_the_data(lo, hi):
    a, b, ticks = linear_ticks(lo, hi)
    assert a <= lo and b >= hi and ticks[0] == a and ticks[-1] == pytest.approx(b)
    step = ticks[1] - ticks[0]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 2.5, 5)
    assert all(t2 - t1 == pytest.approx(step) for t1, t2 in zip(ticks, ticks[1:]))


def test_log_ticks_are_decades():
    lo, hi, ticks = log_ticks(3e-6, 0.05)
    assert (lo, hi) == (pytest.approx(1e-6), pytest.approx(0.1))
    assert [round(math.log10(t)) for t in ticks] == [-6, -5, -4, -3, -2, -1]


def test_band_and_reference_lines_are_drawn_inside():
    panel = Panel(
        [Line([1, 2], [1e-3, 1e-5], "#3b75d9")],
        y_log=True,
        band=Band(1e-4, 1e-2),
        hrefs=[Ref(1e-3, label="x")],
        vrefs=[Ref(1.5)],
        y_range=(1e-6, 1),
    )
    root = ET.fromstring(figure([panel], uid="b"))
    band = next(el for el in root.iter(f"{NS}rect") if el.get("class") == "band")
    frame = next(el for el in root.iter(f"{NS}rect") if el.get("class") == "frame")
    fy, fh = float(frame.get("y", 0)), float(frame.get("height", 0))
    by, bh = float(band.get("y", 0)), float(band.get("height", 0))
    assert fy <= by and by + bh <= fy + fh and bh == pytest.approx(fh * 2 / 6, abs=0.2), "two of six decades"
    assert len([el for el in root.iter(f"{NS}line") if el.get("class") == "ref"]) == 2


def test_text_is_escaped():
    svg = figure([Panel([Line([1, 2], [1, 2], "#000000")], title="<b>&")], description="a<b")
    root = ET.fromstring(svg)
    assert "<b>&" in "".join(root.itertext())


def test_run_colours_are_many_distinct_and_never_a_verdict_colour():
    assert len(RUN_HEX) >= 12 and len(set(RUN_HEX)) == len(RUN_HEX)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in (*RUN_HEX, *VERDICT_HEX.values(), STATUS_HEX))
    for run, verdict in itertools.product(RUN_HEX, (*VERDICT_HEX.values(), STATUS_HEX)):
        assert color_distance(run, verdict) >= 20, (run, verdict)
    for a, b in itertools.combinations(RUN_HEX, 2):
        assert color_distance(a, b) >= 18, (a, b)


def test_values_next_to_inf_and_the_smallest_float_stay_inside_the_frame():
    """±1.8e308 (any arithmetic on it overflows) and 5e-324 (log10 of it, minus one decade, is 0), on linear
    and log axes, auto and fixed ranges: drawn clamped inside the frame, never as NaN or inf."""
    big, tiny = 1.7976931348623157e308, 5e-324
    xs = [1, 2, 3, 4, 5, 6]
    ys = [big, -big, tiny, 0.0, 2.0, big]
    panels = [
        Panel([Line(xs, ys, "#3b75d9", markers=True)]),
        Panel([Line(xs, ys, "#3b75d9", markers=True)], y_from_zero=True),
        Panel([Line(xs, ys, "#3b75d9", zeros_at_floor=True)], y_log=True),
        Panel([Line(xs, ys, "#3b75d9")], y_log=True, y_range=(tiny, big)),
        Panel(
            [Line([tiny, 1e-5, 1.0, big], [1, 2, 3, 4], "#f28e2b", markers=True)],
            x_log=True,
            vrefs=[Ref(big, label="lr")],
        ),
        Panel([Line([tiny, 2 * tiny], [tiny, tiny], "#f28e2b", markers=True)], x_log=True, y_log=True),
    ]
    svg = figure(panels, uid="x")
    ET.fromstring(svg)
    assert assert_inside(svg) >= 20
    assert not re.search(r'="[^"]*(nan|inf)', svg)
    for lo, hi in ((-big, big), (tiny, tiny), (big, big)):
        assert all(math.isfinite(v) for v in (*linear_ticks(lo, hi)[:2], *linear_ticks(lo, hi)[2]))
    for lo, hi in ((tiny, big), (big, big), (tiny, tiny)):
        a, b, ticks = log_ticks(lo, hi)
        assert 0 < a < b < math.inf and all(0 < t < math.inf for t in ticks)
