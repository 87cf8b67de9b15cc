"""The runs table: one row per run of the session, updated as its events arrive.

Besides the lr, a setting is a column only while it varies between the session's runs
(:func:`lrtui.plots.grouping.column_settings`, as in ``lrtui run`` and the reports); the settings every
run shares are said once, in the table's subtitle. Runs trained side by side show their share of
the time (``~``, :func:`lrtui.plots.grouping.time_shares`).

Folded (``s``), it shows one row per seed group instead (runs that differ only in seed):
best validation accuracy as mean ± spread. Folded rows are rebuilt whole on each change:
groups are few, and a row's group can change with every event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence

from plotext._utility import get_color_code
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from lrtui.plots.formatting import pct, run_cells, seconds
from lrtui.plots.grouping import (
    SeedGroup,
    Setting,
    column_settings,
    common_settings_text,
    seed_groups,
    setting_cells,
    summary_text,
    time_shares,
    time_text,
)
from lrtui.plots.palette import VERDICT_COLORS, run_color
from lrtui.printable import plain_text
from lrtui.sessions.record import RunRecord

#: (column key = ``run_cells`` key, header) before and after the settings that vary: short headers so the table
#: fits 80 columns (ep = epochs done, val = best validation accuracy, test = test accuracy, time = training time)
HEAD: tuple[tuple[str, str], ...] = (("run", "run"), ("lr", "lr"))
TAIL: tuple[tuple[str, str], ...] = (
    ("epochs", "ep"),
    ("best val acc", "val"),
    ("test acc", "test"),
    ("verdict", "verdict"),
    ("duration", "time"),
    ("status", "status"),
)
#: Status words as the table shows them: a finished run is simply "done".
_STATUS = {"finished": "done"}
_STATUS_STYLE = {
    "running": "bold",
    "queued": "dim",
    "cancelled": "yellow",
    "failed": "red",
    "diverged": "red",
    "interrupted": "yellow",
}
#: Widths the cells of a running run reach (``10/10`` epochs, ``100.0%``, ``running``), given up front.
_PRESIZED = {"epochs": 5, "best val acc": 6, "status": 7}
_RIGHT = {
    "lr",
    "epochs",
    "batch",
    "best val acc",
    "test acc",
    "duration",
    "momentum",
    "weight decay",
    "warmup",
    "val split",
    "seed",
}


def columns(settings: Sequence[Setting]) -> tuple[tuple[str, str], ...]:
    """(key, header) of every column when these settings vary."""
    return (*HEAD, *((s.key, s.short) for s in settings), *TAIL)


def rich_color(plotext_color: str | int) -> str:
    """A plotext colour (a name or an xterm-256 code) as the rich style of the same terminal colour
    (``blue+`` → ``color(12)``, ``39`` → ``color(39)``)."""
    if isinstance(plotext_color, int):
        return f"color({plotext_color})"
    try:
        return f"color({get_color_code(plotext_color)})"
    except KeyError:  # not one of plotext's names: plotext draws it in its default colour
        return ""


#: A provisional verdict (judged while the run trains, :mod:`lrtui.engine.provisional`) reads ``not learning?`` in
#: italics; the run's end replaces it with the final word. The table's tooltip says so, and which val acc "val" is.
PROVISIONAL_MARK = "?"
TABLE_NOTE = (
    "val: the best epoch's validation accuracy (an optimistic pick; the details say the last epoch's) · "
    f"a verdict in italics ending in {PROVISIONAL_MARK}: provisional, judged while the run trains; "
    "the final verdict replaces it when the run ends"
)


def verdict_cell(run: RunRecord) -> tuple[str, str]:
    """(text, style) of a run's verdict: the final one in its colour; while the run trains, its latest provisional
    one, marked; else a dash."""
    if run.verdict_label:
        return run.verdict_label, VERDICT_COLORS.get(run.verdict_label, "")
    if run.provisional is not None and not run.done:
        label = str(run.provisional.verdict.label)
        return f"{label}{PROVISIONAL_MARK}", f"italic {VERDICT_COLORS.get(label, '')}".strip()
    return "—", ""


def _row(
    cells: dict[str, str], keys: Sequence[str], styles: dict[str, str], swatch: RunRecord, hidden: bool
) -> list[Text]:
    row = [Text(cells[key], style=styles.get(key, ""), justify="right" if key in _RIGHT else "left") for key in keys]
    row[0] = Text.assemble(("□ " if hidden else "■ ", rich_color(run_color(swatch))), row[0])
    return row


def row_cells(
    run: RunRecord, hidden: bool = False, settings: Sequence[Setting] = (), shares: dict[str, float] | None = None
) -> list[Text]:
    """The row of a run: a swatch in the run's chart colour (charts at 80x24 have no room for a legend;
    an empty one when the run is hidden from the charts), verdicts in their colours.

    ``settings``: the columns of the settings that vary; ``shares``: :func:`lrtui.plots.grouping.time_shares`.
    """
    cells = {**run_cells(run), **setting_cells(run.config, settings), "duration": time_text(run, shares or {})}
    cells["status"] = _STATUS.get(run.status, run.status)
    cells["verdict"], verdict_style = verdict_cell(run)
    styles = {"verdict": verdict_style, "status": _STATUS_STYLE.get(run.status, "")}
    return _row(cells, [key for key, _ in columns(settings)], styles, run, hidden)


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


def group_cells(
    group: SeedGroup, hidden: bool = False, settings: Sequence[Setting] = (), shares: dict[str, float] | None = None
) -> list[Text]:
    """The folded row of a seed group: its first run's id ×N and setting (its seeds in the seed column), best val
    as mean ± spread, mean test accuracy, the majority verdict, the summed training time, and a status for the group."""
    runs = group.runs
    first = runs[0]
    shares = shares or {}
    cells = {**run_cells(first), **setting_cells(first.config, settings), "duration": time_text(first, shares)}
    n = len(runs)
    if n > 1:
        test = group.summary("test_acc")
        cells["run"] = f"{first.id}×{n}"
        cells["seed"] = ",".join(map(str, group.seeds))
        cells["best val acc"] = summary_text(group.summary("best_val_acc"))
        cells["test acc"] = pct(test.mean if test else None)
        total = seconds(sum(shares.get(r.id, r.duration_s or 0.0) for r in runs))
        cells["duration"] = f"~{total}" if any(r.id in shares for r in runs) else total
    verdicts = dict(verdict_cell(r) for r in runs)
    verdict = _majority([verdict_cell(r)[0] for r in runs])
    status = _group_status(runs)
    styles = {"verdict": verdicts[verdict], "status": _STATUS_STYLE.get(status, "")}
    cells["verdict"] = verdict
    cells["status"] = _STATUS.get(status, status)
    return _row(cells, [key for key, _ in columns(settings)], styles, first, hidden)


def _no_runs() -> Sequence[RunRecord]:
    return ()


def _none_hidden() -> Collection[str]:
    return ()


class RunsTable(DataTable[Text]):
    """Row keys are run ids, so events and deletions find their row directly (folded: a group's first run id).

    ``runs``: the session's runs now, which decide the columns and the shares of time; ``hidden``: the ids of
    the runs hidden from the charts now (for a rebuild the table starts itself).
    """

    def __init__(
        self,
        *,
        runs: Callable[[], Sequence[RunRecord]] = _no_runs,
        hidden: Callable[[], Collection[str]] = _none_hidden,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.tooltip = TABLE_NOTE
        self.runs, self.hidden = runs, hidden
        self.folded = False  #: one row per seed group (``s``)
        self.stale = False  #: folded, and a run changed since the last :meth:`rebuild`
        self.settings: tuple[Setting, ...] = ()  #: the settings shown as columns (those that vary)
        self._common = ""  #: the settings every run shares, said in the subtitle

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
        for key, header in columns(self.settings):
            self.add_column(header, key=key)
        for key, width in _PRESIZED.items():  # a column that widens lays out the screen: not mid-run
            column = self.columns[ColumnKey(key)]
            column.content_width = max(column.content_width, width)

    def rebuild(self, runs: Sequence[RunRecord], hidden: Collection[str] = ()) -> None:
        """Every row again from ``runs``: one per seed group when folded, else one per run; the columns are
        the settings that vary between them.

        The cursor stays on the selected run, or on the row of its group.
        """
        selected = self.selected_id
        self.settings = column_settings(r.config for r in runs)
        common = common_settings_text([r.config for r in runs])
        if common != self._common:
            self._common = common
            self.border_subtitle = Text(common) if common else None  # a Text: never read as markup
        self.clear(columns=True)  # the columns fit the new rows (folded cells are wider)
        self._add_columns()
        self.stale = False
        shares = time_shares(runs)
        if self.folded:
            for group in seed_groups(runs) if runs else []:
                self.add_row(
                    *group_cells(group, all(i in hidden for i in group.ids), self.settings, shares),
                    key=group.runs[0].id,
                )
                if selected in group.ids:
                    selected = group.runs[0].id
        else:
            for run in runs:
                self.add_row(*row_cells(run, run.id in hidden, self.settings, shares), key=run.id)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))

    def group_of(self, runs: Sequence[RunRecord], run_id: str) -> tuple[str, ...]:
        """Folded: the ids of the seed group whose row ``run_id`` keys; else just ``run_id``."""
        if self.folded:
            for group in seed_groups(runs) if runs else []:
                if run_id in group.ids:
                    return group.ids
        return (run_id,)

    def _new_setting(self, run: RunRecord) -> bool:
        """Whether a run about to get its row varies in a setting that has no column yet (the reference is the
        first run: a setting varies between all runs exactly when some run differs from the first in it)."""
        runs = self.runs()
        first = next((r for r in runs if r.id in self.rows), None) if self.rows else None
        if first is None:
            return column_settings(r.config for r in runs) != self.settings
        return not set(column_settings((first.config, run.config))) <= set(self.settings)

    def show_run(self, run: RunRecord, *, hidden: bool = False) -> None:
        """Add the run's row, or bring it up to date (only the cells that changed: each change lays out).

        Folded, the row is its group's: the table is only marked :attr:`stale` (the app rebuilds it).
        A new run that varies a setting no column shows yet rebuilds the table with that column.
        """
        if self.folded:
            self.stale = True
            return
        if run.id not in self.rows and self._new_setting(run):
            self.rebuild(self.runs(), self.hidden())
            return
        shares = time_shares(self.runs()) if run.ended_at is not None else None
        cells = row_cells(run, hidden, self.settings, shares)
        if run.id not in self.rows:
            self.add_row(*cells, key=run.id)
            return
        for (key, _), cell in zip(columns(self.settings), cells):
            if self.get_cell(run.id, key) != cell:
                # a wider column lays out the screen: only when the text no longer fits
                wider = cell.cell_len > self.columns[ColumnKey(key)].content_width
                self.update_cell(run.id, key, cell, update_width=wider)

    def remove_run(self, run_id: str) -> None:
        """Take the run's row away; when that leaves a setting the same for every run, its column goes too."""
        if self.folded:
            self.stale = True
            return
        if run_id in self.rows:
            self.remove_row(run_id)
        runs = [r for r in self.runs() if r.id != run_id]
        if column_settings(r.config for r in runs) != self.settings:
            self.rebuild(runs, self.hidden())

    @property
    def selected_id(self) -> str | None:
        """The run id under the cursor, if the table has rows."""
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value)
