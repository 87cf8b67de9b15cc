"""Reports of a real three-lr session: Markdown, self-contained HTML, JSON; and the shared charts."""

from __future__ import annotations

import re
from html import escape as html_escape

import pytest

from lrtui import charts
from lrtui.engine.config import format_lr
from lrtui.report import write_reports
from lrtui.session import load_session


@pytest.fixture(scope="module")
def reports(trained, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    session = load_session(trained.path)
    return session, write_reports(session, out), out


def test_writes_the_three_files(reports):
    _, paths, out = reports
    assert sorted(p.name for p in paths) == ["report.html", "report.md", "session.json"]
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.md", "session.json"]


def test_markdown_has_runs_table_verdicts_and_charts(reports):
    session, paths, out = reports
    md = (out / "report.md").read_text()
    assert "| run | lr | optimizer | momentum | epochs | batch | best val acc | last val acc | test acc |" in md
    for run in session.runs:
        row = next(line for line in md.splitlines() if line.startswith(f"| {run.id} |"))
        assert f"| {format_lr(run.config.lr)} | sgd |" in row
        assert f"| {run.verdict['label']} |" in row
        assert f"{run.verdict['label']}. {run.verdict['reason']}" in md and run.verdict["hint"] in md
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


def test_html_is_one_self_contained_file(trained, tmp_path):
    session = load_session(trained.path)
    paths = write_reports(session, tmp_path, ("html",))
    assert paths == [tmp_path / "report.html"] and [p.name for p in tmp_path.iterdir()] == ["report.html"]
    html = paths[0].read_text()
    assert "http" not in html
    assert not re.search(r"<(link|script|img|iframe)\b|\bsrc=|url\(", html)
    assert html.count('<pre class="chart">') == 3
    assert re.search(r'<span style="[^"]*color: #', html), "charts keep their colours"
    assert "<table>" in html
    for run in session.runs:
        assert f"<td>{run.config.optimizer}</td>" in html and html_escape(run.verdict["reason"]) in html


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
    from lrtui.session import Session

    session = Session.create(tmp_path)
    record = session.add(RunConfig(lr=1e6, train_limit=100, epochs=2, device="cpu"))  # beyond the form's range
    run_many([record.config], [record.id], session.observe, batched=False)
    epoch, batch = load_session(session.path).runs[0].diverged_at
    md = write_reports(load_session(session.path), tmp_path / "out", ("md",))[0].read_text()
    assert f"r1 lr=1e+06 sgd: diverged. {record.verdict['reason']}" in md
    assert f"The loss became non-finite at epoch {epoch}, batch {batch}." in md
    assert "No epoch finished (diverged)." in md and "Best run" not in md
