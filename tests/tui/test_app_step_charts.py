"""The app's Steps and Dead tabs per step and the story's numbers from the step trace, on a real session:
lr 0.5 and lr 0.01 on 1,000 of the embedded digits for one epoch (seed 0, CPU)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from lrtui.engine.events import TracePoints
from lrtui.tui.app import LRTuiApp
from lrtui.tui.redraw import Redraw
from lrtui.tui.widgets.charts import Charts, _signature
from lrtui.tui.widgets.story import Story, diagnostics_line


@pytest.fixture(scope="module")
def two_lrs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lrtui.engine.config import parse_configs
    from lrtui.engine.sweep import run_many
    from lrtui.sessions.store import Session

    session = Session.create(tmp_path_factory.mktemp("steps") / "sessions")
    configs = parse_configs({"lr": "0.5, 0.01", "epochs": "1", "train_limit": "1000", "device": "cpu"})
    run_many(configs, [session.add(c).id for c in configs], session.observe)
    session.close()
    return session.file


def open_app(session: Path) -> LRTuiApp:
    return LRTuiApp(initial={"device": "cpu"}, session=str(session), detect_devices=False, cursor_blink=False)


async def select(app: LRTuiApp, pilot: Any, row: int) -> None:
    table = app.query_one(DataTable)
    table.focus()
    table.move_cursor(row=row)
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_steps_and_dead_tabs_draw_single_steps(two_lrs: Path, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = open_app(two_lrs)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            charts = app.query_one(Charts)
            charts.active = "tab-steps"
            await pilot.pause()
            steps = charts.chart("steps").picture().plain
            charts.active = "tab-dead"
            await pilot.pause()
            dead = charts.chart("dead").picture().plain
            if size == (160, 48):
                assert "Update ratio of single steps (log)" in steps and "step (log)" in steps
                assert "Dead ReLU units (%) on 32 fixed probe images, not the validation set" in dead
            else:  # short charts: no title, but the dead one still says what it is measured on
                assert "dead % on 32 probe images, not the val set" in dead
            for picture in (steps, dead):
                assert " 10 " in picture.splitlines()[-1 if size == (80, 24) else -2], "the log step axis's ticks"

    asyncio.run(scenario())


def test_story_tells_the_trace_in_numbers(two_lrs: Path) -> None:
    async def scenario() -> None:
        app = open_app(two_lrs)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            story = app.query_one(Story)
            await select(app, pilot, 0)  # lr 0.5
            line = diagnostics_line(app.session.runs[0])
            assert any(shown.plain.startswith(line.plain[:100]) for shown in story.lines(200, 3))  # (cut at the width)
            assert "dead between step" in line.plain and "of its weights" in line.plain
            assert any(span.style == "red" and "went from" in line.plain[span.start : span.end] for span in line.spans)
            await select(app, pilot, 1)  # lr 0.01
            line = diagnostics_line(app.session.runs[1])
            assert any(shown.plain.startswith(line.plain[:100]) for shown in story.lines(200, 3))  # (cut at the width)
            assert line.plain.startswith("dead units did not spread: fc1")
            trace_part = line.plain.split(" · ")[0:2]
            assert all(span.style != "red" for span in line.spans if line.plain[span.start : span.end] in trace_part), (
                "nothing alarming"
            )

    asyncio.run(scenario())


def test_new_trace_points_redraw_the_step_charts_and_the_story_only() -> None:
    redraw = Redraw(screen=None)  # type: ignore[arg-type]
    redraw.note(TracePoints("r1", (), 32))
    assert redraw.steps and redraw.story and not redraw.charts and not redraw.batch


def test_the_step_charts_change_with_the_trace(two_lrs: Path) -> None:
    from lrtui.sessions.listing import load_session

    runs = load_session(two_lrs).runs
    before = _signature(runs, "steps")
    assert runs[0].step_trace is not None
    runs[0].step_trace.extend(runs[0].step_trace.points[-1:])
    assert _signature(runs, "steps") != before and _signature(runs, "epochs") == _signature(runs, "epochs")
