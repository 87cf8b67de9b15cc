"""A yes/no question before something big (queuing a grid of many runs): enter says yes, escape no."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmScreen(ModalScreen[bool]):
    """One line of question and the two keys; dismissed with True (enter, y) or False (escape, n).

    A key rather than buttons: the question comes from a key (ctrl+r) and is answered the same way.
    """

    BINDINGS = [
        Binding("enter,y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("escape,n", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-body"):
            yield Static(Text(self.question, style="bold"), id="confirm-question")
            yield Static(Text("enter: yes · escape: no", style="dim"), id="confirm-keys")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
