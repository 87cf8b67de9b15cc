"""A real grid (sgd, adam × lr 0.01, 0.1 × seeds 0, 1; 200 digits, 2 epochs): seed groups, bands, the comparison.

Every expected number is computed here from the trained runs' own records, never written down.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from svg_helpers import NS, assert_inside

from lrtui.engine.config import format_lr, parse_configs
from lrtui.plots.confidence import comparison_sentence, edge_sentences, resolved, seed_comparison
from lrtui.plots.formatting import pct
from lrtui.plots.grouping import (
    best_per_column,
    comparison_fields,
    grid_table,
    group_key,
    has_seed_groups,
    ranked,
    seed_groups,
)
from lrtui.reports import figures
from lrtui.reports.report import build_blocks, write_reports
from lrtui.reports.svg_charts import Area, Line, Panel, Rect, area_polygons, clip_polygon, figure
from lrtui.sessions.listing import load_session
from lrtui.sessions.store import Session

GRID = {"optimizer": "sgd,adam", "lr": "0.01,0.1", "seed": "0,1", "train_limit": "200", "epochs": "2", "device": "cpu"}


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Session:
    from lrtui.engine.sweep import run_many

    session = Session.create(tmp_path_factory.mktemp("home") / "sessions")
    configs = parse_configs(GRID)
    ids = [session.add(c).id for c in configs]
    run_many(configs, ids, session.observe)
    session.close()
    loaded = load_session(session.path)
    assert [r.status for r in loaded.runs] == ["finished"] * 8
    return loaded


@pytest.fixture(scope="module")
def grid_reports(grid: Session, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    md, html = write_reports(grid, tmp_path_factory.mktemp("grid-report"), ("md", "html"))
    return md.read_text(), html.read_text()


def mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def svg_elements(html: str) -> list[str]:
    found = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    for svg in found:
        ET.fromstring(svg)
    return found


# -- grouping on real runs ---------------------------------------------------------------------------
def test_runs_that_differ_only_in_seed_form_one_group(grid: Session) -> None:
    groups = seed_groups(grid.runs)
    assert [g.ids for g in groups] == [("r1", "r2"), ("r3", "r4"), ("r5", "r6"), ("r7", "r8")]
    assert [g.label for g in groups] == ["lr=0.01 sgd", "lr=0.1 sgd", "lr=0.01 adam", "lr=0.1 adam"]
    for g in groups:
        assert g.seeds == (0, 1)
        assert {group_key(r.config) for r in g.runs} == {g.key}
        assert len({r.config for r in g.runs}) == 2, "the runs themselves differ (in seed)"
    assert len({g.key for g in groups}) == 4 and has_seed_groups(groups)


def test_group_curves_are_the_mean_and_min_max_of_the_runs(grid: Session) -> None:
    for g in seed_groups(grid.runs):
        assert g.epochs == (1, 2)
        for metric in ("val_acc", "train_acc", "val_loss", "train_loss"):
            curve = g.curves[metric]
            for i in range(2):
                values = [getattr(r.epochs[i], metric) for r in g.runs]
                assert curve.mean[i] == pytest.approx(mean(values), abs=1e-12)
                assert (curve.lo[i], curve.hi[i]) == (min(values), max(values))
        best = [r.best_val_acc for r in g.runs]
        s = g.best_val
        assert s is not None and s.n == 2
        assert (s.mean, s.lo, s.hi, s.spread) == (
            pytest.approx(mean(best)),
            min(best),
            max(best),
            pytest.approx(max(best) - min(best)),
        )


def test_pivot_cells_are_the_hand_computed_means(grid: Session) -> None:
    runs = grid.runs
    assert comparison_fields(runs) == ("lr", "optimizer")
    table = grid_table(runs)
    assert (table.rows_field, table.cols_field) == ("lr", "optimizer")
    assert table.row_values == (0.01, 0.1) and table.col_values == ("sgd", "adam")
    assert table.averaged_over == ("seed",) and table.counts == (2,)
    for lr in (0.01, 0.1):
        for opt in ("sgd", "adam"):
            members = [r for r in runs if r.config.lr == lr and r.config.optimizer == opt]
            cell = table.cell(lr, opt)
            assert cell.ids == tuple(r.id for r in members) and cell.n == 2
            assert cell.mean == pytest.approx(mean([r.best_val_acc for r in members]))
    # any two settings: by optimizer and seed, each cell averages the two lrs
    other = grid_table(runs, rows="seed", cols="optimizer", value="test_acc")
    assert other.averaged_over == ("lr",)
    for seed in (0, 1):
        members = [r for r in runs if r.config.seed == seed and r.config.optimizer == "adam"]
        assert other.cell(seed, "adam").mean == pytest.approx(mean([r.test_acc for r in members]))


def test_settings_are_compared_seed_by_seed_on_real_groups(grid: Session) -> None:
    """The paired difference of best validation accuracy, seed 0 with seed 0 and seed 1 with seed 1, and its
    t interval, computed here from the runs' own records."""
    from scipy.stats import t

    groups = seed_groups(grid.runs)
    for a in groups:
        for b in groups:
            if a is b:
                continue
            diffs = [100 * (ra.best_val_acc - rb.best_val_acc) for ra, rb in zip(a.runs, b.runs)]
            assert [ra.config.seed for ra in a.runs] == [rb.config.seed for rb in b.runs] == [0, 1]
            paired = seed_comparison(a, b)
            assert paired is not None and paired.n == 2
            half = t.ppf(0.975, 1) * abs(diffs[0] - diffs[1]) / 2  # two pairs: stdev / sqrt(2) = |d0 − d1| / 2
            assert paired.mean == pytest.approx(mean(diffs))
            assert (paired.lo, paired.hi) == pytest.approx((mean(diffs) - half, mean(diffs) + half))
            assert resolved(a, b) is (paired.lo > 0 or paired.hi < 0)
            text = comparison_sentence(a, b)
            assert "seed noise" not in text
            if any(diffs):
                assert text.endswith(": resolved." if resolved(a, b) else ": not resolved — run more seeds.")
                winner = a if paired.mean >= 0 else b
                assert text.startswith(f"{winner.label} better than ")


# -- reports -----------------------------------------------------------------------------------------
def test_markdown_folds_seeds_and_has_the_comparison(grid: Session, grid_reports: tuple[str, str]) -> None:
    md, _ = grid_reports
    for g in seed_groups(grid.runs):
        s = g.best_val
        assert s is not None
        row = f"| {g.label} | {', '.join(g.ids)} | 0, 1 | {pct(s.mean)} ± {50 * s.spread:.1f} | "
        assert row + f"{100 * s.lo:.1f}–{100 * s.hi:.1f}% |" in md
    assert "## Comparison" in md and "| lr \\ optimizer | sgd | adam |" in md
    table = grid_table(grid.runs)
    for i, lr in enumerate(table.row_values):
        cells = []
        for j, opt in enumerate(table.col_values):
            text = pct(table.cell(lr, opt).mean)
            cells.append(f"**{text}**" if table.best_row(j) == i else text)
        assert f"| {format_lr(lr)} | {' | '.join(cells)} |" in md
    assert "## Seeds" in md and "| setting | epoch 1 | epoch 2 |" in md
    best = ranked(seed_groups(grid.runs))[0]
    assert md.count(f"\n- ? {best.label} ") + md.count(f"\n- ✓ {best.label} ") == 3, (
        "the best setting against the next three"
    )
    assert md.count(" paired seeds ") + md.count(" paired seed ") >= 3 and "seed noise" not in md
    for sentence in edge_sentences(grid.runs):  # two lrs: the best of each optimizer is at an edge
        assert sentence in md
    assert len(edge_sentences(grid.runs)) == len(best_per_column(grid_table(grid.runs))) == 2
    assert "optimistic pick" in md
    assert "## Every run" in md and "| run | lr | optimizer | seed |" in md
    assert md.count("\n| r") >= 2 * 8, "every run still has its rows (results and setup)"


def test_html_heatmap_and_bands(grid: Session, grid_reports: tuple[str, str]) -> None:
    _, html = grid_reports
    table = grid_table(grid.runs)
    heat = re.findall(r'<td class="heat" style="background:(#[0-9a-f]{6});(font-weight:700;)?">([^<]*)</td>', html)
    assert len(heat) == 4
    texts = [pct(table.cell(lr, opt).mean) for lr in table.row_values for opt in table.col_values]
    assert [t for _, _, t in heat] == texts
    assert sum(1 for _, bold, _ in heat if bold) == 2, "the best lr of each optimizer in bold"
    assert len({c for c, _, _ in heat}) >= 2, "cells are coloured by value"

    svgs = svg_elements(html)
    for svg in svgs:
        assert_inside(svg)  # the band polygons are in the series groups: checked too
    groups = seed_groups(grid.runs)
    for svg, metric, scale in ((svgs[0], "val_acc", 100.0), (svgs[1], "val_loss", None)):
        root = ET.fromstring(svg)
        series = next(g for g in root.iter(f"{NS}g") if g.get("class") == "series")
        frame = Rect(*map(float, series.get("data-frame", "").split()))
        areas = [el for el in series if el.get("class") == "area"]
        assert len(areas) == 4 and [a.get("fill") for a in areas] == [figures.group_hex(g) for g in groups]
        if scale is None:
            continue
        for area, g in zip(areas, groups):
            ys = sorted(float(p.split(",")[1]) for p in area.get("points", "").split())
            curve = g.curves[metric]
            to_px = [frame.bottom - v * scale / 100 * frame.h for v in (*curve.lo, *curve.hi)]  # y axis 0..100%
            assert ys == pytest.approx(sorted(to_px), abs=0.051), "the band spans min..max of the real runs"
    assert "seeds&#x27; min–max (validation)" in svgs[0] or "seeds' min–max (validation)" in svgs[0]


def test_a_grid_without_seeds_gets_a_comparison_but_no_seed_sections(grid: Session, tmp_path: Path) -> None:
    doc = json.loads((grid.path / "session.json").read_text())
    doc["runs"] = [r for r in doc["runs"] if r["config"]["seed"] == 0]
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "session.json").write_text(json.dumps(doc))
    md, html = (p.read_text() for p in write_reports(load_session(tmp_path / "s"), tmp_path / "out", ("md", "html")))
    assert "## Comparison" in md and "(n=" not in md and "1 run(s) per cell" in md
    assert "## Seeds" not in md and "## Every run" not in md and 'class="area"' not in html


def test_plain_lr_sweep_report_has_no_new_sections(trained) -> None:
    """The three-lr session of conftest (no seeds, one setting): the report reads as before."""
    session = load_session(trained.path)
    headings = [b.text for b in build_blocks(session) if type(b).__name__ == "Heading" and b.level == 2]
    assert headings[:6] == ["Results", "Verdicts", "Setup", "Charts", "Inside the network", "Step probe"]
    assert comparison_fields(session.runs) is None and not has_seed_groups(seed_groups(session.runs))
    assert comparison_fields(session.runs[:1]) is None


def test_settings_from_a_file_are_escaped_in_labels_and_tables(grid: Session, tmp_path: Path) -> None:
    """A data_dir that differs between runs is part of their labels: it reaches the HTML as text."""
    doc = json.loads((grid.path / "session.json").read_text())
    evil = "<b>x</b><script>alert(1)</script>"
    for run in doc["runs"][4:]:
        run["config"]["data_dir"] = evil
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "session.json").write_text(json.dumps(doc))
    session = load_session(tmp_path / "s")
    md, html = (p.read_text() for p in write_reports(session, tmp_path / "out", ("md", "html")))
    assert "<script" not in html and "<b>x" not in html and "data_dir=&lt;b&gt;x&lt;/b&gt;" in html
    for svg in svg_elements(html):
        assert_inside(svg)
    assert [g.label for g in seed_groups(session.runs)][2] == f"lr=0.01 adam data_dir={evil}"
    assert "## Comparison" in md


# -- the band primitive --------------------------------------------------------------------------------
def test_a_band_partly_off_the_chart_is_clipped_to_the_frame() -> None:
    r = Rect(10, 10, 100, 50)
    inside = clip_polygon([(0, 0), (200, 0), (200, 100), (0, 100)], r)
    assert sorted(inside) == sorted([(10, 10), (110, 10), (110, 60), (10, 60)])
    assert clip_polygon([(200, 200), (300, 200), (300, 300)], r) == []
    tri = clip_polygon([(60, 0), (120, 70), (0, 70)], r)
    assert len(tri) >= 5 and all(r.contains(p, 1e-9) for p in tri)
    # a loss band that leaves through the top of a fixed range, and a lone point drawn as a bar
    svg = figure(
        [
            Panel(
                [Line([1, 2, 3], [1.0, 5.0, 1.0], "#3b75d9")],
                y_range=(0, 2),
                areas=[
                    Area([1, 2, 3], [0.5, 3.0, 0.5], [1.5, 9.0, 1.5], "#3b75d9"),
                    Area([2, None], [0.2, 0.4], [0.8, 0.9], "#f28e2b"),
                ],
            )
        ]
    )
    assert svg.count('class="area"') == 2
    assert assert_inside(svg) > 8


def test_area_breaks_at_missing_values() -> None:
    from lrtui.reports.svg_charts import Scale

    sx, sy = Scale(0, 10, 0, 100), Scale(0, 10, 100, 0)
    polys = area_polygons(
        Area([1, 2, 3, 4, 5], [1, 1, None, 1, 1], [2, 2, 2, 2, 2], "#000000"), sx, sy, Rect(0, 0, 100, 100)
    )
    assert len(polys) == 2 and all(len(p) == 4 for p in polys)
