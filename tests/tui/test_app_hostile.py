"""The app opening hostile sessions the schema accepts: it shows them, it never ends.

* writer files (``writers/*.json``) whose host is markup (``[/]``) or holds control characters:
  the runs table's title names them as plain text;
* every number field at ±1.8e308 (next to inf) or 5e-324, or both: every chart tab draws in every
  view (zoom, log), the tables show the values as text, seeds fold.
"""

from __future__ import annotations

import asyncio
import shutil
import unicodedata
from pathlib import Path

import pytest
from hostile_values import HOSTILE_HOSTS, VARIANTS, extreme_session, write_writer
from textual.content import Content
from tui_helpers import in_log, until

from lrtui.tui.app import LRTuiApp
from lrtui.tui.widgets.charts import CHART_IDS

LESSONS = Path(__file__).parent / "data" / "lessons-session.json"


def open_app(session: Path) -> LRTuiApp:
    return LRTuiApp(
        initial={"device": "cpu", "train_limit": "200", "epochs": "1"},
        session=str(session),
        detect_devices=False,
        cursor_blink=False,
    )


def test_writer_hosts_with_markup_and_control_characters_are_named_as_plain_text(session_copy: Path) -> None:
    for i, host in enumerate(HOSTILE_HOSTS):
        write_writer(session_copy, host, 4000 + i, f"t{i}")

    async def scenario() -> None:
        app = open_app(session_copy)
        async with app.run_test(size=(160, 48)) as pilot:
            await until(
                pilot, lambda: "also written" in str(app.main.runs_table.border_title), "the writers named", limit=200
            )
            shown = Content.from_markup(app.main.runs_table.border_title or "").plain  # what the border shows
            for i, visible in enumerate(HOSTILE_HOSTS.values()):
                assert f"pid {4000 + i} on {visible}" in shown
            assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in shown)
            assert in_log(app, "written also by pid 4000 on [/]")
            await pilot.pause()
        assert app.return_code in (None, 0)

    asyncio.run(scenario())


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_chart_draws_a_session_of_extreme_numbers(variant: str, tmp_path: Path) -> None:
    folder = extreme_session(LESSONS, tmp_path / "s", variant)

    async def scenario() -> None:
        app = open_app(folder)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            for pane_id in CHART_IDS:
                app.main.action_show_chart(pane_id)
                chart = app.main.charts.chart(pane_id)
                for zoom, log in ((False, False), (True, False), (False, True), (True, True)):
                    chart.set_view(zoom=zoom, log=log)
                    await pilot.pause()
                    picture = chart.picture().plain
                    assert "could not be drawn" not in picture, (pane_id, zoom, log, picture)
                    assert "┌" in picture, (pane_id, zoom, log)
            table = app.main.runs_table
            if variant != "tiny":
                assert table.get_cell("r1", "duration").plain == "1.8e+308 s"
            app.main.action_fold_seeds()  # mixed: the three runs are one setting over three seeds
            await pilot.pause()
            assert table.row_count == (1 if variant == "mixed" else 3)
            for pane_id in ("accuracy", "loss"):  # the charts that fold seeds into a mean and a band
                app.main.action_show_chart(pane_id)
                await pilot.pause()
                assert "could not be drawn" not in app.main.charts.chart(pane_id).picture().plain
        assert app.return_code in (None, 0)

    asyncio.run(scenario())


def test_the_hostile_writer_and_numbers_together(session_copy: Path, tmp_path: Path) -> None:
    """Both at once, on a session with run files (runs/): opened, drawn, named."""
    folder = extreme_session(session_copy, tmp_path / "both", "mixed")
    shutil.rmtree(session_copy)
    write_writer(folder, "[/]", 4100, "both")

    async def scenario() -> None:
        app = open_app(folder)
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "[/]" in str(app.main.runs_table.border_title), "the writer named", limit=200)
            for pane_id in CHART_IDS:
                app.main.action_show_chart(pane_id)
                await pilot.pause()
                assert "could not be drawn" not in app.main.charts.chart(pane_id).picture().plain, pane_id

    asyncio.run(scenario())
