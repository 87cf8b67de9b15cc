"""The app as a live viewer: another real process trains into the session the app has open."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tui_helpers import in_log, until

from lrtui.tui.app import LRTuiApp


def test_the_app_follows_runs_another_process_adds_and_names_their_writer(session_copy: Path) -> None:
    async def scenario() -> None:
        app = LRTuiApp(session=session_copy, probe_devices=False, cursor_blink=False)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            assert [r.id for r in app.session.runs] == ["r1"]
            writer = subprocess.Popen(
                [sys.executable, "-m", "lrtui", "run", "--open", str(session_copy), "--lr", "0.05",
                 "--train-limit", "400", "--epochs", "4", "--device", "cpu", "--quiet"],
                env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                await until(pilot, lambda: app.session.book.get("r2") is not None, "r2 from the other process",
                            limit=1200)
                await until(pilot, lambda: in_log(app, f"written also by pid {writer.pid}"), "the writer named",
                            limit=1200)
                await until(pilot, lambda: (r := app.session.book.get("r2")) is not None and r.status == "finished",
                            "r2 to finish", limit=2400)
                await until(pilot, lambda: app.runs_table.get_cell("r2", "status").plain == "done", "r2's row",
                            limit=100)
                assert len(app.session.book.get("r2").epochs) == 4
                assert app.session.book.get("r2").status == "finished"  # never marked interrupted by the viewer
            finally:
                writer.wait(timeout=120)
            await until(pilot, lambda: "also written" not in str(app.query_one("#runs").border_title),
                        "the writer gone", limit=200)

    asyncio.run(scenario())
