"""Grids in the app: a big grid is asked about before it is queued, the LR tab charts each run's lr per step,
and g compares a grid (best validation accuracy by two settings). Real tiny training throughout."""

from __future__ import annotations

import asyncio
import math
import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table
from textual.widgets import Static

from lrtui.engine.config import GRID_CONFIRM, GRID_MAX, RunConfig
from lrtui.plots.grouping import grid_table
from lrtui.sessions.record import RunRecord
from lrtui.tui.app import LRTuiApp
from lrtui.tui.screens.confirm import ConfirmScreen
from lrtui.tui.screens.grid import NOT_A_GRID, GridScreen, grid_rich_table, heat_color, winners_line
from lrtui.tui.widgets.charts import Charts, RunChart
from tests.tui.tui_helpers import make_app, settle, until

LESSONS = Path(__file__).parent / "data" / "lessons-session.json"


def _lrs(n: int) -> str:
    return ",".join(f"{0.01 * (i + 1):g}" for i in range(n))


def test_a_grid_above_the_limit_asks_first_and_no_queues_nothing() -> None:
    async def scenario() -> None:
        app = make_app(lr=_lrs(5), seed="0,1,2,3,4", train_limit="100")  # 5 × 5 = 25 > GRID_CONFIRM
        assert 25 > GRID_CONFIRM
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("ctrl+r")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
            question = app.screen.query_one("#confirm-question", Static)
            assert "Train 25 runs?" in str(question.content)
            await pilot.press("ctrl+r")  # a second ctrl+r does not stack a second question
            await pilot.pause()
            assert sum(isinstance(s, ConfirmScreen) for s in app.screen_stack) == 1
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the question to close")
            assert app.session.runs == []
            assert not app.runner.busy

            app.query_one("#f-lr").focus()
            await pilot.press("ctrl+r")
            await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question again")
            await pilot.press("enter")
            await until(pilot, lambda: len(app.session.runs) == 25, "25 queued runs")
            configs = [(r.config.lr, r.config.seed) for r in app.session.runs]
            assert len(set(configs)) == 25
            await pilot.press("ctrl+x")  # the point is the queue, not 25 trainings
            await settle(pilot)
            assert all(r.status != "queued" for r in app.session.runs)

    asyncio.run(scenario())


def test_a_grid_above_the_cap_is_refused_in_one_line_without_a_question() -> None:
    async def scenario() -> None:
        seeds = ",".join(str(i) for i in range(16))
        app = make_app(lr=_lrs(16), seed=seeds, batch_size="10,20")  # 16 × 16 × 2 = 512 runs
        assert 512 > GRID_MAX
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("ctrl+r")
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen)
            assert app.session.runs == []
            messages = [n.message for n in app._notifications]
            assert len(messages) == 1 and f"at most {GRID_MAX}" in messages[0] and "\n" not in messages[0]

    asyncio.run(scenario())


def test_a_grid_at_the_limit_is_queued_without_a_question() -> None:
    async def scenario() -> None:
        app = make_app(lr=_lrs(4), seed="0,1,2,3,4,5", train_limit="100")  # 4 × 6 = 24 = GRID_CONFIRM
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("ctrl+r")
            await until(pilot, lambda: len(app.session.runs) == GRID_CONFIRM, "24 queued runs")
            assert not isinstance(app.screen, ConfirmScreen)
            await pilot.press("ctrl+x")
            await settle(pilot)

    asyncio.run(scenario())


def test_the_lr_tab_draws_each_runs_schedule() -> None:
    async def scenario() -> None:
        app = make_app(lr="0.1", schedule="cosine,constant", log_every="2")
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("ctrl+r")
            await settle(pilot)
            cosine, constant = app.session.runs
            assert cosine.config.schedule == "cosine" and constant.config.schedule == "constant"
            assert cosine.lr_trace and constant.lr_trace
            assert math.isclose(cosine.lr_trace[0][1], 0.1, rel_tol=1e-6)
            assert cosine.lr_trace[-1][1] < 0.05  # the cosine has come down
            assert {lr for _, lr in constant.lr_trace} == {0.1}
            await pilot.press("escape")
            await pilot.press("7")
            await pilot.pause()
            assert app.query_one(Charts).active == "tab-lr"
            chart = app.query_one("#chart-lr", RunChart)
            assert [r.id for r in chart.runs] == [cosine.id, constant.id]
            picture = chart.picture().plain
            assert any(0x2800 < ord(c) <= 0x28FF for c in picture)  # braille lines
            labels = chart.plt.monitor.ylabels[0]
            assert "0.1" in labels and "0.01" in labels  # a log axis in decades (the cosine falls below 0.01)

    asyncio.run(scenario())


def test_the_lr_tab_says_when_runs_have_no_trace(tmp_path: Path) -> None:
    async def scenario() -> None:
        folder = tmp_path / "old"
        folder.mkdir()
        shutil.copy(LESSONS, folder / "session.json")  # saved before lr traces existed
        app = LRTuiApp(
            initial={"device": "cpu"}, session=str(folder / "session.json"), detect_devices=False, cursor_blink=False
        )
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("escape", "7")
            await pilot.pause()
            chart = app.query_one("#chart-lr", RunChart)
            assert len(chart.runs) == 3 and all(r.lr_trace is None for r in chart.runs)
            assert "no lr trace" in chart.picture().plain

    asyncio.run(scenario())


def test_g_compares_a_grid_of_lr_by_optimizer() -> None:
    async def scenario() -> None:
        app = make_app(lr="0.01,0.1", optimizer="sgd,adam", train_limit="200")
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert len(app.session.runs) == 4
            await pilot.press("escape", "g")
            await until(pilot, lambda: isinstance(app.screen, GridScreen), "the comparison")
            screen = app.screen
            assert isinstance(screen, GridScreen)
            table = screen.table
            assert (table.rows_field, table.cols_field) == ("lr", "optimizer")
            assert table.col_values == ("sgd", "adam") and table.row_values == (0.01, 0.1)
            rich_table = screen.query_one("#grid-table", Static).content
            assert isinstance(rich_table, Table)
            text = _plain(rich_table)
            for run in app.session.runs:  # every run's best accuracy is a cell (one run per cell)
                assert run.best_val_acc is not None and f"{100 * run.best_val_acc:.1f}%" in text
            # the best cell of each column is bold, the others not
            for j, column in enumerate(rich_table.columns[1:]):
                best = table.best_row(j)
                for i, cell in enumerate(column._cells):
                    assert (cell.style.bold is True) == (i == best)
            best_line = str(screen.query_one("#grid-best", Static).content)
            assert best_line.startswith("Best lr per optimizer: sgd ")
            assert best_line == winners_line(table)
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, GridScreen), "the comparison to close")

    asyncio.run(scenario())


def test_g_on_a_session_that_is_not_a_grid_says_so_in_one_line() -> None:
    async def scenario() -> None:
        app = make_app(lr="0.01,0.1")  # only lr varies
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("ctrl+r")
            await settle(pilot)
            await pilot.press("escape", "g")
            await pilot.pause()
            assert not isinstance(app.screen, GridScreen)
            assert [n.message for n in app._notifications] == [NOT_A_GRID]
            palette = {c.title: c.help for c in app.get_system_commands(app.screen)}
            assert palette["Compare a grid: best validation accuracy by two settings"] == "key: g"
            assert palette["Show the learning rate per step of every run (its schedule)"] == "key: 7"

    asyncio.run(scenario())


def test_cells_go_from_red_to_green_and_user_values_are_not_markup() -> None:
    worst, best = heat_color(0.0).get_truecolor(), heat_color(1.0).get_truecolor()
    assert worst.red > worst.green and best.green > best.red
    runs = [
        RunRecord(f"r{i + 1}", RunConfig(lr=lr, optimizer=opt))  # a saved session may hold anything
        for i, (lr, opt) in enumerate([(0.01, "[bold]x"), (0.1, "[bold]x"), (0.01, "sgd"), (0.1, "sgd")])
    ]
    text = _plain(grid_rich_table(grid_table(runs)))
    assert "[bold]x" in text  # shown as typed, not swallowed as markup


def _plain(table: Table) -> str:
    console = Console(width=200, record=True, color_system=None)
    console.print(table)
    return console.export_text()
