"""Where the step probe and a run disagree, the report and the details panel say which to believe and why,
in one sentence; where they agree, or while the run trains, they say nothing of the kind."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.widgets import Static

from lrtui.engine.config import RunConfig
from lrtui.engine.events import RunState
from lrtui.engine.records import EpochRecord, ProbeRecord
from lrtui.reports.run_details import _probe_summary
from lrtui.sessions.record import RunRecord
from lrtui.tui.widgets.details import RunDetails

LRS = (0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0, 3.16)
#: measured on the 5k digits from the initial weights (batch 10, 16 minibatches)
LOSSES = (2.2940, 2.2939, 2.2938, 2.2934, 2.2937, 2.2991, 2.3444, 3.9408)
RAISED = (0.25, 0.25, 0.25, 0.25, 0.4375, 0.6875, 0.875, 1.0)


def run_of(lr: float, val_acc: float, status: RunState = RunState.FINISHED) -> RunRecord:
    """A run of ``lr`` whose probe before training measured real steps, and one epoch at ``val_acc``."""
    probe = ProbeRecord(0, LRS, LOSSES, lr, 2.2940, RAISED, None, 16)
    return RunRecord(
        id="r1", config=RunConfig(lr=lr), status=status, epochs=[EpochRecord.of(1, val_acc=val_acc)], probes=[probe]
    )


def test_the_report_says_to_believe_the_run_that_learned_with_steps_the_probe_calls_unsafe() -> None:
    text = _probe_summary(run_of(1.0, 0.93))
    assert "a step of 1 (the run's lr) raises the loss on 88% of 16 minibatches" in text  # the probe's own sentence
    assert "The probe and the run disagree: the run learned (93% validation accuracy)" in text
    assert text.count("believe the run") == 1


def test_no_belief_sentence_where_they_agree_or_while_the_run_trains() -> None:
    assert "disagree" not in _probe_summary(run_of(0.01, 0.95))  # safe steps, and the run learned
    assert "disagree" not in _probe_summary(run_of(1.0, 0.93, RunState.RUNNING))  # no outcome yet


class DetailsApp(App[None]):
    def __init__(self, run: RunRecord) -> None:
        super().__init__()
        self.run = run

    def compose(self) -> ComposeResult:
        yield RunDetails(id="details")

    def on_mount(self) -> None:
        self.query_one(RunDetails).show(self.run)


def _probe_text(run: RunRecord) -> tuple[bool, str]:
    async def scenario() -> tuple[bool, str]:
        app = DetailsApp(run)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            static = app.query_one("#details-probe", Static)
            return static.display, str(static.render())

    return asyncio.run(scenario())


def test_the_details_panel_shows_the_probe_and_whom_to_believe() -> None:
    shown, text = _probe_text(run_of(1.0, 0.93))
    assert shown and "step probe: Before training, a step of 1 (the run's lr)" in text
    assert "The probe and the run disagree" in text and "believe the run" in text
    shown, text = _probe_text(run_of(0.01, 0.95))
    assert shown and "step probe:" in text and "disagree" not in text
