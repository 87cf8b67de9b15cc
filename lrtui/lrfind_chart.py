"""The range test's chart: the smoothed loss against the learning rate, with the suggestions marked.

Kept out of the engine, which computes the test and imports no drawing code; the CLI prints
this chart and the app's range-test screen draws it on its own plot widget.
"""

from __future__ import annotations

import math
from typing import Any

from lrtui.engine.lrfind import LABELS, LRFindResult

#: Marker colour and letter of each method on the charts (letters tell them apart without colour).
METHOD_STYLE: dict[str, tuple[str, str]] = {"valley": ("green", "v"), "steepest": ("orange", "s"), "max_stable": ("magenta", "m")}


def draw(plot: Any, result: LRFindResult) -> None:
    """Draw the smoothed curve and the suggestions on a plotext figure (a fresh one or a widget's ``plt``).

    The x axis is log10(lr) on a linear scale with decade labels: plotext 5's own log
    scale takes the logarithm of the stored data in place, so a second build (every
    repaint of a widget) fails with a math domain error (plotext issue 209).
    """
    plot.clear_data()
    plot.title("LR range test: smoothed loss vs learning rate")
    plot.xlabel("learning rate (log scale)")
    plot.ylabel("loss")
    if not result.lrs:
        return
    xs = [math.log10(lr) for lr in result.lrs]
    decades = list(range(math.floor(xs[0]), math.ceil(xs[-1]) + 1))
    plot.xticks(decades, [f"{10.0**k:.0e}" for k in decades])
    plot.plot(xs, list(result.smoothed), marker="braille", label="smoothed loss")
    for method, lr in result.suggestions.items():
        if lr is not None:
            color, letter = METHOD_STYLE[method]
            plot.vertical_line(math.log10(lr), color=color)
            plot.scatter([math.log10(lr)], [_loss_at(result, lr)], marker=letter, color=color, label=f"{LABELS[method]} {lr:.2g}")


def _loss_at(result: LRFindResult, lr: float) -> float:
    """The smoothed loss at the recorded lr nearest to ``lr`` (on the log scale)."""
    i = min(range(len(result.lrs)), key=lambda k: abs(math.log(result.lrs[k] / lr)))
    return result.smoothed[i]


def render_chart(result: LRFindResult, width: int = 80, height: int = 20, color: bool = False) -> str:
    """The chart as text, built on its own plotext figure so plotext's global figure is never touched."""
    from plotext import uncolorize

    from lrtui.charts import new_figure

    figure = new_figure(width, height)
    if not color:
        figure.theme("clear")
    draw(figure, result)
    text = figure.build()
    return text if color else "\n".join(line.rstrip() for line in uncolorize(text).splitlines())
