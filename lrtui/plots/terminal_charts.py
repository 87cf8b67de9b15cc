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

from lrtui.engine.verdict import CLASSES
from lrtui.plots.axes import (
    apply_linear,
    apply_log,
    apply_percent,
    chart_rows,
    fit_percent_rows,
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
MAX_POINTS = 600  #: per-batch curves are thinned to this many points: a chart is ~100 columns wide
MAX_TICKS = 8  #: labels on a log x axis (the probe's step sizes may span 600 decades)


def run_style(run: RunRecord, plain: bool, train: bool) -> dict[str, Any]:
    """Marker and colour of one series: braille lines in colour, or the run's letter when plain."""
    if plain:
        letter = run_letter(run)
        return {"marker": letter.lower() if train else letter}
    return {"marker": "dot" if train else "braille", "color": run_color(run)}


def reference_style(plain: bool, marker: str = "braille") -> dict[str, Any]:
    return {"marker": "-" if plain else marker, **({} if plain else {"color": REFERENCE_COLOR})}


def draw_series(plt: Any, xs: Sequence[float], ys: Sequence[float], label: str | None, style: dict[str, Any]) -> None:
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


def set_labels(plt: Any, title: str, xlabel: str, short: bool) -> None:
    """The title and x label, or neither on a ``short`` chart: its tab names it, the rows go to the curves."""
    plt.title("" if short else title)
    plt.xlabel("" if short else xlabel)


def _epoch_axis(plt: Any, runs: Sequence[RunRecord], title: str, short: bool) -> int:
    """Title and integer ticks on the epoch axis; returns the last epoch drawn (at least 1)."""
    set_labels(plt, title, "epoch", short)
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


def _plot_metric(
    plt: Any,
    runs: Sequence[RunRecord],
    key: str,
    transform: Callable[[float], float | None],
    plain: bool,
    train: bool,
    legend: bool,
    seeds: bool = False,
) -> list[float]:
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
                draw_series(
                    plt, [p[0] for p in points], [p[1] for p in points], label, run_style(run, plain, split == "train")
                )
                drawn += [p[1] for p in points]
    for group in folded:
        drawn += _plot_group(plt, group, key, transform, plain, train, legend)
    return drawn


def group_label(group: SeedGroup) -> str:
    """``lr=0.1 sgd · 3 seeds``: a seed group in a legend."""
    return f"{group.label} · {len(group.runs)} seeds"


def _curve_points(
    xs: Sequence[int], ys: Sequence[float | None], transform: Callable[[float], float | None]
) -> list[tuple[int, float]]:
    mapped = [(x, transform(y) if y is not None else None) for x, y in zip(xs, ys)]
    return [(x, y) for x, y in mapped if y is not None]


def _plot_band(
    plt: Any, group: SeedGroup, key: str, transform: Callable[[float], float | None], plain: bool
) -> list[float]:
    """The min–max band of a seed group's validation curve as two thin dotted lines in its first run's colour.

    Dotted edges rather than a filled band: a filled area of characters would cover the other runs' lines.
    """
    drawn: list[float] = []
    val = group.curves[f"val_{key}"]
    for ys in (val.lo, val.hi):
        points = _curve_points(val.epochs, ys, transform)
        if len(points) > 1:  # one point alone is the mean's marker already
            plt.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                marker="·",
                **({} if plain else {"color": run_color(group.runs[0])}),
            )
            drawn += [p[1] for p in points]
    return drawn


def _plot_group(
    plt: Any,
    group: SeedGroup,
    key: str,
    transform: Callable[[float], float | None],
    plain: bool,
    train: bool,
    legend: bool,
) -> list[float]:
    """A seed group's mean validation (and training) curve, in its first run's colour or letter."""
    first = group.runs[0]
    drawn: list[float] = []
    splits = ("train", "val") if train else ("val",)
    for split in splits:
        curve = group.curves[f"{split}_{key}"]
        points = _curve_points(curve.epochs, curve.mean, transform)
        if points:
            label = (f"{group_label(group)} {split}" if train else group_label(group)) if legend else None
            draw_series(
                plt, [p[0] for p in points], [p[1] for p in points], label, run_style(first, plain, split == "train")
            )
            drawn += [p[1] for p in points]
    return drawn


def chance_percents(runs: Sequence[RunRecord]) -> list[float]:
    """Chance accuracy (%) of the runs' data, 100 / C for C classes: one level per class count (ten: 10%)."""
    return [100.0 / c for c in sorted({r.config.classes for r in runs} or {CLASSES}, reverse=True)]


def plot_accuracy(
    plt: Any,
    runs: Sequence[RunRecord],
    *,
    plain: bool = False,
    train: bool = True,
    legend: bool = True,
    zoom: bool = False,
    log: bool = False,
    seeds: bool = False,
    short: bool = False,
) -> None:
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
            plt.plot(
                [1, max(last, 2)],
                [chance, chance],
                label=f"chance {100 - percent:.0f}% wrong" if legend else None,
                **reference_style(plain),
            )
        drawn = _plot_metric(plt, runs, "acc", error, plain, train, legend, seeds)
        values = [10**v for v in drawn] or [1.0, 100.0]
        lo, hi = (min(values), max(values)) if zoom else (min(min(values), 1.0), 100.0)
        apply_log(plt, lo, max(hi, lo * 1.5), rows)
        return
    for percent in chance_percents(runs):  # first: under the runs
        plt.plot(
            [1, max(last, 2)],
            [percent, percent],
            label=f"chance {percent:.0f}%" if legend else None,
            **reference_style(plain),
        )
    drawn = _plot_metric(plt, runs, "acc", lambda a: drawable(100.0 * a), plain, train, legend, seeds)
    if zoom and drawn:
        apply_linear(plt, max(0.0, min(drawn)), min(100.0, max(drawn)), rows)
    else:
        apply_percent(plt, rows)


def loss_like(plt: Any, drawn: list[float], rows: int, zoom: bool, log: bool) -> None:
    """y axis of a loss chart: from 0 (or fitted with ``zoom``), or log10 (values already in log10)."""
    if not drawn:
        return
    if log:
        values = [10**v for v in drawn]
        lo, hi = min(values), max(values)
        apply_log(plt, lo, max(hi, lo * 1.2), rows)
    else:
        apply_linear(plt, min(drawn) if zoom else min(0.0, min(drawn)), max(drawn), rows)


def plot_loss(
    plt: Any,
    runs: Sequence[RunRecord],
    *,
    plain: bool = False,
    train: bool = True,
    legend: bool = True,
    zoom: bool = False,
    log: bool = False,
    seeds: bool = False,
    short: bool = False,
) -> None:
    """Cross-entropy loss per epoch of every run (runs that went non-finite stop where they did);
    ``seeds=True`` as in :func:`plot_accuracy`."""
    plt.clear_data()
    _epoch_axis(plt, runs, "Loss per epoch (log)" if log else "Loss per epoch", short)
    transform: Callable[[float], float | None] = (lambda v: log10_drawable(v) if v > 0 else None) if log else drawable
    drawn = _plot_metric(plt, runs, "loss", transform, plain, train, legend, seeds)
    loss_like(plt, drawn, chart_rows(plt, short), zoom, log)


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


def plot_batch_loss(
    plt: Any,
    runs: Sequence[RunRecord],
    *,
    plain: bool = False,
    beta: float = 0.9,
    legend: bool = True,
    zoom: bool = False,
    log: bool = False,
    short: bool = False,
) -> None:
    """Smoothed per-batch training loss against epochs: a diverging run shows within its first epoch."""
    plt.clear_data()
    set_labels(
        plt, "Training loss per batch (smoothed, log)" if log else "Training loss per batch (smoothed)", "epoch", short
    )
    drawn: list[float] = []
    for run in runs:
        points = smooth(run.batch_losses, beta)
        points = [(i, log10_drawable(v)) if log else (i, drawable(v)) for i, v in points if v > 0 or not log]
        if not points:
            continue
        per_epoch = max(1, math.ceil(run.n_train / run.config.batch_size)) if run.n_train else 1
        step = max(1, len(points) // MAX_POINTS)
        points = points[::step]
        ys = [v for _, v in points]
        draw_series(
            plt,
            [(i + 1) / per_epoch for i, _ in points],
            ys,
            run.config.label if legend else None,
            run_style(run, plain, False),
        )
        drawn += ys
    loss_like(plt, drawn, chart_rows(plt, short), zoom, log)


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
    style = run_style(run, plain, not key)
    if not plain and not key:
        style["marker"] = "·"
    return style


def plot_update_ratio(
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
            draw_series(
                plt, [p[0] for p in points], [p[1] for p in points], label, layer_style(run, plain, layer == key)
            )
            drawn += [p[1] for p in points]
    band_and_log_axis(plt, runs, (1, max(last, 2)), drawn, plain=plain, legend=legend, zoom=zoom, short=short)


def band_and_log_axis(
    plt: Any,
    runs: Sequence[RunRecord],
    xs: tuple[float, float],
    drawn: Sequence[float],
    *,
    plain: bool,
    legend: bool,
    zoom: bool,
    short: bool,
) -> None:
    """The runs' healthy band of the update ratio across ``xs``, then the log y axis over the ``drawn`` log10 values
    (with the band unless zoomed): the per-epoch and the per-step update-ratio charts alike."""
    band = healthy_update(runs)
    for i, edge in enumerate(math.log10(v) for v in band):
        plt.plot(
            list(xs), [edge, edge], label=(band_label(runs) if legend and i == 0 else None), **reference_style(plain)
        )
    values = [10**v for v in drawn]
    lo = min([*values, band[0]]) if not zoom or not values else min(values)
    hi = max([*values, band[1]]) if not zoom or not values else max(values)
    apply_log(plt, lo, max(hi, lo * 1.5), chart_rows(plt, short))


def plot_dead_fraction(
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
                draw_series(plt, xs, ys, label, layer_style(run, plain, layer == key))
                drawn += ys
    if zoom and drawn:
        apply_linear(plt, min(drawn), max(drawn), rows)
    else:
        apply_percent(plt, rows)


def legend_entries(
    runs: Sequence[RunRecord], *, plain: bool = False, seeds: bool = False
) -> list[tuple[str, int | None, str]]:
    """(marker, colour or None, label) per run, for a legend drawn outside the plot;
    ``seeds=True``: one per seed group (``r1 lr=0.1 sgd · 3 seeds``), as ``_plot_metric`` draws them."""
    groups = seed_groups(runs) if seeds and runs else []
    if has_seed_groups(groups):
        return [
            (
                run_letter(g.runs[0]) if plain else "■",
                None if plain else run_color(g.runs[0]),
                f"{g.runs[0].id} {group_label(g) if len(g.runs) > 1 else g.runs[0].config.label}",
            )
            for g in groups
        ]
    return [
        (run_letter(run) if plain else "■", None if plain else run_color(run), f"{run.id} {run.config.label}")
        for run in runs
    ]


def new_figure(width: int, height: int) -> Any:
    """An independent plotext figure (no global state), sized in characters."""
    from plotext._figure import _figure_class

    fig = _figure_class()
    fig._limit_size(False, False)  # else plotext clips it to the terminal it runs in (80x24 when not a tty)
    fig.plot_size(width, height)
    return fig


def render(
    draw: Callable[..., None],
    runs: Sequence[RunRecord],
    *,
    width: int = 100,
    height: int = 22,
    color: bool = False,
    legend_outside: bool = False,
    **options: Any,
) -> str:
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
