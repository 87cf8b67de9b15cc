"""The lrtui app: parameters, live log, live charts, runs table and details on one screen.

The app is a consumer of engine events like the CLI: training happens in
``run_many`` inside a thread worker, whose ``emit`` posts :class:`EngineEvent`
messages; the UI thread folds them into the :class:`~lrtui.session.Session`
(which saves itself) and redraws what changed. Queued runs wait on the UI side
and start when the worker before them is done, because a thread worker cannot
start another one. Cancelling (ctrl+x, quit, SIGHUP/SIGTERM) sets a
``threading.Event`` that the engine checks every batch.

This module must not import torch: the first frame appears before it loads.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from functools import partial

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Select
from textual.worker import Worker

from lrtui.engine.config import ConfigError, RunConfig, format_lr, parse_lrs
from lrtui.engine.events import BatchLog, EpochEnd, Progress, RunEnd, RunStarted
from lrtui.record import RunRecord, best_run
from lrtui.report import pct
from lrtui.session import Session, SessionError, load_session
from lrtui.tui.messages import DevicesFound, EngineEvent
from lrtui.tui.process import leave, limit_torch_threads, on_hangup
from lrtui.tui.screens.details import DetailsScreen
from lrtui.tui.screens.find_lr import FindLRScreen
from lrtui.tui.screens.help import HelpScreen
from lrtui.tui.widgets.charts import Charts, chart_panes, live_batch_losses
from lrtui.tui.widgets.details import RunDetails
from lrtui.tui.widgets.params import ParamsForm
from lrtui.tui.widgets.runlog import RunLog
from lrtui.tui.widgets.runs_table import RunsTable
from lrtui.tui.widgets.status import IDLE, RunStatus

QUIT_WAIT_S = 1.5  #: how long quitting waits for the running run to report its end


def _outcome(run: RunRecord) -> str:
    """``r2 finished · converged``: the status line after a run."""
    return f"{run.id} {run.status}" + (f" · {run.verdict_label}" if run.verdict_label else "")


def _sweep_outcome(runs: Sequence[RunRecord]) -> str:
    """``r1–r3 done · best r2 lr=0.01 sgd 91.5%``: the status line after several runs."""
    best = best_run(runs)
    if len(runs) < 2 or best is None:
        return _outcome(runs[-1]) if runs else IDLE
    return f"{runs[0].id}–{runs[-1].id} done · best {best.id} {best.config.label} {pct(best.best_val_acc)}"


def _scaled_lr(lr: float, factor: float) -> float:
    """lr × factor without float noise: 0.001 × 10 is 0.01, not 0.010000000000000002."""
    return float(f"{lr * factor:.12g}")


class LRTuiApp(App[None]):
    """One screen to train the MNIST CNN and see what the learning rate does."""

    CSS_PATH = "app.tcss"
    TITLE = "lrtui"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        # ctrl keys are priority bindings: they must work with the cursor in a field (Input binds ctrl+x to cut)
        Binding("ctrl+r", "run", "Run", id="run", tooltip="Train with the form's values", priority=True),
        Binding("plus", "rerun(10)", "lr×10", key_display="+", id="lr-up",
                tooltip="Rerun the last run with a 10x larger learning rate"),
        Binding("minus", "rerun(0.1)", "lr÷10", key_display="-", id="lr-down",
                tooltip="Rerun the last run with a 10x smaller learning rate"),
        Binding("ctrl+x", "cancel", "Cancel", id="cancel", tooltip="Stop the running run and the queued ones",
                priority=True),
        Binding("delete", "remove_run", "Remove", id="remove", tooltip="Remove the selected run from the comparison"),
        Binding("ctrl+s", "report", "Report", id="report", tooltip="Write the session report", priority=True),
        Binding("ctrl+f", "find_lr", "Find lr", id="find-lr", tooltip="LR range test: suggest a learning rate",
                priority=True),
        Binding("f1", "help", "Help", id="help", tooltip="Keys and what the learning rate does"),
        Binding("escape", "leave_field", "Leave field", show=False, id="leave"),
        Binding("1", "show_chart('accuracy')", "Accuracy chart", show=False, id="chart-accuracy",
                tooltip="Show the accuracy chart"),
        Binding("2", "show_chart('loss')", "Loss chart", show=False, id="chart-loss",
                tooltip="Show the loss chart"),
        Binding("3", "show_chart('batch-loss')", "Batch loss chart", show=False, id="chart-batch-loss",
                tooltip="Show the batch loss chart"),
        Binding("ctrl+q", "quit", "Quit", priority=True, id="quit", tooltip="Stop training and quit"),
    ]

    def __init__(
        self,
        initial: Mapping[str, object] | None = None,
        session: Session | str | os.PathLike[str] | None = None,
        *,
        probe_devices: bool = True,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.initial = dict(initial or {})
        self._session_spec = session if not isinstance(session, Session) else None
        self.session = session if isinstance(session, Session) else Session.create()
        self._probe_devices = probe_devices
        self._cursor_blink = cursor_blink
        self._queue: list[tuple[str, ...]] = []  #: batches of run ids waiting for the worker
        self._active: tuple[str, ...] = ()  #: the run ids the worker is training now
        self._cancel = threading.Event()
        #: per running run, the logged batch losses of its epoch in progress ({batch number: loss})
        self._logged: dict[str, dict[int, float]] = {}
        self._stopping = False  #: quitting: no new runs start
        self._interrupted = False  #: SIGHUP/SIGTERM: the session is saved as interrupted, ignore late events
        self._save_error: str | None = None  #: the save problem the user was last told about

    # -- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="side"):
                yield ParamsForm(self.initial, id="params")
                yield RunStatus(id="status")
            with Vertical(id="center"):
                with Charts(id="charts"):
                    yield from chart_panes()
                yield RunLog(id="log")
        with Horizontal(id="bottom"):
            yield RunsTable(id="runs")
            yield RunDetails(id="details")
        yield Footer(compact=True, show_command_palette=False)  # 80 columns: ctrl+p is in the help

    def on_mount(self) -> None:
        self.query_one("#params").border_title = "lrtui · parameters"
        self.query_one("#log").border_title = "log"
        self.query_one("#runs").border_title = "runs"
        self.query_one(RunDetails).show(None)
        if not self._cursor_blink:
            for field in self.query(Input):
                field.cursor_blink = False
        self.log_view.note("ctrl+r trains with these settings · a comma list in lr (0.5, 0.01, 1e-4) compares "
                           "them · f1: every key")
        if self._session_spec is not None:
            self._open(self._session_spec)
        self.query_one("#f-lr", Input).focus()
        if self._probe_devices:
            self.set_timer(0.3, self._probe)  # after the first frame: importing torch takes seconds

    def _open(self, spec: str | os.PathLike[str]) -> None:
        """Load a saved session: its runs fill the table and charts, and new runs append to it."""
        try:
            self.session = load_session(spec)
        except SessionError as e:
            self.log_view.note(f"could not open the session: {e}", style="bold red")
            self.notify(str(e), title="Could not open the session", severity="error", timeout=10)
            return
        for run in self.session.runs:
            self.runs_table.show_run(run)
        self._replot()
        n = len(self.session.runs)
        self.log_view.note(f"opened {self.session.file} ({n} run{'' if n == 1 else 's'})")

    @property
    def form(self) -> ParamsForm:
        return self.query_one(ParamsForm)

    @property
    def runs_table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @property
    def log_view(self) -> RunLog:
        return self.query_one(RunLog)

    @property
    def training(self) -> bool:
        """A worker is training (or about to report that it stopped)."""
        return bool(self._active)

    @property
    def waiting(self) -> bool:
        """Runs are queued behind the worker."""
        return bool(self._queue)

    # -- devices -------------------------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="probe")
    def _probe(self) -> None:
        """Ask torch which devices exist (and the GPUs' names) without blocking the screen."""
        from lrtui.engine.config import probe_devices

        limit_torch_threads()
        devices = probe_devices()
        import torch

        names = {d: torch.cuda.get_device_name(int(d[5:])) for d in devices if d.startswith("cuda:")}
        self.post_message(DevicesFound(devices, names))
        # what the first run would wait ~1 s for: imported while the user reads the form
        import sklearn.metrics  # noqa: F401

        import lrtui.engine.sweep  # noqa: F401

    def on_devices_found(self, message: DevicesFound) -> None:
        self.form.set_devices(message.devices, message.names)

    # -- starting runs -------------------------------------------------------------------
    def action_run(self) -> None:
        """Train with the form's values: one run per learning rate, queued behind any running one."""
        try:
            configs = self.form.configs()
        except ConfigError as e:
            field = self.form.first_invalid()
            if field is not None:
                field.focus()
            self.notify("; ".join(f"{k}: {v}" for k, v in e.errors.items()), title="Cannot start",
                        severity="error")
            return
        self.enqueue(configs)
        if isinstance(self.focused, (Input, Select)):
            self.runs_table.focus()  # the form is done with: +, -, 1-3 and delete now work at once

    @on(ParamsForm.Submitted)
    def _submitted(self) -> None:
        self.action_run()

    def action_rerun(self, factor: float) -> None:
        """Rerun the last run (or the form) at once with its lr × factor, and show that lr in the form."""
        if self.session.runs:
            base = self.session.runs[-1].config
        else:
            try:
                base = self.form.configs()[0]
            except ConfigError:
                self.notify("Fix the form first (or start a run with ctrl+r)", severity="error")
                return
        lr = _scaled_lr(base.lr, factor)
        try:
            parse_lrs(lr)
        except ConfigError as e:
            self.notify(f"lr {e.errors['lr']}", title="Cannot rerun", severity="error")
            return
        self.form.set_value("lr", format_lr(lr))
        self.enqueue([base.with_lr(lr)])

    def enqueue(self, configs: Sequence[RunConfig]) -> None:
        """Add runs to the session and the table as queued; start them unless a worker is busy."""
        had_rows = self.runs_table.row_count > 0
        records = [self.session.add(config) for config in configs]
        for record in records:
            self.runs_table.show_run(record)
        if not had_rows:
            self.refresh_bindings()  # delete has a run to remove now (the footer is rebuilt: only when it changes)
        self._queue.append(tuple(r.id for r in records))
        if self.training:
            self.log_view.note(f"queued {', '.join(r.id for r in records)}")
        self._start_next()

    def _start_next(self) -> None:
        if self.training or self._stopping or not self._queue:
            return
        self._active = self._queue.pop(0)  # never empty: a removed run leaves its batch (see action_remove_run)
        self._cancel = threading.Event()
        first = "torch" not in sys.modules  # the first run of the process pays for importing torch
        self.query_one(RunStatus).idle(f"{self._batch_label()} starting{' · loading torch' if first else ''}…")
        configs = [record.config for record in map(self.session.book.get, self._active) if record is not None]
        self._train(configs, self._active, self._cancel)

    @work(thread=True, exclusive=True, exit_on_error=False, group="train")
    def _train(self, configs: list[RunConfig], run_ids: tuple[str, ...], cancel: threading.Event) -> None:
        """The only place training happens: the engine's run_many, events posted back as messages."""
        limit_torch_threads()
        from lrtui.engine.sweep import run_many

        run_many(configs, run_ids, lambda event: self.post_message(EngineEvent(event)), cancel)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        """Every end of a training worker comes here: done, cancelled, or raised (the engine should not)."""
        if event.worker.group != "train" or not event.worker.is_finished:
            return
        error = event.worker.error
        self._batch_done(f"{type(error).__name__}: {error}" if error is not None else None)

    def _batch_done(self, error: str | None) -> None:
        """Close any run of the batch that never got a RunEnd, then start the next batch (or leave)."""
        if self._interrupted or not self.screen_stack:
            return
        if error:
            self.log_view.note(f"training stopped: {error}", style="bold red")
            self.notify(error, title="Training stopped", severity="error", timeout=10)
        batch = [r for r in map(self.session.book.get, self._active) if r is not None]
        for record in batch:
            if not record.done:
                record.status = "failed" if error else "cancelled"
                record.error = error
                self.runs_table.show_run(record)
        if self.session.runs:
            self.session.save()
            self._check_saved()
        self._active = ()
        self._logged = {}
        if self._stopping:
            self.exit()
            return
        self.query_one(RunStatus).idle(_sweep_outcome(batch))
        self._start_next()

    def _check_saved(self) -> None:
        """Tell the user once when the session cannot be saved (and once when it can again)."""
        error = self.session.save_error
        if error == self._save_error:
            return
        if error:
            self.notify(f"{error}. Training goes on; the runs are kept in memory.", title="Not saved",
                        severity="warning", timeout=10)
        else:
            self.notify(f"Session saved again: {self.session.file}", timeout=4)
        self._save_error = error

    # -- engine events -------------------------------------------------------------------
    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if self._interrupted:
            return
        if isinstance(event, Progress):
            self.query_one(RunStatus).progress(event, self._batch_label())
            return
        record = self.session.observe(event)
        self._check_saved()
        if record is None or not self.screen_stack:  # no screen: the app is shutting down, the session has it
            return
        self.log_view.show(event, prefix=len(self._active) > 1)
        if isinstance(event, BatchLog):
            self._logged.setdefault(event.run_id, {})[event.batch] = event.loss
            self._replot(batch_only=True)
            return
        if isinstance(event, RunStarted):
            self._logged[event.run_id] = {}
            running = self._runs_training()  # a stacked sweep's runs start together, others one by one
            what = event.config.label if len(running) == 1 else f"{len(running)} lrs at once"
            queued = sum(len(batch) for batch in self._queue)
            self.query_one(RunStatus).started(self._batch_label(), what,
                                              event.config.epochs * event.batches_per_epoch, queued)
        elif isinstance(event, EpochEnd):
            self._logged[event.run_id] = {}
        elif isinstance(event, RunEnd):
            self._logged.pop(event.run_id, None)
            self._ended(record, event)
        self.runs_table.show_run(record)
        self._replot()
        details = self.query_one(RunDetails)
        if details.run_id == record.id and not isinstance(event, EpochEnd):  # each update lays out the screen
            details.show(record)

    def _ended(self, record: RunRecord, event: RunEnd) -> None:
        self.query_one(RunStatus).idle(_outcome(record))
        if event.status == "failed":
            self.notify(event.error or "the run failed", title=f"{record.id} failed", severity="error", timeout=10)
        elif event.status == "diverged":
            where = f" at epoch {event.diverged_at[0]}, batch {event.diverged_at[1]}" if event.diverged_at else ""
            self.notify(f"{record.config.label}: the loss became NaN/inf{where}", title=f"{record.id} diverged",
                        severity="warning")

    def _runs_training(self) -> list[RunRecord]:
        """The runs of the worker's batch that are training now (a sequential sweep's others wait)."""
        return [r for r in map(self.session.book.get, self._active) if r is not None and r.status == "running"]

    def _batch_label(self) -> str:
        """``r3``, or ``r3–r5`` when the engine trains a sweep's runs at once: whom the progress is about
        (before any has started, the whole batch)."""
        ids = [r.id for r in self._runs_training()] or list(self._active)
        return ids[0] if len(ids) == 1 else f"{ids[0]}–{ids[-1]}" if ids else ""

    def _live_runs(self) -> list[RunRecord]:
        """The runs training now, their per-batch losses going on into the epoch in progress; else the selected run."""
        running = self._runs_training()
        if running:
            return [live_batch_losses(r, self._logged.get(r.id, {})) for r in running]
        selected = self.session.book.get(self.runs_table.selected_id or "")
        return [selected] if selected else []

    def _replot(self, *, batch_only: bool = False) -> None:
        """Redraw the charts in one screen update: every run per epoch, the live (or selected) runs per batch."""
        charts = self.query_one(Charts)
        with self.batch_update():
            if batch_only:
                charts.chart("batch-loss").replot(self._live_runs())
            else:
                charts.update_runs([r for r in self.session.runs if r.epochs], self._live_runs())

    # -- the runs table ------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#runs")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        run = self.session.book.get(str(event.row_key.value))
        self.query_one(RunDetails).show(run)
        if not self.training:
            self._replot(batch_only=True)

    @on(DataTable.RowSelected, "#runs")
    def _selected(self, event: DataTable.RowSelected) -> None:
        run = self.session.book.get(str(event.row_key.value))
        if run is not None:
            self.push_screen(DetailsScreen(run))

    def action_remove_run(self) -> None:
        """Take the selected run out of the comparison (and the session); running ones must be cancelled first."""
        run_id = self.runs_table.selected_id
        run = self.session.book.get(run_id) if run_id else None
        if run is None:
            return
        if run.id in self._active and not run.done:
            self.notify(f"{run.id} is {run.status}: cancel it first (ctrl+x)", severity="warning")
            return
        self.session.book.remove(run.id)
        self._queue = [b for b in (tuple(i for i in batch if i != run.id) for batch in self._queue) if b]
        self.runs_table.remove_run(run.id)
        if run.status != "queued":
            self.session.save()
            self._check_saved()
        self._replot()
        self.query_one(RunDetails).show(self.session.book.get(self.runs_table.selected_id or ""))
        self.refresh_bindings()

    # -- cancelling and quitting ---------------------------------------------------------
    def action_cancel(self) -> None:
        """Stop the running run within a batch (its finished epochs stay) and drop the queued ones.

        Always enabled, even when idle: a disabled binding would hand ctrl+x on to the focused
        Input, whose "cut" takes its text (all of it, as focusing selects it).
        """
        if not self.training:
            self.notify("Nothing is running", timeout=2)
            return
        dropped = self._drop_queue()
        self._cancel.set()
        more = f" and {dropped} queued" if dropped else ""
        self.log_view.note(f"cancelling {self._batch_label()}{more}…", style="yellow")

    def _drop_queue(self) -> int:
        """Mark every queued run cancelled; returns how many."""
        ids = [i for batch in self._queue for i in batch]
        self._queue.clear()
        for run_id in ids:
            record = self.session.book.get(run_id)
            if record is not None:
                record.status = "cancelled"
                self.runs_table.show_run(record)
        return len(ids)

    def stop(self) -> None:
        """Stop everything for good: no new runs, queued ones cancelled, the worker stops within a batch."""
        self._stopping = True
        self._drop_queue()
        self._cancel.set()

    async def action_quit(self) -> None:
        """Stop training and leave once the run has reported its end (so it is saved as cancelled).

        The engine stops within a batch, so this is quick; if it is not, the run is saved
        as interrupted after QUIT_WAIT_S and the app leaves anyway.
        """
        self.stop()
        if not self.training:
            self.exit()
            return
        self.log_view.note("stopping the run before quitting…", style="yellow")
        self.set_timer(QUIT_WAIT_S, lambda: self.interrupt(0))

    def interrupt(self, signum: int) -> None:
        """SIGHUP/SIGTERM (or a run slow to stop on quit): mark running runs ``interrupted``, save, leave."""
        self.stop()
        self._interrupted = True
        if self.session.runs:
            self.session.interrupt()
        self.exit(return_code=128 + signum if signum else 0)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out keys that would do nothing now (shown dimmed in the footer)."""
        if action == "find_lr":
            return len(self.screen_stack) == 1  # not a second range test over the first
        if action == "remove_run":
            tables = self.query(RunsTable)
            return True if tables and tables.first().row_count else None
        return True

    # -- other actions -------------------------------------------------------------------
    def action_leave_field(self) -> None:
        """Escape in a form field: move to the runs table so single keys (+, -, delete) work."""
        if isinstance(self.focused, (Input, Select)):
            self.runs_table.focus()

    def action_find_lr(self) -> None:
        """The LR range test for the form's settings; Enter in it puts the suggestion into the lr field."""
        try:
            config = self.form.configs()[0]
        except ConfigError:
            self.notify("Fix the form first: the range test uses its settings", severity="error")
            return
        self.push_screen(FindLRScreen(config), self._use_lr)

    def _use_lr(self, lr: float | None) -> None:
        if lr is not None:
            self.form.set_value("lr", format_lr(lr))
            self.notify(f"lr set to {format_lr(lr)}: ctrl+r trains with it", title="LR range test")

    def action_show_chart(self, name: str) -> None:
        """1 / 2 / 3 outside a text field: the accuracy, loss or per-batch loss chart."""
        self.query_one(Charts).active = f"tab-{name}"

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_report(self) -> None:
        """Write report.md, report.html and session.json into the session folder; say where."""
        from lrtui.report import write_reports

        if not any(r.status != "queued" for r in self.session.runs):
            self.notify("Nothing to report yet: train a run first (ctrl+r)", severity="warning")
            return
        try:
            paths = write_reports(self.session)
        except OSError as e:
            self.notify(f"Could not write the report: {e}", severity="error")
            return
        self.log_view.note(f"report written: {', '.join(str(p) for p in paths)}", style="green")
        self.notify(str(paths[0].parent), title="Report written", timeout=8)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette offers every action of the keyboard, named by its key's tooltip."""
        yield from super().get_system_commands(screen)  # Textual's own include Quit
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.tooltip and binding.id != "quit":
                key = binding.key_display or binding.key
                yield SystemCommand(binding.tooltip, f"key: {key}", partial(self.run_action, binding.action))


def run_app(initial: dict[str, str], open_session: str | None) -> int:
    """Start the app (``lrtui`` without a subcommand): form pre-filled from flags, optionally a saved session.

    Returns the exit code, except once torch has been loaded: then the process ends here
    (see :func:`lrtui.tui.process.leave`), so that quitting takes well under the 2 s it must.
    """
    app = LRTuiApp(initial=initial, session=open_session)
    # our own loop: App.run() would use asyncio.run(), which joins the worker threads' executor
    # without a timeout, so a worker slow to stop (a first torch import, CUDA start-up, a
    # download) would hold the shell prompt after the screen is gone
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    with on_hangup(app.interrupt):
        app.run(loop=loop)
    code = app.return_code or 0
    if "torch" in sys.modules:
        leave(code)
    return code

