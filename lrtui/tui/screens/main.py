"""The main screen: parameters, live log, live charts, runs table and details, and the keys that work on them.

Its bindings are the screen's, not the app's, so a dialog over it (help, details, a question,
the range test) is never reached by them. It shows what the app's runner reports: events
mark what changed (see :mod:`lrtui.tui.redraw`), drawn at most once a second.

This module must not import torch: the first frame appears before it loads.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Input, Select
from textual.worker import Worker, WorkerState

from lrtui.engine.config import GRID_CONFIRM, GRID_MAX, ConfigError, RunConfig, format_lr, grid_size, parse_lrs
from lrtui.engine.events import Event, RunEnd, RunStarted
from lrtui.printable import plain_text
from lrtui.runner import Runner, RunsDone, quiet_collector
from lrtui.sessions.outputs import OutputError
from lrtui.sessions.record import RunRecord
from lrtui.sessions.schema import SessionError
from lrtui.sessions.store import Session
from lrtui.tui.keys import bindings
from lrtui.tui.messages import DevicesFound
from lrtui.tui.process import find_devices, preload_training
from lrtui.tui.redraw import REFRESH_S, Redraw
from lrtui.tui.screens.chart_keys import ChartKeys
from lrtui.tui.screens.confirm import ConfirmScreen
from lrtui.tui.screens.details import DetailsScreen
from lrtui.tui.screens.find_lr import FindLRScreen
from lrtui.tui.screens.help import HelpScreen
from lrtui.tui.widgets.charts import Charts, chart_panes
from lrtui.tui.widgets.details import RunDetails
from lrtui.tui.widgets.footer import KeysFooter
from lrtui.tui.widgets.params import ParamsForm, check_factories
from lrtui.tui.widgets.runlog import RunLog
from lrtui.tui.widgets.runs_table import RunsTable
from lrtui.tui.widgets.status import RunStatus, outcome, sweep_outcome
from lrtui.tui.widgets.story import Story

if TYPE_CHECKING:
    from lrtui.tui.app import LRTuiApp

FOLLOW_S = 1.0  #: how often the session folder is looked at for other processes' runs (a few stat calls)
_BESIDE_CHARTS = ("#side", "#log", "#story", "#bottom")  #: what full screen (f) hides


def _scaled_lr(lr: float, factor: float) -> float:
    """lr × factor without float noise: 0.001 × 10 is 0.01, not 0.010000000000000002."""
    return float(f"{lr * factor:.12g}")


class MainScreen(ChartKeys):
    """One screen to train the MNIST CNN and see what the learning rate does."""

    BINDINGS = bindings()

    def __init__(
        self,
        initial: Mapping[str, object],
        session: str | os.PathLike[str] | None = None,
        *,
        detect_devices: bool = True,
        cursor_blink: bool = True,
    ) -> None:
        """``session``: a saved session to open once the screen is up (its errors are shown there)."""
        super().__init__()
        self.initial = dict(initial)
        self._session_spec = session
        self._detect_devices = detect_devices
        self._cursor_blink = cursor_blink
        self.redraw = Redraw(self)
        self._others: tuple[str, ...] = ()  #: other live writers of the session, as last shown
        self._follow_error: str | None = None
        self.full_screen = False  #: f: the charts fill the screen
        self._focus_before_full_screen: Widget | None = None  #: where focus goes back to after full screen

    @property
    def lrtui(self) -> LRTuiApp:
        return cast("LRTuiApp", self.app)

    @property
    def runner(self) -> Runner:
        return self.lrtui.runner

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
                yield RunLog(id="log", flush_every=None)  # flushed by the redraw
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
        self.set_interval(REFRESH_S, self.redraw.draw)
        self.set_interval(FOLLOW_S, self._follow)
        if not self._cursor_blink:
            for field in self.query(Input):
                field.cursor_blink = False
        self.log_view.note(
            "ctrl+r trains with these settings · a comma list in lr (0.5, 0.01, 1e-4) compares them · f1: every key"
        )
        if self._session_spec is not None:
            self._open(self._session_spec)
        self.query_one("#f-lr", Input).focus()
        if self._detect_devices:
            self.set_timer(0.3, self._detect)  # after the first frame: importing torch takes seconds
        with contextlib.suppress(ConfigError):  # an invalid form says why; a run checks its network when it starts
            if self.form.factories:  # after the first frame too: it imports torch
                self.set_timer(0.3, partial(self._check_model, self.form.configs()[0]))

    def _open(self, spec: str | os.PathLike[str]) -> None:
        """Load a saved session: its runs fill the table and charts, and new runs append to it."""
        try:
            self.lrtui.open(spec)
        except SessionError as e:
            self.log_view.note(f"could not open the session: {e}", style="bold red")
            self.notify(str(e), title="Could not open the session", severity="error", timeout=10, markup=False)
            return
        self.runs_table.rebuild(self.session.runs)
        self._fit_table()
        self.redraw.replot()
        self.redraw.show_story()
        n = len(self.session.runs)
        self.log_view.note(f"opened {self.session.file} ({n} run{'' if n == 1 else 's'})")

    @property
    def form(self) -> ParamsForm:
        return self.query_one(ParamsForm)

    @property
    def closing_down(self) -> bool:
        """The app is closing and its widgets are being removed: a timer that fires now draws nothing."""
        app = self.app
        return app._exit or app._closing or not app.screen_stack or not self.query(RunsTable)

    @property
    def runs_table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @property
    def log_view(self) -> RunLog:
        return self.query_one(RunLog)

    @property
    def charts(self) -> Charts:
        return self.query_one(Charts)

    # -- devices -------------------------------------------------------------------------
    @work(thread=True, exit_on_error=False, group="devices")
    def _detect(self) -> None:
        """Ask torch which devices exist (and the GPUs' names) without blocking the screen."""
        with quiet_collector():  # the collector would walk torch's objects four times while it loads
            self.post_message(DevicesFound(*find_devices()))
            preload_training()

    @work(thread=True, exit_on_error=False, group="model")
    def _check_model(self, config: RunConfig) -> None:
        """The --model network's name and size (or why it does not fit) into the form, found off the UI thread."""
        with quiet_collector():
            self.app.call_from_thread(self.form.show_model, *check_factories(config))

    def on_devices_found(self, message: DevicesFound) -> None:
        self.form.set_devices(message.devices, message.names)

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """A worker that raised (a broken torch in the device probe, say): one line in the log, the app stays."""
        if event.state == WorkerState.ERROR and event.worker.group == "devices":
            error = event.worker.error
            what = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
            self.log_view.note(
                f"PyTorch could not be loaded ({' '.join(what.split())[:300]}): runs will fail "
                "until torch is reinstalled for this machine",
                style="red",
            )

    # -- starting runs -------------------------------------------------------------------
    def action_run(self) -> None:
        """Train with the form's values: one run per combination of the comma lists, queued behind any running one.

        A grid of more than GRID_CONFIRM runs is asked about first (a typo in a list can mean hours of training);
        the size comes from the raw fields, so the question is asked before building the configs.
        """
        size = grid_size(self.form.values())
        if GRID_CONFIRM < size <= GRID_MAX and self.form.check():
            self.app.push_screen(ConfirmScreen(f"Train {size} runs?"), self._confirmed)
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
            self.notify(
                "; ".join(f"{k}: {v}" for k, v in e.errors.items()),
                title="Cannot start",
                severity="error",
                markup=False,
            )
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
        base_run = self.story_run()
        if base_run is not None:
            base, whose = base_run.config, base_run.id
        else:
            try:
                base, whose = self.form.configs()[0], "the form"
            except ConfigError:
                self.notify("Fix the form first (or start a run with ctrl+r)", severity="error")
                return
        if not self.form.loads(base):  # its network or data file runs code: only a flag may load it
            self.notify(
                f"{whose} trained {base.model or base.data}: start lrtui with that --model/--data to rerun it",
                title="Cannot rerun",
                severity="error",
                markup=False,
            )
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
        if self.lrtui.quitting:
            return
        had_rows = self.runs_table.row_count > 0
        training = self.runner.training
        notice = self.session.dataset_notice(configs)  # before the runs join: other data do not compare
        if notice:
            self.log_view.note(notice, style="yellow")
            self.notify(notice, title="Other data", severity="warning", timeout=8, markup=False)
        records = self.runner.enqueue(configs)
        for record in records:
            self.runs_table.show_run(record)
        self.sync_table()
        self._fit_table()
        self.redraw.story = True
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

    # -- what the runner reports ---------------------------------------------------------
    def batch_done(self, done: RunsDone) -> None:
        """A batch has ended (every run has its final status): show it, then leave if quitting."""
        self.redraw.draw()
        if done.error:
            self.log_view.note(f"training stopped: {done.error}", style="bold red")
            self.notify(done.error, title="Training stopped", severity="error", timeout=10, markup=False)
        batch = [r for r in map(self.session.book.get, done.run_ids) if r is not None]
        for record in batch:
            self.runs_table.show_run(record, hidden=record.id in self.charts.hidden)
        self.sync_table()
        self.redraw.show_story()
        if done.idle:
            self.redraw.logged = {}
            if self.lrtui.quitting:
                self.app.exit()
                return
            self.query_one(RunStatus).idle(sweep_outcome(batch))

    def show_event(self, event: Event) -> None:
        """An engine event the runner has already folded into the session: log now, the rest marked for redraw.

        A run's start and end are drawn at once (rare, and the status line says them).
        """
        record = self.session.book.get(event.run_id)
        if record is None:
            return
        self.log_view.show(event, prefix=len(self.runner.active) > 1)
        self.redraw.note(event)
        if isinstance(event, RunStarted):
            running = self.runner.running()  # a stacked sweep's runs start together, others one by one
            what = event.config.label if len(running) == 1 else f"{len(running)} lrs at once"
            queued = len(self.runner.queued)
            self.query_one(RunStatus).started(
                self.runner.batch_label(), what, event.config.epochs * event.batches_per_epoch, queued
            )
            self.redraw.draw()
            self.query_one(RunDetails).started(record)
        elif isinstance(event, RunEnd):
            self.redraw.draw()  # the last progress too: the bar ends where the run did
            details = self.query_one(RunDetails)
            if details.run_id == record.id:  # each update lays out the screen
                details.show(record)
            self._ended(record, event)

    def _follow(self) -> None:
        """Runs other processes add to this session, and their epochs as they land (a live viewer)."""
        if self.closing_down:
            return
        session = self.session
        changed = session.poll()
        removed = list(session.poll_removed)
        for record in changed:
            self.redraw.run_changed(record.id)
        for run_id in removed:
            self.runs_table.remove_run(run_id)
        if changed or removed:
            self.redraw.charts = self.redraw.story = True
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

    def _ended(self, record: RunRecord, event: RunEnd) -> None:
        self.query_one(RunStatus).idle(outcome(record))
        if event.status == "failed":
            self.notify(
                event.error or "the run failed", title=f"{record.id} failed", severity="error", timeout=10, markup=False
            )
        elif event.status == "diverged":
            where = f" at epoch {event.diverged_at[0]}, batch {event.diverged_at[1]}" if event.diverged_at else ""
            self.notify(
                f"{record.config.label}: the loss became NaN/inf{where}",
                title=f"{record.id} diverged",
                severity="warning",
                markup=False,
            )

    def story_run(self) -> RunRecord | None:
        """The run the story tells (and + and - rerun): the selected one, else the latest."""
        return self.session.book.get(self.runs_table.selected_id or "") or (
            self.session.runs[-1] if self.session.runs else None
        )

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
        self.redraw.show_story()
        if not self.runner.training:
            self.redraw.replot(batch_only=True)

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
        self.sync_table()
        self.redraw.replot()
        self.notify(
            f"{record.id} {'hidden from' if record.id in hidden else 'shown in'} the charts", timeout=2, markup=False
        )

    def action_fold_seeds(self) -> None:
        """s: one row per setting, its seeds folded (best val as mean ± spread); again: one row per run."""
        table = self.runs_table
        table.folded = not table.folded
        table.rebuild(self.session.runs, self.charts.hidden)
        self._fit_table()
        self.notify("runs that differ only in seed: one row each" if table.folded else "one row per run", timeout=2)

    def sync_table(self) -> None:
        """Folded rows are rebuilt whole when a run changed (see :attr:`RunsTable.stale`)."""
        table = self.runs_table
        if table.folded and table.stale:
            table.rebuild(self.session.runs, self.charts.hidden)
            self._fit_table()

    @on(DataTable.RowSelected, "#runs")
    def _selected(self, event: DataTable.RowSelected) -> None:
        run = self.session.book.get(str(event.row_key.value))
        if run is not None:
            self.app.push_screen(DetailsScreen(run))

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
        self.sync_table()
        self._fit_table()
        self.redraw.replot()
        self.redraw.show_story()
        self.query_one(RunDetails).show(self.session.book.get(self.runs_table.selected_id or ""))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out delete while there is no run to remove (shown dimmed in the footer)."""
        if action == "remove_run":
            tables = self.query(RunsTable)
            return True if tables and tables.first().row_count else None
        return True

    # -- other actions -------------------------------------------------------------------
    def action_cancel(self) -> None:
        """Stop the running run within a batch (its finished epochs stay) and drop the queued ones.

        Always enabled, even when idle: a disabled binding would hand ctrl+x on to the focused
        Input, whose "cut" takes its text (all of it, as focusing selects it).
        """
        if not self.runner.training:
            self.notify("Nothing is running", timeout=2)
            return
        who = self.runner.batch_label()
        dropped = self.runner.cancel()
        for record in dropped:
            self.runs_table.show_run(record)
        more = f" and {len(dropped)} queued" if dropped else ""
        self.log_view.note(f"cancelling {who}{more}…", style="yellow")

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
        self.app.push_screen(screen, partial(self._use_lr, screen, config.schedule == "onecycle"))

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
        with self.app.batch_update():
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
        self.app.push_screen(HelpScreen())

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
