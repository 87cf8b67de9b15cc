"""The current run's progress bar with its samples/s and ETA, fed by throttled Progress events."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, ProgressBar

from lrtui.engine.events import Progress

IDLE = "idle · ctrl+r trains"


def clock(seconds: float) -> str:
    """``75.2`` → ``1:15``, ``3725`` → ``1:02:05``: an ETA that stays short."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class RunStatus(Vertical):
    """One label line and one bar: what is running, how fast, how long to go."""

    def compose(self) -> ComposeResult:
        yield Label(IDLE, id="status-label")
        yield ProgressBar(total=1, show_eta=False, id="status-bar")

    def started(self, who: str, what: str, batches_total: int, queued: int) -> None:
        """``who`` names the run(s) (``r3`` or ``r3–r5``), ``what`` their settings."""
        more = f" (+{queued} queued)" if queued else ""
        self.query_one("#status-label", Label).update(f"{who} {what}{more}")
        self.query_one(ProgressBar).update(total=batches_total, progress=0)

    def progress(self, event: Progress, who: str) -> None:
        self.query_one("#status-label", Label).update(
            f"{who} epoch {event.epoch}/{event.epochs} · {event.samples_per_s:,.0f} samples/s · ETA {clock(event.eta_s)}"
        )
        self.query_one(ProgressBar).update(total=event.batches_total, progress=event.batches_done)

    def idle(self, text: str = IDLE) -> None:
        """No run going: keep the last bar (a finished run shows 100%), say what happened."""
        self.query_one("#status-label", Label).update(text)
