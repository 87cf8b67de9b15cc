"""Live charts: the shared drawing functions of ``lrtui.charts`` on textual-plotext widgets.

The app and the reports draw the same charts because both call the same
``plot_*`` functions; here they draw onto the widget's own ``plt`` (never the
global plotext module). Each redraw starts from ``clear_data()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from textual.app import RenderResult
from textual.widgets import TabbedContent, TabPane
from textual_plotext import PlotextPlot

from lrtui import charts
from lrtui.record import RunRecord

Draw = Callable[..., None]
SHORT = 16  #: charts shorter than this many rows (80x24) drop their title, axis label and legend


class RunChart(PlotextPlot):
    """A plot that draws itself from run records with one of the shared chart functions.

    Drawing waits for the next render, so charts on hidden tabs cost nothing while
    training (the UI thread shares the GIL with the training thread).
    """

    def __init__(self, draw: Draw, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.draw = draw
        self.runs: list[RunRecord] = []
        self._stale = True

    def replot(self, runs: Sequence[RunRecord]) -> None:
        """Show these runs from now on (drawn from scratch when next on screen)."""
        self.runs = list(runs)
        self._stale = True
        self.refresh()

    def on_resize(self) -> None:
        self._stale = True  # the title comes and goes with the height

    def render(self) -> RenderResult:
        if self._stale:
            self._stale = False
            short = self.size.height < SHORT
            # NO_COLOR: one letter per run, which only the legend explains; in colour the runs
            # table's swatches do, so a short chart gives the legend's rows to the curves
            self.draw(self.plt, self.runs, plain=self.app.no_color, legend=self.app.no_color or not short)
            if short:
                self.plt.title("")  # the tab already names the chart: give its rows to the curves
                self.plt.xlabel("")
        return super().render()


#: (tab title, pane id, drawing function)
CHARTS: tuple[tuple[str, str, Draw], ...] = (
    ("Accuracy", "accuracy", charts.plot_accuracy),
    ("Loss", "loss", charts.plot_loss),
    ("Batch loss", "batch-loss", charts.plot_batch_loss),
)


def chart_panes() -> list[TabPane]:
    """The tabs of :class:`Charts`: compose them inside it (``with Charts(): yield from chart_panes()``)."""
    return [TabPane(title, RunChart(draw, id=f"chart-{pane_id}"), id=f"tab-{pane_id}") for title, pane_id, draw in CHARTS]


class Charts(TabbedContent):
    """Accuracy and loss per epoch of every run, and the current run's per-batch loss, one tab each."""

    def update_runs(self, runs: Sequence[RunRecord], current: Sequence[RunRecord]) -> None:
        """Epoch charts get every run; the per-batch chart only the ``current`` one(s)."""
        for _, pane_id, _ in CHARTS:
            self.query_one(f"#chart-{pane_id}", RunChart).replot(current if pane_id == "batch-loss" else runs)

    def chart(self, pane_id: str) -> RunChart:
        return self.query_one(f"#chart-{pane_id}", RunChart)


def live_batch_losses(run: RunRecord, logged: dict[int, float]) -> RunRecord:
    """A copy of ``run`` whose per-batch losses go on into the epoch in progress.

    Finished epochs have every batch loss (from EpochEnd); the epoch in progress
    only has the losses of its logged batches (``{batch number: loss}``), placed
    at their batch positions so the x axis stays right.
    """
    if not logged:
        return run
    tail: list[float | None] = [None] * max(logged)
    for batch, loss in logged.items():
        tail[batch - 1] = loss
    return replace(run, batch_losses=[*run.batch_losses, *tail])
