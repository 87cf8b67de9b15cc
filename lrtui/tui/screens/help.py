"""F1: every key, where it works, and what the three classic learning rates teach.

Numbers the app decides elsewhere (the healthy band of the update ratio) are taken from there, so
the help never says other numbers than the screen.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from lrtui.plots.terminal_charts import HEALTHY_UPDATE

#: The healthy band of the update ratio as the story line says it (``2e-04–1e-02``).
BAND = f"{HEALTHY_UPDATE[0]:.0e}–{HEALTHY_UPDATE[1]:.0e}"

HELP = f"""\
# lrtui — what the learning rate does

Set the parameters on the left, press **ctrl+r**, and watch the log, the charts and
the runs table. A comma list in *lr* (`0.5, 0.01, 1e-4`) queues one run per value; comma lists in
several settings queue every combination (a grid; above 24 runs the app asks first).

| key | does |
|---|---|
| **ctrl+r** / **enter** in a field | train with the form's values (focus moves to the runs table) |
| **+** / **-** (outside a text field) | rerun the selected run at once with its lr ×10 / ÷10 (no run yet: the form's) |
| **ctrl+x** | cancel the running run (finished epochs are kept) and the queued ones |
| **escape** | leave a text field (to the runs table), close a dialog |
| **enter** on a run | open its details |
| **1** … **7** (outside a text field) | accuracy / loss / per-batch loss / update ratio (steps) / dead units / step probe / lr per step chart |
| **g** | compare a grid: best validation accuracy by two settings (e.g. lr × optimizer) |
| **z** | zoom the chart: fit its y axis to the data (again: the full axis) |
| **l** | log axis (accuracy: the error rate, 100% − accuracy, on a log axis) |
| **f** / **enter** on a chart | the charts full screen, with the legend; **escape**: back (the focus returns where it was) |
| **space** on a run | hide it from the charts, or show it again (it stays in the session) |
| **s** | fold runs that differ only in seed (distinct seeds, each with a finished epoch) into one row (best val as mean ± spread); again: one row per run |
| **delete** | remove the selected run from the comparison |
| **ctrl+f** | learning-rate range test: suggests an lr for the form |
| **ctrl+s** | write the session report (Markdown, HTML, JSON) |
| **ctrl+p** | command palette: every action by name |
| **tab** / **shift+tab** | move between fields, charts and table (the focused pane's border or tabs light up) |
| **ctrl+q** | quit (a running run is stopped cleanly) |

## The classic lesson (SGD, batch 10, 5 epochs)
- **lr 0.01** converges: validation accuracy climbs past 90%; each step moves the weights by ~1e-3
  of their size (the **Steps** tab: inside the healthy band {BAND}).
- **lr 0.5** does not learn: accuracy stays at chance (10%, the grey line). Its steps are far
  above the band; they kill the ReLUs (the **Dead** tab goes to 100%) and the network answers
  one class for every image: the loss sits at 2.30 = ln 10, a uniform guess.
- **lr 0.0001** is too slow: its steps are ~100× below the band; the loss barely moves in 5 epochs.

The **Probe** tab shows the loss after one step of size η from the run's weights: the run's lr
(the vertical line) short of the valley, in it, or on the wall. The line under the charts tells
the selected run's verdict, its reason and these measurements.

Each run keeps one colour: its swatch in the runs table is its colour in the charts. Besides the lr, a
setting is a column of the runs table only when it varies between the runs; the ones they all share are
written under the table. *time* is a run's training time; **~** marks runs trained side by side (a stacked
lr sweep trains its runs as one model): they split the time they shared, so their times add up to about
the sweep's.
Verdicts: *converged* (green), *still learning* (bright green), *too slow* (yellow),
*not learning* / *diverged* (red), *unstable* (deep pink), *overfitting* (magenta). Every run is saved in
the session as it goes.
"""


class HelpScreen(ModalScreen[None]):
    """A scrollable sheet over the app; escape, f1 or q closes it."""

    BINDINGS = [
        Binding("escape,f1,q", "dismiss", "Close", id="help.close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(HELP)

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()  # so the arrow keys scroll it
