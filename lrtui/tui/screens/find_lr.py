"""ctrl+f: the learning-rate range test as a dialog that hands its suggestion back to the form.

The test runs in a thread worker; the thread only posts messages (progress
collapses to the newest) and never touches a widget. Enter dismisses with the
default suggestion (None when the curve has no clear valley), escape dismisses
with None and stops the test at its next step.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static
from textual_plotext import PlotextPlot

from lrtui.engine.config import RunConfig, format_lr

if TYPE_CHECKING:  # the engine's lrfind imports torch: only the worker loads it
    from lrtui.engine.lrfind import FindStep, LRFindResult


@dataclass
class FindProgress(Message, bubble=False):
    """One throttled step of the test; a newer one replaces a queued older one."""

    step: FindStep

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FindProgress)


@dataclass
class FindDone(Message, bubble=False):
    """The test has returned a result (also when cancelled: then without a suggestion)."""

    result: LRFindResult


@dataclass
class FindFailed(Message, bubble=False):
    """The test could not run (no data, bad range): one line for the user."""

    error: str


class FindLRScreen(ModalScreen[float | None]):
    """Runs the range test for the form's config and shows the curve and every suggestion."""

    DEFAULT_CSS = """
    FindLRScreen { align: center middle; }
    FindLRScreen > #find-body {
        width: 90%; height: 90%; border: thick $accent; background: $surface; padding: 0 1;
    }
    FindLRScreen #find-chart { height: 1fr; }
    FindLRScreen #find-status, FindLRScreen #find-suggestions { height: auto; }
    FindLRScreen #find-hint { height: 1; color: $text-muted; }
    """

    BINDINGS = [
        Binding("enter", "use", "Use suggestion", id="find.use", tooltip="Copy the default suggestion to the lr field"),
        Binding("escape", "close", "Close", id="find.close", tooltip="Stop the test and keep the form's lr"),
    ]

    def __init__(self, config: RunConfig, *, start: float = 1e-6, end: float = 10.0, steps: int | None = None) -> None:
        super().__init__()
        self.config = config
        self.bounds = (start, end, steps)
        self.cancel = threading.Event()
        self.result: LRFindResult | None = None
        self.finished = False  #: the worker has returned (with a result or an error)

    def compose(self) -> ComposeResult:
        with Vertical(id="find-body") as body:
            body.border_title = (
                f"LR range test · {self.config.optimizer}, batch {self.config.batch_size}, seed {self.config.seed}"
            )
            yield Static("starting…", id="find-status")
            yield PlotextPlot(id="find-chart")
            yield Static("", id="find-suggestions")
            yield Static("enter: use the suggestion · escape: close", id="find-hint")

    def on_mount(self) -> None:
        self.run_test_worker()

    @work(thread=True, exclusive=True, exit_on_error=False, group="find-lr")
    def run_test_worker(self) -> None:
        """The range test, off the UI thread; results come back as messages."""
        from lrtui.engine.lrfind import DEFAULT_STEPS, find_lr
        from lrtui.engine.trainer import one_line

        start, end, steps = self.bounds
        try:
            result = find_lr(
                self.config,
                start=start,
                end=end,
                steps=steps or DEFAULT_STEPS,
                emit=lambda step: self.post_message(FindProgress(step)),
                cancel=self.cancel,
            )
        except Exception as e:  # noqa: BLE001 — no data, a bad range, a CUDA error: one line in the dialog
            self.post_message(FindFailed(one_line(e)))
            return
        self.post_message(FindDone(result))

    def on_find_progress(self, message: FindProgress) -> None:
        s = message.step
        self.query_one("#find-status", Static).update(
            f"step {s.step}/{s.steps} · lr {s.lr:.2g} · smoothed loss {s.smoothed:.4f}"
        )

    def on_find_done(self, message: FindDone) -> None:
        from lrtui.engine.lrfind import LABELS
        from lrtui.plots.lrfind_chart import draw

        self.result = result = message.result
        self.finished = True
        status = f"suggested lr: {format_lr(result.lr)} ({result.method})" if result.lr is not None else "no suggestion"
        notes = "".join(f"\n{note}" for note in result.notes)
        self.query_one("#find-status", Static).update(Text(f"{status} — {result.why}{notes}"))
        self.query_one("#find-suggestions", Static).update(
            Text(
                "   ".join(
                    f"{LABELS[m]}: {format_lr(lr) if lr is not None else '—'}" for m, lr in result.suggestions.items()
                )
            )
        )
        chart = self.query_one(PlotextPlot)
        draw(chart.plt, result)
        chart.refresh()

    def on_find_failed(self, message: FindFailed) -> None:
        self.finished = True
        self.query_one("#find-status", Static).update(Text(f"cannot run the range test: {message.error}"))

    def action_use(self) -> None:
        """Enter: hand back the default suggestion; while the test is still running, say so."""
        if not self.finished:
            self.notify("the range test is still running (escape stops it)", severity="warning")
            return
        self.dismiss(self.result.lr if self.result else None)

    def on_unmount(self) -> None:
        """Closed any way (escape, enter, the app quitting): the range test stops within a step."""
        self.cancel.set()

    def action_close(self) -> None:
        self.dismiss(None)  # unmounting stops the test
