"""The report's figures of single steps: each run's step trace per layer, on a log step axis.

The same evidence as the app's Steps and Dead tabs (:mod:`lrtui.plots.step_charts`, whose axis this
shares: the step drawn at step + 10 on a log axis, ticks on 0, 10, 100, 1k): the update ratio of single
steps against the healthy band, and the dead share of each ReLU layer on the trace's fixed probe batch
(not the validation set). Runs saved without a trace keep the per-epoch figures of
:mod:`lrtui.reports.figures`, drawn for them alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from lrtui.plots import step_charts
from lrtui.plots.drawable import log_drawable
from lrtui.plots.layers import chart_pick
from lrtui.plots.palette import HEALTHY_UPDATE
from lrtui.reports import figures
from lrtui.reports.blocks import Chart
from lrtui.reports.svg_charts import MUTED, Band, LegendItem, Line, Panel
from lrtui.sessions.record import RunRecord

#: Points per line at most (each log-axis bin keeps its lowest and highest step): ~1 per pixel of a panel.
SVG_BINS = 300
UPDATE_CAPTION = (
    "Steps far below the band barely move the weights (too slow); far above it they overshoot and can "
    "kill ReLUs for good."
)
DEAD_CAPTION = (
    "A layer whose units never fire passes no gradient back: the network answers one class for "
    "everything and its loss sits at ln C, a uniform guess over its C classes (ln 10 = 2.30 on digits)."
)
STEP_NOTE = " Every measured step of a run's first 512 and a sample after, on a log step axis."


def _x(step: float) -> float:
    return step + step_charts.OFFSET


def _step_label(x: float) -> str:
    return f"{round(x - step_charts.OFFSET):,}"


def _last_step(runs: Sequence[RunRecord]) -> int:
    return max(max((p.step for r in runs if (t := step_charts.trace_of(r)) for p in t.points), default=1), 1)


def _panel(lines: list[Line], last: int, **settings: Any) -> Panel:
    """A panel on the shared step axis, from step 0 to ``last``: ticks on 0, 10, 100, ... and the last step."""
    ticks = [0, *(10**k for k in range(1, 12) if 10**k <= last)]
    if math.log10(_x(last)) - math.log10(_x(ticks[-1])) > 0.25 or len(ticks) == 1:
        ticks.append(last)
    return Panel(
        lines,
        x_log=True,
        x_range=(_x(0), _x(last)),
        x_ticks=[_x(t) for t in ticks],
        x_format=_step_label,
        x_label="step (log)",
        **settings,
    )


def _lines(
    runs: Sequence[RunRecord], key: str, layer: str, scale: float = 1.0, *, thin: bool = True, zeros: bool = False
) -> list[Line]:
    out = []
    for run in runs:
        trace = step_charts.trace_of(run)
        points = step_charts.layer_points(trace, key, layer)
        if thin:
            points = step_charts.thin(points, SVG_BINS)
        if points:
            out.append(
                Line(
                    [_x(s) for s, _ in points],
                    [v * scale for _, v in points],
                    figures.run_hex(run),
                    width=1.4 if thin else 2.0,
                    markers=not thin,
                    zeros_at_floor=zeros,
                )
            )
    return out


def _layers(runs: Sequence[RunRecord], key: str, known: Sequence[str]) -> list[str]:
    """The layers a trace measured, ``known`` ones first in their order; of a network with many, the ones
    furthest from the band (:mod:`lrtui.plots.layers`)."""
    found = chart_pick(runs, key, steps=True).shown
    return [k for k in known if k in found] + [k for k in found if k not in known]


def update_ratio_steps_svg(runs: Sequence[RunRecord]) -> str | None:
    """‖Δw‖/‖w‖ of single steps, one panel per layer, against the step (log), with the healthy band shaded."""
    traced = [r for r in runs if step_charts.has_points(r, "update_ratio")]
    if not traced:
        return None
    values = [
        v
        for r in traced
        for layer in step_charts.layers_of(step_charts.trace_of(r), "update_ratio")
        for _, v in step_charts.layer_points(step_charts.trace_of(r), "update_ratio", layer)
        if v > 0
    ]
    lo = log_drawable(min([*values, HEALTHY_UPDATE[0]]))
    hi = log_drawable(max([*values, HEALTHY_UPDATE[1]]))
    y_range = (10.0 ** (math.floor(math.log10(lo)) - 1), 10.0 ** math.ceil(math.log10(hi)))
    last = _last_step(traced)
    panels = [
        _panel(
            _lines(traced, "update_ratio", layer, zeros=True),
            last,
            title=layer,
            y_label="‖Δw‖ / ‖w‖ of one step",
            y_log=True,
            y_range=y_range,
            band=Band(*HEALTHY_UPDATE),
        )
        for layer in _layers(traced, "update_ratio", figures.UPDATE_LAYERS)
    ]
    band = f"healthy band {HEALTHY_UPDATE[0]:.0e}…{HEALTHY_UPDATE[1]:.0e}"
    legend = [
        *figures._run_legend(traced),
        LegendItem(band, "#2da44e", kind="band", opacity=0.25),
        LegendItem("0: no update at all", MUTED, kind="floor"),
    ]
    return figures.grid(panels, legend, "Update-to-weight ratio of single steps per layer")


def _top_class(runs: Sequence[RunRecord]) -> list[Line]:
    """Each epoch's share of validation predictions in the most common class, at the epoch's last step."""
    out = []
    for run in runs:
        per_epoch = math.ceil(run.n_train / run.config.batch_size) if run.n_train and run.config.batch_size else 0
        rows = [
            (e, v) for e, d in figures.diagnostics(run) if (v := figures.diag_value(d, "top_class_share")) is not None
        ]
        if per_epoch and rows:
            out.append(
                Line(
                    [_x(e * per_epoch - 1) for e, _ in rows],
                    [100 * v for _, v in rows],
                    figures.run_hex(run),
                    markers=True,
                )
            )
    return out


def dead_fraction_steps_svg(runs: Sequence[RunRecord]) -> str | None:
    """Share of ReLU units that never fire on the trace's probe batch, per layer against the step (log), and
    the share of validation predictions in the most common class at each epoch's end."""
    traced = [r for r in runs if step_charts.has_points(r, "dead_fraction")]
    if not traced:
        return None
    top = _top_class(traced)
    last = max([_last_step(traced), *(round(x - step_charts.OFFSET) for line in top for x in line.xs if x is not None)])
    images = "/".join(sorted({str(t.dead_on) for r in traced if (t := step_charts.trace_of(r))}))
    panels = [
        _panel(
            _lines(traced, "dead_fraction", layer, 100.0, thin=False),
            last,
            title=f"dead units, {layer}",
            y_label=f"never active on {images} probe images (%)",
            y_range=(0, 100),
            y_format=figures._pct_tick,
        )
        for layer in _layers(traced, "dead_fraction", figures.RELU_LAYERS)
    ]
    if top:
        panels.append(
            _panel(
                top,
                last,
                title="predictions in the most common class (validation set, epoch ends)",
                y_label="share (%)",
                y_range=(0, 100),
                y_format=figures._pct_tick,
                hrefs=figures.chance_refs(traced)[0],
            )
        )
    legend = [*figures._run_legend(traced), figures.chance_refs(traced, "balanced")[1]]
    return figures.grid(panels, legend, f"Dead ReLU units on a probe batch of {images} images, per step")


def inside_charts(runs: Sequence[RunRecord]) -> list[Chart]:
    """The report's charts of what happens inside the network: per step for the runs with a step trace, per
    epoch (:mod:`lrtui.reports.figures`) for the runs saved without one."""
    traced = [r for r in runs if step_charts.trace_of(r) is not None]
    rest = [r for r in runs if step_charts.trace_of(r) is None and figures.diagnostics(r)]
    out = []
    if traced:
        images = "/".join(sorted({str(t.dead_on) for r in traced if (t := step_charts.trace_of(r))}))
        out += [
            Chart(
                "Update-to-weight ratio per step, per layer, against the step (log–log)",
                svg=update_ratio_steps_svg(traced),
                caption=UPDATE_CAPTION + STEP_NOTE,
            ),
            Chart(
                f"Dead ReLU units per step, on a fixed probe batch of {images} validation images",
                svg=dead_fraction_steps_svg(traced),
                caption=f"{DEAD_CAPTION} Measured on {images} fixed validation images, not the whole "
                "validation set: a few dozen images find more units silent than 800 do.",
            ),
        ]
    if rest:
        names = f" ({', '.join(r.id for r in rest)}: saved without a step trace)" if traced else ""
        out += [
            Chart(
                f"Update-to-weight ratio per step, per layer (log scale){names}",
                svg=figures.update_ratio_svg(rest),
                caption=UPDATE_CAPTION,
            ),
            Chart(
                f"Dead ReLU units and prediction collapse{names}",
                svg=figures.dead_fraction_svg(rest),
                caption=DEAD_CAPTION,
            ),
        ]
    return out
