"""Every key of the main screen, once: its bindings, the command palette, the F1 help and README's key table.

The three used to be written out by hand and drifted apart; now they are generated from
:data:`KEYS` (what each key does) and :data:`ROWS` (how the help and README explain them).
``python -m lrtui.tui.keys`` prints README's table.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType

from lrtui.engine.config import GRID_CONFIRM


@dataclass(frozen=True)
class Key:
    """One key: bound on the main screen when it has an ``action``, else handled by a widget and only documented."""

    key: str  #: Textual's name for it (``plus``)
    action: str  #: the main screen's action; "" when a widget (an input, the table, a chart) handles the key
    description: str  #: the footer's word(s)
    tooltip: str  #: the footer's tooltip and the command palette's name for the action
    group: str  #: the row of the key table that explains it (see ROWS)
    id: str  #: the binding's id (keymaps refer to it)
    display: str = ""  #: how the key is written, when not as its name
    where: str = ""  #: where the key works, when not everywhere on the main screen
    show: bool = False  #: in the footer
    priority: bool = False  #: works with the cursor in a text field (an Input would take the key for itself)

    @property
    def written(self) -> str:
        return self.display or self.key

    def binding(self) -> Binding:
        return Binding(
            self.key,
            self.action,
            self.description,
            show=self.show,
            priority=self.priority,
            key_display=self.display or None,
            tooltip=self.tooltip,
            id=self.id,
        )


_TEXT_FIELD = "outside a text field"

#: In the footer's order (Textual's own ctrl+q binding comes first on the app, so quit leads here too).
#: ctrl keys are priority bindings: they must work with the cursor in a field (Input binds ctrl+x to cut).
KEYS: tuple[Key, ...] = (
    Key("ctrl+q", "app.quit", "Quit", "Stop training and quit", "quit", "quit", show=True, priority=True),
    Key("ctrl+r", "run", "Run", "Train with the form's values", "run", "run", show=True, priority=True),
    Key("enter", "", "", "", "run", "submit", where="in a field"),
    Key(
        "plus",
        "rerun(10)",
        "lr×10",
        "Rerun the selected run with a 10x larger learning rate",
        "rerun",
        "lr-up",
        display="+",
        where=_TEXT_FIELD,
        show=True,
    ),
    Key(
        "minus",
        "rerun(0.1)",
        "lr÷10",
        "Rerun the selected run with a 10x smaller learning rate",
        "rerun",
        "lr-down",
        display="-",
        where=_TEXT_FIELD,
        show=True,
    ),
    Key(
        "ctrl+x",
        "cancel",
        "Cancel",
        "Stop the running run and the queued ones",
        "cancel",
        "cancel",
        show=True,
        priority=True,
    ),
    Key("delete", "remove_run", "Remove", "Remove the selected run from the comparison", "remove", "remove", show=True),
    Key("ctrl+s", "report", "Report", "Write the session report", "report", "report", show=True, priority=True),
    Key(
        "ctrl+f",
        "find_lr",
        "Find lr",
        "LR range test: suggest a learning rate",
        "find-lr",
        "find-lr",
        show=True,
        priority=True,
    ),
    Key("f1", "help", "Help", "Keys and what the learning rate does", "help", "help", show=True),
    Key("escape", "leave_field", "Leave field", "", "leave", "leave"),
    Key("enter", "", "", "", "details", "details", where="on a run"),
    Key(
        "1",
        "show_chart('accuracy')",
        "Accuracy chart",
        "Show the accuracy chart",
        "charts",
        "chart-accuracy",
        where=_TEXT_FIELD,
    ),
    Key("2", "show_chart('loss')", "Loss chart", "Show the loss chart", "charts", "chart-loss", where=_TEXT_FIELD),
    Key(
        "3",
        "show_chart('batch-loss')",
        "Batch loss chart",
        "Show the batch loss chart",
        "charts",
        "chart-batch-loss",
        where=_TEXT_FIELD,
    ),
    Key(
        "4",
        "show_chart('steps')",
        "Update ratio chart",
        "Show the update ratio per layer (step size against the healthy band)",
        "charts",
        "chart-steps",
        where=_TEXT_FIELD,
    ),
    Key(
        "5",
        "show_chart('dead')",
        "Dead units chart",
        "Show the share of dead ReLU units per layer",
        "charts",
        "chart-dead",
        where=_TEXT_FIELD,
    ),
    Key(
        "6",
        "show_chart('probe')",
        "Step probe chart",
        "Show the step probe (loss after one step of size η)",
        "charts",
        "chart-probe",
        where=_TEXT_FIELD,
    ),
    Key(
        "7",
        "show_chart('lr')",
        "LR chart",
        "Show the learning rate per step of every run (its schedule)",
        "charts",
        "chart-lr",
        where=_TEXT_FIELD,
    ),
    Key("g", "compare", "Compare", "Compare a grid: best validation accuracy by two settings", "compare", "compare"),
    Key("z", "zoom", "Zoom", "Zoom the chart: fit its y axis to the data", "zoom", "zoom"),
    Key("l", "log_axis", "Log axis", "Log axis on the chart (accuracy: error rate on a log axis)", "log", "log"),
    Key(
        "a",
        "all_layers",
        "All layers",
        "Show every layer of the network in the step and dead-unit charts and the "
        "story (again: the ones furthest from the healthy band)",
        "all-layers",
        "all-layers",
    ),
    Key("f", "full_screen", "Full screen", "Show the chart full screen (escape: back)", "full-screen", "full-screen"),
    Key("enter", "", "", "", "full-screen", "chart-enter", where="on a chart"),
    Key(
        "space",
        "toggle_hidden",
        "Hide/show",
        "Hide or show the selected run in the charts",
        "hide",
        "hide",
        where="on a run",
    ),
    Key("s", "fold_seeds", "Fold seeds", "Fold runs that differ only in seed into one row", "fold-seeds", "fold-seeds"),
    Key("ctrl+p", "", "", "", "palette", "palette"),
    Key("tab", "", "", "", "focus", "focus-next"),
    Key("shift+tab", "", "", "", "focus", "focus-previous"),
)

#: The key table's rows, in reading order: each group's keys, and what they do.
ROWS: tuple[tuple[str, str], ...] = (
    (
        "run",
        f"train with the form's values (lists make a grid; above {GRID_CONFIRM} runs it asks first); focus "
        "moves to the runs table, so `+`/`-` work at once",
    ),
    (
        "rerun",
        "rerun the selected run (else the last; no run yet: the form's) at once with its lr ×10 / ÷10; "
        "the log says which; the form is left as typed",
    ),
    ("cancel", "cancel the running run (within a batch; its finished epochs are kept) and the queued ones"),
    ("leave", "leave a text field (to the runs table), leave full screen, close a dialog"),
    ("details", "open its details: config, verdict, confusion matrix, per-class report, test digits"),
    ("charts", "accuracy / loss / batch loss / steps (update ratio) / dead units / step probe / lr per step chart"),
    (
        "compare",
        "compare a grid: best validation accuracy by two settings as a heatmap, and the best lr of each optimizer",
    ),
    ("zoom", "zoom: fit the y axis to the data (again: the full axis)"),
    (
        "log",
        "log axis (accuracy: the error rate, 100% − accuracy, on a log axis — 1.5% vs 3% as visible as 50% vs 90%)",
    ),
    (
        "all-layers",
        "a network with more than four layers: every layer in the steps and dead units charts and the "
        "story, not only the four furthest from the healthy band (again: those four)",
    ),
    (
        "full-screen",
        "the charts full screen, legend and live points included; `escape`: back (the focus returns where it was)",
    ),
    ("hide", "hide / show that run in the charts (it stays in the session)"),
    (
        "fold-seeds",
        "fold runs that differ only in seed into one row (mean ± spread); the charts draw such a group "
        "as its mean line with a min–max band; again: one row per run",
    ),
    ("remove", "remove the selected run from the comparison"),
    (
        "find-lr",
        "learning-rate range test; `enter` copies its suggestion into the lr field (with `onecycle`, the peak)",
    ),
    ("report", "write the session report (Markdown, HTML, JSON)"),
    ("help", "every key, and the lesson"),
    ("palette", "command palette: every action by name"),
    ("focus", "move between fields, charts and table (the focused pane's border or tabs light up)"),
    ("quit", "quit (a running run is stopped cleanly and saved; says where the session is)"),
)


def bindings() -> list[BindingType]:
    """The main screen's BINDINGS."""
    return [k.binding() for k in KEYS if k.action]


def palette_entries() -> list[tuple[str, str, str]]:
    """(name, help, action) for the command palette: every bound action with a tooltip (quit is Textual's own)."""
    return [(k.tooltip, f"key: {k.written}", k.action) for k in KEYS if k.action and k.tooltip and k.id != "quit"]


def _keys_cell(keys: list[Key]) -> str:
    """``+`` / ``-`` (outside a text field); ``1`` … ``7``; ``f``, or ``enter`` (on a chart)."""
    runs: list[list[Key]] = []  # keys that work in the same place, written together
    for key in keys:
        if runs and runs[-1][0].where == key.where:
            runs[-1].append(key)
        else:
            runs.append([key])
    cells = []
    for run in runs:
        written = [f"`{k.written}`" for k in run]
        if len(run) > 2 and all(k.written.isdigit() for k in run):
            written = [f"{written[0]} … {written[-1]}"]
        cells.append(" / ".join(written) + (f" ({run[0].where})" if run[0].where else ""))
    return ", or ".join(cells)


def markdown_table() -> str:
    """The key table (Markdown) that F1 shows and README holds."""
    lines = ["| key | does |", "|---|---|"]
    for group, does in ROWS:
        lines.append(f"| {_keys_cell([k for k in KEYS if k.group == group])} | {does} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
