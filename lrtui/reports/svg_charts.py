"""Line charts as inline SVG text: vector, self-contained, and honest about their frame.

Written by hand rather than with matplotlib (a second of import time for a report) and
without any external asset, so a report is one file that opens anywhere. Nothing here
knows about runs: :mod:`lrtui.reports.figures` turns runs into :class:`Panel` s.

Rules every chart keeps, because the text charts this replaces broke them:

* a point never leaves its frame: segments are clipped to the plot rectangle geometrically
  (Liang–Barsky), so even the coordinates in the file are inside, and a clip path guards the rest;
* a missing value (``None``, NaN, ±inf) breaks the line instead of being bridged;
* a value beyond what an axis can draw (a loss of 1e308, a step of 1e-308) is drawn clamped
  (:mod:`lrtui.plots.drawable`), at the edge of the frame: axis arithmetic never overflows;
* a log axis drops non-positive values (a dead layer's update ratio of exactly 0 can be shown as
  a marker on the bottom edge instead, see :attr:`Line.zeros_at_floor`);
* ticks are round numbers: 1, 2, 2.5 or 5 times a power of ten, decades on log axes;
* the legend sits outside the plot area, in its own column.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from lrtui.engine.numbers import finite
from lrtui.plots.drawable import drawable, log10_drawable, log_drawable
from lrtui.reports.svg_clip import Point, Rect, clip_polygon, clip_segment, clipped_paths

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
INK, MUTED, GRID, FRAME = "#1f2328", "#59636e", "#e6e8eb", "#8c959f"

_ids = itertools.count(1)


# -- data ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One series. ``dash`` is an SVG dash array ("" = solid); ``markers`` draws a dot at every point."""

    xs: Sequence[float | None]
    ys: Sequence[float | None]
    color: str
    label: str = ""
    dash: str = ""
    width: float = 2.0
    opacity: float = 1.0
    markers: bool = False
    #: on a log y axis, show y == 0 as a hollow triangle on the bottom edge (e.g. "no update at all")
    zeros_at_floor: bool = False


@dataclass(frozen=True)
class Ref:
    """A reference line across the frame at one value (chance level, current learning rate)."""

    value: float
    color: str = MUTED
    dash: str = "2 3"
    label: str = ""


@dataclass(frozen=True)
class Band:
    """A shaded range of y values (the healthy update-ratio band)."""

    lo: float
    hi: float
    color: str = "#2da44e"
    opacity: float = 0.12


@dataclass(frozen=True)
class Area:
    """A shaded range that follows the data: between ``lo`` and ``hi`` at each x (the min–max band of a
    setting's seeds). A missing value breaks the area like it breaks a line; a lone point is drawn as a
    short bar, so a one-epoch band still shows."""

    xs: Sequence[float | None]
    lo: Sequence[float | None]
    hi: Sequence[float | None]
    color: str
    opacity: float = 0.16


@dataclass(frozen=True)
class Panel:
    """One plot: its lines, axes and decorations."""

    lines: Sequence[Line]
    title: str = ""
    x_label: str = ""
    y_label: str = ""
    x_log: bool = False
    y_log: bool = False
    x_range: tuple[float, float] | None = None  #: fixed domain; else from the data, widened to round ticks
    y_range: tuple[float, float] | None = None
    y_from_zero: bool = False  #: a linear auto range that starts at 0 (losses, fractions)
    x_integer: bool = False  #: integer ticks only (epochs)
    y_format: Callable[[float], str] | None = None
    x_ticks: Sequence[float] | None = None  #: where the x ticks go (else round numbers, decades on a log axis)
    x_format: Callable[[float], str] | None = None
    hrefs: Sequence[Ref] = ()
    vrefs: Sequence[Ref] = ()
    band: Band | None = None
    areas: Sequence[Area] = ()  #: drawn under the lines
    note: str = ""  #: shown in the frame when there is nothing to draw


@dataclass(frozen=True)
class LegendItem:
    label: str
    color: str
    dash: str = ""
    kind: str = "line"  #: line | band | floor (the zero marker)
    width: float = 2.0
    opacity: float = 1.0


# -- scales and ticks ------------------------------------------------------------------------------
def nice_step(span: float, target: int = 5) -> float:
    """A round tick step (1, 2, 2.5, 5 × 10^k) giving about ``target`` intervals over ``span``."""
    raw = span / max(target, 1)
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * 0.999)


def linear_ticks(lo: float, hi: float, target: int = 5, integer: bool = False) -> tuple[float, float, list[float]]:
    """Domain widened to round ticks, and the ticks: ``(lo', hi', ticks)``."""
    lo, hi = drawable(lo), drawable(hi)
    if hi <= lo:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, target)
    if integer:
        step = max(1.0, math.ceil(step))
    start, stop = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    n = int(round((stop - start) / step))
    return start, stop, [round(start + i * step, 12) for i in range(n + 1)]


def log_ticks(lo: float, hi: float) -> tuple[float, float, list[float]]:
    """Decades that cover ``[lo, hi]`` (every other one past 8 decades; 2 and 5 added under two)."""
    lo, hi = log_drawable(lo), log_drawable(hi)
    a, b = math.floor(math.log10(lo) + 1e-9), math.ceil(math.log10(hi) - 1e-9)
    if b <= a:
        b = a + 1
    stride = 1 if b - a <= 8 else math.ceil((b - a) / 8)
    ticks = [10.0**k for k in range(a, b + 1, stride)]
    if b - a <= 2:
        ticks = sorted(t * m for t in ticks for m in (1, 2, 5) if t * m <= 10.0**b)
    return 10.0**a, 10.0**b, ticks


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_log_tick(v: float) -> str:
    """``0.01``, ``1``, ``100`` as they are; other decades as ``10⁻⁴``; 2 and 5 multiples as ``2·10⁻⁴``."""
    if 1e-3 <= v <= 1e3:
        return f"{v:g}"
    exp = math.floor(math.log10(v) + 1e-9)
    mant = round(v / 10.0**exp)
    power = f"10{str(exp).translate(_SUPERSCRIPT)}"
    return power if mant == 1 else f"{mant}·{power}"


def format_linear_tick(v: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if decimals and abs(round(step * 10**decimals) - step * 10**decimals) > 1e-6:
        decimals += 1  # 2.5-type steps
    return f"{v:.{decimals}f}"


@dataclass
class Scale:
    """Data value → pixel along one axis."""

    lo: float
    hi: float
    p0: float  #: pixel of ``lo``
    p1: float  #: pixel of ``hi``
    log: bool = False

    def ok(self, v: float | None) -> bool:
        return finite(v) and (not self.log or v > 0)

    def __call__(self, v: float) -> float:
        """The pixel of ``v``; a value beyond what the axis can draw lands far outside the frame, where the
        clipping cuts it (never an overflow to inf or NaN)."""
        if self.log:
            lo, hi, v2 = log10_drawable(self.lo), log10_drawable(self.hi), log10_drawable(v)
        else:
            lo, hi, v2 = drawable(self.lo), drawable(self.hi), drawable(v)
        return self.p0 + (v2 - lo) / ((hi - lo) or 1.0) * (self.p1 - self.p0)


def _domain(
    values: list[float], log: bool, fixed: tuple[float, float] | None, from_zero: bool, integer: bool, target: int
) -> tuple[float, float, list[float]]:
    if fixed is not None:
        lo, hi = fixed
        if log:
            return lo, hi, [t for t in log_ticks(lo, hi)[2] if lo * 0.999 <= t <= hi * 1.001]
        _, _, ticks = linear_ticks(lo, hi, target, integer)
        return lo, hi, [t for t in ticks if lo - 1e-9 <= t <= hi + 1e-9]
    vals = [v for v in values if finite(v) and (not log or v > 0)]
    if log:
        return log_ticks(min(vals), max(vals)) if vals else log_ticks(1e-3, 1.0)
    if not vals:
        return linear_ticks(0.0, 1.0, target, integer)
    lo, hi = min(vals), max(vals)
    if from_zero:
        lo = min(lo, 0.0)
    return linear_ticks(lo, hi, target, integer)


# -- clipping (the geometry: lrtui.reports.svg_clip) -----------------------------------------------
def area_polygons(area: Area, sx: Scale, sy: Scale, r: Rect, bar: float = 4.0) -> list[list[Point]]:
    """Pixel polygons of an area, clipped to the frame: one per unbroken stretch of points."""
    stretches: list[list[tuple[float, float, float]]] = [[]]
    for x, lo, hi in zip(area.xs, area.lo, area.hi):
        if x is not None and lo is not None and hi is not None and sx.ok(x) and sy.ok(lo) and sy.ok(hi):
            stretches[-1].append((sx(x), sy(lo), sy(hi)))
        elif stretches[-1]:
            stretches.append([])
    polygons = []
    for pts in stretches:
        if not pts:
            continue
        if len(pts) == 1:
            x, lo, hi = pts[0]
            shape = [(x - bar, hi), (x + bar, hi), (x + bar, lo), (x - bar, lo)]
        else:
            shape = [(x, hi) for x, _, hi in pts] + [(x, lo) for x, lo, _ in reversed(pts)]
        clipped = clip_polygon(shape, r)
        if len(clipped) >= 3:
            polygons.append(clipped)
    return polygons


# -- drawing -------------------------------------------------------------------------------------
def _f(v: float) -> str:
    return f"{v:.1f}"


def _text(
    x: float,
    y: float,
    s: str,
    *,
    anchor: str = "middle",
    size: float = 11,
    color: str = MUTED,
    weight: str = "normal",
    extra: str = "",
) -> str:
    return (
        f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}" font-size="{size}" fill="{color}" '
        f'font-weight="{weight}"{extra}>{escape(s)}</text>'
    )


def _dash(d: str) -> str:
    return f' stroke-dasharray="{d}"' if d else ""


MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 58.0, 14.0, 28.0, 42.0


def _panel_svg(panel: Panel, box: Rect, uid: str) -> str:
    """One plot in ``box`` (its outer rectangle, margins included)."""
    frame = Rect(
        box.x + MARGIN_LEFT, box.y + MARGIN_TOP, box.w - MARGIN_LEFT - MARGIN_RIGHT, box.h - MARGIN_TOP - MARGIN_BOTTOM
    )
    xs = [v for line in panel.lines for v in line.xs if v is not None]
    ys = [v for line in panel.lines for v in line.ys if v is not None]
    ys += [r.value for r in panel.hrefs if panel.y_range is None and not panel.y_log]
    if panel.band is not None and panel.y_range is None:
        ys += [panel.band.lo, panel.band.hi]
    for area in panel.areas:
        xs += [v for v in area.xs if v is not None]
        ys += [v for v in (*area.lo, *area.hi) if v is not None]
    xs += [r.value for r in panel.vrefs if panel.x_range is None]
    xlo, xhi, xticks = _domain(xs, panel.x_log, panel.x_range, False, panel.x_integer, 6)
    if panel.x_ticks is not None:
        xticks = [t for t in panel.x_ticks if xlo <= t <= xhi]
    ylo, yhi, yticks = _domain(ys, panel.y_log, panel.y_range, panel.y_from_zero, False, 5)
    sx = Scale(xlo, xhi, frame.x, frame.right, panel.x_log)
    sy = Scale(ylo, yhi, frame.bottom, frame.y, panel.y_log)
    clip = f"{uid}-clip"
    out = [
        '<g class="panel">',
        f'<clipPath id="{clip}"><rect x="{_f(frame.x)}" y="{_f(frame.y)}" width="{_f(frame.w)}" '
        f'height="{_f(frame.h)}"/></clipPath>',
        f'<rect class="frame-bg" x="{_f(frame.x)}" y="{_f(frame.y)}" width="{_f(frame.w)}" '
        f'height="{_f(frame.h)}" fill="#ffffff"/>',
    ]
    if panel.title:
        out.append(_text(frame.x, box.y + 17, panel.title, anchor="start", size=12.5, color=INK, weight="600"))
    # band, grid and ticks
    if panel.band is not None and sy.ok(panel.band.lo) and sy.ok(panel.band.hi):
        top = min(max(sy(panel.band.hi), frame.y), frame.bottom)
        bot = min(max(sy(panel.band.lo), frame.y), frame.bottom)
        if bot > top:
            out.append(
                f'<rect class="band" x="{_f(frame.x)}" y="{_f(top)}" width="{_f(frame.w)}" '
                f'height="{_f(bot - top)}" fill="{panel.band.color}" fill-opacity="{panel.band.opacity}"/>'
            )
    ystep = yticks[1] - yticks[0] if len(yticks) > 1 else 1.0
    for t in yticks:
        y = sy(t)
        out.append(f'<line x1="{_f(frame.x)}" x2="{_f(frame.right)}" y1="{_f(y)}" y2="{_f(y)}" stroke="{GRID}"/>')
        label = (
            panel.y_format(t)
            if panel.y_format
            else (format_log_tick(t) if panel.y_log else format_linear_tick(t, ystep))
        )
        out.append(_text(frame.x - 6, y + 3.8, label, anchor="end"))
    xstep = xticks[1] - xticks[0] if len(xticks) > 1 else 1.0
    for t in xticks:
        x = sx(t)
        out.append(f'<line x1="{_f(x)}" x2="{_f(x)}" y1="{_f(frame.y)}" y2="{_f(frame.bottom)}" stroke="{GRID}"/>')
        label = (
            panel.x_format(t)
            if panel.x_format
            else (format_log_tick(t) if panel.x_log else format_linear_tick(t, xstep))
        )
        out.append(_text(x, frame.bottom + 15, label))
    if panel.x_label:
        out.append(_text(frame.x + frame.w / 2, frame.bottom + 32, panel.x_label, color=INK))
    if panel.y_label:
        cx, cy = box.x + 13, frame.y + frame.h / 2
        out.append(_text(cx, cy, panel.y_label, color=INK, extra=f' transform="rotate(-90 {_f(cx)} {_f(cy)})"'))
    # reference lines
    for ref in panel.hrefs:
        if sy.ok(ref.value) and ylo <= ref.value <= yhi:
            y = sy(ref.value)
            out.append(
                f'<line class="ref" x1="{_f(frame.x)}" x2="{_f(frame.right)}" y1="{_f(y)}" y2="{_f(y)}" '
                f'stroke="{ref.color}" stroke-width="1.3"{_dash(ref.dash)}/>'
            )
            if ref.label:
                out.append(_text(frame.right - 4, y - 4, ref.label, anchor="end", size=10, color=ref.color))
    for ref in panel.vrefs:
        if sx.ok(ref.value) and xlo <= ref.value <= xhi:
            x = sx(ref.value)
            out.append(
                f'<line class="ref" x1="{_f(x)}" x2="{_f(x)}" y1="{_f(frame.y)}" y2="{_f(frame.bottom)}" '
                f'stroke="{ref.color}" stroke-width="1.3"{_dash(ref.dash)}/>'
            )
            if ref.label:
                anchor = "start" if x < frame.x + frame.w * 0.75 else "end"
                out.append(
                    _text(
                        x + (4 if anchor == "start" else -4),
                        frame.y + 12,
                        ref.label,
                        anchor=anchor,
                        size=10,
                        color=ref.color,
                    )
                )
    # series
    out.append(
        f'<g class="series" clip-path="url(#{clip})" '
        f'data-frame="{_f(frame.x)} {_f(frame.y)} {_f(frame.w)} {_f(frame.h)}">'
    )
    drawn = 0
    for area in panel.areas:
        for poly in area_polygons(area, sx, sy, frame):
            coords = " ".join(f"{_f(x)},{_f(y)}" for x, y in poly)
            out.append(
                f'<polygon class="area" points="{coords}" fill="{area.color}" '
                f'fill-opacity="{area.opacity:g}" stroke="none"/>'
            )
            drawn += 1
    for line in panel.lines:
        pts: list[Point | None] = []
        floor: list[float] = []
        for vx, vy in zip(line.xs, line.ys):
            if vx is not None and vy is not None and sx.ok(vx) and sy.ok(vy):
                pts.append((sx(vx), sy(vy)))
            else:
                pts.append(None)
                if line.zeros_at_floor and panel.y_log and vx is not None and sx.ok(vx) and vy == 0:
                    floor.append(sx(vx))
        paths, singles = clipped_paths(pts, frame)
        style = (
            f'stroke="{line.color}" stroke-width="{line.width:g}" stroke-opacity="{line.opacity:g}"{_dash(line.dash)}'
        )
        for path in paths:
            coords = " ".join(f"{_f(x)},{_f(y)}" for x, y in path)
            out.append(
                f'<polyline points="{coords}" fill="none" {style} stroke-linejoin="round" stroke-linecap="round"/>'
            )
        dots = singles + ([p for p in pts if p is not None and frame.contains(p)] if line.markers else [])
        for x, y in dict.fromkeys(dots):
            out.append(
                f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{2.6 if line.markers else 2.2}" '
                f'fill="{line.color}" fill-opacity="{line.opacity:g}"/>'
            )
        for x in floor:
            if frame.x <= x <= frame.right:
                b = frame.bottom - 1
                out.append(
                    f'<polygon class="floor" points="{_f(x - 4)},{_f(b - 7)} {_f(x + 4)},{_f(b - 7)} '
                    f'{_f(x)},{_f(b)}" fill="#ffffff" stroke="{line.color}" stroke-width="1.4"/>'
                )
        drawn += len(paths) + len(singles) + len(floor)
    out.append("</g>")
    if not drawn:
        out.append(_text(frame.x + frame.w / 2, frame.y + frame.h / 2, panel.note or "no data", size=12))
    out.append(
        f'<rect class="frame" x="{_f(frame.x)}" y="{_f(frame.y)}" width="{_f(frame.w)}" '
        f'height="{_f(frame.h)}" fill="none" stroke="{FRAME}"/>'
    )
    out.append("</g>")
    return "\n".join(out)


LEGEND_ROW = 19.0
LEGEND_CHARS = 30


def _legend_svg(items: Sequence[LegendItem], x: float, y: float) -> str:
    out = ['<g class="legend">']
    for i, item in enumerate(items):
        cy = y + i * LEGEND_ROW
        if item.kind == "band":
            out.append(
                f'<rect x="{_f(x)}" y="{_f(cy - 6)}" width="24" height="12" fill="{item.color}" '
                f'fill-opacity="{item.opacity:g}" stroke="{item.color}" stroke-opacity="0.4"/>'
            )
        elif item.kind == "floor":
            out.append(
                f'<polygon points="{_f(x + 8)},{_f(cy - 5)} {_f(x + 16)},{_f(cy - 5)} {_f(x + 12)},{_f(cy + 3)}" '
                f'fill="#ffffff" stroke="{item.color}" stroke-width="1.4"/>'
            )
        else:
            out.append(
                f'<line x1="{_f(x)}" x2="{_f(x + 24)}" y1="{_f(cy)}" y2="{_f(cy)}" stroke="{item.color}" '
                f'stroke-width="{item.width:g}" stroke-opacity="{item.opacity:g}"{_dash(item.dash)}/>'
            )
        label = item.label if len(item.label) <= LEGEND_CHARS else item.label[: LEGEND_CHARS - 1] + "…"
        tip = f"<title>{escape(item.label)}</title>" if label != item.label else ""
        out.append(_text(x + 31, cy + 4, label, anchor="start", size=11.5, color=INK)[:-7] + tip + "</text>")
    out.append("</g>")
    return "\n".join(out)


def figure(
    panels: Sequence[Panel],
    legend: Sequence[LegendItem] = (),
    *,
    columns: int | None = None,
    panel_width: float = 760,
    panel_height: float = 300,
    legend_width: float = 230,
    uid: str | None = None,
    description: str = "",
) -> str:
    """Panels in a grid (``columns`` per row) with the legend in its own column on the right; an SVG element."""
    uid = uid or f"lc{next(_ids)}"
    columns = max(1, min(columns or len(panels), len(panels) or 1))
    rows = math.ceil(len(panels) / columns) if panels else 1
    legend_w = legend_width if legend else 0.0
    width = columns * panel_width + legend_w
    legend_h = len(legend) * LEGEND_ROW + MARGIN_TOP + 10
    height = max(rows * panel_height, legend_h)
    body = []
    for i, panel in enumerate(panels):
        r, c = divmod(i, columns)
        body.append(_panel_svg(panel, Rect(c * panel_width, r * panel_height, panel_width, panel_height), f"{uid}-{i}"))
    if legend:
        body.append(_legend_svg(legend, columns * panel_width + 12, MARGIN_TOP + 6))
    title = f"<title>{escape(description)}</title>" if description else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {_f(width)} {_f(height)}" '
        f'width="{_f(width)}" height="{_f(height)}" role="img" font-family="{escape(FONT)}">{title}\n'
        + "\n".join(body)
        + "\n</svg>"
    )


__all__ = [
    "Area",
    "Band",
    "LegendItem",
    "Line",
    "Panel",
    "Rect",
    "Ref",
    "area_polygons",
    "clip_polygon",
    "clip_segment",
    "clipped_paths",
    "figure",
    "linear_ticks",
    "log_ticks",
    "nice_step",
]
