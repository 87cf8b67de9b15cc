"""What ``lrtui run`` prints: the classic notebook printout, a progress bar, and tables.

The line formats mirror the classic MNIST notebook so the numbers read the same as
there (and the app's live log can reuse :func:`classic_lines`)::

    epoch:  1 | batch: 1250 | instances: [ 12500 / 48000] | loss: 0.0713
      11873 of 12500 | accuracy: 94.984%

A provisional verdict (judged at a log point, :mod:`lrtui.engine.provisional`) gets one line, marked
``provisional``, when its run's label changes; the final verdict comes with the run's end.

On a terminal a rich progress bar (samples/s, ETA) sits under the lines; piped
output gets plain lines only. Imports rich, never textual or torch.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn
from rich.table import Table
from rich.text import Text

from lrtui.engine.config import format_lr
from lrtui.engine.events import BatchLog, EpochEnd, Event, ProvisionalVerdict, RunEnd, RunStarted
from lrtui.engine.events import Progress as ProgressEvent
from lrtui.plots.confidence import BEST_NOTE, edge_sentences
from lrtui.plots.formatting import pct, run_cells, seconds
from lrtui.plots.grouping import (
    best_setting,
    column_settings,
    common_settings_text,
    setting_cells,
    summary_text,
    time_shares,
    time_text,
)
from lrtui.plots.palette import VERDICT_COLORS
from lrtui.printable import printable
from lrtui.sessions.files import FILENAME
from lrtui.sessions.listing import SessionEntry
from lrtui.sessions.record import RunRecord

#: The end-of-run table's columns around those of the settings that vary (:func:`lrtui.plots.grouping.column_settings`).
RUN_TABLE_HEAD = ("run", "lr")
RUN_TABLE_TAIL = ("epochs", "best val acc", "test acc", "verdict", "duration", "samples/s")
_LEFT = frozenset({"run", "optimizer", "schedule", "dataset", "verdict"})


def classic_lines(ev: BatchLog) -> tuple[str, str]:
    """The notebook's pair of lines; fixed minimum widths keep the columns aligned down the log."""
    return (
        f"epoch: {ev.epoch:2} | batch: {ev.batch:4} | instances: [{ev.seen:6} / {ev.total}] | loss: {ev.loss:.4f}",
        f"{ev.correct:7} of {ev.seen} | accuracy: {100 * ev.accuracy:.3f}%",
    )


def epoch_line(ev: EpochEnd) -> str:
    return (
        f"epoch: {ev.epoch:2} done | train loss: {ev.train_loss:.4f} | train acc: {100 * ev.train_acc:.3f}% "
        f"| val loss: {ev.val_loss:.4f} | val acc: {100 * ev.val_acc:.3f}% | {ev.seconds:.1f} s"
    )


def start_line(ev: RunStarted) -> str:
    c = ev.config
    return (
        f"{ev.run_id}: {c.label}, {c.epochs} epoch(s), batch {c.batch_size} | {c.dataset}: {ev.n_train} train, "
        f"{ev.n_val} val, {ev.n_test} test | {ev.device} ({ev.device_name})"
    )


def end_lines(ev: RunEnd) -> list[str]:
    """How the run ended, then its verdict and what to try next (one line each: they can be long)."""
    head = f"{ev.run_id} {ev.status}"
    if ev.status == "failed":
        return [f"{head}: {ev.error}"]
    parts = [
        f"{head} after {ev.epochs_done} epoch(s) in {seconds(ev.duration_s)}",
        f"{ev.samples_per_s:,.0f} samples/s",
    ]
    if ev.diverged_at:
        parts.append(f"non-finite loss at epoch {ev.diverged_at[0]}, batch {ev.diverged_at[1]}")
    if ev.test:
        parts.append(f"test acc {pct(ev.test.accuracy)}")  # as the table under it writes it
    lines = [" | ".join(parts)]
    if ev.verdict:
        lines += [f"  {ev.verdict.label}: {ev.verdict.reason}", f"  hint: {ev.verdict.hint}"]
    return lines


def provisional_line(ev: ProvisionalVerdict) -> str:
    """``provisional at step 1,250: not learning: dying ReLUs: ...``: never mistaken for the final verdict."""
    return f"provisional at step {ev.step:,}: {ev.verdict.label}: {ev.verdict.reason}"


class ProvisionalLines:
    """Which provisional verdicts to show: a run's first, then one each time its label changes (not every log point)."""

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}

    def line(self, ev: ProvisionalVerdict) -> str | None:
        label = str(ev.verdict.label)
        if self._labels.get(ev.run_id) == label:
            return None
        self._labels[ev.run_id] = label
        return provisional_line(ev)


#: Exit code of a writer whose pipe reader left, as the shell reports one killed by SIGPIPE.
EXIT_BROKEN_PIPE = 128 + 13


def silence_stdout() -> None:
    """Send the rest of stdout to /dev/null: its reader is gone, and the interpreter's final
    flush must not fail a second time."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class StdoutConsole(Console):
    """rich's Console on stdout, never wrapping piped output (a script reading it gets whole lines).

    When the reader goes away (``lrtui run | head``) rich would raise SystemExit mid-run, in
    the training thread's event callback; here output goes to /dev/null instead and
    ``reader_gone`` is set, so training goes on and the session is still saved.
    """

    def __init__(self) -> None:
        super().__init__(width=None if sys.stdout.isatty() else 1000)
        self.reader_gone = False
        self.write_failed = False  #: a write to stdout failed (a full disk): printing stopped, training did not

    def on_broken_pipe(self) -> None:
        self.quiet = True
        self.reader_gone = True
        silence_stdout()


def say(console: Console, text: str) -> None:
    """Print one plain line: no markup, no highlighting, never wrapped (paths and logs stay whole)."""
    console.print(printable(text), markup=False, highlight=False, soft_wrap=True)


class RunPrinter:
    """Turns engine events into printed lines (and a progress bar on a terminal)."""

    def __init__(self, console: Console, *, quiet: bool = False, prefix_runs: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.prefix_runs = prefix_runs  # several runs (a batched sweep interleaves): say whose line it is
        self._bar: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._provisional = ProvisionalLines()
        if console.is_terminal and not quiet:
            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]} samples/s  ETA {task.fields[eta]}"),
                console=console,
                transient=True,
            )
            self._bar.start()

    def _say(self, text: str, run_id: str | None = None) -> None:
        """One plain line (no markup, never wrapped), prefixed with the run id when runs share the output."""
        if run_id is not None and self.prefix_runs:
            text = f"[{run_id}] {text}"
        say(self.console, text)

    def __call__(self, ev: Event) -> None:
        if self.quiet:
            return
        if isinstance(ev, BatchLog):
            for line in classic_lines(ev):
                self._say(line, ev.run_id)
        elif isinstance(ev, EpochEnd):
            self._say(epoch_line(ev), ev.run_id)
        elif isinstance(ev, ProvisionalVerdict):
            said = self._provisional.line(ev)
            if said is not None:
                self._say(said, ev.run_id)
        elif isinstance(ev, ProgressEvent):
            self._advance(ev)
        elif isinstance(ev, RunStarted):
            self._say(start_line(ev))
            if self._bar is not None:
                total = ev.config.epochs * ev.batches_per_epoch
                self._tasks[ev.run_id] = self._bar.add_task(ev.config.label, total=total, rate="—", eta="—")
        elif isinstance(ev, RunEnd):
            if self._bar is not None and ev.run_id in self._tasks:
                self._bar.remove_task(self._tasks.pop(ev.run_id))
            for line in end_lines(ev):
                self._say(line)

    def _advance(self, ev: ProgressEvent) -> None:
        task = self._tasks.get(ev.run_id)
        if self._bar is not None and task is not None:
            self._bar.update(
                task,
                completed=ev.batches_done,
                total=ev.batches_total,
                rate=f"{ev.samples_per_s:,.0f}",
                eta=seconds(ev.eta_s) if ev.eta_s else "—",
            )

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def runs_table(runs: Sequence[RunRecord]) -> Table:
    """The end-of-run summary table, verdicts coloured as in the app.

    Besides the lr, a setting is a column only when it varies between the runs; the ones they share
    are said once above the table. Runs trained side by side show their share of the time (``~``).
    Under it: a best setting at the edge of the grid ("extend the grid"), and what best val acc is.
    """
    settings = column_settings(r.config for r in runs)
    columns = (*RUN_TABLE_HEAD, *(s.key for s in settings), *RUN_TABLE_TAIL)
    common = common_settings_text([r.config for r in runs])
    table = Table(title=Text(f"every run: {common}") if common else None, title_justify="left")
    for col in columns:
        table.add_column(col, justify="left" if col in _LEFT else "right")
    shares = time_shares(runs)
    for run in runs:
        cells = {**run_cells(run), **setting_cells(run.config, settings), "duration": time_text(run, shares)}
        row = [Text(cells[c]) for c in columns]
        row[columns.index("verdict")].stylize(VERDICT_COLORS.get(cells["verdict"], ""))
        table.add_row(*row)
    notes = [
        *edge_sentences(runs),
        BEST_NOTE,
        *(["~: runs trained side by side (a stacked lr sweep) split the time they shared"] if shares else []),
    ]
    table.caption = Text("\n".join(notes))
    table.caption_justify = "left"
    return table


def _distinct(values: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(values))


def sessions_table(entries: Iterable[SessionEntry]) -> Table:
    """Saved sessions, oldest first; unreadable ones stay in the list with the reason.

    ``best lr`` is the session's best setting as its report ranks them (:func:`lrtui.plots.grouping.best_setting`:
    mean best validation accuracy over its seeds), with its mean test accuracy.
    """
    table = Table()
    for col in ("date", "runs", "data set", "optimizers", "best lr", "test acc", "live", "path"):
        table.add_column(col, justify="right" if col in ("runs", "test acc") else "left", overflow="fold")
    for entry in entries:
        s = entry.session
        if s is None:
            reason = (entry.error or "").removeprefix(f"{entry.path / FILENAME}: ")
            table.add_row(
                "—",
                Text("unreadable", style="red"),
                "",
                "",
                "",
                "",
                "",
                Text(f"{printable(entry.path)}\n{printable(reason, newlines=False)}"),
            )
            continue
        ran = [r for r in s.runs if r.status != "queued"]
        configs = [r.config for r in s.runs]
        optimizers = _distinct(c.optimizer for c in configs)
        best = best_setting(ran)
        if best is None:
            lr, test = "—", "—"
        else:
            several = len({c.optimizer for c in configs}) > 1
            lr = format_lr(best.config.lr) + (f" {best.config.optimizer}" if several else "")
            test = summary_text(best.summary("test_acc"))
        live = (
            Text(", ".join(printable(w.label, newlines=False) for w in entry.writers if w.alive), style="green")
            if entry.live
            else ""
        )
        table.add_row(
            Text(s.date),
            str(len(ran)),
            Text(_distinct(c.dataset for c in configs) or "—"),
            Text(optimizers or "—"),
            Text(lr),
            Text(test),
            live,
            Text(printable(entry.path)),
        )
    return table
