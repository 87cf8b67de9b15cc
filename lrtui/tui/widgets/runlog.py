"""The live log: the classic notebook printout, the same lines ``lrtui run`` prints (provisional verdicts too)."""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import RichLog

from lrtui.engine.events import BatchLog, EpochEnd, Event, ProvisionalVerdict, RunEnd, RunStarted
from lrtui.plots.printout import ProvisionalLines, classic_lines, end_lines, epoch_line, start_line
from lrtui.printable import printable

#: Style of the line that closes a run, by status.
_END_STYLE = {"finished": "bold", "cancelled": "yellow", "diverged": "bold red", "failed": "bold red"}
#: Lines are written at most this often. Each write makes Textual lay out the whole screen
#: (the log's scroll size changes): ~20 ms of the UI thread, which shares the GIL with the
#: training thread. The progress bar is the 10 Hz live part; the log can follow once a second.
FLUSH_S = 1.0


class RunLog(RichLog):
    """Appends the printout lines of each event; progress events are the progress bar's, not the log's.

    New lines repaint the log without laying out the screen (RichLog's growing virtual size would
    lay out all ~60 widgets, ~60 ms of the UI thread at 160x48, on every write). The scrollbar
    catches up at the next layout, at the latest when a run ends (:meth:`settle`).
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, *, id: str | None = None, flush_every: float | None = FLUSH_S) -> None:
        """``flush_every``: seconds between writes of queued lines; None when the owner calls :meth:`flush`
        itself (the app does, in its own redraw, so that lines never cost a frame of their own)."""
        # min_width: RichLog renders at 78 columns at least, which would crop (not wrap) lines in a narrow log
        super().__init__(
            id=id, max_lines=2000, wrap=True, min_width=20, markup=False, highlight=False, auto_scroll=True
        )
        self._pending: list[Text] = []
        self._flush_every = flush_every
        self._provisional = ProvisionalLines()  #: a line when a run's provisional label changes

    def on_mount(self) -> None:
        if self._flush_every:
            self.set_interval(self._flush_every, self.flush)

    def show(self, event: Event, *, prefix: bool = False) -> None:
        """Queue the lines of one event; ``prefix`` names the run (interleaved sweeps). A run's end shows at once."""
        lines: list[Text] = []
        if isinstance(event, BatchLog):
            loss_line, acc_line = classic_lines(event)
            lines = [Text(loss_line), Text(f"✅ {acc_line.strip()}", style="dim")]
        elif isinstance(event, EpochEnd):
            lines = [Text(epoch_line(event), style="bold cyan")]
        elif isinstance(event, RunStarted):
            lines = [Text(start_line(event), style="bold")]
        elif isinstance(event, ProvisionalVerdict):
            line = self._provisional.line(event)
            lines = [Text(line, style="italic")] if line is not None else []
        elif isinstance(event, RunEnd):
            head, *verdict = end_lines(event)
            lines = [Text(head, style=_END_STYLE.get(event.status, ""))] + [Text(line) for line in verdict]
        self._pending += [Text(f"[{event.run_id}] ").append_text(line) if prefix else line for line in lines]
        if isinstance(event, RunEnd):
            self.settle()

    def settle(self) -> None:
        """Write what is queued and lay the log out (its scrollbar) once: a run has ended."""
        self.flush()
        self.refresh(layout=True)

    @property
    def pending(self) -> bool:
        """Lines are queued, not yet written."""
        return bool(self._pending)

    def flush(self) -> None:
        """Write what is queued, in one go."""
        if self._pending:
            self.write(Text("\n").join(self._pending))
            self._pending.clear()

    def note(self, text: str, style: str = "dim") -> None:
        """A line of the app's own (a run queued, a report written), after what is queued."""
        self.flush()
        self.write(Text(printable(text), style=style))
        self.refresh(layout=True)  # rare (a run queued, a report written): the scrollbar may follow at once
