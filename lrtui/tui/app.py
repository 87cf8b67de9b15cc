"""The lrtui app: parameters, live log, live charts, runs table and details on one screen.

The app is a view of a :class:`~lrtui.runner.Runner`, like the CLI: the runner
queues the runs, trains them on its own thread, folds every event into the session
(which saves itself) and tells its listener, which here posts a :class:`RunnerUpdate`
to the UI thread; the app only redraws what changed. Because the runner's thread is
not one of the app's workers, training can outlive the screen: when the terminal
goes away (SIGHUP), the app closes and the process finishes its runs headless.

This module must not import torch: the first frame appears before it loads.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import partial

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Input, Select
from textual.worker import Worker, WorkerState

from lrtui.engine.config import GRID_CONFIRM, GRID_MAX, ConfigError, RunConfig, format_lr, grid_size, parse_lrs
from lrtui.engine.events import BatchLog, EpochEnd, Event, Progress, RunEnd, RunStarted
from lrtui.plots.formatting import pct
from lrtui.printable import plain_text, printable
from lrtui.runner import BatchDone, Runner, SaveProblem, hangup_keeps_training, quiet_collector
from lrtui.sessions.listing import load_session
from lrtui.sessions.outputs import OutputError
from lrtui.sessions.record import RunRecord, best_run
from lrtui.sessions.schema import SessionError
from lrtui.sessions.store import Session
from lrtui.tui.messages import DevicesFound, RunnerUpdate
from lrtui.tui.process import (
    leave,
    limit_torch_threads,
    on_signals,
    say_where,
    train_on_headless,
)
from lrtui.tui.screens.confirm import ConfirmScreen
from lrtui.tui.screens.details import DetailsScreen
from lrtui.tui.screens.find_lr import FindLRScreen
from lrtui.tui.screens.grid import NOT_A_GRID, GridScreen
from lrtui.tui.screens.help import HelpScreen
from lrtui.tui.widgets.charts import CHART_IDS, Charts, chart_panes, live_batch_losses
from lrtui.tui.widgets.details import RunDetails
from lrtui.tui.widgets.footer import KeysFooter
from lrtui.tui.widgets.params import ParamsForm
from lrtui.tui.widgets.runlog import RunLog
from lrtui.tui.widgets.runs_table import RunsTable
from lrtui.tui.widgets.status import IDLE, RunStatus
from lrtui.tui.widgets.story import Story

QUIT_WAIT_S = 1.5  #: how long quitting waits for the running run to report its end
#: While training, the charts, table rows, story, log lines and progress bar are drawn together at most this
#: often, whatever the rate of events: every frame holds the GIL the training thread needs (a frame at 160x48
#: is 15-35 ms of the UI thread, a chart rebuild ~40 ms). Keys are handled at once, not on this clock.
REFRESH_S = 1.0
FOLLOW_S = 1.0  #: how often the session folder is looked at for other processes' runs (a few stat calls)
_BESIDE_CHARTS = ("#side", "#log", "#story", "#bottom")  #: what full screen (f) hides


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
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-mid"), (160, "-wide")]
    BINDINGS = [
        # ctrl keys are priority bindings: they must work with the cursor in a field (Input binds ctrl+x to cut)
        Binding("ctrl+r", "run", "Run", id="run", tooltip="Train with the form's values", priority=True),
        Binding("plus", "rerun(10)", "lr×10", key_display="+", id="lr-up",
                tooltip="Rerun the selected run with a 10x larger learning rate"),
        Binding("minus", "rerun(0.1)", "lr÷10", key_display="-", id="lr-down",
                tooltip="Rerun the selected run with a 10x smaller learning rate"),
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
        Binding("4", "show_chart('steps')", "Update ratio chart", show=False, id="chart-steps",
                tooltip="Show the update ratio per layer (step size against the healthy band)"),
        Binding("5", "show_chart('dead')", "Dead units chart", show=False, id="chart-dead",
                tooltip="Show the share of dead ReLU units per layer"),
        Binding("6", "show_chart('probe')", "Step probe chart", show=False, id="chart-probe",
                tooltip="Show the step probe (loss after one step of size η)"),
        Binding("7", "show_chart('lr')", "LR chart", show=False, id="chart-lr",
                tooltip="Show the learning rate per step of every run (its schedule)"),
        Binding("g", "compare", "Compare", show=False, id="compare",
                tooltip="Compare a grid: best validation accuracy by two settings"),
        Binding("z", "zoom", "Zoom", show=False, id="zoom", tooltip="Zoom the chart: fit its y axis to the data"),
        Binding("l", "log_axis", "Log axis", show=False, id="log",
                tooltip="Log axis on the chart (accuracy: error rate on a log axis)"),
        Binding("f", "full_screen", "Full screen", show=False, id="full-screen",
                tooltip="Show the chart full screen (escape: back)"),
        Binding("space", "toggle_hidden", "Hide/show", show=False, id="hide",
                tooltip="Hide or show the selected run in the charts"),
        Binding("s", "fold_seeds", "Fold seeds", show=False, id="fold-seeds",
                tooltip="Fold runs that differ only in seed into one row"),
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
        self._probe_devices = probe_devices
        self._cursor_blink = cursor_blink
        self.runner = self._new_runner(session if isinstance(session, Session) else Session.create())
        #: per running run, the logged batch losses of its epoch in progress ({batch number: loss})
        self._logged: dict[str, dict[int, float]] = {}
        #: per running run, the update ratios of its latest logged batch (the story shows them live)
        self._live_ratio: dict[str, dict[str, float]] = {}
        # what changed since the last redraw (see REFRESH_S)
        self._dirty_rows: set[str] = set()
        self._dirty_charts = False
        self._dirty_batch = False
        self._dirty_story = False
        self._progress: Progress | None = None
        self._background = False  #: charts are being built on worker threads (while training)
        self._others: tuple[str, ...] = ()  #: other live writers of the session, as last shown
        self._follow_error: str | None = None
        self._quitting = False  #: ctrl+q: leave once the runner has stopped
        self.full_screen = False  #: f: the charts fill the screen
        self._focus_before_full_screen: Widget | None = None  #: where focus goes back to after full screen
        self.detached = False  #: the terminal went away with runs left: the process trains on without a screen

    def _new_runner(self, session: Session) -> Runner:
        return Runner(session, self._relay, thread_setup=limit_torch_threads)

    def _relay(self, item: Event | SaveProblem | BatchDone) -> None:
        """The runner's listener, on the training thread: hand over to the UI thread (a no-op once closing)."""
        self.post_message(RunnerUpdate(item))

    @property
    def session(self) -> Session:
        return self.runner.session

    # -- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="side"):
                yield ParamsForm(self.initial, id="params")
                yield RunStatus(id="status")
            with Vertical(id="center"):
                with Charts(id="charts"):
                    yield from chart_panes()
                yield RunLog(id="log", flush_every=None)  # flushed by _redraw
        yield Story(id="story")
        with Horizontal(id="bottom"):
            yield RunsTable(id="runs", runs=lambda: self.session.runs, hidden=lambda: self.charts.hidden)
            yield RunDetails(id="details")
        yield KeysFooter(compact=True, show_command_palette=False)  # 80 columns: ctrl+p is in the help

    def on_mount(self) -> None:
        self.query_one("#params").border_title = "lrtui · parameters"
        self.query_one("#log").border_title = "log"
        self.query_one(RunDetails).show(None)
        self._fit_table()
        self.set_interval(REFRESH_S, self._redraw)
        self.set_interval(FOLLOW_S, self._follow)
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
            self.runner = self._new_runner(load_session(spec))
        except SessionError as e:
            self.log_view.note(f"could not open the session: {e}", style="bold red")
            self.notify(str(e), title="Could not open the session", severity="error", timeout=10, markup=False)
            return
        self.runs_table.rebuild(self.session.runs)
        self._fit_table()
        self._replot()
        self._show_story()
        n = len(self.session.runs)
        self.log_view.note(f"opened {self.session.file} ({n} run{'' if n == 1 else 's'})")

    @property
    def form(self) -> ParamsForm:
        return self.query_one(ParamsForm)

    @property
    def _closing_down(self) -> bool:
        """The app is closing and its widgets are being removed: a timer that fires now draws nothing."""
        return self._exit or self._closing or not self.screen_stack or not self.screen_stack[0].query(RunsTable)

    @property
    def runs_table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @property
    def log_view(self) -> RunLog:
        return self.query_one(RunLog)

    @property
    def training(self) -> bool:
        """The runner is training a batch (or is about to report that it stopped)."""
        return self.runner.training

    @property
    def waiting(self) -> bool:
        """Runs are queued behind the training ones."""
        return self.runner.waiting

    # -- devices -------------------------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="probe")
    def _probe(self) -> None:
        """Ask torch which devices exist (and the GPUs' names) without blocking the screen."""
        from lrtui.engine.config import probe_devices

        with quiet_collector():  # the collector would walk torch's objects four times while it loads
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

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """A worker that raised (a broken torch in the device probe, say): one line in the log, the app stays."""
        if event.state == WorkerState.ERROR and event.worker.group == "probe":
            error = event.worker.error
            what = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
            self.log_view.note(f"PyTorch could not be loaded ({' '.join(what.split())[:300]}): runs will fail "
                               "until torch is reinstalled for this machine", style="red")

    # -- starting runs -------------------------------------------------------------------
    def action_run(self) -> None:
        """Train with the form's values: one run per combination of the comma lists, queued behind any running one.

        A grid of more than GRID_CONFIRM runs is asked about first (a typo in a list can mean hours of training);
        the size comes from the raw fields, so the question is asked before building the configs.
        """
        if isinstance(self.screen, ConfirmScreen):
            return  # ctrl+r is a priority key: no second question over the first
        size = grid_size(self.form.values())
        if GRID_CONFIRM < size <= GRID_MAX and self.form.check():
            self.push_screen(ConfirmScreen(f"Train {size} runs?"), self._confirmed)
            return
        self._run_form()

    def _confirmed(self, yes: bool | None) -> None:
        if yes:
            self._run_form()
        else:
            self.notify("Nothing queued", timeout=2)

    def _run_form(self) -> None:
        """Queue the form's runs, or say what is wrong with it."""
        try:
            configs = self.form.configs()
        except ConfigError as e:
            field = self.form.first_invalid()
            if field is not None:
                field.focus()
            self.notify("; ".join(f"{k}: {v}" for k, v in e.errors.items()), title="Cannot start",
                        severity="error", markup=False)
            return
        self.enqueue(configs)
        if isinstance(self.focused, (Input, Select)):
            self.runs_table.focus()  # the form is done with: +, -, 1-3 and delete now work at once

    @on(ParamsForm.Submitted)
    def _submitted(self) -> None:
        self.action_run()

    def action_rerun(self, factor: float) -> None:
        """Rerun the selected run (else the last one, else the form) at once with its lr × factor.

        Only the lr changes; every other setting is the base run's own. The form is left as the
        user typed it, and the log and status line say which run was rerun and how.
        """
        base_run = self.session.book.get(self.runs_table.selected_id or "") or (
            self.session.runs[-1] if self.session.runs else None)
        if base_run is not None:
            base, whose = base_run.config, base_run.id
        else:
            try:
                base, whose = self.form.configs()[0], "the form"
            except ConfigError:
                self.notify("Fix the form first (or start a run with ctrl+r)", severity="error")
                return
        lr = _scaled_lr(base.lr, factor)
        try:
            parse_lrs(lr)
        except ConfigError as e:
            self.notify(f"lr {e.errors['lr']}", title="Cannot rerun", severity="error", markup=False)
            return
        change = "×10" if factor > 1 else "÷10"
        self.enqueue([base.with_lr(lr)], why=f"rerun of {whose} with lr {change} = {format_lr(lr)}")

    def enqueue(self, configs: Sequence[RunConfig], why: str = "") -> None:
        """Add runs to the session and the table as queued; the runner starts them in turn.

        ``why``: what these runs are, said in the log and the status line (a rerun says whose).
        """
        if self._quitting:
            return
        had_rows = self.runs_table.row_count > 0
        training = self.training
        notice = self.session.dataset_notice(configs)  # before the runs join: other data do not compare
        if notice:
            self.log_view.note(notice, style="yellow")
            self.notify(notice, title="Other data", severity="warning", timeout=8, markup=False)
        records = self.runner.enqueue(configs)
        for record in records:
            self.runs_table.show_run(record)
        self._sync_table()
        self._fit_table()
        self._dirty_story = True
        if not had_rows:
            self.refresh_bindings()  # delete has a run to remove now (the footer is rebuilt: only when it changes)
        label = records[0].id if len(records) == 1 else f"{records[0].id}–{records[-1].id}"
        what = f"{label}: {why}" if why else label
        if training:
            self.log_view.note(f"queued {what}")
        else:
            if why:
                self.log_view.note(what)
            first = "torch" not in sys.modules  # the first run of the process pays for importing torch
            self.query_one(RunStatus).idle(f"{what} · starting{' · loading torch' if first else ''}…")

    def _batch_done(self, done: BatchDone) -> None:
        """A batch has ended (every run has its final status): show it, then leave if quitting."""
        if done.error:
            self.log_view.note(f"training stopped: {done.error}", style="bold red")
            self.notify(done.error, title="Training stopped", severity="error", timeout=10, markup=False)
        batch = [r for r in map(self.session.book.get, done.run_ids) if r is not None]
        for record in batch:
            self.runs_table.show_run(record, hidden=record.id in self.charts.hidden)
        self._sync_table()
        self._show_story()
        if done.idle:
            self._logged = {}
            if self._quitting:
                self.exit()
                return
            self.query_one(RunStatus).idle(_sweep_outcome(batch))

    def _save_problem(self, problem: SaveProblem) -> None:
        """Tell the user once when the session cannot be saved (and once when it can again)."""
        if problem.error:
            self.notify(f"{problem.error}. Training goes on; the runs are kept in memory.", title="Not saved",
                        severity="warning", timeout=10, markup=False)
        else:
            self.notify(f"Session saved again: {self.session.file}", timeout=4, markup=False)

    # -- engine events -------------------------------------------------------------------
    def on_runner_update(self, message: RunnerUpdate) -> None:
        item = message.item
        if not self.screen_stack or self.detached:  # shutting down: the runner and the session have it
            return
        if isinstance(item, BatchDone):
            self._redraw()
            self._batch_done(item)
        elif isinstance(item, SaveProblem):
            self._save_problem(item)
        elif isinstance(item, Progress):
            self._progress = item  # drawn by the next _redraw
        else:
            self._show_event(item)

    def _show_event(self, event: Event) -> None:
        """An engine event the runner has already folded into the session: log now, the rest marked for redraw.

        Per-batch and per-epoch events only mark what changed; :meth:`_redraw` draws it at most
        every REFRESH_S. A run's start and end are drawn at once (rare, and the status line says them).
        """
        record = self.session.book.get(event.run_id)
        if record is None:
            return
        self.log_view.show(event, prefix=len(self.runner.active) > 1)
        if isinstance(event, BatchLog):
            self._logged.setdefault(event.run_id, {})[event.batch] = event.loss
            ratio = getattr(event, "update_ratio", None)
            if ratio:
                self._live_ratio[event.run_id] = dict(ratio)
                self._dirty_story = True
            self._dirty_batch = True
            return
        self._dirty_rows.add(record.id)
        self._dirty_charts = self._dirty_story = True
        if isinstance(event, RunStarted):
            self._logged[event.run_id] = {}
            self._progress = None
            running = self.runner.running()  # a stacked sweep's runs start together, others one by one
            what = event.config.label if len(running) == 1 else f"{len(running)} lrs at once"
            queued = len(self.runner.queued)
            self.query_one(RunStatus).started(self.runner.batch_label(), what,
                                              event.config.epochs * event.batches_per_epoch, queued)
            self._redraw()
            self.query_one(RunDetails).started(record)
        elif isinstance(event, EpochEnd):
            self._logged[event.run_id] = {}
            self._live_ratio.pop(event.run_id, None)
        elif isinstance(event, RunEnd):
            self._logged.pop(event.run_id, None)
            self._live_ratio.pop(event.run_id, None)
            self._redraw()  # the last progress too: the bar ends where the run did
            self._show_details_of(record)
            self._ended(record, event)

    def _follow(self) -> None:
        """Runs other processes add to this session, and their epochs as they land (a live viewer)."""
        if self._closing_down:
            return
        session = self.session
        changed = session.poll()
        removed = list(session.poll_removed)
        for record in changed:
            self._dirty_rows.add(record.id)
        for run_id in removed:
            self.runs_table.remove_run(run_id)
        if changed or removed:
            self._dirty_charts = self._dirty_story = True
            self._fit_table()
        others = tuple(sorted(plain_text(w.label) for w in session.writers() if w.alive and not w.is_self))
        if others != self._others:
            self._others = others
            self.runs_table.show_writers(others)
            if others:
                self.log_view.note(f"following this session live: written also by {', '.join(others)}")
        if session.follow_error and session.follow_error != self._follow_error:
            self.log_view.note(f"skipped a file while following: {session.follow_error}", style="yellow")
        self._follow_error = session.follow_error

    def _redraw(self) -> None:
        """Draw what changed since the last call, in one screen update (the REFRESH_S timer, and at once
        for a run's start and end)."""
        if self._closing_down:
            return
        if self.training != self._background:  # charts: built off the UI thread while training
            self._background = self.training
            self.charts.build_in_background(self._background)
        if not self._progress and not self._dirty_rows and not self.runs_table.stale and not (
                self._dirty_charts or self._dirty_batch or self._dirty_story or self.log_view.pending):
            return
        with self.batch_update():
            self.log_view.flush()  # queued log lines join this frame rather than make their own
            if self._progress is not None:
                self.query_one(RunStatus).progress(self._progress, self.runner.batch_label())
                self._progress = None
            if self.runs_table.folded:  # a group's row depends on all its seeds: rebuilt whole
                self.runs_table.stale = self.runs_table.stale or bool(self._dirty_rows)
                self._sync_table()
            else:
                for run_id in sorted(self._dirty_rows):
                    record = self.session.book.get(run_id)
                    if record is not None:
                        self.runs_table.show_run(record, hidden=run_id in self.charts.hidden)
            self._dirty_rows.clear()
            if self._dirty_charts:
                self._replot()
            elif self._dirty_batch:
                self._replot(batch_only=True)
            self._dirty_charts = self._dirty_batch = False
            if self._dirty_story:
                self._show_story()
                self._dirty_story = False

    def _show_details_of(self, record: RunRecord) -> None:
        """Bring the details pane up to date if it shows this run (each update lays out the screen)."""
        details = self.query_one(RunDetails)
        if details.run_id == record.id:
            details.show(record)

    def _ended(self, record: RunRecord, event: RunEnd) -> None:
        self.query_one(RunStatus).idle(_outcome(record))
        if event.status == "failed":
            self.notify(event.error or "the run failed", title=f"{record.id} failed", severity="error", timeout=10,
                        markup=False)
        elif event.status == "diverged":
            where = f" at epoch {event.diverged_at[0]}, batch {event.diverged_at[1]}" if event.diverged_at else ""
            self.notify(f"{record.config.label}: the loss became NaN/inf{where}", title=f"{record.id} diverged",
                        severity="warning", markup=False)

    @property
    def charts(self) -> Charts:
        return self.query_one(Charts)

    def _live_runs(self) -> list[RunRecord]:
        """The runs training now, their per-batch losses going on into the epoch in progress; else the selected run."""
        running = self.runner.running()
        if running:
            return [live_batch_losses(r, self._logged.get(r.id, {})) for r in running]
        selected = self.session.book.get(self.runs_table.selected_id or "")
        return [selected] if selected else []

    def _replot(self, *, batch_only: bool = False) -> None:
        """Redraw the charts in one screen update: every run per epoch, the live (or selected) runs per batch."""
        charts = self.charts
        with self.batch_update():
            if batch_only:
                charts.chart("batch-loss").replot(self._live_runs())
            else:
                charts.update_runs([r for r in self.session.runs if r.epochs or r.probes], self._live_runs())

    def story_run(self) -> RunRecord | None:
        """The run the story tells: the selected one, else the latest."""
        return self.session.book.get(self.runs_table.selected_id or "") or (
            self.session.runs[-1] if self.session.runs else None)

    def _show_story(self) -> None:
        run = self.story_run()
        self.query_one(Story).show(run, self._live_ratio.get(run.id) if run else None)

    def _fit_table(self) -> None:
        """The table is as tall as its runs (within limits): the charts get the rows an empty table would take."""
        rows = self.runs_table.row_count
        narrow = self.size.width < 120
        height = min(max(rows + 1, 3), 7) if narrow else min(max(rows + 3, 9), 22)
        bottom = self.query_one("#bottom")
        if bottom.styles.height is None or bottom.styles.height.value != height:
            bottom.styles.height = height

    def on_resize(self) -> None:
        self.call_after_refresh(self._fit_table)

    # -- the runs table ------------------------------------------------------------------
    @on(DataTable.RowHighlighted, "#runs")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        """A new run under the cursor: its details, story and per-batch chart. A rebuilt table highlights its
        rows again (first the top one, then the selected one): the selected run now decides, once."""
        run = self.session.book.get(self.runs_table.selected_id or "")
        details = self.query_one(RunDetails)
        if details.run_id == (run.id if run else None):
            return  # shown already (each show lays out the screen)
        details.show(run)
        self._show_story()
        if not self.training:
            self._replot(batch_only=True)

    def action_toggle_hidden(self) -> None:
        """space: leave the selected run out of the charts, or bring it back (it stays in the session)."""
        run_id = self.runs_table.selected_id
        record = self.session.book.get(run_id) if run_id else None
        if record is None:
            return
        hidden = self.charts.hidden
        ids = self.runs_table.group_of(self.session.runs, record.id)  # folded: the whole seed group
        if record.id in hidden:
            hidden.difference_update(ids)
        else:
            hidden.update(ids)
        self.runs_table.show_run(record, hidden=record.id in hidden)
        self._sync_table()
        self._replot()
        self.notify(f"{record.id} {'hidden from' if record.id in hidden else 'shown in'} the charts", timeout=2,
                    markup=False)

    def action_fold_seeds(self) -> None:
        """s: one row per setting, its seeds folded (best val as mean ± spread); again: one row per run."""
        table = self.runs_table
        table.folded = not table.folded
        table.rebuild(self.session.runs, self.charts.hidden)
        self._fit_table()
        self.notify("runs that differ only in seed: one row each" if table.folded else "one row per run",
                    timeout=2)

    def _sync_table(self) -> None:
        """Folded rows are rebuilt whole when a run changed (see :attr:`RunsTable.stale`)."""
        table = self.runs_table
        if table.folded and table.stale:
            table.rebuild(self.session.runs, self.charts.hidden)
            self._fit_table()

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
        why_not = self.runner.remove(run.id)
        if why_not:
            self.notify(why_not, severity="warning", markup=False)
            return
        self.runs_table.remove_run(run.id)
        self.charts.hidden.discard(run.id)
        self._sync_table()
        self._fit_table()
        self._replot()
        self._show_story()
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
        who = self.runner.batch_label()
        dropped = self.runner.cancel()
        for record in dropped:
            self.runs_table.show_run(record)
        more = f" and {len(dropped)} queued" if dropped else ""
        self.log_view.note(f"cancelling {who}{more}…", style="yellow")

    def stop(self) -> None:
        """Stop everything for good: no new runs, queued ones cancelled, the training ones stop within a batch."""
        for record in self.runner.stop():
            self.runs_table.show_run(record)

    async def action_quit(self) -> None:
        """Stop training and leave once the run has reported its end (so it is saved as cancelled).

        The engine stops within a batch, so this is quick; if it is not, the run is saved
        as interrupted after QUIT_WAIT_S and the app leaves anyway.
        """
        self._quitting = True
        self.stop()
        if not self.training:
            self.exit()
            return
        self.log_view.note("stopping the run before quitting…", style="yellow")
        self.set_timer(QUIT_WAIT_S, lambda: self.interrupt(0))

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every toast shows text from outside (paths, errors) with its control characters spelled out."""
        super().notify(printable(message), title=printable(title), severity=severity, timeout=timeout,
                       markup=markup)

    def interrupt(self, signum: int) -> None:
        """SIGTERM (or a run slow to stop on quit): mark running runs ``interrupted``, save, leave."""
        self.runner.interrupt()
        self.exit(return_code=128 + signum if signum else 0)

    def hang_up(self, signum: int) -> None:
        """SIGHUP: the terminal is gone. Runs left go on without a screen (unless the user opted out)."""
        if not hangup_keeps_training() or not self.runner.busy:
            self.interrupt(signum)
            return
        self.detached = True
        self.exit(return_code=0)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out keys that would do nothing now (shown dimmed in the footer)."""
        if action == "find_lr":
            return len(self.screen_stack) == 1  # not a second range test over the first
        if action in ("zoom", "log_axis", "full_screen", "show_chart", "toggle_hidden", "compare", "fold_seeds"):
            return len(self.screen_stack) == 1  # the main screen's charts, not under a dialog
        if action == "remove_run":
            tables = self.query(RunsTable)
            return True if tables and tables.first().row_count else None
        return True

    # -- other actions -------------------------------------------------------------------
    def action_leave_field(self) -> None:
        """Escape: back from full screen; in a form field, move to the runs table so single keys (+, -, delete) work."""
        if self.full_screen:
            self._show_full_screen(False)
        elif isinstance(self.focused, (Input, Select)):
            self.runs_table.focus()

    def action_find_lr(self) -> None:
        """The LR range test for the form's settings; Enter in it puts the suggestion into the lr field."""
        try:
            config = self.form.configs()[0]
        except ConfigError:
            self.notify("Fix the form first: the range test uses its settings", severity="error")
            return
        screen = FindLRScreen(config)
        self.push_screen(screen, partial(self._use_lr, screen, config.schedule == "onecycle"))

    def _use_lr(self, screen: FindLRScreen, onecycle: bool, lr: float | None) -> None:
        """Enter in the range test: its suggestion into the lr field (for onecycle, the schedule's peak)."""
        if lr is None:
            return
        what = ""
        if onecycle and screen.result is not None:
            from lrtui.engine.lrfind import onecycle_peak

            peak = onecycle_peak(screen.result.suggestions)
            if peak is not None:
                lr, what = peak, " as the onecycle peak"
        self.form.set_value("lr", format_lr(lr))
        self.notify(f"lr set to {format_lr(lr)}{what}: ctrl+r trains with it", title="LR range test", markup=False)

    def action_show_chart(self, name: str) -> None:
        """1–7 outside a text field: accuracy, loss, per-batch loss, update ratio, dead units, step probe, lr."""
        if name in CHART_IDS:
            self.charts.active = f"tab-{name}"

    def action_compare(self) -> None:
        """g: the grid's comparison (best validation accuracy by the two settings that vary); one line if not a grid."""
        from lrtui.plots.grouping import grid_table

        try:
            table = grid_table(self.session.runs)
        except ValueError:
            self.notify(NOT_A_GRID, severity="warning", markup=False)
            return
        self.push_screen(GridScreen(table))

    def action_zoom(self) -> None:
        """z: fit the shown chart's y axis to its data (again: back to the full axis)."""
        chart = self.charts.active_chart
        chart.set_view(zoom=not chart.zoomed)

    def action_log_axis(self) -> None:
        """l: log axis on the shown chart (accuracy: the error rate, 100% − accuracy, on a log axis)."""
        chart = self.charts.active_chart
        chart.set_view(log=not chart.log_scale)

    def action_full_screen(self) -> None:
        """f (or enter on a chart): the charts fill the screen, tabs, legend and live points included; escape: back.

        The shown chart takes the focus (the widget that had it is hidden); back, the focus returns there.
        """
        self._show_full_screen(not self.full_screen)

    def _show_full_screen(self, on: bool) -> None:
        """Hide (or show again) everything but the charts and the footer.

        Not Textual's maximize: that sets a class on the screen, which restyles every widget
        (~150 ms at 200x60, and as much again on the way back); hiding four panes lays out once.
        """
        if on == self.full_screen:
            return
        self.full_screen = on
        if on:
            self._focus_before_full_screen = self.focused
        with self.batch_update():
            for pane in _BESIDE_CHARTS:
                self.query_one(pane).display = not on
        if on:
            self.charts.active_chart.focus()
            return
        before, self._focus_before_full_screen = self._focus_before_full_screen, None
        if before is None or not before.is_attached or not before.focusable:
            before = self.runs_table
        before.focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_report(self) -> None:
        """Write report.md, report.html and session.json into the session folder; say where."""
        from lrtui.reports.report import write_reports

        if not any(r.status != "queued" for r in self.session.runs):
            self.notify("Nothing to report yet: train a run first (ctrl+r)", severity="warning")
            return
        try:
            paths = write_reports(self.session)
        except (OSError, OutputError) as e:
            self.notify(f"Could not write the report: {e}", severity="error", markup=False)
            return
        self.log_view.note(f"report written: {', '.join(str(p) for p in paths)}", style="green")
        self.notify(str(paths[0].parent), title="Report written", timeout=8, markup=False)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette offers every action of the keyboard, named by its key's tooltip."""
        yield from super().get_system_commands(screen)  # Textual's own include Quit
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.tooltip and binding.id != "quit":
                key = binding.key_display or binding.key
                yield SystemCommand(binding.tooltip, f"key: {key}", partial(self.run_action, binding.action))


def run_app(initial: dict[str, str], open_session: str | None) -> int:
    """Start the app (``lrtui`` without a subcommand): form pre-filled from flags, optionally a saved session.

    When the terminal goes away with runs left (SIGHUP), the screen closes and this process
    trains them to the end headless, saving as it goes; ``lrtui --open last`` watches it.
    On the way out it prints where the session is and how to reopen it.

    Returns the exit code, except once torch has been loaded: then the process ends here
    (see :func:`lrtui.tui.process.leave`), so that quitting takes well under the 2 s it must.
    """
    app = LRTuiApp(initial=initial, session=open_session)
    # our own loop: App.run() would use asyncio.run(), which joins the worker threads' executor
    # without a timeout, so a worker slow to stop (a first torch import, CUDA start-up, a
    # download) would hold the shell prompt after the screen is gone
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    with on_signals(hangup=app.hang_up, terminate=app.interrupt):
        try:
            app.run(loop=loop)
        except OSError:  # the terminal vanished while the screen was being restored
            app.detached = app.detached or app.runner.busy
    code = app.return_code or 0
    if app.detached:
        code = train_on_headless(app.runner)
    app.runner.close()  # the final save; this process no longer writes the session
    if not app.detached:
        say_where(app.session)
    if "torch" in sys.modules:
        leave(code)
    return code
