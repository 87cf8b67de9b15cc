"""Axes of the terminal charts: ticks on character rows, round steps, log decades, and what a chart can draw.

plotext snaps a tick to the nearest row, so 0/25/50/75/100 on 6 rows would label 60% as "50": every
axis here puts its ticks exactly on rows. A linear axis steps by round numbers per row; a 0–100%
axis uses the rows that split it evenly; a log axis draws log10 of the values on a linear axis
with decade labels (plotext 5's own log scale rewrites the data on every rebuild). Values beyond
what an axis can draw are clamped (:mod:`lrtui.plots.drawable`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from lrtui.plots.drawable import LOG_LIMIT, drawable, log10_drawable

_NICE = (1.0, 1.25, 2.0, 2.5, 5.0)  #: per-row steps (× 10^k) of a linear axis
NICE_TICKS = (1.0, 2.0, 2.5, 5.0)  #: tick steps (× 10^k) of a linear axis


def decade_label(k: int) -> str:
    """The label of the decade 10^k (``1e-04``, ``100``), for any k: ``10.0 ** 400`` would overflow."""
    return fmt_tick(10.0**k) if abs(k) <= LOG_LIMIT else f"1e{k:+03d}"


def _height(plt: Any) -> int | None:
    size = plt.plot_size() if hasattr(plt, "plot_size") else None
    return int(size[1]) if size and size[1] else None


def plot_rows(height: int, *, title: bool = True, xlabel: bool = True) -> int:
    """Rows of the plot area of a figure ``height`` lines tall: plotext takes the frame, the x ticks
    and the title and x label lines (when they are not empty)."""
    return max(2, height - 3 - int(title) - int(xlabel))


def chart_rows(plt: Any, short: bool = False) -> int:
    """Rows of ``plt``'s plot area; ``short``: a chart drawn without its title and x label lines."""
    return plot_rows(_height(plt) or 22, title=not short, xlabel=not short)


def nice_at_least(x: float, steps: Sequence[float] = _NICE) -> float:
    """The smallest step of the form s × 10^k (s in ``steps``) that is ≥ x."""
    if x <= 0 or not math.isfinite(x):
        return 1.0
    exp = math.floor(math.log10(x))
    for k in (exp - 1, exp, exp + 1):
        for s in steps:
            if s * 10**k >= x * (1 - 1e-9):
                return s * 10**k
    return 10 ** (exp + 1)


def _is_nice(x: float) -> bool:
    if x <= 0:
        return False
    mantissa = x / 10 ** math.floor(math.log10(x) + 1e-9)
    return any(abs(mantissa - s) < 1e-6 for s in NICE_TICKS)


def fmt_tick(v: float) -> str:
    """A tick label: short and exact (``0.25``, ``1e-04``, ``100``)."""
    if v == 0:
        return "0"
    if abs(v) >= 1e5 or abs(v) < 1e-3:
        return f"{v:.0e}"
    return f"{v:.4g}"


def linear_axis(lo: float, hi: float, rows: int, *, max_ticks: int = 6) -> tuple[float, float, list[float]]:
    """(bottom, top, ticks) of a linear y axis over ``rows`` rows with every tick exactly on a row.

    The step per row is a round number, so are the ticks (every k rows); the axis covers [lo, hi]
    (clamped to what can be drawn: see :func:`drawable`).
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    lo, hi = drawable(lo), drawable(hi)
    if hi - lo < 1e-9 * max(1.0, abs(lo), abs(hi)):  # flat (to float precision): give it a visible range
        pad = abs(hi) * 0.05 or 0.5
        lo, hi = lo - pad, hi + pad
    intervals = max(rows - 1, 1)
    step = nice_at_least((hi - lo) / intervals)
    for _ in range(8):
        bottom = math.floor(lo / step + 1e-9) * step
        if bottom > lo + 1e-9 * max(1.0, abs(lo)):  # the tolerance above rounded a tiny negative lo up to 0
            bottom -= step
        if bottom + step * intervals >= hi - 1e-9:
            break
        step = nice_at_least(step * 1.0001)
    top = bottom + step * intervals
    # ticks every k rows at multiples of k × step (0, 25, 50 rather than 12.5, 37.5): the first k that
    # gives 2..max_ticks of them; else the two ends
    ticks = [bottom, top]
    for k in range(1, intervals + 1):
        if not _is_nice(k * step):
            continue
        unit = k * step
        candidates = [bottom + i * step for i in range(intervals + 1)]
        on = [t for t in candidates if abs(t / unit - round(t / unit)) < 1e-6]
        if 2 <= len(on) <= max_ticks:
            ticks = on
            break
    return bottom, top, ticks


_PERCENT_INTERVALS = (2, 4, 5, 8, 10, 16, 20, 25, 32, 40, 50, 64, 80, 100)  #: row counts − 1 that split 0–100 evenly


def fixed_rows(rows: int, span_intervals: Sequence[int] = _PERCENT_INTERVALS) -> int:
    """The most rows ≤ ``rows`` that split 0–100 into round steps (4 rows of 25, 5 of 20, 8 of 12.5 ...)."""
    fits = [n + 1 for n in span_intervals if n + 1 <= rows]
    return max(fits) if fits else rows


def percent_axis(rows: int) -> tuple[int, list[float]]:
    """(rows used, ticks) of a fixed 0–100% axis: the most rows ≤ ``rows`` that split it into round
    steps per row, ticked every 25 (or 20) so that every tick sits on a row."""
    used = fixed_rows(rows)
    intervals = used - 1
    if intervals not in _PERCENT_INTERVALS or intervals < 4:
        return used, [0.0, 50.0, 100.0]
    tick = 25.0 if intervals % 4 == 0 else 20.0
    return used, [tick * i for i in range(int(100 / tick) + 1)]


def fit_percent_rows(plt: Any, short: bool = False) -> int:
    """Give back the rows that cannot split 0–100% evenly (left blank under the plot); returns the rows used.

    Must come before anything is plotted: plotext places the data on the canvas of the size it had then.
    """
    rows = chart_rows(plt, short)
    used, _ = percent_axis(rows)
    if used < rows and _height(plt):
        width, height = plt.plot_size()
        plt.plot_size(width, height - (rows - used))
    return used


def apply_percent(plt: Any, rows: int) -> None:
    """A 0–100% y axis with ticks on rows (``rows`` as :func:`fit_percent_rows` left them)."""
    _, ticks = percent_axis(rows)
    plt.ylim(0.0, 100.0)
    plt.yticks(ticks, [fmt_tick(t) for t in ticks])


def apply_linear(plt: Any, lo: float, hi: float, rows: int, fmt: Callable[[float], str] = fmt_tick) -> None:
    bottom, top, ticks = linear_axis(lo, hi, rows)
    plt.ylim(bottom, top)
    plt.yticks(ticks, [fmt(t) for t in ticks])


def log_axis(lo: float, hi: float, rows: int) -> tuple[float, float, list[float], list[str]]:
    """(bottom, top, ticks, labels) in log10 units: ticks on rows, decades labelled ``1e-03`` when
    the axis spans a decade or more, else every few rows labelled with its value."""
    lo, hi = log10_drawable(lo), log10_drawable(hi)
    span = hi - lo
    intervals = max(rows - 1, 1)
    if span >= 1:
        steps = (0.05, 0.1, 0.125, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
        fits = [st for st in steps if math.floor(lo / st + 1e-9) * st + st * intervals >= hi - 1e-9]
        step = fits[0] if fits else float(math.ceil((hi - math.floor(lo)) / intervals))
        bottom = math.floor(lo / step + 1e-9) * step
        while bottom + step * intervals < hi - 1e-9:  # hundreds of decades: the bottom rounded down too far
            step += 1.0
            bottom = math.floor(lo / step + 1e-9) * step
        slack_rows = int((bottom + step * intervals - hi) / step + 1e-9)
        bottom -= (slack_rows // 2) * step  # the data in the middle, not under an empty top
        top = bottom + step * intervals
        ticks = [
            bottom + i * step
            for i in range(intervals + 1)
            if abs((bottom + i * step) - round(bottom + i * step)) < 1e-6
        ]
        k = max(1, math.ceil(len(ticks) / 6))
        start = next((i for i in range(k) if i < len(ticks) and round(ticks[i]) % k == 0), 0)
        ticks = ticks[start::k]  # every k-th decade, phased so that 1e-4 and 1e-2 are among them
        return bottom, top, ticks, [decade_label(round(t)) for t in ticks]
    pad = max(span * 0.1, 0.02)
    bottom, top = lo - pad, hi + pad
    step = (top - bottom) / intervals
    every = max(1, math.ceil(intervals / 5))
    ticks = [bottom + i * step for i in range(0, intervals + 1, every)]
    return bottom, top, ticks, [f"{10**t:.2g}" for t in ticks]


def apply_log(plt: Any, lo: float, hi: float, rows: int) -> None:
    bottom, top, ticks, labels = log_axis(lo, hi, rows)
    plt.ylim(bottom, top)
    plt.yticks(ticks, labels)
