"""Reports and charts of hostile sessions the schema accepts.

Every number field at ±1.8e308 (next to inf) or 5e-324, or both in one run: the Markdown and
HTML reports are written, every chart (text and SVG) is drawn inside its frame, and the tables
show the values as text. Probes of 10,000 step sizes: the report stays linear in their size and
its probe table shows a bounded sample, saying so.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from hostile_values import VARIANTS, extreme_session
from svg_helpers import assert_inside

from lrtui.engine.records import ProbeRecord
from lrtui.plots import axes, probe_lr_charts
from lrtui.plots import terminal_charts as charts
from lrtui.reports import figures, run_details
from lrtui.reports.markdown import to_markdown
from lrtui.reports.report import build_blocks, write_reports
from lrtui.reports.run_details import PROBE_COLUMNS, PROBE_ROWS
from lrtui.sessions.listing import load_session
from lrtui.sessions.store import Session

DRAWINGS = (
    charts.plot_accuracy,
    charts.plot_loss,
    charts.plot_batch_loss,
    charts.plot_update_ratio,
    charts.plot_dead_fraction,
    probe_lr_charts.plot_probe,
    probe_lr_charts.plot_lr,
)
FIGURES = (
    figures.accuracy_svg,
    figures.loss_svg,
    figures.batch_loss_svg,
    figures.update_ratio_svg,
    figures.dead_fraction_svg,
    figures.probe_svg,
)
#: How the tables write the extremes: a loss (4 decimals' worth), a duration, a rate.
HUGE_TEXT = ("1.798e+308", "1.8e+308 s", "| 1.8e+308 |")
TINY_TEXT = ("4.941e-324",)


@pytest.fixture(scope="module", params=VARIANTS)
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def extreme(variant: str, trained, tmp_path_factory: pytest.TempPathFactory) -> Session:
    return load_session(extreme_session(trained.path, tmp_path_factory.mktemp(variant) / "s", variant))


def test_markdown_and_html_reports_are_written_with_the_values_as_text(
    variant: str, extreme: Session, tmp_path
) -> None:
    write_reports(extreme, tmp_path, ("md", "html"))
    md = (tmp_path / "report.md").read_text()
    page = (tmp_path / "report.html").read_text()
    expected = {"huge": HUGE_TEXT, "tiny": TINY_TEXT, "mixed": HUGE_TEXT + TINY_TEXT}[variant]
    for text in expected:
        assert text in md, text
        assert text.strip("| ") in page, text
    assert len(re.findall(r"```text\n(.*?)```", md, flags=re.S)) == 3  # the text charts: accuracy, loss, batches
    for svg in re.findall(r"<svg.*?</svg>", page, flags=re.S):
        ET.fromstring(svg)
        assert_inside(svg)
        assert not re.search(r'="[^"]*(nan|inf)', svg), "a coordinate overflowed"


@pytest.mark.parametrize("draw", DRAWINGS, ids=lambda d: d.__name__)
def test_every_text_chart_draws_in_every_view(extreme: Session, draw) -> None:
    """As the app draws them (its legend outside the plot) and as the Markdown report does (plain letters)."""
    for zoom in (False, True):
        for log in (False, True):
            for color in (False, True):
                text = charts.render(
                    draw,
                    extreme.runs,
                    width=80,
                    height=20,
                    color=color,
                    legend_outside=not color,
                    zoom=zoom,
                    log=log,
                    **({"legend": False} if color else {}),
                )
                assert "┌" in text and "┘" in text


def test_every_svg_figure_stays_inside_its_frames(variant: str, extreme: Session) -> None:
    """Huge losses leave the loss charts through the top (their range is capped): the panel says so."""
    for make in FIGURES:
        svg = make(extreme.runs)
        assert svg is not None, make.__name__
        ET.fromstring(svg)
        off = variant == "huge" and make in (figures.loss_svg, figures.batch_loss_svg)
        assert (assert_inside(svg) == 0) == off, make.__name__
        assert ("every loss is above 9.2: off the chart" in svg) == off, make.__name__
        assert not re.search(r'="[^"]*(nan|inf)', svg), make.__name__


def test_axes_of_extreme_values_stay_finite() -> None:
    for lo, hi in ((-1.8e308, 1.8e308), (5e-324, 1e-323), (0.0, 1.8e308), (1e308, 1e308)):
        bottom, top, ticks = axes.linear_axis(lo, hi, 10)
        assert all(math.isfinite(v) for v in (bottom, top, *ticks)) and bottom < top
    for lo, hi in ((5e-324, 1.8e308), (1.8e308, 1.8e308), (5e-324, 5e-324)):
        bottom, top, ticks, labels = axes.log_axis(lo, hi, 10)
        assert all(math.isfinite(v) for v in (bottom, top, *ticks)) and bottom < top and len(labels) == len(ticks)


# -- probes of 10,000 step sizes ------------------------------------------------------------------------
N_LRS, N_PROBES = 10_000, 20


def _big_probes(lr: float) -> list[ProbeRecord]:
    """Probes as the engine writes them, on a grid of 10,000 step sizes around ``lr`` (a valley at ``lr``)."""
    lrs = tuple(lr * 10 ** (-4 + 6 * i / (N_LRS - 1)) for i in range(N_LRS))
    return [
        ProbeRecord(
            e, lrs, tuple(2.3 + math.log10(x / lr) ** 2 / (e + 1) for x in lrs), current_lr=lrs[4000], base_loss=2.3
        )
        for e in range(N_PROBES)
    ]


def test_a_probe_table_of_10000_step_sizes_is_linear_and_bounded(trained, monkeypatch) -> None:
    run = load_session(trained.path).runs[0]
    run = replace(run, probes=_big_probes(run.config.lr))
    keys = 0
    lr_key = run_details._lr_key

    def counted(lr: float) -> str:
        nonlocal keys
        keys += 1
        return lr_key(lr)

    monkeypatch.setattr(run_details, "_lr_key", counted)
    made = run_details._probe_table(run)
    assert made is not None
    table, note = made
    assert keys <= 2 * PROBE_COLUMNS * N_LRS  # each shown probe's step sizes once (and its lr): linear
    assert len(table.headers) == 1 + PROBE_COLUMNS
    assert table.headers[1] == "before training" and table.headers[-1] == f"after epoch {N_PROBES - 1}"
    assert PROBE_ROWS <= len(table.rows) <= PROBE_ROWS + 2 * PROBE_COLUMNS
    marked = [row for row in table.rows if row[0].text.endswith("◀")]
    assert len(marked) == 1 and marked[0][0].text == f"{run.probes[0].lrs[4000]:.3g} ◀"
    assert f"of {N_LRS:,} step sizes" in note and f"{PROBE_COLUMNS} of {N_PROBES} probes" in note


def test_the_report_of_a_session_with_huge_probes_stays_small(trained) -> None:
    session = load_session(trained.path)
    session.runs[:] = [replace(r, probes=_big_probes(r.config.lr)) for r in session.runs]
    md = to_markdown(build_blocks(session))
    tables = re.findall(r"^\| η \|.*\n\|(?:---\|)+\n((?:\|.*\n)*)", md, flags=re.M)
    assert len(tables) == len(session.runs)
    assert all(PROBE_ROWS <= table.count("\n") <= PROBE_ROWS + 2 * PROBE_COLUMNS for table in tables)
    assert md.count(f"of {N_LRS:,} step sizes") == len(session.runs)
