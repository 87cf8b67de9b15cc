"""F1: every key, where it works, and what the three classic learning rates teach.

Numbers the app decides elsewhere (the healthy band of the update ratio) are taken from there, and the
keys from the key table that binds them (:mod:`lrtui.tui.keys`), so the help never says other numbers or
keys than the screen.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from lrtui.engine.config import GRID_CONFIRM
from lrtui.plots.palette import HEALTHY_UPDATE
from lrtui.tui.keys import markdown_table

#: The healthy band of the update ratio as the story line says it (``2e-04–1e-02``).
BAND = f"{HEALTHY_UPDATE[0]:.0e}–{HEALTHY_UPDATE[1]:.0e}"

HELP = f"""\
# lrtui — what the learning rate does

Set the parameters on the left, press **ctrl+r**, and watch the log, the charts and
the runs table. A comma list in *lr* (`0.5, 0.01, 1e-4`) queues one run per value; comma lists in
several settings queue every combination (a grid; above {GRID_CONFIRM} runs the app asks first).

{markdown_table()}
## The classic lesson (SGD, batch 10, 5 epochs)
- **lr 0.01** converges: validation accuracy climbs past 90%; each step moves the weights by ~1e-3
  of their size (the **Steps** tab: inside the healthy band {BAND}).
- **lr 0.5** does not learn: accuracy stays at chance (10%, the grey line). Its steps are far
  above the band; they kill the ReLUs (the **Dead** tab goes to 100%) and the network answers
  one class for every image: the loss sits at 2.30 = ln 10, a uniform guess.
- **lr 0.0001** is too slow: its steps are ~100× below the band; the loss barely moves in 5 epochs.

These numbers are the article's CNN on ten digit classes. With your own network or data (*model*,
*data*: `FILE.py:FUNC`) chance is 1/C and a uniform guess's loss ln C for its C classes, the layers
are named by their path in the model, and the band is still the reference CNN's: a verdict says so,
and a range test (**ctrl+f**) finds your network's own learning rate.

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
