"""The runs table: one row per run of the session, updated as its events arrive.

Folded (``s``), it shows one row per seed group instead (runs that differ only in seed):
best validation accuracy as mean ± spread. Folded rows are rebuilt whole on each change:
groups are few, and a row's group can change with every event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

from plotext._utility import get_color_code
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from lrtui.charts import VERDICT_COLORS, run_color
from lrtui.formatting import pct, run_cells, seconds
from lrtui.grouping import SeedGroup, seed_groups, summary_text
from lrtui.printable import plain_text
from lrtui.record import RunRecord

#: (column key = ``run_cells`` key, header): short headers so the table fits 80 columns
#: (val = best validation accuracy, test = test accuracy, time = training duration)
COLUMNS: tuple[tuple[str, str], ...] = (
    ("run", "run"),
    ("lr", "lr"),
    ("optimizer", "optim"),
    ("epochs", "ep"),
    ("batch", "batch"),
    ("best val acc", "val"),
    ("test acc", "test"),
    ("verdict", "verdict"),
    ("duration", "time"),
    ("status", "status"),
)
#: Status words as the table shows them: a finished run is simply "done".
_STATUS = {"finished": "done"}
_STATUS_STYLE = {"running": "bold", "queued": "dim", "cancelled": "yellow", "failed": "red",
                 "diverged": "red", "interrupted": "yellow"}
#: Widths the cells of a running run reach (``10/10`` epochs, ``100.0%``, ``running``), given up front.
_PRESIZED = {"epochs": 5, "best val acc": 6, "status": 7}
_RIGHT = {"lr", "epochs", "batch", "best val acc", "test acc", "duration"}


def rich_color(plotext_color: str | int) -> str:
    """A plotext colour (a name or an xterm-256 code) as the rich style of the same terminal colour
    (``blue+`` → ``color(12)``, ``39`` → ``color(39)``)."""
    if isinstance(plotext_color, int):
        return f"color({plotext_color})"
    try:
        return f"color({get_color_code(plotext_color)})"
    except KeyError:  # not one of plotext's names: plotext draws it in its default colour
        return ""


def row_cells(run: RunRecord, hidden: bool = False) -> list[Text]:
    """The row of a run: a swatch in the run's chart colour (charts at 80x24 have no room for a legend;
    an empty one when the run is hidden from the charts), verdicts in their colours."""
    cells = run_cells(run)
    cells["status"] = _STATUS.get(run.status, run.status)
    cells["verdict"] = run.verdict_label or "—"
    styles = {"verdict": VERDICT_COLORS.get(cells["verdict"], ""), "status": _STATUS_STYLE.get(run.status, "")}
    row = [Text(cells[key], style=styles.get(key, ""), justify="right" if key in _RIGHT else "left")
           for key, _ in COLUMNS]
    row[0] = Text.assemble(("□ " if hidden else "■ ", rich_color(run_color(run))), row[0])
    return row


def _majority(values: Sequence[str]) -> str:
    """The most common value (the first seen on a tie)."""
    return Counter(values).most_common(1)[0][0]


def _group_status(runs: Sequence[RunRecord]) -> str:
    """A group is running while any seed runs, queued while any waits; else its seeds' most common status."""
    statuses = [r.status for r in runs]
    for live in ("running", "queued"):
        if live in statuses:
            return live
    return _majority(statuses)


def group_cells(group: SeedGroup, hidden: bool = False) -> list[Text]:
    """The folded row of a seed group: its first run's id ×N and setting, best val as mean ± spread, mean test
    accuracy, the majority verdict, the summed training time, and a status for the group."""
    runs = group.runs
    first = runs[0]
    cells = run_cells(first)
    n = len(runs)
    if n > 1:
        test = group.summary("test_acc")
        cells["run"] = f"{first.id}×{n}"
        cells["best val acc"] = summary_text(group.summary("best_val_acc"))
        cells["test acc"] = pct(test.mean if test else None)
        cells["duration"] = seconds(sum(r.duration_s or 0.0 for r in runs))
    verdict = _majority([r.verdict_label or "—" for r in runs])
    status = _group_status(runs)
    styles = {"verdict": VERDICT_COLORS.get(verdict, ""), "status": _STATUS_STYLE.get(status, "")}
    cells["verdict"] = verdict
    cells["status"] = _STATUS.get(status, status)
    row = [Text(cells[key], style=styles.get(key, ""), justify="right" if key in _RIGHT else "left")
           for key, _ in COLUMNS]
    row[0] = Text.assemble(("□ " if hidden else "■ ", rich_color(run_color(first))), row[0])
    return row


class RunsTable(DataTable[Text]):
    """Row keys are run ids, so events and deletions find their row directly (folded: a group's first run id)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.folded = False  #: one row per seed group (``s``)
        self.stale = False  #: folded, and a run changed since the last :meth:`rebuild`

    def on_mount(self) -> None:
        self._add_columns()
        self.show_writers(())

    def show_writers(self, others: Sequence[str]) -> None:
        """The border title: ``runs``, and the other processes that write the session (``pid 4711 on gpu-box``).

        Their host names come from files anyone may write (``writers/*.json``): plain text, control
        characters dropped, never read as markup (a host named ``[/]`` would end the app).
        """
        title = Text("runs")
        if others:
            title.append(" · also written by " + ", ".join(plain_text(label) for label in others))
        self.border_title = title

    def _add_columns(self) -> None:
        for key, header in COLUMNS:
            self.add_column(header, key=key)
        for key, width in _PRESIZED.items():  # a column that widens lays out the screen: not mid-run
            column = self.columns[ColumnKey(key)]
            column.content_width = max(column.content_width, width)

    def rebuild(self, runs: Sequence[RunRecord], hidden: Collection[str] = ()) -> None:
        """Every row again from ``runs``: one per seed group when folded, else one per run.

        The cursor stays on the selected run, or on the row of its group.
        """
        selected = self.selected_id
        self.clear(columns=True)  # the columns fit the new rows (folded cells are wider)
        self._add_columns()
        self.stale = False
        if self.folded:
            for group in seed_groups(runs) if runs else []:
                self.add_row(*group_cells(group, all(i in hidden for i in group.ids)), key=group.runs[0].id)
                if selected in group.ids:
                    selected = group.runs[0].id
        else:
            for run in runs:
                self.add_row(*row_cells(run, run.id in hidden), key=run.id)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))

    def group_of(self, runs: Sequence[RunRecord], run_id: str) -> tuple[str, ...]:
        """Folded: the ids of the seed group whose row ``run_id`` keys; else just ``run_id``."""
        if self.folded:
            for group in seed_groups(runs) if runs else []:
                if run_id in group.ids:
                    return group.ids
        return (run_id,)

    def show_run(self, run: RunRecord, *, hidden: bool = False) -> None:
        """Add the run's row, or bring it up to date (only the cells that changed: each change lays out).

        Folded, the row is its group's: the table is only marked :attr:`stale` (the app rebuilds it).
        """
        if self.folded:
            self.stale = True
            return
        cells = row_cells(run, hidden)
        if run.id not in self.rows:
            self.add_row(*cells, key=run.id)
            return
        for (key, _), cell in zip(COLUMNS, cells):
            if self.get_cell(run.id, key) != cell:
                # a wider column lays out the screen: only when the text no longer fits
                wider = cell.cell_len > self.columns[ColumnKey(key)].content_width
                self.update_cell(run.id, key, cell, update_width=wider)

    def remove_run(self, run_id: str) -> None:
        if self.folded:
            self.stale = True
            return
        if run_id in self.rows:
            self.remove_row(run_id)

    @property
    def selected_id(self) -> str | None:
        """The run id under the cursor, if the table has rows."""
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
