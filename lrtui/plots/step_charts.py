"""The Steps and Dead charts per step: each run's step trace on a log step axis, where networks die.

Why per step: an epoch's mean hides the steps that kill a network (lr 0.5 on 3,200 digits: conv2 from 0%
to 100% dead between step 0 and step 192, while its first epoch's mean step sits near the band). The
step trace (:mod:`lrtui.engine.step_trace`) keeps every measured step of a run's first 512 and a sample
after; a log step axis gives those first few hundred steps most of the width.

The x axis is the step (0-based, as the trace and the verdicts count them) drawn at log10(step + 10): step 0
has a place, the dead-unit probes every 32 steps do not leave the left half empty between step 0 and 32,
and from step 100 on it is a log axis; ticks sit on 0, 10, 100, 1k, ... Dead shares are measured on a fixed *probe batch*
(the trace's ``dead_on`` validation images), not the whole validation set, and the chart says so.

A chart with no traced run (sessions saved before the trace) draws the per-epoch chart of
:mod:`lrtui.plots.terminal_charts` instead; runs without a trace beside traced ones are named in the title.
Same signature as every ``plot_*`` function there, so the app and the reports draw these the same way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lrtui.engine.step_trace import StepTrace
from lrtui.plots import terminal_charts as charts
from lrtui.plots.axes import apply_linear, apply_percent, percent_axis, plot_rows
from lrtui.plots.drawable import drawable, log10_drawable
from lrtui.plots.layers import KEY_LAYER, chart_pick, draw_order, key_layer
from lrtui.sessions.record import RunRecord

Points = list[tuple[int, float]]
#: Bins of the log step axis a series is thinned to (each keeps its lowest and highest point): a chart is
#: at most ~150 columns of 2 braille dots, and 2,000 points per layer and run would cost a rebuild ~4x more.
BINS = 240
OFFSET = 10  #: the step axis is log10(step + OFFSET)


def trace_of(run: RunRecord) -> StepTrace | None:
    trace = getattr(run, "step_trace", None)
    return trace if isinstance(trace, StepTrace) and len(trace) else None


def layer_points(trace: StepTrace | None, key: str, layer: str) -> Points:
    """(step, value) of one layer's ``update_ratio`` or ``dead_fraction`` over the trace, measured points only."""
    out: Points = []
    for p in trace.points if trace is not None else ():
        value = (getattr(p, key) or {}).get(layer)
        if value is not None and math.isfinite(value):
            out.append((p.step, value))
    return out


def layers_of(trace: StepTrace | None, key: str) -> list[str]:
    """The layers the trace measured ``key`` of, in its order, the key layer (fc1) last: drawn on top."""
    found = dict.fromkeys(k for p in (trace.points if trace is not None else ()) for k in (getattr(p, key) or {}))
    return sorted(found, key=lambda name: name == KEY_LAYER)


def has_points(run: RunRecord, key: str) -> bool:
    """Whether the run's trace measured ``key`` (``update_ratio`` or ``dead_fraction``) at any step."""
    trace = trace_of(run)
    return trace is not None and any(getattr(p, key) for p in trace.points)


def x_of(step: float) -> float:
    """Where a step sits on the log axis."""
    return math.log10(max(step, 0) + OFFSET)


def thin(points: Points, bins: int = BINS, last: int | None = None) -> Points:
    """At most two points per bin of the log step axis (its lowest and highest, in step order): the largest
    steps, which kill units, are always kept."""
    if len(points) <= 2 * bins:
        return points
    width = (x_of(last if last is not None else points[-1][0]) - x_of(0)) / bins or 1.0
    kept: dict[int, list[tuple[int, float]]] = {}
    for step, value in points:
        kept.setdefault(int((x_of(step) - x_of(0)) / width), []).append((step, value))
    out: Points = []
    for group in kept.values():
        low, high = min(group, key=lambda p: p[1]), max(group, key=lambda p: p[1])
        out += sorted({low, high})
    return out


def _tick_label(step: int) -> str:
    return f"{step // 1000}k" if step >= 1000 and step % 1000 == 0 else str(step)


def step_axis(plt: Any, last: int) -> None:
    """The log step axis from step 0 to ``last``: ticks on 0, 10, 100, 1k, ... (whole decades that fit), and on
    the last step where it is a quarter decade past the last of them."""
    steps = [0, *(10**k for k in range(1, 12) if 10**k <= last)]
    if x_of(last) - x_of(steps[-1]) > 0.25 or len(steps) == 1:  # the last step too, where it has room
        steps.append(max(last, 1))
    left, right = x_of(0), x_of(max(last, 1))
    pad = 0.02 * (right - left)
    plt.xlim(left - pad, right + pad)
    plt.xticks([x_of(s) for s in steps], [_tick_label(s) for s in steps])


def _missing(runs: Sequence[RunRecord], key: str) -> str:
    """`` · no step trace: r1, r2`` for the runs this chart leaves out."""
    missing = [r.id for r in runs if not has_points(r, key)]
    return f" · no step trace: {', '.join(missing)}" if missing else ""


def plot_update_ratio_steps(
    plt: Any,
    runs: Sequence[RunRecord],
    *,
    plain: bool = False,
    legend: bool = True,
    zoom: bool = False,
    log: bool = True,
    short: bool = False,
    all_layers: bool = False,
) -> None:
    """‖Δw‖/‖w‖ of single steps against the step (log), with the healthy band: the key layer (fc1) as each
    run's line, the other layers as dots; of many layers the ones furthest from the band (``all_layers``: all). lr 0.5's first hundred steps move layers by half their weights; lr 1e-4's, by 1e-5.

    Falls back to :func:`lrtui.plots.terminal_charts.plot_update_ratio` (per epoch) without a traced run.
    ``log`` is accepted for symmetry: the axis is always logarithmic.
    """
    traced = [r for r in runs if has_points(r, "update_ratio")]
    if not traced:
        charts.plot_update_ratio(
            plt, runs, plain=plain, legend=legend, zoom=zoom, log=log, short=short, all_layers=all_layers
        )
        return
    plt.clear_data()
    charts.set_labels(plt, "Update ratio of single steps (log)" + _missing(runs, "update_ratio"), "step (log)", short)
    last = max(p.step for r in traced for p in (trace_of(r) or StepTrace()).points)
    drawn: list[float] = []
    shown = chart_pick(traced, "update_ratio", steps=True, all_layers=all_layers)
    key = key_layer(shown)
    for run in traced:
        trace = trace_of(run)
        for layer in draw_order(shown):
            points = [(s, v) for s, v in thin(layer_points(trace, "update_ratio", layer), last=last) if v > 0]
            if not points:
                continue
            ys = [log10_drawable(v) for _, v in points]
            label = f"{run.config.label} {layer}" if legend and layer == key else None
            charts.draw_series(
                plt, [x_of(s) for s, _ in points], ys, label, charts.layer_style(run, plain, layer == key)
            )
            drawn += ys
    charts.band_and_log_axis(
        plt, runs, (x_of(0), x_of(max(last, 1))), drawn, plain=plain, legend=legend, zoom=zoom, short=short
    )
    step_axis(plt, last)


def _titled_rows(plt: Any, short: bool, *, percent: bool) -> int:
    """Rows of the plot area with the title line kept on a ``short`` chart (no x label there); ``percent``: as
    :func:`lrtui.plots.axes.fit_percent_rows`, the rows that cannot split 0–100% evenly given back first."""
    width, height = plt.plot_size()
    rows = plot_rows(height or 22, title=True, xlabel=not short)
    if percent:
        used, _ = percent_axis(rows)
        if used < rows and height:
            plt.plot_size(width, height - (rows - used))
        rows = used
    return rows


def dead_title(runs: Sequence[RunRecord], short: bool = False) -> str:
    """What the dead shares are measured on: the probe batch, never the validation set."""
    images = "/".join(map(str, sorted({t.dead_on for r in runs if (t := trace_of(r)) is not None})))
    if short:
        return f"dead % on {images} probe images, not the val set"
    return f"Dead ReLU units (%) on {images} fixed probe images, not the validation set"


def plot_dead_fraction_steps(
    plt: Any,
    runs: Sequence[RunRecord],
    *,
    plain: bool = False,
    legend: bool = True,
    zoom: bool = False,
    log: bool = False,
    short: bool = False,
    all_layers: bool = False,
) -> None:
    """Share (%) of ReLU units that never fire on the trace's probe batch, against the step (log): the key layer (fc1) as
    each run's line, the others as dots; of many layers the ones furthest from the band (``all_layers``: all). Watch lr 0.5 kill a layer within its first few hundred steps.

    The title says the shares are on the probe batch even on a ``short`` chart (there it is all the chart
    says): a few dozen images find more units silent than the validation set does. Falls back to
    :func:`lrtui.plots.terminal_charts.plot_dead_fraction` (per epoch, validation set) without a traced run.
    """
    traced = [r for r in runs if has_points(r, "dead_fraction")]
    if not traced:
        charts.plot_dead_fraction(
            plt, runs, plain=plain, legend=legend, zoom=zoom, log=log, short=short, all_layers=all_layers
        )
        return
    plt.clear_data()
    title, width = dead_title(traced, short) + _missing(runs, "dead_fraction"), plt.plot_size()[0]
    plt.title(title if not width or len(title) <= width - 2 else title[: max(width - 3, 1)] + "…")  # plotext drops
    # a title wider than the chart
    plt.xlabel("" if short else "step (log)")
    rows = _titled_rows(plt, short, percent=not zoom)
    last = max(p.step for r in traced for p in (trace_of(r) or StepTrace()).points)
    drawn: list[float] = []
    shown = chart_pick(traced, "dead_fraction", steps=True, all_layers=all_layers)
    key = key_layer(shown)
    for run in traced:
        trace = trace_of(run)
        for layer in draw_order(shown):
            points = layer_points(trace, "dead_fraction", layer)
            if not points:
                continue
            ys = [drawable(100.0 * v) for _, v in points]
            label = f"{run.config.label} {layer}" if legend and layer == key else None
            charts.draw_series(
                plt, [x_of(s) for s, _ in points], ys, label, charts.layer_style(run, plain, layer == key)
            )
            drawn += ys
    step_axis(plt, last)
    if zoom and drawn:
        apply_linear(plt, min(drawn), max(drawn), rows)
    else:
        apply_percent(plt, rows)
