"""A run's details as a dialog: how narrow terminals (no room for the side panel) see them."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen

from lrtui.sessions.record import RunRecord
from lrtui.tui.widgets.details import RunDetails


class DetailsScreen(ModalScreen[None]):
    """The same RunDetails widget as the wide layout's panel, full screen; escape closes it."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="details.close")]

    def __init__(self, run: RunRecord) -> None:
        super().__init__()
        self.run = run

    def compose(self) -> ComposeResult:
        yield RunDetails(id="details-dialog")

    def on_mount(self) -> None:
        self.query_one(RunDetails).show(self.run)
        self.query_one(RunDetails).focus()
