"""The range test's chart: the smoothed loss against the learning rate, with the suggestions marked.

Kept out of the engine, which computes the test and imports no drawing code; the CLI prints
this chart and the app's range-test screen draws it on its own plot widget.
"""

from __future__ import annotations

import math
from typing import Any

from lrtui.engine.lrfind import LABELS, LRFindResult
from lrtui.engine.numbers import finite
from lrtui.plots.drawable import log10_drawable

#: Marker colour and letter of each method on the charts (letters tell them apart without colour).
METHOD_STYLE: dict[str, tuple[str, str]] = {
    "valley": ("green", "v"),
    "steepest": ("orange", "s"),
    "max_stable": ("magenta", "m"),
}
#: Largest loss drawn (a larger one at this height): plotext picks this chart's y ticks itself, and draws
#: nothing at all for values from about 1e50 on; the range test stops long before, at divergence.
LOSS_LIMIT = 1e15


def _drawn(loss: float) -> float:
    return max(-LOSS_LIMIT, min(LOSS_LIMIT, loss))


def draw(plot: Any, result: LRFindResult) -> None:
    """Draw the smoothed curve and the suggestions on a plotext figure (a fresh one or a widget's ``plt``).

    The x axis is log10(lr) on a linear scale with decade labels: plotext 5's own log
    scale takes the logarithm of the stored data in place, so a second build (every
    repaint of a widget) fails with a math domain error (plotext issue 209). Values beyond what an
    axis draws are clamped (:mod:`lrtui.plots.drawable`, :data:`LOSS_LIMIT`); non-finite losses are left out.
    """
    plot.clear_data()
    plot.title("LR range test: smoothed loss vs learning rate")
    plot.xlabel("learning rate (log scale)")
    plot.ylabel("loss")
    points = [
        (log10_drawable(lr), _drawn(y))
        for lr, y in zip(result.lrs, result.smoothed)
        if finite(lr) and lr > 0 and finite(y)
    ]
    if not points:
        return
    xs = [x for x, _ in points]
    lo, hi = math.floor(min(xs)), math.ceil(max(xs))
    every = math.ceil((hi - lo + 1) / 12)  # at most 12 labels, however many decades (1e-308 to 1e308)
    decades = [k for k in range(lo, hi + 1) if k % every == 0]
    plot.xticks(decades, [f"1e{k:+03d}" for k in decades])
    plot.plot(xs, [y for _, y in points], marker="braille", label="smoothed loss")
    for method, lr in result.suggestions.items():
        if lr is not None and finite(lr) and lr > 0:
            color, letter = METHOD_STYLE[method]
            x = log10_drawable(lr)
            plot.vertical_line(x, color=color)
            loss = _loss_at(result, lr)
            if finite(loss):
                plot.scatter([x], [_drawn(loss)], marker=letter, color=color, label=f"{LABELS[method]} {lr:.2g}")


def _loss_at(result: LRFindResult, lr: float) -> float:
    """The smoothed loss at the recorded lr nearest to ``lr`` (on the log scale)."""
    i = min(range(len(result.lrs)), key=lambda k: abs(log10_drawable(result.lrs[k]) - log10_drawable(lr)))
    return result.smoothed[i]


def render_chart(result: LRFindResult, width: int = 80, height: int = 20, color: bool = False) -> str:
    """The chart as text, built on its own plotext figure so plotext's global figure is never touched."""
    from plotext import uncolorize

    from lrtui.plots.terminal_charts import new_figure

    figure = new_figure(width, height)
    if not color:
        figure.theme("clear")
    draw(figure, result)
    text = figure.build()
    return text if color else "\n".join(line.rstrip() for line in uncolorize(text).splitlines())
