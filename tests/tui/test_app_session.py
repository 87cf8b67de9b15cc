"""Sessions in the app: ``lrtui --open`` shows saved runs, new runs append, delete and ctrl+s."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import DataTable
from tui_helpers import TINY, in_log, settle

from lrtui.tui.app import LRTuiApp
from lrtui.tui.widgets.charts import RunChart
from lrtui.tui.widgets.details import RunDetails, evaluation_block


def open_app(session: Path | str) -> LRTuiApp:
    return LRTuiApp(initial=TINY, session=str(session), detect_devices=False, cursor_blink=False)


def test_open_shows_the_saved_runs_and_new_runs_append(session_copy: Path) -> None:
    async def scenario() -> None:
        app = open_app(session_copy)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            table = app.query_one(DataTable)
            assert table.row_count == 1
            saved = app.session.book.get("r1")
            assert saved is not None and len(saved.epochs) == 2
            assert table.get_cell("r1", "status").plain == "done"
            assert table.get_cell("r1", "verdict").plain == saved.verdict_label
            assert app.query_one("#chart-accuracy", RunChart).runs == [saved]
            await pilot.press("ctrl+r")
            await settle(pilot)
        data = json.loads((session_copy / "session.json").read_text())
        assert [(r["id"], r["status"]) for r in data["runs"]] == [("r1", "finished"), ("r2", "finished")]

    asyncio.run(scenario())


def test_a_bad_session_file_is_reported_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "session.json"
    bad.write_text('{"schema": 1, "runs": [')

    async def scenario() -> None:
        app = open_app(bad)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert in_log(app, f"could not open the session: {bad}: the file is truncated")
            assert app.session.runs == [] and app.session.file != bad  # a fresh session instead

    asyncio.run(scenario())


def test_delete_removes_the_selected_run_from_the_comparison(session_copy: Path) -> None:
    async def scenario() -> None:
        app = open_app(session_copy)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("escape", "delete")  # out of the lr field to the table, then delete
            assert app.query_one(DataTable).row_count == 0
            assert app.session.runs == []
            assert app.query_one("#chart-accuracy", RunChart).runs == []
        assert json.loads((session_copy / "session.json").read_text())["runs"] == []

    asyncio.run(scenario())


def test_ctrl_s_writes_the_report_into_the_session_folder(session_copy: Path) -> None:
    async def scenario() -> None:
        app = open_app(session_copy)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+s")
            assert in_log(app, "report written")
        report = (session_copy / "report.md").read_text()
        assert "lr=0.01" in report or "0.01" in report
        assert (session_copy / "report.html").is_file()

    asyncio.run(scenario())


def test_no_color_tells_runs_apart_by_letter(session_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def scenario() -> None:
        app = open_app(session_copy)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            assert app.no_color
            legend, *plot = app.query_one("#chart-accuracy", RunChart).picture().plain.splitlines()
            assert legend.startswith("A r1 lr=0.01 sgd")  # the legend names each run's letter
            area = "".join(line for line in plot if "┤" in line or line.lstrip().startswith("│"))  # inside the frame
            assert "A" in area and "a" in area  # validation and training curves, in the run's letter

    asyncio.run(scenario())


def test_a_session_that_cannot_be_saved_is_reported_and_training_goes_on(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LRTUI_HOME", str(blocker / "home"))

    async def scenario() -> None:
        app = LRTuiApp(initial=TINY, detect_devices=False, cursor_blink=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert [r.status for r in app.session.runs] == ["finished"]
            warnings = [n for n in app._notifications if n.title == "Not saved"]
            assert len(warnings) == 1 and "cannot save the session" in warnings[0].message

    asyncio.run(scenario())


def test_a_saved_run_with_a_null_test_loss_opens(session_copy: Path) -> None:
    """A NaN/inf loss is saved as null: opening that session and showing the run must not crash."""
    run_file = session_copy / "runs" / "r1.json"  # the run's own file is the truth; session.json a snapshot
    data = json.loads(run_file.read_text())
    run = data.get("run", data)
    run["test"]["loss"] = None
    run_file.write_text(json.dumps(data))

    async def scenario() -> None:
        app = open_app(session_copy)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            assert app.is_running and app.query_one(RunDetails).run_id == "r1"  # shown, not crashed
            console = Console(width=120, record=True)
            console.print(evaluation_block(app.session.book.get("r1")))
            assert "test loss —" in console.export_text()

    asyncio.run(scenario())
