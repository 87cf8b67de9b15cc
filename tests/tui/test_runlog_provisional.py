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
            for ev in (verdict("r1", 10, VerdictLabel.TOO_EARLY, "at chance"),
                       verdict("r1", 20, VerdictLabel.TOO_EARLY, "at chance again"),
                       verdict("r2", 20, VerdictLabel.TOO_SLOW, "steps too small"),
                       verdict("r1", 30, VerdictLabel.NOT_LEARNING, "dying ReLUs [bold]x[/]"),
                       verdict("r1", 40, VerdictLabel.NOT_LEARNING, "dying ReLUs still")):
                log.show(ev, prefix=True)
            log.flush()
            await pilot.pause()
            return [line.text for line in log.lines]

    lines = asyncio.run(scenario())
    assert lines == ["[r1] provisional at step 10: too early: at chance",
                     "[r2] provisional at step 20: too slow: steps too small",
                     "[r1] provisional at step 30: not learning: dying ReLUs [bold]x[/]"]
