"""The session's charts, drawn the same way by the app, the reports and anything else.

Each ``plot_*`` function draws onto a plotext-like figure ``plt`` that it is given:
``PlotextPlot.plt`` in the Textual app, a fresh figure from :func:`new_figure` in the
reports. Never the global ``plotext`` module: its state is shared by everyone who
imports it. Every function starts with ``plt.clear_data()``, so redrawing on each
epoch end does not pile series up.

``plain=True`` is for colourless text (Markdown): each run then gets its own letter
as the marker, upper case for validation and lower case for training, so the
series stay apart without colour. Nothing here imports textual, rich or torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from lrtui.record import RunRecord, run_number

#: One colour per run, by run number (r1, r2, ...), so a run keeps its colour when others are removed.
RUN_COLORS: tuple[str, ...] = ("blue+", "red+", "green+", "magenta+", "cyan+", "orange+", "orange", "gray+")
#: Colours of verdict labels (rich style names), shared by the app table, the CLI table and the HTML report.
VERDICT_COLORS: dict[str, str] = {
    "converged": "green",
    "too slow": "yellow",
    "not learning": "red",
    "diverged": "red",
    "overfitting": "magenta",
}
CHANCE_ACC = 10.0  #: percent: ten classes
_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_MAX_POINTS = 600  #: per-batch curves are thinned to this many points: a chart is ~100 columns wide


def run_index(run: RunRecord) -> int:
    """0-based number of a run from its id (``r3`` → 2); stable while other runs come and go."""
    return max(run_number(run.id) - 1, 0)


def run_color(run: RunRecord) -> str:
    """The run's plotext colour name."""
    return RUN_COLORS[run_index(run) % len(RUN_COLORS)]


def _style(run: RunRecord, plain: bool, train: bool) -> dict[str, Any]:
    """Marker and colour of one series: braille lines in colour, or the run's letter when plain."""
    if plain:
        letter = _LETTERS[run_index(run) % len(_LETTERS)]
        return {"marker": letter.lower() if train else letter}
    return {"marker": "dot" if train else "braille", "color": run_color(run)}


def _series(run: RunRecord, key: str, scale: float = 1.0) -> tuple[list[int], list[float]]:
    """(epochs, values) of one per-epoch metric, skipping missing (non-finite) values."""
    points = [(e["epoch"], e[key] * scale) for e in run.epochs if e.get(key) is not None]
    return [p[0] for p in points], [p[1] for p in points]


def _epoch_axis(plt: Any, runs: Sequence[RunRecord]) -> int:
    """Integer ticks on the epoch axis; returns the last epoch drawn (at least 1)."""
    last = max((e["epoch"] for r in runs for e in r.epochs), default=1)
    if last <= 20:
        plt.xticks(list(range(1, last + 1)))
    plt.xlabel("epoch")
    return last


def _plot_metric(plt: Any, runs: Sequence[RunRecord], key: str, scale: float, plain: bool, train: bool,
                 legend: bool) -> None:
    """Validation (and training) curves of one metric for every run, labelled in the legend if wanted."""
    for run in runs:
        for split in ("train", "val") if train else ("val",):
            xs, ys = _series(run, f"{split}_{key}", scale)
            if xs:
                label = (f"{run.config.label} {split}" if train else run.config.label) if legend else None
                plt.plot(xs, ys, label=label, **_style(run, plain, split == "train"))


def plot_accuracy(plt: Any, runs: Sequence[RunRecord], *, plain: bool = False, train: bool = True,
                  legend: bool = True) -> None:
    """Accuracy (%) per epoch of every run, with the 10% chance level as a reference line.

    ``legend=False`` leaves the legend out: on a short chart it would cover the curves, and
    the app's runs table already shows each run's colour.
    """
    plt.clear_data()
    plt.title("Accuracy per epoch (%)")
    last = _epoch_axis(plt, runs)
    plt.plot([1, max(last, 2)], [CHANCE_ACC, CHANCE_ACC], label="chance 10%" if legend else None,
             marker="-" if plain else "dot", **({} if plain else {"color": "gray"}))
    _plot_metric(plt, runs, "acc", 100.0, plain, train, legend)
    plt.ylim(0, 100)
    plt.yticks([0, 25, 50, 75, 100])


def plot_loss(plt: Any, runs: Sequence[RunRecord], *, plain: bool = False, train: bool = True,
              legend: bool = True) -> None:
    """Cross-entropy loss per epoch of every run (runs that went non-finite stop where they did)."""
    plt.clear_data()
    plt.title("Loss per epoch")
    _epoch_axis(plt, runs)
    _plot_metric(plt, runs, "loss", 1.0, plain, train, legend)


def smooth(values: Sequence[float | None], beta: float = 0.9) -> list[tuple[int, float]]:
    """Bias-corrected EMA of a noisy curve as (index, value) pairs; non-finite/missing values are skipped."""
    out: list[tuple[int, float]] = []
    avg, weight = 0.0, 0.0
    for i, v in enumerate(values):
        if v is None or not math.isfinite(v):
            continue
        avg = beta * avg + (1 - beta) * v
        weight = beta * weight + (1 - beta)
        out.append((i, avg / weight))
    return out


def plot_batch_loss(plt: Any, runs: Sequence[RunRecord], *, plain: bool = False, beta: float = 0.9,
                    legend: bool = True) -> None:
    """Smoothed per-batch training loss against epochs: a diverging run shows within its first epoch."""
    plt.clear_data()
    plt.title("Training loss per batch (smoothed)")
    plt.xlabel("epoch")
    for run in runs:
        points = smooth(run.batch_losses, beta)
        if not points:
            continue
        per_epoch = max(1, math.ceil(run.n_train / run.config.batch_size)) if run.n_train else 1
        step = max(1, len(points) // _MAX_POINTS)
        points = points[::step]
        plt.plot([(i + 1) / per_epoch for i, _ in points], [v for _, v in points],
                 label=run.config.label if legend else None, **_style(run, plain, False))


def new_figure(width: int, height: int) -> Any:
    """An independent plotext figure (no global state), sized in characters."""
    from plotext._figure import _figure_class

    fig = _figure_class()
    fig.plot_size(width, height)
    return fig


def render(draw: Callable[..., None], runs: Sequence[RunRecord], *, width: int = 100, height: int = 22,
           color: bool = False) -> str:
    """Draw a chart on a fresh figure and return it as text: ANSI colours, or plain with per-run letters."""
    from plotext import uncolorize

    fig = new_figure(width, height)
    if color:
        draw(fig, runs)
        return fig.build()
    fig.theme("clear")
    draw(fig, runs, plain=True)
    return "\n".join(line.rstrip() for line in uncolorize(fig.build()).splitlines())
