"""The report per step: each run's step trace as figures on a log step axis, its sentence in the per-run
text, and the per-epoch figures for runs saved without a trace (a real session of three lrs)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from svg_helpers import assert_inside

from lrtui.engine.trace_story import trace_sentence
from lrtui.reports.report import write_reports
from lrtui.sessions.listing import load_session


def svgs(html: str) -> list[str]:
    return re.findall(r"<svg\b.*?</svg>", html, flags=re.S)


def report_of(trained, tmp_path: Path, drop: set[str] | None = None) -> tuple[str, str]:
    """md and html of the trained session, with the step trace of the runs in ``drop`` removed (None: of all)."""
    doc = json.loads((trained.path / "session.json").read_text())
    for run in doc["runs"]:
        if drop is None or run["id"] in drop:
            run["step_trace"] = None
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "session.json").write_text(json.dumps(doc))
    md, html = (p.read_text() for p in write_reports(load_session(tmp_path / "s"), tmp_path / "out", ("md", "html")))
    return md, html


@pytest.fixture(scope="module")
def html_md(trained, tmp_path_factory) -> tuple[str, str]:
    return report_of(trained, tmp_path_factory.mktemp("steps"), drop=set())


def test_update_ratio_figure_is_per_step_on_a_log_step_axis(html_md) -> None:
    _, html = html_md
    ratio = next(s for s in svgs(html) if "Update-to-weight ratio of single steps" in s)
    assert ratio.count('class="band"') == 4 and ratio.count(">step (log)<") == 4
    assert ">0<" in ratio and ">10<" in ratio, "ticks on step 0 and the decades"
    assert assert_inside(ratio) > 20
    assert "Update-to-weight ratio per step, per layer, against the step" in html


def test_dead_figure_is_per_step_and_says_the_probe_batch(trained, html_md) -> None:
    _, html = html_md
    (n,) = {r.step_trace.dead_on for r in load_session(trained.path).runs}  # the first validation images, <= 32
    dead = next(s for s in svgs(html) if f"Dead ReLU units on a probe batch of {n} images" in s)
    assert dead.count(f"never active on {n} probe images (%)") == 3
    assert "predictions in the most common class" in dead and assert_inside(dead) > 10
    assert "not the whole validation set" in html


def test_each_run_says_its_trace_in_words(trained, html_md) -> None:
    md, html = html_md
    session = load_session(trained.path)
    for run in session.runs:
        sentence = trace_sentence(run.step_trace, run.config.optimizer)
        assert sentence and f"Step by step: {sentence}" in md
        assert "the largest step, step" in sentence


def test_without_step_traces_the_figures_are_per_epoch(trained, tmp_path) -> None:
    md, html = report_of(trained, tmp_path)
    assert "Step by step:" not in md and "single steps" not in html
    ratio = next(s for s in svgs(html) if "healthy band" in s)
    assert ratio.count(">epoch<") == 4 and "Update-to-weight ratio per step, per layer (log scale)" in html


def test_a_run_without_a_trace_beside_traced_ones_keeps_its_per_epoch_figures(trained, tmp_path) -> None:
    md, html = report_of(trained, tmp_path, drop={"r2"})
    assert "Update-to-weight ratio of single steps" in html
    assert "Update-to-weight ratio per step, per layer (log scale) (r2: saved without a step trace)" in html
    assert md.count("Step by step:") == 2
