"""The runs table and the keys around it: which settings are columns, which runs fold as seeds, the time of
runs trained side by side, where the focus goes after full screen, what the help says, and how much work
each key does (counted, not timed). Hand-made sessions: no training."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Tabs
from tui_helpers import hand_made_session

from lrtui.engine.config import RunConfig
from lrtui.plots.palette import HEALTHY_UPDATE
from lrtui.tui.app import LRTuiApp
from lrtui.tui.screens.details import DetailsScreen
from lrtui.tui.screens.help import HELP
from lrtui.tui.screens.main import MainScreen
from lrtui.tui.widgets.charts import RunChart
from lrtui.tui.widgets.details import RunDetails
from lrtui.tui.widgets.footer import KeysFooter
from lrtui.tui.widgets.runs_table import RunsTable


def open_app(session: Path) -> LRTuiApp:
    return LRTuiApp(initial={"device": "cpu"}, session=str(session), detect_devices=False, cursor_blink=False)


def headers(table: RunsTable) -> list[str]:
    return [str(c.label) for c in table.ordered_columns]


def cells(table: RunsTable, key: str) -> list[str]:
    return [table.get_cell(row, key).plain for row in table.rows]


def test_the_settings_that_vary_are_columns(tmp_path: Path) -> None:
    """``--lr 0.1 --schedule onecycle,cosine --warmup 0,5``: four rows that say how they differ."""
    runs = [{"lr": 0.1, "schedule": s, "warmup": w, "val": [0.5]} for s in ("onecycle", "cosine") for w in (0, 5)]
    file = hand_made_session(tmp_path, runs)

    async def scenario() -> None:
        app = open_app(file)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            table = app.main.runs_table
            assert headers(table) == ["run", "lr", "sched", "warm", "ep", "val", "test", "verdict", "time", "status"]
            rows = list(zip(cells(table, "schedule"), cells(table, "warmup")))
            assert rows == [("onecycle", "0"), ("onecycle", "5"), ("cosine", "0"), ("cosine", "5")]
            assert table.border_subtitle == "sgd · batch 10 · mnist-5k · seed 0"  # said once, beside the table

            # a new run that varies another setting brings its column; removing it takes the column away
            record = app.session.add(RunConfig(lr=0.1, schedule="cosine", warmup=5, momentum=0.9))
            table.show_run(record)
            await pilot.pause()
            assert "mom" in headers(table) and cells(table, "momentum") == ["0", "0", "0", "0", "0.9"]
            app.session.remove(record.id)
            table.remove_run(record.id)
            await pilot.pause()
            assert "mom" not in headers(table) and table.row_count == 4

    asyncio.run(scenario())


def test_only_distinct_seeds_with_an_epoch_fold(tmp_path: Path) -> None:
    """``-`` twice on one run (the same seed twice), a run cancelled before its first epoch: no seeds to fold."""
    file = hand_made_session(
        tmp_path,
        [
            {"lr": 0.01, "val": [0.50, 0.60], "test": 0.6},
            {"lr": 0.01, "val": [0.70], "test": 0.7},  # a repeat of r1: the same seed
            {"lr": 0.01, "seed": 1, "val": [], "status": "cancelled"},
            {"lr": 0.01, "seed": 2, "val": [0.80], "test": 0.8},  # another seed: folds with r1
        ],
    )

    async def scenario() -> None:
        app = open_app(file)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            table = app.main.runs_table
            table.focus()
            await pilot.press("s")
            await pilot.pause()
            assert [str(k.value) for k in table.rows] == ["r1", "r2", "r3"]
            assert cells(table, "run")[0].endswith("r1×2") and not any("×" in c for c in cells(table, "run")[1:])
            assert cells(table, "seed") == ["0,2", "0", "1"]
            assert cells(table, "best val acc")[0] == "70.0% ± 10.0"

    asyncio.run(scenario())


def test_runs_trained_side_by_side_show_their_share_of_the_time(tmp_path: Path) -> None:
    """A stacked sweep's runs each report the whole stack's clock (167, 173, 179 s): each shows its share."""
    stack = [
        {"lr": lr, "val": [0.5], "duration": 167.0 + 6 * i, "span": (1000.0 + i, 1180.0 + 3 * i)}
        for i, lr in enumerate((0.1, 0.01, 0.001))
    ]
    alone = {"lr": 0.5, "val": [0.5], "duration": 55.0, "span": (1200.0, 1260.0)}
    file = hand_made_session(tmp_path, [*stack, alone])

    async def scenario() -> None:
        app = open_app(file)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            times = cells(app.main.runs_table, "duration")
            assert all(t.startswith("~") for t in times[:3]) and times[3] == "55.0 s"
            shares = [float(t.removeprefix("~").removesuffix(" s")) for t in times[:3]]
            assert all(50 < s < 70 for s in shares)  # about a third each, not 2:47, 2:53, 2:59

    asyncio.run(scenario())


def test_focus_comes_back_after_full_screen(tmp_path: Path) -> None:
    """f then escape: the runs table has the focus again, so down and enter act on it at once."""
    file = hand_made_session(tmp_path, [{"lr": lr, "val": [0.5, 0.6]} for lr in (0.1, 0.01, 0.001)])

    async def scenario() -> None:
        app = open_app(file)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            app.main.runs_table.focus()
            await pilot.pause()
            await pilot.press("f")
            await pilot.pause()
            assert isinstance(app.focused, RunChart)  # the chart on the screen has it meanwhile
            await pilot.press("escape")
            await pilot.pause()
            assert app.focused is app.main.runs_table
            await pilot.press("down", "enter")
            await pilot.pause()
            assert isinstance(app.screen, DetailsScreen) and "r2" in str(app.screen.query_one(RunDetails).run_id)

    asyncio.run(scenario())


def test_the_focused_pane_is_marked(tmp_path: Path) -> None:
    file = hand_made_session(tmp_path, [{"lr": lr, "val": [0.5]} for lr in (0.1, 0.01)])

    async def scenario() -> None:
        app = open_app(file)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            table, log, tabs = app.main.runs_table, app.main.log_view, app.main.charts.query_one(Tabs)

            async def looks() -> tuple[Any, ...]:
                await pilot.pause()
                return (
                    table.styles.border_top,
                    table.styles.border_title_color,
                    log.styles.border_top,
                    tabs.styles.background,
                )

            table.focus()
            on_table = await looks()
            app.main.charts.active_chart.focus()
            on_chart = await looks()
            log.focus()
            on_log = await looks()
            assert on_table[0] != on_chart[0] and on_table[1] != on_chart[1]  # the table's border and title
            assert on_chart[3] != on_table[3]  # the chart's tabs
            assert on_log[2] != on_table[2]  # the log's border

    asyncio.run(scenario())


def test_help_and_palette_say_what_the_keys_do() -> None:
    low, high = HEALTHY_UPDATE
    assert f"healthy band {low:.0e}–{high:.0e}" in HELP and "1e-4..1e-2" not in HELP
    assert "rerun the selected run" in HELP and "last run" not in HELP
    tooltips = {b.id: b.tooltip for b in MainScreen.BINDINGS if hasattr(b, "id")}
    assert "the selected run" in tooltips["lr-up"] and "the selected run" in tooltips["lr-down"]


# -- how much work a key does -------------------------------------------------------------------------------
@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts, per key: chart builds (by chart), table rebuilds, details shown and footer rebuilds."""
    counts: Counter[str] = Counter()
    build, show, recompose = RunChart._build, RunDetails.show, KeysFooter.recompose
    rebuild = RunsTable.rebuild

    def counted_build(self: RunChart, job: Any) -> Any:
        counts[f"build {self.id}"] += 1
        return build(self, job)

    def counted_rebuild(self: RunsTable, *args: Any, **kwargs: Any) -> None:
        counts["table rebuild"] += 1
        rebuild(self, *args, **kwargs)

    def counted_show(self: RunDetails, run: Any) -> None:
        counts["details"] += 1
        show(self, run)

    async def counted_recompose(self: KeysFooter) -> None:
        counts["footer"] += 1
        await recompose(self)

    monkeypatch.setattr(RunChart, "_build", counted_build)
    monkeypatch.setattr(RunsTable, "rebuild", counted_rebuild)
    monkeypatch.setattr(RunDetails, "show", counted_show)
    monkeypatch.setattr(KeysFooter, "recompose", counted_recompose)
    return counts


def test_each_key_does_only_its_own_work(tmp_path: Path, work: Counter[str]) -> None:
    """25 runs at 200x60 (the size the keys were slow at): s rebuilds the table and nothing else, l one chart,
    full screen one chart at its new size and leaving it none (the picture of the normal size is kept)."""
    file = hand_made_session(
        tmp_path, [{"lr": round(0.5 / 1.5**i, 8), "seed": i % 3, "val": [0.3, 0.5, 0.6]} for i in range(25)]
    )

    async def scenario() -> None:
        app = open_app(file)
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.pause()
            app.main.runs_table.focus()
            await pilot.pause()

            async def press(key: str) -> dict[str, int]:
                work.clear()
                await pilot.press(key)
                await pilot.pause()
                await pilot.pause()
                return dict(work)

            assert await press("s") == {"table rebuild": 1}  # not the details (nor the story) of the same run
            assert await press("s") == {"table rebuild": 1}
            assert await press("l") == {"build chart-accuracy": 1}
            assert await press("f") == {"build chart-accuracy": 1}
            assert await press("escape") == {}  # the normal-size picture is still good; the footer the same
            assert await press("f") == {}
            assert await press("escape") == {}
            assert await press("2") == {"build chart-loss": 1}
            assert await press("space") == {"build chart-loss": 1}  # the chart shown; the others when shown
            assert await press("down") == {"details": 1}

    asyncio.run(scenario())
