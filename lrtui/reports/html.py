"""The HTML report: one self-contained page, inline CSS and inline SVG charts, no external assets."""

from __future__ import annotations

import html
from collections.abc import Sequence

from lrtui.reports.blocks import Block, Bullets, Cell, Chart, Heading, Para, Table, text_chart
from lrtui.reports.colors import STATUS_HEX

_CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 0; color: var(--ink);
       background: #fff; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 28px 60px; }
h1 { font-size: 1.75em; margin: 0 0 4px; }
h2 { font-size: 1.3em; margin: 2em 0 0.6em; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05em; margin: 1.6em 0 0.5em; }
p { margin: 0.4em 0 0.8em; }
p.small, figcaption { color: var(--muted); font-size: 0.88em; }
.sub { color: var(--muted); margin-bottom: 1.2em; }
.scroll { overflow-x: auto; margin: 0.4em 0 1.2em; }
table { border-collapse: collapse; font-size: 0.86em; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 9px; text-align: right; white-space: nowrap; }
th { white-space: normal; vertical-align: bottom; }
td:last-child { white-space: normal; }
th { background: var(--soft); font-weight: 600; color: var(--muted); border-top: 1px solid var(--line); }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td:first-child, th:first-child { text-align: left; }
.tag { font-weight: 600; }
.sw { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px; margin-right: 6px;
      vertical-align: -0.05em; }
ul.verdicts { list-style: none; padding: 0; margin: 0.4em 0 1em; }
ul.verdicts li { padding: 7px 0 7px 12px; border-left: 3px solid var(--line); margin-bottom: 6px; }
figure { margin: 0.6em 0 1.8em; }
figure h3 { margin: 0 0 0.4em; }
svg.chart { width: 100%; height: auto; display: block; }
td.heat { color: var(--ink); text-align: center; min-width: 7em; padding: 8px 14px; font-size: 1.08em; }
pre.chart { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 0.8em; line-height: 1.15;
            overflow-x: auto; }
"""


def _cell_html(c: Cell, tag: str = "td") -> str:
    e = html.escape
    swatch = f'<span class="sw" style="background:{e(c.swatch)}"></span>' if c.swatch else ""
    if c.bg or c.bold:
        style = (f"background:{e(c.bg)};" if c.bg else "") + ("font-weight:700;" if c.bold else "")
        return f'<{tag} class="heat" style="{style}">{swatch}{e(c.text)}</{tag}>'
    if c.color:
        return f'<{tag} class="tag" style="color:{e(c.color)}">{swatch}{e(c.text)}</{tag}>'
    return f"<{tag}>{swatch}{e(c.text)}</{tag}>"


def _text_chart_html(chart: Chart) -> str:
    """A chart without SVG: the plain text one, kept readable in a fixed-width block."""
    return f'<pre class="chart">{html.escape(text_chart(chart))}</pre>'


def to_html(blocks: Sequence[Block]) -> str:
    """One self-contained HTML page: inline CSS, inline SVG charts, no network references."""
    e = html.escape
    body: list[str] = []
    title = next((b.text for b in blocks if isinstance(b, Heading)), "lrtui report")
    first_para = True
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            cls = ' class="small"' if b.small else (' class="sub"' if first_para else "")
            first_para = False
            body.append(f"<p{cls}>{e(b.text)}</p>")
        elif isinstance(b, Bullets):
            items = "".join(
                f'<li style="border-left-color:{e(lead.color or STATUS_HEX)}">{_cell_html(lead, "span")} {e(text)}</li>'
                for lead, text in b.items
            )
            body.append(f'<ul class="verdicts">{items}</ul>')
        elif isinstance(b, Table):
            head = "".join(f"<th>{e(h)}</th>" for h in b.headers)
            rows = "".join("<tr>" + "".join(_cell_html(c) for c in row) + "</tr>" for row in b.rows)
            body.append(f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>')
        elif isinstance(b, Chart):
            if b.svg is None and b.draw is None:
                continue
            drawing = b.svg if b.svg is not None else _text_chart_html(b)
            caption = f"<figcaption>{e(b.caption)}</figcaption>" if b.caption else ""
            body.append(f"<figure><h3>{e(b.title)}</h3>\n{drawing}\n{caption}</figure>")
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{e(title)}</title>\n'
        f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )
