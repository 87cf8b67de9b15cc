"""What changed since the last frame, and the frame that draws it (at most once a second while training).

Engine events only mark what they changed (a table row, the charts, the per-batch chart, the
story, the progress bar); :meth:`Redraw.draw` draws it all in one screen update on the
REFRESH_S clock, or at once for a run's start and end. Keys are handled at once, not on this clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lrtui.engine.events import (
    BatchLog,
    EpochEnd,
    Event,
    Progress,
    ProvisionalVerdict,
    RunEnd,
    RunStarted,
    TracePoints,
)
from lrtui.sessions.record import RunRecord
from lrtui.tui.widgets.charts import STEP_PANES, live_batch_losses
from lrtui.tui.widgets.status import RunStatus
from lrtui.tui.widgets.story import Story

if TYPE_CHECKING:
    from lrtui.tui.screens.main import MainScreen

#: While training, the charts, table rows, story, log lines and progress bar are drawn together at most this
#: often, whatever the rate of events: every frame holds the GIL the training thread needs (a frame at 160x48
#: is 15-35 ms of the UI thread, a chart rebuild ~40 ms).
REFRESH_S = 1.0


class Redraw:
    """The main screen's dirty flags and live per-batch data, and the frame that draws them."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self.rows: set[str] = set()  #: runs whose table row changed
        self.charts = False  #: every chart (a new epoch, run or probe)
        self.batch = False  #: the per-batch loss chart only
        self.steps = False  #: the per-step charts only (new step trace points)
        self.story = False
        self.progress: Progress | None = None  #: the latest progress, drawn by the next frame
        self.background = False  #: charts are being built on worker threads (while training)
        #: per running run, the logged batch losses of its epoch in progress ({batch number: loss})
        self.logged: dict[str, dict[int, float]] = {}
        #: per running run, the update ratios of its latest logged batch (the story shows them live)
        self.live_ratio: dict[str, dict[str, float]] = {}

    def run_changed(self, run_id: str) -> None:
        """A run's row, the charts and the story are out of date."""
        self.rows.add(run_id)
        self.charts = self.story = True

    def note(self, event: Event) -> None:
        """Mark what an engine event changed (the session has it already)."""
        if isinstance(event, BatchLog):
            self.logged.setdefault(event.run_id, {})[event.batch] = event.loss
            ratio = getattr(event, "update_ratio", None)
            if ratio:
                self.live_ratio[event.run_id] = dict(ratio)
                self.story = True
            self.batch = True
            return
        if isinstance(event, ProvisionalVerdict):  # the story and the run's row (its verdict) say it; no chart
            self.story = True
            self.rows.add(event.run_id)
            return
        if isinstance(event, TracePoints):  # the Steps and Dead charts draw them, the story tells them
            self.steps = self.story = True
            return
        self.run_changed(event.run_id)
        if isinstance(event, RunStarted):
            self.logged[event.run_id] = {}
            self.progress = None
        elif isinstance(event, EpochEnd):
            self.logged[event.run_id] = {}
            self.live_ratio.pop(event.run_id, None)
        elif isinstance(event, RunEnd):
            self.logged.pop(event.run_id, None)
            self.live_ratio.pop(event.run_id, None)

    def draw(self) -> None:
        """Draw what changed since the last call, in one screen update (the REFRESH_S timer, and at once
        for a run's start and end)."""
        screen = self.screen
        if screen.closing_down:
            return
        training = screen.runner.training
        if training != self.background:  # charts: built off the UI thread while training
            self.background = training
            screen.charts.build_in_background(training)
        table, log = screen.runs_table, screen.log_view
        if (
            not self.progress
            and not self.rows
            and not table.stale
            and not (self.charts or self.batch or self.steps or self.story or log.pending)
        ):
            return
        with screen.app.batch_update():
            log.flush()  # queued log lines join this frame rather than make their own
            if self.progress is not None:
                runner = screen.runner
                screen.query_one(RunStatus).progress(
                    self.progress, runner.batch_label(), runner.system, runner.torch_threads
                )
                self.progress = None
            if table.folded:  # a group's row depends on all its seeds: rebuilt whole
                table.stale = table.stale or bool(self.rows)
                screen.sync_table()
            else:
                for run_id in sorted(self.rows):
                    record = screen.session.book.get(run_id)
                    if record is not None:
                        table.show_run(record, hidden=run_id in screen.charts.hidden)
            self.rows.clear()
            if self.charts:
                self.replot()
            else:
                if self.batch:
                    self.replot(batch_only=True)
                if self.steps:
                    self.replot(panes=STEP_PANES)
            self.charts = self.batch = self.steps = False
            if self.story:
                self.show_story()
                self.story = False

    def live_runs(self) -> list[RunRecord]:
        """The runs training now, their per-batch losses going on into the epoch in progress; else the selected run."""
        screen = self.screen
        running = screen.runner.running()
        if running:
            return [live_batch_losses(r, self.logged.get(r.id, {})) for r in running]
        selected = screen.session.book.get(screen.runs_table.selected_id or "")
        return [selected] if selected else []

    def replot(self, *, batch_only: bool = False, panes: tuple[str, ...] | None = None) -> None:
        """Redraw the charts (or these ``panes``) in one screen update: every run per epoch and per step, the live
        (or selected) runs per batch."""
        screen = self.screen
        charts = screen.charts
        with screen.app.batch_update():
            if batch_only:
                charts.chart("batch-loss").replot(self.live_runs())
            else:
                charts.update_runs(
                    [r for r in screen.session.runs if r.epochs or r.probes or r.step_trace], self.live_runs(), panes
                )

    def show_story(self) -> None:
        """The story line of the selected (else the latest) run, with its live update ratios while it trains."""
        run = self.screen.story_run()
        self.screen.query_one(Story).show(run, self.live_ratio.get(run.id) if run else None)
