"""The session's charts, drawn the same way by the app, the reports and anything else.

Each ``plot_*`` function draws onto a plotext-like figure ``plt`` that it is given:
``PlotextPlot.plt`` in the Textual app, a fresh figure from :func:`new_figure` in the
reports. Never the global ``plotext`` module: its state is shared by everyone who
imports it. Every function starts with ``plt.clear_data()``, so redrawing on each
epoch end does not pile series up.

``plain=True`` is for colourless text (Markdown): each run then gets its own letter
as the marker, upper case for validation and lower case for training, so the
series stay apart without colour. Nothing here imports textual, rich or torch.

Axes (:mod:`lrtui.plots.axes`): y ticks always sit exactly on character rows; ``zoom=True`` fits
the y axis to the data with round ticks; ``log=True`` draws log10 of the values on a linear axis
with decade labels. ``short=True`` draws without the title and x label lines (a chart in a low
pane, whose tab names it) and gives their rows to the plot. Colours: :mod:`lrtui.plots.palette`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from lrtui.engine.records import ProbeRecord
from lrtui.engine.verdict import CLASSES
from lrtui.plots.axes import (
    NICE_TICKS,
    apply_linear,
    apply_log,
    apply_percent,
    chart_rows,
    decade_label,
    fit_percent_rows,
    nice_at_least,
)
from lrtui.plots.drawable import LINEAR_LIMIT, drawable, log10_drawable
from lrtui.plots.grouping import SeedGroup, has_seed_groups, seed_groups
from lrtui.plots.layers import chart_pick, draw_order, key_layer
from lrtui.plots.palette import (
    REFERENCE_COLOR,
    band_label,
    healthy_update,
    run_color,
    run_letter,
)
from lrtui.sessions.record import RunRecord

LAYERS = ("conv1", "conv2", "fc1", "fc2")  #: the reference CNN's
_MAX_POINTS = 600  #: per-batch curves are thinned to this many points: a chart is ~100 columns wide
_MAX_TICKS = 8  #: labels on a log x axis (the probe's step sizes may span 600 decades)


def _style(run: RunRecord, plain: bool, train: bool) -> dict[str, Any]:
    """Marker and colour of one series: braille lines in colour, or the run's letter when plain."""
    if plain:
        letter = run_letter(run)
        return {"marker": letter.lower() if train else letter}
    return {"marker": "dot" if train else "braille", "color": run_color(run)}


def _reference(plain: bool, marker: str = "braille") -> dict[str, Any]:
    return {"marker": "-" if plain else marker, **({} if plain else {"color": REFERENCE_COLOR})}


def _draw(plt: Any, xs: Sequence[float], ys: Sequence[float], label: str | None, style: dict[str, Any]) -> None:
    """A line, or a visible point when the series has only one (a one-epoch run)."""
    if len(xs) == 1:
        point = dict(style)
        if point.get("marker") in ("braille", "dot", "hd", "fhd"):
            point["marker"] = "●"
        plt.scatter(list(xs), list(ys), label=label, **point)
    else:
        plt.plot(list(xs), list(ys), label=label, **style)


# -- per-epoch charts ----------------------------------------------------------------------
def _series(run: RunRecord, key: str, scale: float = 1.0) -> tuple[list[int], list[float]]:
    """(epochs, values) of one per-epoch metric (``key`` a field of EpochRecord), skipping missing (non-finite) ones."""
    points = [(e.epoch, value * scale) for e in run.epochs if (value := getattr(e, key)) is not None]
    return [p[0] for p in points], [p[1] for p in points]


def _labels(plt: Any, title: str, xlabel: str, short: bool) -> None:
    """The title and x label, or neither on a ``short`` chart: its tab names it, the rows go to the curves."""
    plt.title("" if short else title)
    plt.xlabel("" if short else xlabel)


def _epoch_axis(plt: Any, runs: Sequence[RunRecord], title: str, short: bool) -> int:
    """Title and integer ticks on the epoch axis; returns the last epoch drawn (at least 1)."""
    _labels(plt, title, "epoch", short)
    last = max((e.epoch for r in runs for e in r.epochs), default=1)
    if last <= 20:
        plt.xticks(list(range(1, last + 1)))
    plt.xlim(1 - 0.05 * max(last - 1, 1), last + 0.05 * max(last - 1, 1))
    return last


def _spread_last(runs: Sequence[RunRecord], value: Callable[[RunRecord], float]) -> list[RunRecord]:
    """Runs ordered so that flat curves are drawn last: a run that rises from where another lies
    still shows where it leaves it, and the flat one is never hidden under it."""
    return sorted(runs, key=value, reverse=True)


def _range(run: RunRecord, key: str) -> float:
    _, ys = _series(run, key)
    return (max(ys) - min(ys)) if ys else 0.0


def _plot_metric(plt: Any, runs: Sequence[RunRecord], key: str, transform: Callable[[float], float | None],
                 plain: bool, train: bool, legend: bool, seeds: bool = False) -> list[float]:
    """Validation (and training) curves of one metric for every run; returns the values drawn.

    ``seeds=True``: runs that differ only in seed are drawn as one group (see :func:`_plot_group`).
    """
    drawn: list[float] = []
    groups = seed_groups(runs) if seeds and runs else []
    folded = [g for g in groups if len(g.runs) > 1]
    if folded:
        runs = [g.runs[0] for g in groups if len(g.runs) == 1]
    for group in folded:  # first: the bands under every line
        drawn += _plot_band(plt, group, key, transform, plain)
    for run in _spread_last(runs, lambda r: _range(r, f"val_{key}")):
        for split in ("train", "val") if train else ("val",):
            xs, raw = _series(run, f"{split}_{key}")
            mapped = [(x, transform(y)) for x, y in zip(xs, raw)]
            points = [(x, y) for x, y in mapped if y is not None]
            if points:
                label = (f"{run.config.label} {split}" if train else run.config.label) if legend else None
                _draw(plt, [p[0] for p in points], [p[1] for p in points], label, _style(run, plain, split == "train"))
                drawn += [p[1] for p in points]
    for group in folded:
        drawn += _plot_group(plt, group, key, transform, plain, train, legend)
    return drawn


def group_label(group: SeedGroup) -> str:
    """``lr=0.1 sgd · 3 seeds``: a seed group in a legend."""
    return f"{group.label} · {len(group.runs)} seeds"


def _curve_points(xs: Sequence[int], ys: Sequence[float | None],
                  transform: Callable[[float], float | None]) -> list[tuple[int, float]]:
    mapped = [(x, transform(y) if y is not None else None) for x, y in zip(xs, ys)]
    return [(x, y) for x, y in mapped if y is not None]


def _plot_band(plt: Any, group: SeedGroup, key: str, transform: Callable[[float], float | None],
               plain: bool) -> list[float]:
    """The min–max band of a seed group's validation curve as two thin dotted lines in its first run's colour.

    Dotted edges rather than a filled band: a filled area of characters would cover the other runs' lines.
    """
    drawn: list[float] = []
    val = group.curves[f"val_{key}"]
    for ys in (val.lo, val.hi):
        points = _curve_points(val.epochs, ys, transform)
        if len(points) > 1:  # one point alone is the mean's marker already
            plt.plot([p[0] for p in points], [p[1] for p in points], marker="·",
                     **({} if plain else {"color": run_color(group.runs[0])}))
            drawn += [p[1] for p in points]
    return drawn


def _plot_group(plt: Any, group: SeedGroup, key: str, transform: Callable[[float], float | None],
                plain: bool, train: bool, legend: bool) -> list[float]:
    """A seed group's mean validation (and training) curve, in its first run's colour or letter."""
    first = group.runs[0]
    drawn: list[float] = []
    splits = ("train", "val") if train else ("val",)
    for split in splits:
        curve = group.curves[f"{split}_{key}"]
        points = _curve_points(curve.epochs, curve.mean, transform)
        if points:
            label = (f"{group_label(group)} {split}" if train else group_label(group)) if legend else None
            _draw(plt, [p[0] for p in points], [p[1] for p in points], label, _style(first, plain, split == "train"))
            drawn += [p[1] for p in points]
    return drawn


def chance_percents(runs: Sequence[RunRecord]) -> list[float]:
    """Chance accuracy (%) of the runs' data, 100 / C for C classes: one level per class count (ten: 10%)."""
    return [100.0 / c for c in sorted({r.config.classes for r in runs} or {CLASSES}, reverse=True)]


def plot_accuracy(plt: Any, runs: Sequence[RunRecord], *, plain: bool = False, train: bool = True,
                  legend: bool = True, zoom: bool = False, log: bool = False, seeds: bool = False,
                  short: bool = False) -> None:
    """Accuracy (%) per epoch of every run, with chance (1/C of C classes: 10% on digits) as a reference line.

    ``log=True``: the error rate (100% − accuracy) on a log axis, where 1.5% vs 3% is as far
    apart as 15% vs 30%. ``zoom=True``: the y axis fits the data instead of 0–100.
    ``legend=False`` leaves plotext's legend out (the app draws its own, outside the plot).
    ``seeds=True``: runs that differ only in seed are one mean line between their min and max.
    """
    plt.clear_data()
    last = _epoch_axis(plt, runs, "Error rate per epoch (%, log)" if log else "Accuracy per epoch (%)", short)
    rows = fit_percent_rows(plt, short) if not (log or zoom) else chart_rows(plt, short)
    if log:
        def error(acc: float) -> float | None:
            e = 100.0 - 100.0 * acc
            return math.log10(max(e, 0.01))

        for percent in chance_percents(runs):
            chance = math.log10(100.0 - percent)
            plt.plot([1, max(last, 2)], [chance, chance], label=f"chance {100 - percent:.0f}% wrong" if legend
                     else None, **_reference(plain))
        drawn = _plot_metric(plt, runs, "acc", error, plain, train, legend, seeds)
        values = [10**v for v in drawn] or [1.0, 100.0]
        lo, hi = (min(values), max(values)) if zoom else (min(min(values), 1.0), 100.0)
        apply_log(plt, lo, max(hi, lo * 1.5), rows)
        return
    for percent in chance_percents(runs):  # first: under the runs
        plt.plot([1, max(last, 2)], [percent, percent], label=f"chance {percent:.0f}%" if legend else None,
                 **_reference(plain))
    drawn = _plot_metric(plt, runs, "acc", lambda a: drawable(100.0 * a), plain, train, legend, seeds)
    if zoom and drawn:
        apply_linear(plt, max(0.0, min(drawn)), min(100.0, max(drawn)), rows)
    else:
        apply_percent(plt, rows)


def _loss_like(plt: Any, drawn: list[float], rows: int, zoom: bool, log: bool) -> None:
    """y axis of a loss chart: from 0 (or fitted with ``zoom``), or log10 (values already in log10)."""
    if not drawn:
        return
    if log:
        values = [10**v for v in drawn]
        lo, hi = min(values), max(values)
        apply_log(plt, lo, max(hi, lo * 1.2), rows)
    else:
        apply_linear(plt, min(drawn) if zoom else min(0.0, min(drawn)), max(drawn), rows)


def plot_loss(plt: Any, runs: Sequence[RunRecord], *, plain: bool = False, train: bool = True,
              legend: bool = True, zoom: bool = False, log: bool = False, seeds: bool = False,
              short: bool = False) -> None:
    """Cross-entropy loss per epoch of every run (runs that went non-finite stop where they did);
    ``seeds=True`` as in :func:`plot_accuracy`."""
    plt.clear_data()
    _epoch_axis(plt, runs, "Loss per epoch (log)" if log else "Loss per epoch", short)
    transform: Callable[[float], float | None] = (
        (lambda v: log10_drawable(v) if v > 0 else None) if log else drawable)
    drawn = _plot_metric(plt, runs, "loss", transform, plain, train, legend, seeds)
    _loss_like(plt, drawn, chart_rows(plt, short), zoom, log)


def smooth(values: Sequence[float | None], beta: float = 0.9) -> list[tuple[int, float]]:
    """Bias-corrected EMA of a noisy curve as (index, value) pairs; non-finite/missing values are skipped,
    huge ones count as the most a chart draws (:data:`~lrtui.plots.drawable.LINEAR_LIMIT`: 1e308 would overflow it)."""
    out: list[tuple[int, float]] = []
    avg, weight = 0.0, 0.0
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            continue
        avg = beta * avg + (1 - beta) * max(-LINEAR_LIMIT, min(LINEAR_LIMIT, v))
        weight = beta * weight + (1 - beta)
        out.append((i, avg / weight))
    return out


def plot_batch_loss(plt: Any, runs: Sequence[RunRecord], *, plain: bool = False, beta: float = 0.9,
                    legend: bool = True, zoom: bool = False, log: bool = False, short: bool = False) -> None:
    """Smoothed per-batch training loss against epochs: a diverging run shows within its first epoch."""
    plt.clear_data()
    _labels(plt, "Training loss per batch (smoothed, log)" if log else "Training loss per batch (smoothed)", "epoch",
            short)
    drawn: list[float] = []
    for run in runs:
        points = smooth(run.batch_losses, beta)
        points = [(i, log10_drawable(v)) if log else (i, drawable(v)) for i, v in points if v > 0 or not log]
        if not points:
            continue
        per_epoch = max(1, math.ceil(run.n_train / run.config.batch_size)) if run.n_train else 1
        step = max(1, len(points) // _MAX_POINTS)
        points = points[::step]
        ys = [v for _, v in points]
        _draw(plt, [(i + 1) / per_epoch for i, _ in points], ys, run.config.label if legend else None,
              _style(run, plain, False))
        drawn += ys
    _loss_like(plt, drawn, chart_rows(plt, short), zoom, log)


# -- inside the network --------------------------------------------------------------------
def _diag_series(run: RunRecord, group: str, layer: str, scale: float = 1.0) -> tuple[list[int], list[float]]:
    """(epochs, values) of the diagnostics' ``group`` (a field of Diagnostics) at ``layer`` (or the whole field
    when layer is empty), skipping epochs that did not measure it."""
    xs: list[int] = []
    ys: list[float] = []
    for e in run.epochs:
        if e.diagnostics is None:
            continue
        value = getattr(e.diagnostics, group)
        if layer:
            value = (value or {}).get(layer)
        if value is not None:
            xs.append(e.epoch)
            ys.append(value * scale)
    return xs, ys


def layer_style(run: RunRecord, plain: bool, key: bool) -> dict[str, Any]:
    """The key layer as the run's line, the other layers as light dots in its colour: they must not bury it."""
    style = _style(run, plain, not key)
    if not plain and not key:
        style["marker"] = "·"
    return style


def plot_update_ratio(plt: Any, runs: Sequence[RunRecord], *, plain: bool = False, legend: bool = True,
                      zoom: bool = False, log: bool = True, short: bool = False, all_layers: bool = False) -> None:
    """‖Δw‖/‖w‖ per step, per epoch, on a log axis with the healthy band (SGD's, lrtui.engine.bands) marked:
    the key layer (fc1; another network's furthest from the band) as each run's line, the other layers as dots
    in the run's colour. Of a network with many layers, the ones furthest from the band (``all_layers``: all).

    Steps far above the band kill ReLUs (lr 0.5); far below it, nothing moves (lr 1e-4).
    ``log`` is accepted for symmetry: the axis is always logarithmic.
    """
    plt.clear_data()
    last = _epoch_axis(plt, runs, "Update ratio per step (log)", short)
    drawn: list[float] = []
    shown = chart_pick(runs, "update_ratio", steps=False, all_layers=all_layers)
    key = key_layer(shown)
    for run in runs:
        for layer in draw_order(shown):  # the key layer last: on top
            xs, ys = _diag_series(run, "update_ratio", layer)
            points = [(x, log10_drawable(y)) for x, y in zip(xs, ys) if y > 0]
            if not points:
                continue
            label = f"{run.config.label} {layer}" if legend and layer == key else None
            _draw(plt, [p[0] for p in points], [p[1] for p in points], label, layer_style(run, plain, layer == key))
            drawn += [p[1] for p in points]
    band = healthy_update(runs)
    low, high = (math.log10(v) for v in band)
    for i, edge in enumerate((low, high)):
        plt.plot([1, max(last, 2)], [edge, edge], label=(band_label(runs) if legend and i == 0 else None),
                 **_reference(plain))
    values = [10**v for v in drawn]
    lo = min([*values, band[0]]) if not zoom or not values else min(values)
    hi = max([*values, band[1]]) if not zoom or not values else max(values)
    apply_log(plt, lo, max(hi, lo * 1.5), chart_rows(plt, short))


def plot_dead_fraction(plt: Any, runs: Sequence[RunRecord], *, plain: bool = False, legend: bool = True,
                       zoom: bool = False, log: bool = False, short: bool = False, all_layers: bool = False) -> None:
    """Share (%) of ReLU units that never fire on the validation set, per epoch: the key layer (fc1) as each
    run's line, the others (conv1, conv2) as dots; of many layers the ones furthest from the band
    (``all_layers``: all). A dead unit passes no gradient: at 100% the network is a constant."""
    plt.clear_data()
    _epoch_axis(plt, runs, "Dead ReLU units (%)", short)
    rows = fit_percent_rows(plt, short) if not zoom else chart_rows(plt, short)
    drawn: list[float] = []
    shown = chart_pick(runs, "dead_fraction", steps=False, all_layers=all_layers)
    key = key_layer(shown)
    for run in runs:
        for layer in draw_order(shown):
            xs, ys = _diag_series(run, "dead_fraction", layer, 100.0)
            ys = [drawable(y) for y in ys]
            if xs:
                label = f"{run.config.label} {layer}" if legend and layer == key else None
                _draw(plt, xs, ys, label, layer_style(run, plain, layer == key))
                drawn += ys
    if zoom and drawn:
        apply_linear(plt, min(drawn), max(drawn), rows)
    else:
        apply_percent(plt, rows)


def latest_probe(run: RunRecord) -> ProbeRecord | None:
    """The run's most recent step probe, if it has one with data."""
    probes = [p for p in run.probes if p.lrs]
    return probes[-1] if probes else None


def plot_probe(plt: Any, runs: Sequence[RunRecord], *, plain: bool = False, legend: bool = True,
               zoom: bool = False, log: bool = False, short: bool = False) -> None:
    """The step probe: loss after one step of size η along each run's next update, against η on a log
    axis, from the run's latest weights, with its current lr marked by a vertical line.

    Left of the valley the step is too short, right of it the step lands on the wall.
    Losses that blew up are drawn at the top of the axis (capped at 4 × the lowest loss + 1); step sizes
    and losses beyond what an axis can draw are clamped (:func:`drawable`), and at most
    :data:`_MAX_TICKS` decades are labelled.
    """
    plt.clear_data()
    _labels(plt, "Step probe: loss after one step of size η", "η (step size)", short)
    drawn_x: list[float] = []
    drawn_y: list[float] = []
    marks: list[tuple[float, RunRecord]] = []
    for run in runs:
        probe = latest_probe(run)
        if probe is None:
            continue
        pairs = [(lr, None if loss is None else drawable(loss)) for lr, loss in zip(probe.lrs, probe.losses)]
        pairs = pairs[:: max(1, math.ceil(len(pairs) / _MAX_POINTS))]  # 10,000 step sizes: ~100 columns
        kept = [loss for _, loss in pairs if loss is not None]
        if not pairs or not kept:
            continue
        cap = 4 * abs(min(kept)) + 1
        xs = [log10_drawable(lr) for lr, _ in pairs]
        ys = [cap if loss is None else min(loss, cap) for _, loss in pairs]
        if log:
            ys = [math.log10(max(y, 1e-6)) for y in ys]
        label = f"{run.config.label} (epoch {probe.epoch})" if legend else None
        _draw(plt, xs, ys, label, _style(run, plain, False))
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
    every = math.ceil((hi_x - lo_x + 1) / _MAX_TICKS)
    decades = [d for d in range(lo_x, hi_x + 1) if d % every == 0]
    plt.xlim(left, right)
    plt.xticks(decades, [decade_label(d) for d in decades])
    _loss_like(plt, drawn_y, chart_rows(plt, short), True, log) if log else apply_linear(
        plt, min(drawn_y) if zoom else min(0.0, min(drawn_y)), max(drawn_y), chart_rows(plt, short))


NO_LR_TRACE = "no lr trace: recorded when a run ends (older runs have none)"


def lr_points(run: RunRecord) -> list[tuple[int, float]]:
    """(step, lr) of a run's ``lr_trace`` with a positive, finite lr (a log axis needs them); [] without one."""
    trace = getattr(run, "lr_trace", None) or []
    return [(int(p[0]), float(p[1])) for p in trace
            if len(p) >= 2 and isinstance(p[1], (int, float)) and math.isfinite(p[1]) and p[1] > 0]


def plot_lr(plt: Any, runs: Sequence[RunRecord], *, plain: bool = False, legend: bool = True,
            zoom: bool = False, log: bool = True, short: bool = False) -> None:
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
        _labels(plt, "Learning rate per step (log)", "step", short)
        plt.xlim(0.0, 1.0)
        plt.ylim(0.0, 1.0)
        plt.xticks([], [])
        plt.yticks([], [])
        plt.text(NO_LR_TRACE, 0.5, 0.5, alignment="center", **({} if plain else {"color": REFERENCE_COLOR}))
        return
    missing = [run.id for run in runs if not lr_points(run)]
    _labels(plt, "Learning rate per step (log)" + (f" · no lr trace: {', '.join(missing)}" if missing else ""), "step",
            short)
    logs: list[float] = []
    last = 1
    for run, points in traced:
        step = max(1, len(points) // _MAX_POINTS)
        points = points[::step] if points[-1] in points[::step] else [*points[::step], points[-1]]
        ys = [log10_drawable(p[1]) for p in points]
        _draw(plt, [p[0] for p in points], ys, run.config.label if legend else None, _style(run, plain, False))
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
def legend_entries(runs: Sequence[RunRecord], *, plain: bool = False,
                   seeds: bool = False) -> list[tuple[str, int | None, str]]:
    """(marker, colour or None, label) per run, for a legend drawn outside the plot;
    ``seeds=True``: one per seed group (``r1 lr=0.1 sgd · 3 seeds``), as ``_plot_metric`` draws them."""
    groups = seed_groups(runs) if seeds and runs else []
    if has_seed_groups(groups):
        return [(run_letter(g.runs[0]) if plain else "■", None if plain else run_color(g.runs[0]),
                 f"{g.runs[0].id} {group_label(g) if len(g.runs) > 1 else g.runs[0].config.label}")
                for g in groups]
    return [(run_letter(run) if plain else "■", None if plain else run_color(run), f"{run.id} {run.config.label}")
            for run in runs]


def new_figure(width: int, height: int) -> Any:
    """An independent plotext figure (no global state), sized in characters."""
    from plotext._figure import _figure_class

    fig = _figure_class()
    fig._limit_size(False, False)  # else plotext clips it to the terminal it runs in (80x24 when not a tty)
    fig.plot_size(width, height)
    return fig


def render(draw: Callable[..., None], runs: Sequence[RunRecord], *, width: int = 100, height: int = 22,
           color: bool = False, legend_outside: bool = False, **options: Any) -> str:
    """Draw a chart on a fresh figure and return it as text: ANSI colours, or plain with per-run letters.

    ``legend_outside=True`` (plain only): plotext's legend, which sits on the plot's top-left corner and
    can cover data, is replaced by a line above the chart naming each run's letter.
    """
    from plotext import uncolorize

    fig = new_figure(width, height)
    if color:
        draw(fig, runs, **options)
        return fig.build()
    fig.theme("clear")
    if legend_outside:
        fig.plot_size(width, height - 1)
        draw(fig, runs, plain=True, legend=False, **options)
        seeds = bool(options.get("seeds"))
        head = "   ".join(f"{marker} {label}" for marker, _, label in legend_entries(runs, plain=True, seeds=seeds))
        text = uncolorize(fig.build())
        return "\n".join(line.rstrip() for line in [head, *text.splitlines()])
    draw(fig, runs, plain=True, **options)
    return "\n".join(line.rstrip() for line in uncolorize(fig.build()).splitlines())


#: The charts, and the palette and axis names the app and its tests read from here.
