"""The ctrl+f dialog in a tiny host app: it runs the test off the UI thread and hands back the suggestion."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.app import App
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Static
from textual_plotext import PlotextPlot

from lrtui.engine.config import RunConfig
from lrtui.tui.screens.find_lr import FindDone, FindLRScreen, FindProgress

UNSET = object()


class Host(App[None]):
    """Pushes the dialog at once and keeps what it was dismissed with."""

    def __init__(self, screen: FindLRScreen) -> None:
        super().__init__()
        self.dialog = screen
        self.returned: object = UNSET

    def on_mount(self) -> None:
        self.push_screen(self.dialog, callback=self.got)

    def got(self, value: float | None) -> None:
        self.returned = value


async def _until(pilot: Pilot, done: Callable[[], bool]) -> None:
    """Let the app process messages until ``done()`` (bounded: a lost message fails the test)."""
    for _ in range(200):
        if done():
            return
        await pilot.pause(0.05)
    raise AssertionError("the dialog never got the worker's answer")


def test_enter_hands_back_the_default_suggestion() -> None:
    seen: list[Message] = []

    async def scenario() -> Host:
        app = Host(FindLRScreen(RunConfig(device="cpu"), steps=320))
        async with app.run_test(size=(100, 36), message_hook=seen.append) as pilot:
            await app.workers.wait_for_complete()
            await _until(pilot, lambda: app.dialog.result is not None)  # FindDone is on its way
            status = str(app.dialog.query_one("#find-status", Static).render())
            assert "suggested lr" in status and "valley" in status
            chart = app.dialog.query_one(PlotextPlot)
            assert "smoothed loss" in chart.plt.build()  # the curve and its legend are on the widget's figure
            await pilot.press("enter")
            await pilot.pause()
        return app

    app = asyncio.run(scenario())
    result = app.dialog.result
    assert result is not None and result.lr is not None
    assert app.returned == result.lr
    assert any(isinstance(m, FindProgress) for m in seen) and any(isinstance(m, FindDone) for m in seen)


def test_escape_cancels_and_returns_none() -> None:
    async def scenario() -> Host:
        app = Host(FindLRScreen(RunConfig(device="cpu"), steps=320))
        async with app.run_test(size=(100, 36)) as pilot:
            await pilot.press("escape")
            await pilot.pause()
            await app.workers.wait_for_complete()
        return app

    app = asyncio.run(scenario())
    assert app.returned is None
    assert app.dialog.cancel.is_set()


def test_a_bad_range_is_one_line_and_enter_returns_none() -> None:
    async def scenario() -> tuple[Host, str]:
        app = Host(FindLRScreen(RunConfig(device="cpu", train_limit=200), start=1.0, end=0.1))
        async with app.run_test(size=(100, 36)) as pilot:
            await app.workers.wait_for_complete()
            await _until(pilot, lambda: app.dialog.finished)
            status = str(app.dialog.query_one("#find-status", Static).render())
            await pilot.press("enter")
            await pilot.pause()
        return app, status

    app, status = asyncio.run(scenario())
    assert status.startswith("cannot run the range test:") and "start" in status and "\n" not in status
    assert app.returned is None
