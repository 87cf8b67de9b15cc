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
        app = LRTuiApp(session=session_copy, detect_devices=False, cursor_blink=False)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            assert [r.id for r in app.session.runs] == ["r1"]
            writer = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "lrtui",
                    "run",
                    "--open",
                    str(session_copy),
                    "--lr",
                    "0.05",
                    "--train-limit",
                    "400",
                    "--epochs",
                    "500",
                    "--device",
                    "cpu",
                    "--quiet",
                ],
                env={**os.environ, "OMP_NUM_THREADS": "1"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            try:
                await until(
                    pilot, lambda: in_log(app, f"written also by pid {writer.pid}"), "the writer named", limit=2400
                )
                assert f"pid {writer.pid}" in str(app.query_one("#runs").border_title)
                await until(
                    pilot,
                    lambda: (r := app.session.book.get("r2")) is not None and len(r.epochs) >= 2,
                    "r2's epochs, as they land",
                    limit=2400,
                )
                assert app.session.book.get("r2").status == "running"  # never marked interrupted by a viewer
                await until(
                    pilot, lambda: any(k.value == "r2" for k in app.main.runs_table.rows), "r2's row", limit=100
                )
            finally:
                writer.terminate()  # SIGTERM: the writer itself saves its run as interrupted
                writer.wait(timeout=120)
            await until(
                pilot, lambda: app.session.book.get("r2").status == "interrupted", "the writer's last word", limit=200
            )
            await until(
                pilot,
                lambda: "also written" not in str(app.query_one("#runs").border_title),
                "the writer gone",
                limit=200,
            )

    asyncio.run(scenario())
