"""g: a grid's comparison as a dialog — best validation accuracy by two settings (lr × optimizer in the usual
grid), each cell coloured from the grid's worst (red) to its best (green), so "each optimizer has its own good
learning rate" is one glance. The same pivot as the report's comparison (:func:`lrtui.plots.grouping.grid_table`).
"""

from __future__ import annotations

from rich import box
from rich.color import Color
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from lrtui.plots.formatting import pct
from lrtui.plots.grouping import GridTable, best_per_column, value_text

#: The colour scale of the cells, worst → middle → best (a red, an amber and a green that black text reads on).
HEAT_RGB: tuple[tuple[int, int, int], ...] = ((215, 80, 70), (230, 190, 70), (80, 180, 90))
NOT_A_GRID = "not a grid: vary two settings, e.g. --optimizer sgd,adam --lr 0.01,0.1"


def heat_color(t: float) -> Color:
    """The cell colour at ``t`` in [0, 1] (0: the grid's worst cell, 1: its best)."""
    t = min(max(t, 0.0), 1.0)
    lo, mid, hi = HEAT_RGB
    a, b, u = (lo, mid, t * 2) if t <= 0.5 else (mid, hi, (t - 0.5) * 2)
    r, g, bl = (round(x + (y - x) * u) for x, y in zip(a, b))
    return Color.from_rgb(r, g, bl)


def grid_rich_table(table: GridTable) -> Table:
    """The pivot as a Rich table: every label and value as Text (setting values are user data, never markup);
    the best cell of each column bold."""
    uneven = len(table.counts) > 1
    best = {(table.best_row(j), j) for j in range(len(table.col_values))}
    out = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    out.add_column(Text(f"{table.rows_field} \\ {table.cols_field}", style="bold"), justify="right")
    for value in table.col_values:
        out.add_column(Text(value_text(table.cols_field, value), style="bold"), justify="center")
    for i, row_value in enumerate(table.row_values):
        cells: list[Text] = [Text(value_text(table.rows_field, row_value), style="bold")]
        for j in range(len(table.col_values)):
            cell, t = table.cells[i][j], table.fraction(i, j)
            if not cell.ids:
                cells.append(Text(""))
                continue
            label = f" {pct(cell.mean)}" + (f" (n={cell.n})" if uneven else "") + " "
            style = Style(color=Color.from_rgb(0, 0, 0), bgcolor=heat_color(t)) if t is not None else Style(dim=True)
            cells.append(Text(label, style=style + Style(bold=(i, j) in best)))
        out.add_row(*cells)
    return out


def describe(table: GridTable) -> str:
    """The line above the table: what the cells are and what they average over."""
    names = ["seeds" if n == "seed" else n for n in table.averaged_over]
    over = f", {', '.join(names)} averaged" if names else ""
    per = f"{table.counts[0]} run(s) per cell" if len(table.counts) == 1 else "n: runs with a value"
    return (
        f"Best validation accuracy by {table.rows_field} (rows) and {table.cols_field} (columns): "
        f"mean per cell{over}; {per}. Bold: the best {table.rows_field} of each {table.cols_field}."
    )


def winners_line(table: GridTable) -> str:
    """``Best lr per optimizer: sgd 0.1 (91.2%); adam 0.001 (93.0%)`` — empty while no cell has a value."""
    winners = best_per_column(table)
    if not winners:
        return ""
    parts = [
        f"{value_text(table.cols_field, cv)} {value_text(table.rows_field, rv)} ({pct(mean)})"
        for cv, rv, mean in winners
    ]
    return f"Best {table.rows_field} per {table.cols_field}: {'; '.join(parts)}"


class GridScreen(ModalScreen[None]):
    """The comparison table over the app; escape, q or g closes it."""

    BINDINGS = [Binding("escape,q,g", "dismiss", "Close", id="grid.close")]

    def __init__(self, table: GridTable) -> None:
        super().__init__()
        self.table = table

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="grid-body"):
            yield Static(Text(describe(self.table), style="dim"), id="grid-about")
            yield Static(grid_rich_table(self.table), id="grid-table")
            yield Static(
                Text(winners_line(self.table) or "no run has finished an epoch yet", style="bold"), id="grid-best"
            )
            yield Static(Text("escape: close", style="dim"), id="grid-keys")

    def on_mount(self) -> None:
        self.query_one("#grid-body").border_title = "comparison"
        self.query_one("#grid-body").focus()
