"""A block of Rich output rendered once per width.

Textual asks every auto-height widget for its height at each layout of the screen, and a
``Static`` answers by rendering its renderable again: for the details pane's confusion
matrix and per-class report (Rich tables) that was measured at ~50 ms per layout, on the
UI thread, while the training thread wants the GIL. Here the lines are kept per width,
so a layout only counts them.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget


class RenderedBlock(Widget):
    """Shows one renderable (never read as markup); height = its lines at the widget's width."""

    DEFAULT_CSS = """
    RenderedBlock {
        height: auto;
    }
    """

    def __init__(self, renderable: RenderableType = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._renderable: RenderableType = Text(renderable) if isinstance(renderable, str) else renderable
        self._lines: list[Strip] = []
        self._width = -1  #: the width ``_lines`` were rendered at

    def update(self, renderable: RenderableType) -> None:
        """Show this instead (a plain ``str`` is plain text)."""
        self._renderable = Text(renderable) if isinstance(renderable, str) else renderable
        self._width = -1
        self.refresh(layout=True)

    @property
    def renderable(self) -> RenderableType:
        return self._renderable

    def _lines_at(self, width: int) -> list[Strip]:
        if width != self._width:
            console = self.app.console
            options = console.options.update(width=max(width, 1), height=None)
            self._lines = [Strip(line) for line in console.render_lines(self._renderable, options, pad=False)]
            self._width = width
        return self._lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines_at(width))

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        lines = self._lines_at(width)
        if y < len(lines):
            return lines[y].crop_extend(0, width, self.rich_style).apply_style(self.rich_style)
        return Strip.blank(width, self.rich_style)
