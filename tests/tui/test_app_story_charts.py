"""The screen tells the story, and the charts can be studied: story line, zoom, log, full screen,
hidden runs, colours, axes — on a real saved session of the three lessons (lr 0.5, 0.01, 1e-4).

``data/lessons-session.json`` is what ``run_many`` left after training lr 0.5, 0.01 and 1e-4 for
3 epochs on 1,000 of the embedded digits (seed 0, CPU): real records, fixed, so the assertions
and snapshots do not depend on this machine's timing.
"""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.color import Color
from textual.widgets import DataTable, Input

from lrtui.engine.config import RunConfig
from lrtui.plots import axes, palette
from lrtui.plots import terminal_charts as charts
from lrtui.plots.palette import HEALTHY_UPDATE
from lrtui.sessions.listing import load_session
from lrtui.sessions.record import RunRecord
from lrtui.tui.app import LRTuiApp
from lrtui.tui.widgets.charts import Charts, RunChart
from lrtui.tui.widgets.params import FIELDS, MAX_LENGTH, MAX_LENGTH_LR
from lrtui.tui.widgets.story import Story

LESSONS = Path(__file__).parent / "data" / "lessons-session.json"
SIZES = [(80, 24), (160, 48)]
SIZE_IDS = ["80x24", "160x48"]


@pytest.fixture
def lessons(tmp_path: Path) -> Path:
    """A copy of the lessons session (the app may append to it)."""
    folder = tmp_path / "lessons"
    folder.mkdir()
    shutil.copy(LESSONS, folder / "session.json")
    return folder / "session.json"


def open_app(session: Path) -> LRTuiApp:
    return LRTuiApp(
        initial={"device": "cpu", "train_limit": "200", "epochs": "1"},
        session=str(session),
        detect_devices=False,
        cursor_blink=False,
    )


def story_text(app: LRTuiApp) -> str:
    story = app.query_one(Story)
    return "\n".join(line.plain for line in story.lines(story.content_size.width, story.content_size.height))


async def select(app: LRTuiApp, pilot: Any, row: int) -> None:
    table = app.query_one(DataTable)
    table.focus()
    table.move_cursor(row=row)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_story_tells_the_selected_runs_verdict_and_diagnostics(lessons: Path, size: tuple[int, int]) -> None:
    async def scenario() -> None:
        app = open_app(lessons)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            story = app.query_one(Story)
            assert story.region.height >= 3 and story.region.bottom <= size[1]  # on the main screen
            r1, r2, r3 = app.session.runs
            await select(app, pilot, 0)
            text = story_text(app)
            assert "r1 lr=0.5 sgd · not learning: dying ReLUs" in text
            assert "above the healthy" in text and "dead fc1 100%" in text
            await select(app, pilot, 2)
            text = story_text(app)
            assert f"r3 lr=0.0001 sgd · {r3.verdict_label}" in text
            assert "below the healthy" in text  # steps ~1e-5: far under the band
            await select(app, pilot, 1)
            low, high = HEALTHY_UPDATE
            assert f"healthy ({low:.0e}–{high:.0e})" in story_text(app)  # the band of lrtui.engine.bands

    asyncio.run(scenario())


def test_zoom_log_full_screen_and_hiding_change_what_is_drawn(lessons: Path) -> None:
    async def scenario() -> None:
        app = open_app(lessons)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            await select(app, pilot, 0)
            accuracy = app.query_one("#chart-accuracy", RunChart)
            ticks = lambda: accuracy.plt.monitor.ylabels[0]  # noqa: E731 — the labels plotext draws on the y axis
            accuracy.picture()
            assert {"0", "100"} <= set(ticks())
            await pilot.press("z")
            accuracy.picture()
            best = max(100 * e.val_acc for r in app.session.runs for e in r.epochs)
            assert accuracy.zoomed and max(map(float, ticks())) <= best + 10 and "100" not in ticks()
            await pilot.press("z", "l")
            picture = accuracy.picture().plain
            assert accuracy.log_scale and "Error rate per epoch" in picture and "error rate, log" in picture
            assert "10" in ticks() and "100" in ticks()  # decades of the error rate

            loss = app.query_one("#chart-loss", RunChart)
            await pilot.press("2", "l")
            assert loss.log_scale and "Loss per epoch (log)" in loss.picture().plain
            await pilot.press("1")

            height = accuracy.size.height
            await pilot.press("f")
            await pilot.pause()
            charts_region = app.query_one(Charts).region
            assert (
                app.main.full_screen and charts_region.width == 160 and charts_region.height >= 46
            )  # all but the footer
            assert accuracy.size.height > height + 10
            legend = accuracy.picture().plain.splitlines()[0]
            assert "■ r1 lr=0.5 sgd  ■ r2 lr=0.01 sgd  ■ r3 lr=0.0001 sgd" in legend  # every run, named
            await pilot.press("escape")
            await pilot.pause()
            assert not app.main.full_screen and accuracy.size.height == height
            accuracy.focus()
            await pilot.press("enter")  # enter on a chart: full screen too
            await pilot.pause()
            assert app.main.full_screen
            await pilot.press("escape")

            await select(app, pilot, 1)
            await pilot.press("space")
            await pilot.pause()
            assert [r.id for r in accuracy.runs] == ["r1", "r3"]
            assert [r.id for r in app.query_one("#chart-steps", RunChart).runs] == ["r1", "r3"]
            assert "+1 hidden" in accuracy.picture().plain
            assert app.query_one(DataTable).get_cell("r2", "run").plain.startswith("□")
            assert app.session.book.get("r2") is not None  # hidden, not deleted
            await pilot.press("space")
            await pilot.pause()
            assert [r.id for r in accuracy.runs] == ["r1", "r2", "r3"]

    asyncio.run(scenario())


def test_diagnostics_and_probe_tabs_draw_the_lessons(lessons: Path) -> None:
    async def scenario() -> None:
        app = open_app(lessons)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("escape")  # out of the lr field: digits pick charts
            for key, pane in (("4", "steps"), ("5", "dead"), ("6", "probe")):
                await pilot.press(key)
                await pilot.pause()
                assert app.query_one(Charts).active == f"tab-{pane}"
                chart = app.query_one(f"#chart-{pane}", RunChart)
                assert [r.id for r in chart.runs] == ["r1", "r2", "r3"]
                assert any(0x2800 < ord(c) <= 0x28FF for c in chart.picture().plain)
                if pane == "steps":
                    labels = chart.plt.monitor.ylabels[0]
                    assert "1e-04" in labels and "0.01" in labels  # the healthy band's edges are on the axis

    asyncio.run(scenario())


# -- charts.py: colours and axes ----------------------------------------------------------------
def _rgb(style_color: str) -> tuple[int, int, int]:
    t = Color.parse(style_color).get_truecolor()
    return t.red, t.green, t.blue


def test_every_run_has_its_own_colour_and_none_is_a_verdict_colour() -> None:
    runs = [RunRecord(f"r{i}", RunConfig()) for i in range(1, 13)]
    colours = [palette.run_color(r) for r in runs]
    assert len(set(colours)) == 12
    verdicts = {c for c in palette.VERDICT_COLORS.values() if c}
    assert verdicts >= {"green", "yellow", "red", "magenta"}
    for colour in colours:
        for verdict in verdicts:
            assert Color.parse(f"color({colour})") != Color.parse(verdict)
            distance = math.dist(_rgb(f"color({colour})"), _rgb(verdict))
            assert distance > 80, (colour, verdict, distance)


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e3, 1e3), st.floats(0, 1e3), st.integers(2, 60))
def test_linear_ticks_sit_on_rows_and_cover_the_data(lo: float, span: float, rows: int) -> None:
    hi = lo + span
    bottom, top, ticks = axes.linear_axis(lo, hi, rows)
    step = (top - bottom) / (rows - 1)
    assert bottom <= lo + 1e-9 and top >= hi - 1e-9
    assert len(ticks) >= 2 or rows == 2
    for t in ticks:
        assert abs((t - bottom) / step - round((t - bottom) / step)) < 1e-4  # exactly on a row
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert all(abs(g - gaps[0]) <= 1e-6 * max(1.0, abs(gaps[0])) for g in gaps)  # even


@pytest.mark.parametrize("rows", range(5, 40))
def test_the_percent_axis_has_even_ticks_on_rows_and_chance_inside(rows: int) -> None:
    used, ticks = axes.percent_axis(rows)
    assert used <= rows and used >= rows * 0.6
    step = 100 / (used - 1)
    assert ticks[0] == 0 and ticks[-1] == 100
    assert all(abs(t / step - round(t / step)) < 1e-9 for t in ticks)
    assert len({b - a for a, b in zip(ticks, ticks[1:])}) == 1


def test_a_one_epoch_run_shows_its_point_and_the_chance_line_is_at_ten_percent() -> None:
    run = load_session(LESSONS).runs[1]
    one = replace(run, epochs=run.epochs[:1])
    text = charts.render(charts.plot_accuracy, [one], width=60, height=20, color=False)
    area = [line for line in text.splitlines() if "┤" in line or line.lstrip().startswith("│")]
    assert any("B" in line for line in area)  # the one validation point, in the run's letter
    fig = charts.new_figure(60, 20)
    charts.plot_accuracy(fig, [one], legend=False)
    assert {"0", "100"} <= set(fig.monitor.ylabels[0])
    drawn = fig.build()
    assert "●" in drawn  # a one-point series is a visible point, not a single braille dot


def test_log_axis_draws_log10_values_and_leaves_the_data_alone() -> None:
    runs = load_session(LESSONS).runs
    before = [list(r.batch_losses) for r in runs]
    fig = charts.new_figure(80, 20)
    for _ in range(2):  # a rebuild must not change what is drawn (plotext's own log scale does)
        charts.plot_loss(fig, runs, legend=False, log=True)
        first = fig.build()
    charts.plot_loss(fig, runs, legend=False, log=True)
    assert fig.build() == first
    assert [list(r.batch_losses) for r in runs] == before


# -- markup and field lengths ----------------------------------------------------------------------
NASTY = ("[/]", "[bold]x", "[red")


def test_markup_in_any_field_or_notification_never_crashes(lessons: Path) -> None:
    async def scenario() -> None:
        app = open_app(lessons)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for field in FIELDS:
                if field.choices:
                    continue
                box = app.query_one(f"#f-{field.name}", Input)
                for text in NASTY:
                    box.focus()
                    box.value = ""
                    await pilot.press(*text)
                    await pilot.pause()
                    assert box.value == text
                    await pilot.press("ctrl+r")  # the error is echoed in the form and in a notification
                    await pilot.pause()
                    assert app.is_running
                box.value = app.main.form._start[field.name]
            assert not app.session.runs[3:]  # nothing invalid started

    asyncio.run(scenario())


def test_fields_cap_their_length(lessons: Path) -> None:
    async def scenario() -> None:
        app = open_app(lessons)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            lr = app.query_one("#f-lr", Input)
            lr.focus()
            lr.insert_text_at_cursor("1," * 50_000)
            epochs = app.query_one("#f-epochs", Input)
            epochs.focus()
            epochs.insert_text_at_cursor("9" * 100_000)
            await pilot.pause()
            assert len(lr.value) <= MAX_LENGTH_LR and len(epochs.value) <= MAX_LENGTH
            assert app.is_running

    asyncio.run(scenario())


def test_the_form_accepts_what_it_shows_auto_and_all(lessons: Path) -> None:
    async def scenario() -> None:
        app = open_app(lessons)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.main.form.set_value("momentum", "auto")
            app.main.form.set_value("train_limit", "all")
            config = app.main.form.configs()[0]
            assert config.momentum == 0.0 and config.train_limit is None
            assert not app.main.form.errors

    asyncio.run(scenario())


def test_text_from_a_session_file_is_never_markup(lessons: Path) -> None:
    data = json.loads(lessons.read_text())
    data["runs"][0]["error"] = "[/] boom [red"
    data["runs"][0]["verdict"]["reason"] = "[bold]x [/] [red"
    data["runs"][0]["verdict"]["hint"] = "[/]"
    lessons.write_text(json.dumps(data))

    async def scenario() -> None:
        app = open_app(lessons)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            await select(app, pilot, 0)
            assert "[bold]x [/] [red" in story_text(app)
            await pilot.press("enter")  # the details dialog shows the error and the reason
            await pilot.pause()
            assert app.is_running

    asyncio.run(scenario())


# -- snapshots -------------------------------------------------------------------------------------
def _quiet(app: LRTuiApp) -> None:
    """The log names the session's temporary path: cleared so the picture is the same on every machine."""
    app.main.log_view.clear()


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("state", ["story", "zoomed", "full-screen", "hidden-run", "steps"])
def test_snapshot(snap_compare: Any, lessons: Path, size: tuple[int, int], state: str) -> None:
    async def prepare(pilot: Any) -> None:
        app = pilot.app
        await pilot.pause()
        _quiet(app)
        await select(app, pilot, 2 if state == "story" else 1)
        if state == "zoomed":
            await pilot.press("z")
        elif state == "full-screen":
            await pilot.press("z", "f")
        elif state == "hidden-run":
            await select(app, pilot, 0)
            await pilot.press("space")
            await select(app, pilot, 1)
        elif state == "steps":
            await pilot.press("4")
        await pilot.pause()

    assert snap_compare(open_app(lessons), terminal_size=size, run_before=prepare)


def _record_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread each chart build runs on, in order."""
    threads: list[str] = []
    original = RunChart._build

    def recording(self: RunChart, job: Any) -> Any:
        threads.append(threading.current_thread().name)
        return original(self, job)

    monkeypatch.setattr(RunChart, "_build", recording)
    return threads


async def _until_current(pilot: Any, chart: RunChart) -> None:
    for _ in range(250):
        if chart._current:
            return
        await pilot.pause(0.02)
    raise AssertionError("the chart's picture never came back from the builder")


def test_while_training_new_data_is_drawn_off_the_ui_thread_and_keys_at_once(lessons: Path, monkeypatch) -> None:
    """An epoch's new point is built on the charts' thread (the old picture meanwhile); what a key
    asks for (zoom, log, hiding a run) is built at once; both draw what an idle build draws."""
    threads = _record_builds(monkeypatch)

    async def scenario() -> None:
        app = open_app(lessons)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            await select(app, pilot, 0)  # keys to the table, not the form
            accuracy = app.query_one("#chart-accuracy", RunChart)
            runs = list(accuracy.runs)
            accuracy.replot(runs[:2])
            two = accuracy.picture().plain  # idle: built here
            accuracy.replot(runs)
            three = accuracy.picture().plain
            charts = app.query_one(Charts)
            charts.build_in_background(True)  # what the app does while the runner trains
            threads.clear()
            accuracy.replot(runs[:2])  # "new data"
            await pilot.pause()
            assert "MainThread" not in threads  # not built here: the old picture is shown meanwhile
            await _until_current(pilot, accuracy)
            assert threads == ["lrtui-charts"] and accuracy.picture().plain == two
            assert threads == ["lrtui-charts"]  # the picture that came back: nothing built again

            for _ in range(3):  # new data three times while one build is under way: the last one wins
                accuracy.replot(runs[:1])
                accuracy.replot(runs)
            await _until_current(pilot, accuracy)
            assert accuracy.picture().plain == three and set(threads) == {"lrtui-charts"}

            threads.clear()
            await pilot.press("z")  # a key: drawn at once, on the UI thread
            assert threads == ["MainThread"] and accuracy.zoomed and accuracy._current
            await pilot.press("z")
            assert accuracy.picture().plain == three

    asyncio.run(scenario())


def test_a_chart_that_cannot_be_built_says_so_and_the_app_stays_up(lessons: Path) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ValueError("no such axis")

    async def scenario() -> None:
        app = open_app(lessons)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            await select(app, pilot, 0)
            app.query_one(Charts).build_in_background(True)
            loss = app.query_one("#chart-loss", RunChart)
            await pilot.press("2")
            loss.draw = broken
            loss.replot(loss.runs[:1])  # new data: built on the charts' thread, which fails
            await _until_current(pilot, loss)
            assert "this chart could not be drawn: no such axis" in loss.picture().plain
            await pilot.press("1")
            assert app.is_running and app.query_one(Charts).active == "tab-accuracy"

    asyncio.run(scenario())
