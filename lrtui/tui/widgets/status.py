"""The current run's progress bar with its samples/s and ETA, fed by throttled Progress events.

One plain widget that draws a label and a rich progress bar, updated without a layout
pass: it changes up to 10 times a second while training, and every bit of UI work holds
the GIL that the training thread needs (Textual's ProgressBar is three widgets and a
handful of reactives per update).
"""

from __future__ import annotations

from rich.console import Group
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from lrtui.engine.events import Progress

IDLE = "idle · ctrl+r trains"


def clock(seconds: float) -> str:
    """``75.2`` → ``1:15``, ``3725`` → ``1:02:05``: an ETA that stays short."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def bar_line(done: int, total: int) -> Table:
    """``━━━━━━╸━━━━━  53%``: the bar takes the width left by the percentage."""
    line = Table.grid(expand=True)
    line.add_column(ratio=1)
    line.add_column(width=5, justify="right")
    line.add_row(ProgressBar(total=max(total, 1), completed=done), f"{100 * done / max(total, 1):.0f}%")
    return line


class RunStatus(Static):
    """Two lines: what is running (how fast, how long to go), and the bar of the whole run."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._total = 1
        self._done = 0
        self._label = IDLE

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        self.update(Group(Text(self._label, overflow="fold"), bar_line(self._done, self._total)), layout=False)

    def started(self, who: str, what: str, batches_total: int, queued: int) -> None:
        """``who`` names the run(s) (``r3`` or ``r3–r5``), ``what`` their settings."""
        more = f" (+{queued} queued)" if queued else ""
        self._label, self._total, self._done = f"{who} {what}{more}", batches_total, 0
        self._show()

    def progress(self, event: Progress, who: str) -> None:
        self._label = (f"{who} epoch {event.epoch}/{event.epochs} · {event.samples_per_s:,.0f} samples/s · "
                       f"ETA {clock(event.eta_s)}")
        self._total, self._done = event.batches_total, event.batches_done
        self._show()

    def idle(self, text: str = IDLE) -> None:
        """No run going: keep the last bar (a finished run shows 100%), say what happened."""
        self._label = text
        self._show()
