"""Session reports: Markdown, one self-contained HTML file, and the session JSON.

Reports read the saved data (the session's RunRecords), never widgets, so the app's
``ctrl+s``, ``lrtui run --report`` and ``lrtui report`` write the same thing. The
content is built once as a list of blocks (:func:`build_blocks`); two small renderers
turn it into Markdown (charts as plain text, one letter per run) or HTML (charts in
colour through rich's HTML export, inline styles, no external assets).
"""

from __future__ import annotations

import html
import io
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from lrtui import charts
from lrtui.engine.config import format_lr
from lrtui.record import RunRecord
from lrtui.session import Session, write_json_atomic

FORMATS: tuple[str, ...] = ("md", "html", "json")
_FILES = {"md": "report.md", "html": "report.html", "json": "session.json"}
CHART_WIDTH, CHART_HEIGHT = 100, 24


# -- cell formatting, shared with the CLI tables -----------------------------------------------
def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def num(x: float | None, digits: int = 4) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def seconds(x: float | None) -> str:
    if not x:
        return "—"
    return f"{x:.1f} s" if x < 120 else f"{int(x // 60)} min {int(x % 60):02d} s"


def epochs_done(run: RunRecord) -> str:
    """``5`` when all epochs ran, ``2/5`` when the run stopped early."""
    done, asked = len(run.epochs), run.config.epochs
    return str(asked) if done == asked else f"{done}/{asked}"


def verdict_text(run: RunRecord) -> str:
    """The verdict label, or the status when there is none (running, cancelled before an epoch, failed)."""
    return run.verdict_label or run.status


def run_cells(run: RunRecord) -> dict[str, str]:
    """Every table column of a run as display text; each table picks the columns it shows."""
    test = run.test or {}
    return {
        "run": run.id,
        "lr": format_lr(run.config.lr),
        "optimizer": run.config.optimizer,
        "momentum": f"{run.config.momentum:g}",
        "epochs": epochs_done(run),
        "batch": str(run.config.batch_size),
        "best val acc": pct(run.best_val_acc),
        "last val acc": pct(run.last_val_acc),
        "test acc": pct(run.test_acc),
        "test loss": num(test.get("loss")),
        "verdict": verdict_text(run),
        "status": run.status,
        "duration": seconds(run.duration_s),
        "samples/s": f"{run.samples_per_s:,.0f}" if run.samples_per_s else "—",
    }


REPORT_COLUMNS = ("run", "lr", "optimizer", "momentum", "epochs", "batch", "best val acc", "last val acc",
                  "test acc", "test loss", "verdict", "duration", "samples/s")


# -- the report as blocks ----------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """Table cell text with an optional colour (used by HTML only)."""

    text: str
    color: str | None = None


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class Chart:
    title: str
    draw: Callable[..., None]
    runs: Sequence[RunRecord] = field(default_factory=tuple)


Block = Union[Heading, Para, Bullets, Table, Chart]


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    cells = tuple(tuple(c if isinstance(c, Cell) else Cell(str(c)) for c in row) for row in rows)
    return Table(tuple(headers), cells)


def _runs_table(runs: Sequence[RunRecord]) -> Table:
    rows = []
    for run in runs:
        cells = run_cells(run)
        rows.append([Cell(cells[c], charts.VERDICT_COLORS.get(cells[c]) if c == "verdict" else None)
                     for c in REPORT_COLUMNS])
    return _table(REPORT_COLUMNS, rows)


def _sentence(text: str) -> str:
    """Verdict reasons and hints are phrases (they also stand alone in tables): end them as sentences here."""
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _verdict_lines(runs: Sequence[RunRecord]) -> Bullets:
    """Per run: the verdict with its reason and hint, where it diverged, or why it failed."""
    items = []
    for run in runs:
        parts = [f"{run.id} {run.config.label}: {verdict_text(run)}."]
        if run.verdict:
            parts.append(f"{_sentence(run.verdict['reason'])} Hint: {_sentence(run.verdict['hint'])}")
        if run.diverged_at:
            parts.append(f"The loss became non-finite at epoch {run.diverged_at[0]}, batch {run.diverged_at[1]}.")
        if run.error:
            parts.append(run.error)
        items.append(" ".join(parts))
    return Bullets(tuple(items))


def _epoch_table(run: RunRecord) -> Table:
    rows = [(e["epoch"], num(e.get("train_loss")), pct(e.get("train_acc")), num(e.get("val_loss")),
             pct(e.get("val_acc")), seconds(e.get("seconds"))) for e in run.epochs]
    return _table(("epoch", "train loss", "train acc", "val loss", "val acc", "time"), rows)


def _best_run_blocks(best: RunRecord) -> list[Block]:
    """Confusion matrix and per-class report of the best run on the test set."""
    test = best.test or {}
    blocks: list[Block] = [Heading(f"Best run: {best.id} {best.config.label}"),
                           Para(f"Test accuracy {pct(test.get('accuracy'))}, test loss {num(test.get('loss'))}.")]
    matrix = test.get("confusion_matrix") or []
    if matrix:
        blocks.append(Heading("Confusion matrix (test set; rows = true digit, columns = predicted)", 3))
        blocks.append(_table(("true \\ pred", *map(str, range(len(matrix)))),
                             ([i, *row] for i, row in enumerate(matrix))))
    report = test.get("report") or {}
    if report:
        blocks.append(Heading("Classification report (test set)", 3))
        rows = [(name, num(v.get("precision"), 3), num(v.get("recall"), 3), num(v.get("f1-score"), 3),
                 f"{v.get('support', 0):.0f}") for name, v in report.items() if isinstance(v, dict)]
        if isinstance(report.get("accuracy"), (int, float)):
            rows.append(("accuracy", "", "", num(report["accuracy"], 3), ""))
        blocks.append(_table(("class", "precision", "recall", "f1-score", "support"), rows))
    return blocks


def build_blocks(session: Session) -> list[Block]:
    """The whole report's content, independent of the output format."""
    runs = [r for r in session.runs if r.status != "queued"]
    env = session.environment
    blocks: list[Block] = [
        Heading(f"lrtui session {session.path.name}", 1),
        Para(f"Created {session.date}, last saved "
             f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(session.updated))}; {len(runs)} run(s)."),
        Heading("Environment"),
        _table(("lrtui", "python", "torch", "CUDA", "device", "device name"),
               [[env.get(k) or "—" for k in ("lrtui", "python", "torch", "cuda", "device", "device_name")]]),
        Heading("Runs"),
        _runs_table(runs),
        Heading("Verdicts"),
        _verdict_lines(runs),
        Heading("Charts"),
        Chart("Accuracy per epoch (validation and training)", charts.plot_accuracy, runs),
        Chart("Loss per epoch (validation and training)", charts.plot_loss, runs),
        Chart("Training loss per batch (smoothed)", charts.plot_batch_loss, runs),
        Heading("Per-epoch metrics"),
    ]
    for run in runs:
        blocks += [Heading(f"{run.id} {run.config.label}", 3),
                   _epoch_table(run) if run.epochs else Para(f"No epoch finished ({run.status}).")]
    best = session.best
    if best is not None and best.test:
        blocks += _best_run_blocks(best)
    return blocks


# -- renderers ---------------------------------------------------------------------------------
def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(blocks: Sequence[Block]) -> str:
    """Markdown with charts as colourless text in fenced blocks (each run drawn with its own letter)."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {b.text}")
        elif isinstance(b, Para):
            out.append(b.text)
        elif isinstance(b, Bullets):
            out.append("\n".join(f"- {item}" for item in b.items))
        elif isinstance(b, Table):
            lines = ["| " + " | ".join(b.headers) + " |", "|" + "---|" * len(b.headers)]
            lines += ["| " + " | ".join(_md_escape(c.text) for c in row) + " |" for row in b.rows]
            out.append("\n".join(lines))
        elif isinstance(b, Chart):
            text = charts.render(b.draw, b.runs, width=CHART_WIDTH, height=CHART_HEIGHT, color=False)
            out.append(f"**{b.title}**\n\n```text\n{text}\n```")
    return "\n\n".join(out) + "\n"


_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em auto; max-width: 70em;
       color: #1d1d1f; padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f0f0f3; }
td:first-child, th:first-child { text-align: left; }
pre.chart { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 0.8em; line-height: 1.15;
            background: #fff; padding: 0.5em; overflow-x: auto; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
"""
_HTML_COLORS = {"green": "#1a7f37", "yellow": "#9a6700", "red": "#cf222e", "magenta": "#8250df"}


def _chart_html(chart: Chart) -> str:
    """The colour chart through rich's HTML export: inline styles, no stylesheet, no assets."""
    from rich.console import Console
    from rich.text import Text

    console = Console(record=True, width=CHART_WIDTH + 2, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor")
    console.print(Text.from_ansi(charts.render(chart.draw, chart.runs, width=CHART_WIDTH, height=CHART_HEIGHT,
                                               color=True)))
    return console.export_html(inline_styles=True, code_format='<pre class="chart">{code}</pre>')


def to_html(blocks: Sequence[Block]) -> str:
    """One self-contained HTML page: inline CSS, colour charts, no network references."""
    e = html.escape
    body: list[str] = []
    title = next((b.text for b in blocks if isinstance(b, Heading)), "lrtui report")
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            body.append(f"<p>{e(b.text)}</p>")
        elif isinstance(b, Bullets):
            body.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
        elif isinstance(b, Table):
            head = "".join(f"<th>{e(h)}</th>" for h in b.headers)
            rows = "".join(
                "<tr>" + "".join(
                    f'<td style="color:{_HTML_COLORS[c.color]};font-weight:600">{e(c.text)}</td>'
                    if c.color in _HTML_COLORS else f"<td>{e(c.text)}</td>" for c in row) + "</tr>"
                for row in b.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(b, Chart):
            body.append(f"<h3>{e(b.title)}</h3>\n{_chart_html(b)}")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{e(title)}</title>\n'
            f"<style>{_CSS}</style>\n</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


def write_reports(session: Session, out_dir: str | Path | None = None,
                  formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write the chosen formats into ``out_dir`` (default: the session folder); return the paths."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format {unknown[0]!r}: choose from {', '.join(FORMATS)}")
    out = Path(out_dir) if out_dir is not None else session.path
    out.mkdir(parents=True, exist_ok=True)
    blocks = build_blocks(session) if {"md", "html"} & set(formats) else []
    written = []
    for fmt in dict.fromkeys(formats):
        path = out / _FILES[fmt]
        if fmt == "json":
            write_json_atomic(path, session.to_dict())
        else:
            path.write_text(to_markdown(blocks) if fmt == "md" else to_html(blocks), encoding="utf-8")
        written.append(path)
    return written
