"""The Markdown report: the blocks as text, charts as colourless text in fenced blocks (one letter per run),
so it reads in a terminal or a diff."""

from __future__ import annotations

from collections.abc import Sequence

from lrtui.reports.blocks import Block, Bullets, Cell, Chart, Heading, Para, Table, text_chart


def _md_escape(text: str) -> str:
    """Table cells: a pipe would end the cell, a newline the row."""
    return " ".join(text.split("\n")).replace("|", "\\|")


def _md_cell(c: Cell) -> str:
    text = _md_escape(c.text)
    return f"**{text}**" if c.bold and text else text


def _md_text(text: str) -> str:
    """Free text from a user or a file (ids, error messages) on one Markdown line."""
    return " ".join(text.split())


def to_markdown(blocks: Sequence[Block]) -> str:
    """Markdown with charts as colourless text in fenced blocks (each run drawn with its own letter)."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {_md_text(b.text)}")
        elif isinstance(b, Para):
            out.append(f"*{_md_text(b.text)}*" if b.small else _md_text(b.text))
        elif isinstance(b, Bullets):
            out.append("\n".join(f"- {_md_text(lead.text)} {_md_text(text)}".rstrip() for lead, text in b.items))
        elif isinstance(b, Table):
            lines = ["| " + " | ".join(_md_escape(h) for h in b.headers) + " |", "|" + "---|" * len(b.headers)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("\n".join(lines))
        elif isinstance(b, Chart) and b.draw is not None:
            text = text_chart(b)
            note = f"\n\n*{b.md_note}*" if b.md_note else ""
            out.append(f"**{b.title}**{note}\n\n```text\n{text}\n```")
    return "\n\n".join(out) + "\n"
