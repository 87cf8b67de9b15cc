"""The live log: the classic notebook printout, the same lines ``lrtui run`` prints."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from lrtui.engine.events import BatchLog, EpochEnd, Event, RunEnd, RunStarted
from lrtui.printout import classic_lines, end_lines, epoch_line, start_line

#: Style of the line that closes a run, by status.
_END_STYLE = {"finished": "bold", "cancelled": "yellow", "diverged": "bold red", "failed": "bold red"}


class RunLog(RichLog):
    """Appends the printout lines of each event; progress events are the progress bar's, not the log's."""

    def __init__(self, *, id: str | None = None) -> None:
        # min_width: RichLog renders at 78 columns at least, which would crop (not wrap) lines in a narrow log
        super().__init__(id=id, max_lines=2000, wrap=True, min_width=20, markup=False, highlight=False,
                         auto_scroll=True)

    def show(self, event: Event, *, prefix: bool = False) -> None:
        """Write the lines of one event; ``prefix`` names the run (interleaved sweeps)."""
        lines: list[Text] = []
        if isinstance(event, BatchLog):
            loss_line, acc_line = classic_lines(event)
            lines = [Text(loss_line), Text(f"✅ {acc_line.strip()}", style="dim")]
        elif isinstance(event, EpochEnd):
            lines = [Text(epoch_line(event), style="bold cyan")]
        elif isinstance(event, RunStarted):
            lines = [Text(start_line(event), style="bold")]
        elif isinstance(event, RunEnd):
            head, *verdict = end_lines(event)
            lines = [Text(head, style=_END_STYLE.get(event.status, ""))] + [Text(line) for line in verdict]
        for line in lines:
            self.write(Text(f"[{event.run_id}] ").append_text(line) if prefix else line)

    def note(self, text: str, style: str = "dim") -> None:
        """A line of the app's own (a run queued, a report written)."""
        self.write(Text(text, style=style))
