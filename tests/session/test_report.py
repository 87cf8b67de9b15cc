"""Reports of a real three-lr session: Markdown, self-contained HTML, JSON; and the shared charts."""

from __future__ import annotations

import json
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import replace
from html import escape as html_escape

import pytest
from svg_helpers import assert_inside

from lrtui.engine.config import format_lr
from lrtui.plots import terminal_charts as charts
from lrtui.plots.formatting import pct, sci
from lrtui.reports import figures
from lrtui.reports.figures import run_hex
from lrtui.reports.report import write_reports
from lrtui.sessions.listing import load_session


def cap(text: str) -> str:
    """Reasons and hints are phrases; the report starts each as a sentence."""
    return text[:1].upper() + text[1:]


@pytest.fixture(scope="module")
def reports(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    session = load_session(trained.path)
    return session, write_reports(session, out), out


def test_writes_the_three_files(reports):
    _, paths, out = reports
    assert sorted(p.name for p in paths) == ["report.html", "report.md", "session.json"]
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.md", "session.json"]


def test_markdown_has_results_setup_verdicts_and_charts(reports):
    session, paths, out = reports
    md = (out / "report.md").read_text()
    # only the lr varies: no other setting is a column; what every run shares is said once above the table
    assert "| run | lr | epochs | best val acc | last val acc | test acc | test loss | verdict | status |" in md
    c = session.runs[0].config
    assert f"*Every run: sgd · batch {c.batch_size} · {c.dataset} (first {c.train_limit}) · seed {c.seed}. " in md
    assert "Best val acc is the best epoch's validation accuracy, an optimistic pick" in md
    n_val = session.runs[0].n_val
    assert 0 < n_val < 200 and f"Validation sets under 200 images (here {n_val})" in md
    assert (
        "| run | model | dataset | train / val / test | val split | seed | optimizer | lr | momentum | weight decay | "
        "schedule | warmup | batch | epochs | device |"
    ) in md
    for run in session.runs:
        rows = [line for line in md.splitlines() if line.startswith(f"| {run.id} |")]
        results, setup = rows[0], rows[1]
        assert f"| {run.id} | {format_lr(run.config.lr)} | {run.config.epochs} |" in results
        assert f"| {run.verdict.label} | {run.status} |" in results
        c = run.config
        assert (
            f"| {c.dataset} (first {c.train_limit}) | {run.n_train} / {run.n_val} / {run.n_test} | "
            f"{c.val_fraction:g} | {c.seed} | sgd | {format_lr(c.lr)} | 0 | 0 | constant | 0 | {c.batch_size} | "
            f"{c.epochs} | "
            f"{run.device}"
        ) in setup
        assert f"{run.id} {run.config.label}: {run.verdict.label}." in md
        assert f"{cap(run.verdict.reason)}. Hint: {cap(run.verdict.hint)}" in md
    charts_text = re.findall(r"```text\n(.*?)```", md, flags=re.S)
    assert len(charts_text) == 3
    accuracy = charts_text[0]
    assert "chance 10%" in accuracy and "┤" in accuracy
    assert "\x1b[" not in md, "Markdown charts carry no colour codes"
    for letter, run in zip("ABC", session.runs):
        assert f"{letter}{letter} {run.config.label} val" in accuracy, "each run has its own letter"
        assert f"{letter.lower() * 2} {run.config.label} train" in accuracy
    plot_area = [line for line in accuracy.splitlines()[2:-3] if "lr=" not in line and "chance" not in line]
    assert sum(len(re.findall("[ABCabc]", line)) for line in plot_area) > 50, "the curves are drawn"
    assert md.count("| epoch | train loss | train acc | val loss | val acc | time |") == 3
    assert "Confusion matrix" in md and "Classification report" in md


def test_markdown_names_the_best_run(reports):
    session, _, out = reports
    best = max(session.runs, key=lambda r: r.best_val_acc)
    assert f"## Best run: {best.id} {best.config.label}" in (out / "report.md").read_text()


def test_html_is_one_self_contained_file_with_vector_charts(trained, tmp_path):
    session = load_session(trained.path)
    paths = write_reports(session, tmp_path, ("html",))
    assert paths == [tmp_path / "report.html"] and [p.name for p in tmp_path.iterdir()] == ["report.html"]
    html = paths[0].read_text()
    assert "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"<(link|script|img|iframe)\b|\bsrc=|url\((?!#)", html)
    svgs = svg_elements(html)
    assert len(svgs) >= 3 and "<pre" not in html, "every chart is SVG"
    for svg in svgs:
        assert_inside(svg)
    accuracy = svgs[0]
    for run in session.runs:
        assert run_hex(run) in accuracy and f"{run.id} {run.config.label}" in accuracy
    assert len({run_hex(r) for r in session.runs}) == len(session.runs)
    assert "chance (10%)" in accuracy and 'stroke-dasharray="7 4"' in accuracy, "training dashed, chance dotted"
    for run in session.runs:
        assert f"<td>{run.config.optimizer}</td>" in html and html_escape(cap(run.verdict.reason)) in html


def svg_elements(html: str) -> list[str]:
    """Each inline <svg> of a page, as text that must parse as XML."""
    found = re.findall(r"<svg\b.*?</svg>", html, flags=re.S)
    for svg in found:
        ET.fromstring(svg)
    return found


def test_diagnostics_and_probe_sections_when_the_runs_have_them(reports):
    session, _, out = reports
    md, html = (out / "report.md").read_text(), (out / "report.html").read_text()
    assert all(figures.diagnostics(r) for r in session.runs) and all(figures.probes(r) for r in session.runs)
    assert md.count("| epoch | ratio conv1 | ratio conv2 | ratio fc1 | ratio fc2 | grad norm | dead conv1 |") == 3
    assert md.count("| η | before training | after epoch 1 | after epoch 2 |") == 3
    for run in session.runs:
        last = run.epochs[-1].diagnostics
        row = [line for line in md.split(f"### {run.id} ")[1].splitlines() if line.startswith("| 2 | ")][1]
        assert last is not None
        assert f"| {sci(last.update_ratio['fc1'])} |" in row and f"| {pct(last.top_class_share)} |" in row
        assert f"{format_lr(run.config.lr)} ◀" in md.split(f"### {run.id} ")[1], "the run's lr is marked"
    for title in ("Update-to-weight ratio per step", "Dead ReLU units", "Loss after one step of size η"):
        assert title in html
    assert "## Inside the network" in md and "## Step probe" in md
    ratio = next(s for s in svg_elements(html) if "healthy band" in s)
    assert ratio.count('class="band"') == 4, "one shaded band per layer"
    probe = next(s for s in svg_elements(html) if "step size η" in s)
    assert probe.count('class="panel"') == len(session.runs)
    assert all(f"lr {format_lr(r.config.lr)}" in probe for r in session.runs), "current lr marked"


def test_old_sessions_without_diagnostics_still_report(trained, tmp_path):
    """Sessions saved before diagnostics and probes existed: no such sections, no error."""
    doc = json.loads((trained.path / "session.json").read_text())
    for run in doc["runs"]:
        run.pop("probes", None)
        for e in run["epochs"]:
            e.pop("diagnostics", None)
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "session.json").write_text(json.dumps(doc))
    md, html = (p.read_text() for p in write_reports(load_session(tmp_path / "old"), tmp_path / "out", ("md", "html")))
    assert "Inside the network" not in md and "Step probe" not in md and "ratio conv1" not in md
    assert "healthy band" not in html and len(svg_elements(html)) == 3


def test_cancelled_run_says_cancelled(tmp_path):
    """A run stopped after its first epoch reads *cancelled* in the results and the verdicts."""
    from lrtui.engine.config import RunConfig
    from lrtui.engine.events import EpochEnd
    from lrtui.engine.sweep import run_many
    from lrtui.sessions.store import Session

    session = Session.create(tmp_path)
    record = session.add(RunConfig(lr=0.01, train_limit=100, epochs=3, device="cpu"))
    cancel = threading.Event()

    def emit(ev):
        session.observe(ev)
        if isinstance(ev, EpochEnd):
            cancel.set()

    run_many([record.config], [record.id], emit, cancel, batched=False)
    run = load_session(session.path).runs[0]
    assert run.status == "cancelled" and len(run.epochs) == 1
    md, html = (p.read_text() for p in write_reports(load_session(session.path), tmp_path / "out", ("md", "html")))
    row = next(line for line in md.splitlines() if line.startswith("| r1 |"))
    assert "| 1/3 |" in row and "| cancelled |" in row
    assert "Cancelled after 1 of 3 epochs" in md and "Cancelled after 1 of 3 epochs" in html
    assert ">cancelled</td>" in html


def test_user_strings_are_escaped(trained, tmp_path):
    """Run ids and error text from a session file reach the HTML as text, never as markup."""
    session = load_session(trained.path)  # a loaded file is checked: change the strings after loading
    evil = '<script>alert("x")</script>'
    first, second = session.runs[0], session.runs[1]
    first.id = f"r1{evil}"
    second.error = f"disk <b>full</b> & {evil}"
    assert second.verdict is not None
    second.verdict = replace(second.verdict, reason="a | pipe\nand a newline")
    md, html = (p.read_text() for p in write_reports(session, tmp_path / "out", ("md", "html")))
    assert "<script" not in html and "<b>full" not in html
    assert html_escape(f"r1{evil}") in html and "Disk &lt;b&gt;full&lt;/b&gt; &amp;" in html
    for svg in svg_elements(html):
        assert_inside(svg)
    assert "A | pipe and a newline." in md, "a newline from a file does not break the Markdown list"


def test_json_report_is_the_session_document(reports):
    session, _, out = reports
    copy = load_session(out)
    assert [r.to_dict() for r in copy.runs] == [r.to_dict() for r in session.runs]


def test_unknown_format_is_refused(trained, tmp_path):
    with pytest.raises(ValueError, match="unknown report format 'pdf'"):
        write_reports(load_session(trained.path), tmp_path, ("pdf",))


def test_redrawing_a_figure_does_not_pile_up_series(trained):
    """The app redraws on every epoch end into the same figure: the result must not change."""
    runs = load_session(trained.path).runs
    fig = charts.new_figure(80, 20)
    charts.plot_accuracy(fig, runs)
    once = fig.build()
    charts.plot_accuracy(fig, runs)
    charts.plot_accuracy(fig, runs)
    assert fig.build() == once


def test_chart_functions_draw_every_run(trained):
    runs = load_session(trained.path).runs
    for draw in (charts.plot_accuracy, charts.plot_loss, charts.plot_batch_loss):
        text = charts.render(draw, runs, width=90, height=20)
        for run in runs:
            assert run.config.label in text


def test_smooth_skips_gaps_and_is_bias_corrected():
    assert charts.smooth([2.0, None, float("nan"), 2.0]) == [(0, 2.0), (3, pytest.approx(2.0))]


def test_report_of_a_diverged_run_says_where(tmp_path):
    """A run that blows up in its first epoch has no curve and no test score; the report still tells its story."""
    from lrtui.engine.config import RunConfig
    from lrtui.engine.sweep import run_many
    from lrtui.sessions.store import Session

    session = Session.create(tmp_path)
    record = session.add(RunConfig(lr=1e6, train_limit=100, epochs=2, device="cpu"))  # beyond the form's range
    run_many([record.config], [record.id], session.observe, batched=False)
    epoch, batch = session.runs[0].diverged_at  # (a loaded file refuses lr 1e6: report the live session)
    md = write_reports(session, tmp_path / "out", ("md",))[0].read_text()
    assert f"r1 lr=1e+06 sgd: diverged. {cap(record.verdict.reason)}" in md
    assert f"The loss became non-finite at epoch {epoch}, batch {batch}." in md
    assert "No epoch finished (diverged)." in md and "Best run" not in md
