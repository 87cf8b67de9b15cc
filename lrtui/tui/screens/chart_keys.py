"""The chart keys of the main screen: which chart, zoom, log axis, every layer, the grid's comparison.

A base of :class:`lrtui.tui.screens.main.MainScreen` (its bindings come from the one key table,
:mod:`lrtui.tui.keys`): the screen's other keys run training and tables, these only change a view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

from lrtui.tui.redraw import Redraw
from lrtui.tui.screens.grid import NOT_A_GRID, GridScreen
from lrtui.tui.widgets.charts import CHART_IDS, Charts, RunChart
from lrtui.tui.widgets.story import Story

if TYPE_CHECKING:
    from lrtui.tui.app import LRTuiApp


class ChartKeys(Screen[None]):
    """Actions on the charts and the story; the screen that uses them owns the widgets."""

    redraw: Redraw

    def action_show_chart(self, name: str) -> None:
        """1–7 outside a text field: accuracy, loss, per-batch loss, update ratio, dead units, step probe, lr."""
        if name in CHART_IDS:
            self.query_one(Charts).active = f"tab-{name}"

    def action_compare(self) -> None:
        """g: the grid's comparison (best validation accuracy by the two settings that vary); one line if not a grid."""
        from lrtui.plots.grouping import grid_table

        try:
            table = grid_table(cast("LRTuiApp", self.app).session.runs)
        except ValueError:
            self.notify(NOT_A_GRID, severity="warning", markup=False)
            return
        self.app.push_screen(GridScreen(table))

    def action_zoom(self) -> None:
        """z: fit the shown chart's y axis to its data (again: back to the full axis)."""
        chart = self.query_one(Charts).active_chart
        chart.set_view(zoom=not chart.zoomed)

    def action_log_axis(self) -> None:
        """l: log axis on the shown chart (accuracy: the error rate, 100% − accuracy, on a log axis)."""
        chart = self.query_one(Charts).active_chart
        chart.set_view(log=not chart.log_scale)

    def action_all_layers(self) -> None:
        """a: every layer of a deep network in the per-layer charts and the story; again: the furthest from the band."""
        on = not self.query_one(Story).all_layers
        for chart in self.query_one(Charts).query(RunChart):
            chart.set_view(all_layers=on)
        self.query_one(Story).all_layers = on
        self.redraw.show_story()
        self.notify("every layer" if on else "the layers furthest from the healthy band", timeout=2)
