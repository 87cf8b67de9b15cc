"""The current run's progress bar with its samples/s and ETA, fed by throttled Progress events.

One plain widget that draws a label and a text progress bar, updated without a layout
pass: it changes a few times a second while training, and every bit of UI work holds
the GIL that the training thread needs (Textual's ProgressBar is three widgets and a
handful of reactives per update; rich's Table + ProgressBar took milliseconds per frame).

While training, a third line says what the machine is doing (:func:`load_line`, from the runner's
latest :class:`~lrtui.system_load.SystemSample`): the widget grows by that row when the line first
appears and shrinks back when the runs end, a layout of the screen twice per run, never per update.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from lrtui.engine.events import Progress
from lrtui.plots.formatting import pct
from lrtui.sessions.record import RunRecord, best_run
from lrtui.system_load import SystemSample

IDLE = "idle · ctrl+r trains"


def outcome(run: RunRecord) -> str:
    """``r2 finished · converged``: the status line after a run."""
    return f"{run.id} {run.status}" + (f" · {run.verdict_label}" if run.verdict_label else "")


def sweep_outcome(runs: Sequence[RunRecord]) -> str:
    """``r1–r3 done · best r2 lr=0.01 sgd val 91.5%``: the status line after several runs."""
    best = best_run(runs)
    if len(runs) < 2 or best is None:
        return outcome(runs[-1]) if runs else IDLE
    return f"{runs[0].id}–{runs[-1].id} done · best {best.id} {best.config.label} val {pct(best.best_val_acc)}"


def clock(seconds: float) -> str:
    """``75.2`` → ``1:15``, ``3725`` → ``1:02:05``: an ETA that stays short."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _gb(mb: float) -> str:
    """``1234`` MiB → ``1.2 GB``; under a GB in MB."""
    return f"{mb / 1024:.1f} GB" if mb >= 1000 else f"{mb:.0f} MB"


def load_parts(sample: SystemSample, threads: int | None = None) -> list[str]:
    """The figures as short phrases, the most telling first: the GPU's on a GPU (and the process's CPU after
    them), else the process's CPU with torch's threads, its memory and the machine's load."""
    cpu = f"CPU {sample.cpu_percent:.0f}%" if sample.cpu_percent is not None else None
    if sample.has_gpu:
        gpu = [
            f"GPU {sample.gpu_util:.0f}%" if sample.gpu_util is not None else "GPU",
            _gb(sample.gpu_mem_mb) if sample.gpu_mem_mb is not None else None,
            f"{sample.gpu_temp_c:.0f}°C" if sample.gpu_temp_c is not None else None,
            cpu,
        ]
        return [p for p in gpu if p]
    parts = [
        cpu,
        f"{threads} thread{'s' * (threads != 1)}" if cpu and threads else None,
        _gb(sample.rss_mb) if sample.rss_mb is not None else None,
        f"load {sample.load1:.1f}" if sample.load1 is not None else None,
    ]
    return [p for p in parts if p]


def load_line(sample: SystemSample | None, threads: int | None, width: int) -> Text | None:
    """``CPU 187% · 2 threads · 1.2 GB · load 1.9`` or ``GPU 93% · 4.1 GB · 61°C · CPU 100%``, as many of the
    phrases as fit in ``width`` (the first always, cropped); None when nothing is known."""
    parts = load_parts(sample, threads) if sample is not None else []
    if not parts:
        return None
    shown = parts[:1]
    for part in parts[1:]:
        if len(" · ".join([*shown, part])) > width:
            break
        shown.append(part)
    return Text(" · ".join(shown), style="dim", no_wrap=True, overflow="ellipsis")


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
    """What is running (how fast, how long to go), what the machine is doing, and the bar of the whole run.

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
        self._load: SystemSample | None = None
        self._threads: int | None = None
        self._load_row = False  #: the widget has grown a row for the machine's line

    def render(self) -> RenderResult:
        width = max(self.content_size.width, 6)
        label = Text(self._label, overflow="fold")
        load = load_line(self._load, self._threads, width) if self._load_row else None
        lines = label.wrap(self.app.console, width)
        head = Text("\n").join(list(lines)[: max(self.content_size.height - 1 - (load is not None), 1)])
        return Text("\n").join([head, *([load] if load is not None else []), bar_line(self._done, self._total, width)])

    def _grow(self, row: bool) -> None:
        """Add (or take back) the row of the machine's line: a layout, only when it changes."""
        if row == self._load_row:
            return
        self._load_row = row
        if row:
            height = self.styles.height  # the stylesheet's fixed rows (3)
            self.styles.height = (int(height.value) if height is not None and height.is_cells else 3) + 1
        else:
            self.styles.clear_rule("height")
            self.refresh(layout=True)

    def _show(self) -> None:
        self.refresh()

    def started(self, who: str, what: str, batches_total: int, queued: int) -> None:
        """``who`` names the run(s) (``r3`` or ``r3–r5``), ``what`` their settings."""
        more = f" (+{queued} queued)" if queued else ""
        self._label, self._total, self._done = f"{who} {what}{more}", batches_total, 0
        self._show()

    def progress(self, event: Progress, who: str, load: SystemSample | None = None, threads: int | None = None) -> None:
        """``load``: the machine's latest figures (the runner's ``system``); ``threads``: torch's CPU threads."""
        self._label = (
            f"{who} epoch {event.epoch}/{event.epochs} · {event.samples_per_s:,.0f} samples/s · "
            f"ETA {clock(event.eta_s)}"
        )
        self._total, self._done = event.batches_total, event.batches_done
        self._load, self._threads = load, threads
        if load is not None:
            self._grow(True)
        self._show()

    def idle(self, text: str = IDLE) -> None:
        """No run going: keep the last bar (a finished run shows 100%), say what happened."""
        self._label = text
        self._load = None
        self._grow(False)
        self._show()
