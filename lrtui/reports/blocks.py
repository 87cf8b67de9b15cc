"""A report's content as blocks: headings, paragraphs, lists, tables and charts, independent of the output format.

:func:`lrtui.reports.report.build_blocks` makes them once; :mod:`lrtui.reports.markdown` and
:mod:`lrtui.reports.html` render them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lrtui.plots import terminal_charts as charts
from lrtui.reports.colors import STATUS_HEX, VERDICT_HEX
from lrtui.sessions.record import RunRecord

CHART_WIDTH, CHART_HEIGHT = 100, 24  #: a text chart's size in characters (Markdown, and HTML without SVG)


@dataclass(frozen=True)
class Cell:
    """Table cell text with an optional colour (``#rrggbb``, HTML only) and run swatch."""

    text: str
    color: str | None = None
    swatch: str | None = None  #: the run's chart colour, shown as a square before the text
    bg: str | None = None  #: HTML background (heatmap cells); the text stays dark ink
    bold: bool = False  #: the best of its column (bold in HTML, ``**`` in Markdown)


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str
    small: bool = False


@dataclass(frozen=True)
class Bullets:
    """Items of a list; each a lead (drawn in colour in HTML) and the text after it."""

    items: tuple[tuple[Cell, str], ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class Chart:
    """A chart: ``draw`` (a :mod:`lrtui.plots.terminal_charts` function) for Markdown text, ``svg`` for HTML; either may be absent."""

    title: str
    draw: Callable[..., None] | None = None
    runs: Sequence[RunRecord] = field(default_factory=tuple)
    svg: str | None = None
    caption: str = ""  #: HTML only: how to read the SVG
    md_note: str = ""  #: Markdown only: how to read the text chart


Block = Heading | Para | Bullets | Table | Chart


def table_of(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    cells = tuple(tuple(c if isinstance(c, Cell) else Cell(str(c)) for c in row) for row in rows)
    return Table(tuple(headers), cells)


def verdict_hex(label: str) -> str:
    """HTML colour of a verdict label; statuses (cancelled, failed, ...) are grey."""
    return VERDICT_HEX.get(label, STATUS_HEX)


def text_chart(chart: Chart) -> str:
    """A chart as colourless text, each run drawn with its own letter (Markdown, and HTML without SVG)."""
    assert chart.draw is not None
    return charts.render(chart.draw, chart.runs, width=CHART_WIDTH, height=CHART_HEIGHT, color=False)
