"""The current run's progress bar with its samples/s and ETA, fed by throttled Progress events.

One plain widget that draws a label and a text progress bar, updated without a layout
pass: it changes a few times a second while training, and every bit of UI work holds
the GIL that the training thread needs (Textual's ProgressBar is three widgets and a
handful of reactives per update; rich's Table + ProgressBar took milliseconds per frame).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from lrtui.engine.events import Progress
from lrtui.plots.formatting import pct
from lrtui.sessions.record import RunRecord, best_run

IDLE = "idle · ctrl+r trains"


def outcome(run: RunRecord) -> str:
    """``r2 finished · converged``: the status line after a run."""
    return f"{run.id} {run.status}" + (f" · {run.verdict_label}" if run.verdict_label else "")


def sweep_outcome(runs: Sequence[RunRecord]) -> str:
    """``r1–r3 done · best r2 lr=0.01 sgd 91.5%``: the status line after several runs."""
    best = best_run(runs)
    if len(runs) < 2 or best is None:
        return outcome(runs[-1]) if runs else IDLE
    return f"{runs[0].id}–{runs[-1].id} done · best {best.id} {best.config.label} {pct(best.best_val_acc)}"


def clock(seconds: float) -> str:
    """``75.2`` → ``1:15``, ``3725`` → ``1:02:05``: an ETA that stays short."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def bar_line(done: int, total: int, width: int) -> Text:
    """``━━━━━━╸━━━━━  53%``: the bar takes the width left by the percentage (plain text: cheap to draw)."""
    total = max(total, 1)
    share = min(max(done / total, 0.0), 1.0)
    cells = max(width - 5, 1)
    filled = share * cells
    full = int(filled)
    line = Text(no_wrap=True, overflow="crop")
    line.append("━" * full, style="bold green" if share >= 1 else "bold magenta")
    if full < cells:
        line.append("╸" if filled - full >= 0.5 else "╺", style="bold magenta" if filled - full >= 0.5 else "grey23")
        line.append("━" * (cells - full - 1), style="grey23")
    line.append(f"{100 * share:4.0f}%".rjust(5))
    return line


class RunStatus(Widget):
    """Two lines: what is running (how fast, how long to go), and the bar of the whole run.

    Drawn as text by :meth:`render`: an update repaints these rows only, never lays out the screen.
    """

    DEFAULT_CSS = """
    RunStatus { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._total = 1
        self._done = 0
        self._label = IDLE

    def render(self) -> RenderResult:
        width = max(self.content_size.width, 6)
        label = Text(self._label, overflow="fold")
        lines = label.wrap(self.app.console, width)
        head = Text("\n").join(list(lines)[: max(self.content_size.height - 1, 1)])
        return Text("\n").join([head, bar_line(self._done, self._total, width)])

    def _show(self) -> None:
        self.refresh()

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
