"""RenderedBlock: rendered once per width, so the screen's layouts only count its lines."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from rich.console import Console, ConsoleOptions
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Static

from lrtui.tui.widgets.rendered import RenderedBlock


class Counted:
    """A Rich renderable that counts how often it is rendered (a table: what the details pane shows)."""

    def __init__(self) -> None:
        self.renders = 0

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Table]:
        self.renders += 1
        table = Table("class", "recall", box=None)
        for digit in range(3):
            table.add_row(str(digit), f"0.9{digit}")
        yield table


class BlockApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RenderedBlock(id="block")
        yield Static("other", id="other")


def test_layouts_do_not_render_the_block_again_a_new_width_does() -> None:
    async def scenario() -> None:
        app = BlockApp()
        async with app.run_test(size=(40, 12)) as pilot:
            block = app.query_one(RenderedBlock)
            counted = Counted()
            block.update(counted)
            await pilot.pause()
            assert block.size.height == 4  # header and three rows
            assert counted.renders == 1
            other = app.query_one("#other", Static)
            for height in (2, 3, 4):  # each one lays out the whole screen
                other.styles.height = height
                await pilot.pause()
            assert counted.renders == 1
            assert "0.92" in block.render_line(3).text
            await pilot.resize_terminal(30, 12)
            await pilot.pause()
            assert counted.renders == 2

    asyncio.run(scenario())


def test_text_is_never_read_as_markup() -> None:
    async def scenario() -> None:
        app = BlockApp()
        async with app.run_test(size=(40, 12)) as pilot:
            block = app.query_one(RenderedBlock)
            block.update("[red]run [/bold] id")  # unbalanced markup: a Static would raise
            await pilot.pause()
            assert block.render_line(0).text.rstrip() == "[red]run [/bold] id"
            block.update(Text("two\nlines"))
            await pilot.pause()
            assert block.size.height == 2

    asyncio.run(scenario())
