"""The app's log says a provisional verdict once per change of label, marked provisional, and shows it as text."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult

from lrtui.engine.events import ProvisionalVerdict, Verdict, VerdictLabel
from lrtui.tui.widgets.runlog import RunLog


class LogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RunLog(id="log", flush_every=None)


def verdict(run_id: str, step: int, label: VerdictLabel, reason: str) -> ProvisionalVerdict:
    return ProvisionalVerdict(run_id, step, Verdict(label, reason, "hint"))


def test_a_line_when_the_label_changes_not_at_every_log_point() -> None:
    async def scenario() -> list[str]:
        app = LogApp()
        async with app.run_test(size=(200, 20)) as pilot:
            log = app.query_one(RunLog)
            for ev in (
                verdict("r1", 10, VerdictLabel.TOO_EARLY, "at chance"),
                verdict("r1", 20, VerdictLabel.TOO_EARLY, "at chance again"),
                verdict("r2", 20, VerdictLabel.TOO_SLOW, "steps too small"),
                verdict("r1", 30, VerdictLabel.NOT_LEARNING, "dying ReLUs [bold]x[/]"),
                verdict("r1", 40, VerdictLabel.NOT_LEARNING, "dying ReLUs still"),
            ):
                log.show(ev, prefix=True)
            log.flush()
            await pilot.pause()
            return [line.text for line in log.lines]

    lines = asyncio.run(scenario())
    assert lines == [
        "[r1] provisional at step 10: too early: at chance",
        "[r2] provisional at step 20: too slow: steps too small",
        "[r1] provisional at step 30: not learning: dying ReLUs [bold]x[/]",
    ]


def test_the_story_line_says_the_provisional_verdict_of_a_running_run() -> None:
    """It said "running, epoch 1/5 · no verdict yet" while the log already knew lr 0.5 was dying."""
    from lrtui.engine.config import RunConfig
    from lrtui.sessions.record import RunRecord
    from lrtui.tui.widgets.story import headline, hint_line

    run = RunRecord(id="r1", config=RunConfig(lr=0.5), status="running")
    assert "no verdict yet" in headline(run).plain
    run.apply(verdict("r1", 1250, VerdictLabel.NOT_LEARNING, "dying ReLUs: 100% of fc1 [x]"))
    line = headline(run).plain
    assert "provisional at step 1,250: not learning: dying ReLUs: 100% of fc1 [x]" in line
    assert "no verdict yet" not in line and hint_line(run).plain == "hint: hint"


def test_a_provisional_verdict_or_trace_points_redraw_the_story_and_row_not_the_charts() -> None:
    """Each log point sends both: marking the charts made every chart rebuild at every log point."""
    from lrtui.engine.events import TracePoints
    from lrtui.tui.redraw import Redraw

    redraw = Redraw(screen=None)  # type: ignore[arg-type]
    redraw.note(verdict("r1", 10, VerdictLabel.TOO_EARLY, "at chance"))
    redraw.note(TracePoints("r1", (), 32))
    assert redraw.story and not redraw.charts and not redraw.batch
    assert redraw.rows == {"r1"}  # the runs table shows the provisional verdict in its row
