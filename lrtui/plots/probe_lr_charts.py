"""The step probe's and the learning rate's terminal charts (the app's Probe and LR tabs, the CLI's printout).

Kept apart from the per-epoch charts of :mod:`lrtui.plots.terminal_charts`, whose drawing helpers they share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lrtui.engine.records import ProbeRecord
from lrtui.plots.axes import NICE_TICKS, apply_linear, apply_log, chart_rows, decade_label, nice_at_least
from lrtui.plots.drawable import drawable, log10_drawable
from lrtui.plots.palette import REFERENCE_COLOR, run_color
from lrtui.plots.terminal_charts import MAX_POINTS, MAX_TICKS, draw_series, loss_like, run_style, set_labels
from lrtui.sessions.record import RunRecord


def latest_probe(run: RunRecord) -> ProbeRecord | None:
    """The run's most recent step probe, if it has one with data."""
    probes = [p for p in run.probes if p.lrs]
    return probes[-1] if probes else None


def plot_probe(
    plt: Any,
    runs: Sequence[RunRecord],
    *,
    plain: bool = False,
    legend: bool = True,
    zoom: bool = False,
    log: bool = False,
    short: bool = False,
) -> None:
    """The step probe: loss after one step of size η along each run's next update, against η on a log
    axis, from the run's latest weights, with its current lr marked by a vertical line.

    Left of the valley the step is too short, right of it the step lands on the wall.
    Losses that blew up are drawn at the top of the axis (capped at 4 × the lowest loss + 1); step sizes
    and losses beyond what an axis can draw are clamped (:func:`drawable`), and at most
    :data:`MAX_TICKS` decades are labelled.
    """
    plt.clear_data()
    set_labels(plt, "Step probe: loss after one step of size η", "η (step size)", short)
    drawn_x: list[float] = []
    drawn_y: list[float] = []
    marks: list[tuple[float, RunRecord]] = []
    for run in runs:
        probe = latest_probe(run)
        if probe is None:
            continue
        pairs = [(lr, None if loss is None else drawable(loss)) for lr, loss in zip(probe.lrs, probe.losses)]
        pairs = pairs[:: max(1, math.ceil(len(pairs) / MAX_POINTS))]  # 10,000 step sizes: ~100 columns
        kept = [loss for _, loss in pairs if loss is not None]
        if not pairs or not kept:
            continue
        cap = 4 * abs(min(kept)) + 1
        xs = [log10_drawable(lr) for lr, _ in pairs]
        ys = [cap if loss is None else min(loss, cap) for _, loss in pairs]
        if log:
            ys = [math.log10(max(y, 1e-6)) for y in ys]
        label = f"{run.config.label} (epoch {probe.epoch})" if legend else None
        draw_series(plt, xs, ys, label, run_style(run, plain, False))
        drawn_x += xs
        drawn_y += ys
        current = probe.current_lr
        if current is not None:
            marks.append((log10_drawable(current), run))
    if not drawn_x:
        return
    for x, run in marks:
        plt.vline(x, **({} if plain else {"color": run_color(run)}))
    left, right = min(drawn_x), max(drawn_x)
    if right - left < 1e-9:  # one step size (or all clamped to the same end): half a decade either side
        left, right = left - 0.5, right + 0.5
    lo_x, hi_x = math.floor(left), math.ceil(right)
    every = math.ceil((hi_x - lo_x + 1) / MAX_TICKS)
    decades = [d for d in range(lo_x, hi_x + 1) if d % every == 0]
    plt.xlim(left, right)
    plt.xticks(decades, [decade_label(d) for d in decades])
    loss_like(plt, drawn_y, chart_rows(plt, short), True, log) if log else apply_linear(
        plt, min(drawn_y) if zoom else min(0.0, min(drawn_y)), max(drawn_y), chart_rows(plt, short)
    )


NO_LR_TRACE = "no lr trace: recorded when a run ends (older runs have none)"


def lr_points(run: RunRecord) -> list[tuple[int, float]]:
    """(step, lr) of a run's ``lr_trace`` with a positive, finite lr (a log axis needs them); [] without one."""
    trace = getattr(run, "lr_trace", None) or []
    return [
        (int(p[0]), float(p[1]))
        for p in trace
        if len(p) >= 2 and isinstance(p[1], (int, float)) and math.isfinite(p[1]) and p[1] > 0
    ]


def plot_lr(
    plt: Any,
    runs: Sequence[RunRecord],
    *,
    plain: bool = False,
    legend: bool = True,
    zoom: bool = False,
    log: bool = True,
    short: bool = False,
) -> None:
    """The learning rate each run used against the optimizer step (its ``lr_trace``), on a log axis:
    a schedule's warmup, steps and decay side by side, constant runs as flat lines a decade apart.

    Runs without a trace (trained before schedules were recorded, or still running) are left out;
    with none at all, the title says so. ``log`` is accepted for symmetry: the axis is always logarithmic.
    ``zoom`` fits the axis to the data (otherwise it spans whole decades).
    """
    plt.clear_data()
    traced = [(run, lr_points(run)) for run in runs]
    traced = [(run, points) for run, points in traced if points]
    if not traced:
        set_labels(plt, "Learning rate per step (log)", "step", short)
        plt.xlim(0.0, 1.0)
        plt.ylim(0.0, 1.0)
        plt.xticks([], [])
        plt.yticks([], [])
        plt.text(NO_LR_TRACE, 0.5, 0.5, alignment="center", **({} if plain else {"color": REFERENCE_COLOR}))
        return
    missing = [run.id for run in runs if not lr_points(run)]
    set_labels(
        plt,
        "Learning rate per step (log)" + (f" · no lr trace: {', '.join(missing)}" if missing else ""),
        "step",
        short,
    )
    logs: list[float] = []
    last = 1
    for run, points in traced:
        step = max(1, len(points) // MAX_POINTS)
        points = points[::step] if points[-1] in points[::step] else [*points[::step], points[-1]]
        ys = [log10_drawable(p[1]) for p in points]
        draw_series(plt, [p[0] for p in points], ys, run.config.label if legend else None, run_style(run, plain, False))
        logs += ys
        last = max(last, points[-1][0])
    plt.xlim(0, last)
    every = max(1, int(nice_at_least(last / 5, NICE_TICKS)))  # whole steps: 0, 50, 100 rather than 4.8, 9.5
    plt.xticks(list(range(0, last + 1, every)))
    lo, hi = 10.0 ** min(logs), 10.0 ** max(logs)
    if not zoom:  # whole decades, at least one: a constant lr is a flat line between two labels
        lo, hi = 10.0 ** math.floor(math.log10(lo) + 1e-9), 10.0 ** math.ceil(math.log10(hi) - 1e-9)
        if hi < lo * 10:
            lo, hi = lo / math.sqrt(10), hi * math.sqrt(10)
    apply_log(plt, lo, max(hi, lo * 1.5), chart_rows(plt, short))


# -- legends and figures ---------------------------------------------------------------------
