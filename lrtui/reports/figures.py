"""The HTML report's figures: a session's runs turned into inline SVG charts.

Every function takes the runs and returns one ``<svg>`` element as text, or None when no
run has the data (diagnostics and probes are absent from sessions saved by older lrtui).
The numbers are read with ``.get`` and type checks, since a session file may come from
anywhere. Each run keeps its colour (:func:`run_hex`, by run number) in every figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from lrtui.engine.config import format_lr, uniform_loss
from lrtui.engine.numbers import as_float
from lrtui.engine.records import Diagnostics, ProbeRecord
from lrtui.plots.drawable import LOG_LIMIT, log10_drawable, log_drawable
from lrtui.plots.grouping import SeedGroup
from lrtui.plots.layers import chart_pick
from lrtui.plots.palette import HEALTHY_UPDATE
from lrtui.plots.terminal_charts import chance_percents, smooth
from lrtui.reports.colors import RUN_HEX
from lrtui.reports.svg_charts import (
    INK,
    MUTED,
    Area,
    Band,
    LegendItem,
    Line,
    Panel,
    Ref,
    figure,
    linear_ticks,
)
from lrtui.sessions.record import RunRecord, run_number

LN10 = math.log(10)
UPDATE_LAYERS = ("conv1", "conv2", "fc1", "fc2")  #: the reference CNN's; a figure draws the run's own (layer_pick)
RELU_LAYERS = ("conv1", "conv2", "fc1")
#: Losses above this are off the chart (a blown-up run would flatten every other curve): 4 × ln 10.
LOSS_CAP = 4 * LN10
_MAX_POINTS = 800  #: per-batch curves and probes are thinned to this many points
_MARKERS = 100  #: a probe curve of more points is drawn without a dot at each

LEGEND_WIDTH = 230.0
VAL_DASH, TRAIN_DASH, CHANCE_DASH = "", "7 4", "2 3"


def _wide(panels: list[Panel], legend: list[LegendItem], description: str) -> str:
    """One full-width plot with the legend on its right (per-epoch and per-batch curves)."""
    return figure(
        panels, legend, panel_width=780.0, panel_height=320.0, legend_width=LEGEND_WIDTH, description=description
    )


def grid(panels: list[Panel], legend: list[LegendItem], description: str, legend_width: float = LEGEND_WIDTH) -> str:
    """Small multiples, two per row (one per layer, per run or per machine figure), sharing one legend."""
    return figure(
        panels,
        legend,
        columns=2,
        panel_width=390.0,
        panel_height=270.0,
        legend_width=legend_width,
        description=description,
    )


def run_hex(run: RunRecord) -> str:
    """The run's colour, by its number (r1, r2, ...) so it survives other runs being removed."""
    return RUN_HEX[(max(run_number(run.id), 1) - 1) % len(RUN_HEX)]


def _label(run: RunRecord) -> str:
    return f"{run.id} {run.config.label}"


def _epochs(run: RunRecord) -> list[float | None]:
    return [float(e.epoch) for e in run.epochs]


def _run_legend(runs: Iterable[RunRecord]) -> list[LegendItem]:
    return [LegendItem(_label(r), run_hex(r)) for r in runs]


def _capped_range(values: Iterable[float | None], cap: float = LOSS_CAP) -> tuple[float, float]:
    """Round numbers around the values under ``cap``: a blow-up leaves through the top instead of
    flattening every other curve, and runs that all sit near ln 10 still show their differences."""
    kept = [v for v in values if v is not None and math.isfinite(v) and v <= cap]
    if not kept:
        return 0.0, cap
    lo, hi, _ = linear_ticks(max(min(kept), 0.0), max(kept), 5)
    return max(lo, 0.0), hi


def _off_chart(values: Iterable[float | None], cap: float = LOSS_CAP) -> str:
    """The note of a loss panel whose every value lies above ``cap`` (nothing is left to draw), else ""."""
    kept = [v for v in values if v is not None and math.isfinite(v)]
    if kept and min(kept) > cap:
        return f"every loss is above {cap:.1f}: off the chart (the tables show the values)"
    return ""


def _pct_tick(v: float) -> str:
    return f"{v:g}%"


def chance_refs(runs: Sequence[RunRecord], label: str = "chance") -> tuple[list[Ref], LegendItem]:
    """The chance level of the runs' data (1/C: 10% on digits, 33% on three classes) as lines and their legend."""
    levels = chance_percents(runs)
    text = " / ".join(f"{p:.0f}%" for p in levels)
    return [Ref(p, MUTED, CHANCE_DASH) for p in levels], LegendItem(f"{label} ({text})", MUTED, CHANCE_DASH, width=1.3)


def uniform_refs(runs: Sequence[RunRecord]) -> tuple[list[float], list[Ref], LegendItem]:
    """ln C, the loss of a uniform guess over the runs' C classes (ln 10 = 2.30 on digits): levels, lines, legend."""
    classes = sorted({r.config.classes for r in runs} or {10})
    text = " / ".join(f"ln {c} = {uniform_loss(c):.2f}" for c in classes)
    levels = [uniform_loss(c) for c in classes]
    return (
        levels,
        [Ref(v, MUTED, CHANCE_DASH) for v in levels],
        LegendItem(f"{text} (uniform guess)", MUTED, CHANCE_DASH, width=1.3),
    )


def _epoch_range(runs: Sequence[RunRecord]) -> tuple[float, float]:
    """Epoch 1 to the last, with a little room so the first and last markers are not cut by the frame."""
    last = max(max((int(e) for r in runs for e in _epochs(r) if e is not None), default=1), 2)
    pad = max(0.08, 0.025 * (last - 1))
    return 1.0 - pad, last + pad


# -- per-epoch curves ----------------------------------------------------------------------------
def accuracy_svg(runs: Sequence[RunRecord]) -> str | None:
    """Validation (solid) and training (dashed) accuracy of every run, with chance as a dotted line."""
    lines = []
    for run in runs:
        xs = _epochs(run)
        for accs, dash in (
            ([e.train_acc for e in run.epochs], TRAIN_DASH),
            ([e.val_acc for e in run.epochs], VAL_DASH),
        ):
            ys = [None if v is None else 100 * v for v in accs]
            lines.append(Line(xs, ys, run_hex(run), dash=dash, markers=True, width=2.2 if not dash else 1.6))
    if not any(r.epochs for r in runs):
        return None
    panel, chance = _accuracy_panel(lines, runs, _epoch_range(runs))
    legend = [
        *_run_legend(runs),
        LegendItem("validation", INK, VAL_DASH),
        LegendItem("training", INK, TRAIN_DASH, width=1.6),
        chance,
    ]
    return _wide([panel], legend, "Accuracy per epoch")


def _accuracy_panel(
    lines: list[Line], runs: Sequence[RunRecord], x_range: tuple[float, float], areas: Sequence[Area] = ()
) -> tuple[Panel, LegendItem]:
    """Accuracy (%) against the epoch, with the runs' chance levels marked; and the chance line's legend item."""
    refs, chance = chance_refs(runs)
    panel = Panel(
        lines,
        x_label="epoch",
        y_label="accuracy (%)",
        y_range=(0, 100),
        x_range=x_range,
        x_integer=True,
        y_format=_pct_tick,
        hrefs=refs,
        areas=areas,
    )
    return panel, chance


def loss_svg(runs: Sequence[RunRecord]) -> str | None:
    """Validation and training loss of every run, with ln C (a uniform guess over the runs' C classes) marked."""
    lines, values = [], []
    for run in runs:
        xs = _epochs(run)
        for ys, dash in (
            ([e.train_loss for e in run.epochs], TRAIN_DASH),
            ([e.val_loss for e in run.epochs], VAL_DASH),
        ):
            values += ys
            lines.append(Line(xs, ys, run_hex(run), dash=dash, markers=True, width=2.2 if not dash else 1.6))
    if not any(r.epochs for r in runs):
        return None
    levels, refs, uniform = uniform_refs(runs)
    panel = Panel(
        lines,
        x_label="epoch",
        y_label="cross-entropy loss",
        y_range=_capped_range([*values, *levels]),
        x_range=_epoch_range(runs),
        x_integer=True,
        hrefs=refs,
        note=_off_chart(values),
    )
    legend = [
        *_run_legend(runs),
        LegendItem("validation", INK, VAL_DASH),
        LegendItem("training", INK, TRAIN_DASH, width=1.6),
        uniform,
    ]
    return _wide([panel], legend, "Loss per epoch")


def batch_loss_svg(runs: Sequence[RunRecord], beta: float = 0.9) -> str | None:
    """Smoothed training loss per batch against epochs: a run that blows up does so in its first epoch."""
    lines, values = [], []
    for run in runs:
        raw = [as_float(v) for v in run.batch_losses]
        points = smooth(raw, beta)
        if not points:
            continue
        per_epoch = max(1, math.ceil(run.n_train / run.config.batch_size)) if run.n_train else max(len(raw), 1)
        step = max(1, len(points) // _MAX_POINTS)
        xs: list[float | None] = []
        ys: list[float | None] = []
        last = -1
        for i, v in points[::step]:
            if last >= 0 and i - last > step:  # a gap in the data (non-finite losses) breaks the line
                xs.append(None)
                ys.append(None)
            xs.append((i + 1) / per_epoch)
            ys.append(v)
            last = i
        values += ys
        lines.append(Line(xs, ys, run_hex(run), width=1.8))
    if not lines:
        return None
    levels, refs, uniform = uniform_refs(runs)
    panel = Panel(
        lines,
        x_label="epoch",
        y_label="training loss (smoothed)",
        y_range=_capped_range([*values, *levels]),
        hrefs=refs,
        note=_off_chart(values),
    )
    legend = [*_run_legend(r for r in runs if r.batch_losses), uniform]
    return _wide([panel], legend, "Training loss per batch")


# -- seed groups: one mean line per setting, its seeds' min–max as a band ----------------------------
def group_hex(group: SeedGroup) -> str:
    """A setting's colour: its first run's, so the folded table's swatch matches the run table's."""
    return run_hex(group.runs[0])


def _group_legend(groups: Sequence[SeedGroup]) -> list[LegendItem]:
    items = []
    for g in groups:
        seeds = f"{len(g.runs)} seeds" if len(g.runs) > 1 else f"seed {g.config.seed}"
        items.append(LegendItem(f"{g.label} · {seeds}", group_hex(g)))
    return items


def _scaled(values: Sequence[float | None], scale: float) -> list[float | None]:
    return [None if v is None else v * scale for v in values]


def _group_panel_parts(
    groups: Sequence[SeedGroup], val: str, train: str, scale: float
) -> tuple[list[Line], list[Area], list[float | None]]:
    """Per group: the validation band (min–max over seeds), the training mean dashed, the validation mean solid."""
    lines, areas, values = [], [], []
    for g in groups:
        if not g.epochs:
            continue
        xs = [float(e) for e in g.epochs]
        color = group_hex(g)
        v, t = g.curves[val], g.curves[train]
        if len(g.runs) > 1:
            areas.append(Area(xs, _scaled(v.lo, scale), _scaled(v.hi, scale), color))
        lines.append(Line(xs, _scaled(t.mean, scale), color, dash=TRAIN_DASH, markers=True, width=1.6))
        lines.append(Line(xs, _scaled(v.mean, scale), color, dash=VAL_DASH, markers=True, width=2.2))
        values += [*_scaled(v.lo, scale), *_scaled(v.hi, scale), *_scaled(t.mean, scale)]
    return lines, areas, values


def _group_epoch_range(groups: Sequence[SeedGroup]) -> tuple[float, float]:
    last = max(max((e for g in groups for e in g.epochs), default=1), 2)
    pad = max(0.08, 0.025 * (last - 1))
    return 1.0 - pad, last + pad


def _band_legend(groups: Sequence[SeedGroup]) -> list[LegendItem]:
    if not any(len(g.runs) > 1 for g in groups):
        return []
    return [LegendItem("seeds' min–max (validation)", MUTED, kind="band", opacity=0.25)]


def seed_accuracy_svg(groups: Sequence[SeedGroup]) -> str | None:
    """Accuracy per epoch, one line per setting (the mean over its seeds) with the seeds' min–max shaded."""
    lines, areas, _ = _group_panel_parts(groups, "val_acc", "train_acc", 100.0)
    if not lines:
        return None
    panel, chance = _accuracy_panel(lines, [r for g in groups for r in g.runs], _group_epoch_range(groups), areas)
    legend = [
        *_group_legend(groups),
        *_band_legend(groups),
        LegendItem("validation (mean)", INK, VAL_DASH),
        LegendItem("training (mean)", INK, TRAIN_DASH, width=1.6),
        chance,
    ]
    return _wide([panel], legend, "Accuracy per epoch, mean over seeds")


def seed_loss_svg(groups: Sequence[SeedGroup]) -> str | None:
    """Loss per epoch, one line per setting with its seeds' min–max shaded (validation)."""
    lines, areas, values = _group_panel_parts(groups, "val_loss", "train_loss", 1.0)
    if not lines:
        return None
    levels, refs, uniform = uniform_refs([r for g in groups for r in g.runs])
    panel = Panel(
        lines,
        x_label="epoch",
        y_label="cross-entropy loss",
        y_range=_capped_range([*values, *levels]),
        x_range=_group_epoch_range(groups),
        x_integer=True,
        hrefs=refs,
        areas=areas,
        note=_off_chart(values),
    )
    legend = [
        *_group_legend(groups),
        *_band_legend(groups),
        LegendItem("validation (mean)", INK, VAL_DASH),
        LegendItem("training (mean)", INK, TRAIN_DASH, width=1.6),
        uniform,
    ]
    return _wide([panel], legend, "Loss per epoch, mean over seeds")


# -- diagnostics ---------------------------------------------------------------------------------
def diagnostics(run: RunRecord) -> list[tuple[int, Diagnostics]]:
    """(epoch, diagnostics) of each epoch that has them."""
    return [(e.epoch, e.diagnostics) for e in run.epochs if e.diagnostics is not None]


def diag_value(d: Diagnostics, key: str, layer: str | None = None) -> float | None:
    """One number of an epoch's diagnostics (``key`` a field of it; ``layer`` for the per-layer ones), None when
    not measured."""
    value = getattr(d, key)
    return (value or {}).get(layer) if layer is not None else value


def _diag_lines(
    runs: Sequence[RunRecord], key: str, layer: str | None, scale: float = 1.0, zeros: bool = False
) -> list[Line]:
    lines = []
    for run in runs:
        rows = diagnostics(run)
        if rows:
            ys = [None if (v := diag_value(d, key, layer)) is None else v * scale for _, d in rows]
            lines.append(Line([float(e) for e, _ in rows], ys, run_hex(run), markers=True, zeros_at_floor=zeros))
    return lines


def update_ratio_svg(runs: Sequence[RunRecord]) -> str | None:
    """‖Δw‖/‖w‖ per step, one panel per layer, on a log axis with the healthy band shaded."""
    with_diag = [r for r in runs if diagnostics(r)]
    if not with_diag:
        return None
    x_range = _epoch_range(with_diag)
    layers = chart_pick(with_diag, "update_ratio", steps=False).shown  # of many layers, the furthest from the band
    values = [
        v
        for r in with_diag
        for _, d in diagnostics(r)
        for layer in layers
        if (v := diag_value(d, "update_ratio", layer)) is not None and v > 0
    ]
    lo = log_drawable(min([*values, HEALTHY_UPDATE[0]]))  # 1e-320 and 1e308 at the ends of what an axis draws
    hi = log_drawable(max([*values, HEALTHY_UPDATE[1]]))
    zeros = any(
        diag_value(d, "update_ratio", layer) == 0 for r in with_diag for _, d in diagnostics(r) for layer in layers
    )
    # a decade of room under the lowest value for the "no update" markers, so they do not sit on a curve
    y_range = (10.0 ** (math.floor(math.log10(lo)) - zeros), 10.0 ** math.ceil(math.log10(hi)))
    panels = [
        Panel(
            _diag_lines(with_diag, "update_ratio", layer, zeros=True),
            title=layer,
            x_label="epoch",
            y_label="‖Δw‖ / ‖w‖ per step",
            y_log=True,
            y_range=y_range,
            x_range=x_range,
            x_integer=True,
            band=Band(*HEALTHY_UPDATE),
        )
        for layer in layers
    ]
    band = f"healthy band {HEALTHY_UPDATE[0]:.0e}…{HEALTHY_UPDATE[1]:.0e}"
    legend = [
        *_run_legend(with_diag),
        LegendItem(band, "#2da44e", kind="band", opacity=0.25),
        LegendItem("0: no update at all", MUTED, kind="floor"),
    ]
    return grid(panels, legend, "Update-to-weight ratio per layer")


def dead_fraction_svg(runs: Sequence[RunRecord]) -> str | None:
    """Share of ReLU units never active on the validation set, per layer, and the prediction collapse."""
    with_diag = [r for r in runs if diagnostics(r)]
    if not with_diag:
        return None
    x_range = _epoch_range(with_diag)
    panels = [
        Panel(
            _diag_lines(with_diag, "dead_fraction", layer, 100.0),
            title=f"dead units, {layer}",
            x_label="epoch",
            y_label="never active (%)",
            y_range=(0, 100),
            x_range=x_range,
            x_integer=True,
            y_format=_pct_tick,
        )
        for layer in chart_pick(with_diag, "dead_fraction", steps=False).shown
    ]
    panels.append(
        Panel(
            _diag_lines(with_diag, "top_class_share", None, 100.0),
            title="predictions in the most common class",
            x_label="epoch",
            y_label="share (%)",
            y_range=(0, 100),
            x_range=x_range,
            x_integer=True,
            y_format=_pct_tick,
            hrefs=chance_refs(with_diag)[0],
        )
    )
    legend = [*_run_legend(with_diag), chance_refs(with_diag, "balanced")[1]]
    return grid(panels, legend, "Dead ReLU units and prediction collapse")


# -- step probe ----------------------------------------------------------------------------------
def probes(run: RunRecord) -> list[ProbeRecord]:
    """The run's probes that probed at least one step size."""
    return [p for p in run.probes if p.lrs]


def _probe_opacity(i: int, n: int) -> float:
    """Earlier probes fainter: the first at 0.3, the last at 1."""
    return 1.0 if n <= 1 else 0.3 + 0.7 * i / (n - 1)


def probe_svg(runs: Sequence[RunRecord]) -> str | None:
    """Loss after one step of size η along the run's next update, one panel per run, one curve per probe."""
    with_probes = [(r, probes(r)) for r in runs if probes(r)]
    if not with_probes:
        return None
    losses = [v for _, ps in with_probes for p in ps for v in p.losses if v is not None and v > 0]
    lo = log10_drawable(min(losses, default=0.1))
    hi = log10_drawable(min(max(losses, default=10.0), 1e3))
    bottom = min(math.floor(lo), LOG_LIMIT - 1)  # decades: at least one, within what an axis draws
    top = min(max(math.ceil(hi), math.ceil(lo + 1)), LOG_LIMIT)
    y_range = (10.0**bottom, 10.0**top)
    epochs = sorted({p.epoch for _, ps in with_probes for p in ps})
    panels = []
    for run, ps in with_probes:
        lines = []
        for p in ps:
            step = max(1, math.ceil(len(p.lrs) / _MAX_POINTS))  # 10,000 step sizes: a point per pixel at most
            lines.append(
                Line(
                    list(p.lrs[::step]),
                    list(p.losses[::step]),
                    run_hex(run),
                    markers=len(p.lrs) <= _MARKERS,
                    width=1.8,
                    opacity=_probe_opacity(epochs.index(p.epoch), len(epochs)),
                )
            )
        current = sorted({p.current_lr for p in ps if p.current_lr is not None})
        refs = [Ref(lr, INK, "5 3", f"lr {format_lr(lr)}" if len(current) == 1 else "") for lr in current]
        panels.append(
            Panel(
                lines,
                title=_label(run),
                x_label="step size η",
                y_label="loss after one step",
                x_log=True,
                y_log=True,
                y_range=y_range,
                vrefs=refs,
            )
        )
    legend = [
        LegendItem("before training" if e == 0 else f"after epoch {e}", INK, opacity=_probe_opacity(i, len(epochs)))
        for i, e in enumerate(epochs)
    ]
    legend.append(LegendItem("the run's learning rate", INK, "5 3", width=1.3))
    return grid(panels, legend, "Step probe: loss after one step of size η")
