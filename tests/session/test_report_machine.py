"""The report's "Your machine" section: a table per run and a chart per epoch, the GPU's only where a run had one."""

from __future__ import annotations

from pathlib import Path

import pytest
from svg_helpers import assert_inside, svg_points

from lrtui.engine.config import RunConfig
from lrtui.engine.events import RunState
from lrtui.engine.records import EpochRecord
from lrtui.reports.machine import system_svg
from lrtui.reports.report import write_reports
from lrtui.sessions.listing import load_session
from lrtui.sessions.store import Session
from lrtui.system_load import SystemSample


def session_of(root: Path, samples: list[list[SystemSample | None]]) -> Session:
    """A saved session of made-up finished runs, one per list of samples (None: that epoch has no figures)."""
    session = Session.create(root)
    for i, per_epoch in enumerate(samples):
        record = session.add(RunConfig(lr=0.01 * (i + 1), epochs=len(per_epoch)))
        record.status = RunState.FINISHED
        record.epochs = [
            EpochRecord(e + 1, train_loss=0.3, train_acc=0.9, val_loss=0.3, val_acc=0.9, seconds=1.0)
            for e in range(len(per_epoch))
        ]
        for e, sample in enumerate(per_epoch):
            if sample is not None:
                record.note_system(e + 1, sample)
    session.save()
    session.close()
    return load_session(session.path)  # as a report reads it: through the file


def cpu(percent: float, mb: float = 800.0, load: float = 1.5) -> SystemSample:
    return SystemSample(cpu_percent=percent, rss_mb=mb, load1=load)


def gpu(util: float, mb: float = 4198.0) -> SystemSample:
    return SystemSample(cpu_percent=100.0, rss_mb=2000.0, load1=1.0, gpu_util=util, gpu_mem_mb=mb, gpu_temp_c=61.0)


def test_a_cpu_session_gets_the_table_and_a_chart_of_cpu_load_and_memory(tmp_path: Path) -> None:
    session = session_of(tmp_path, [[cpu(180.0), cpu(190.0, 900.0)], [cpu(95.0), None]])
    md = tmp_path / "out" / "report.md"
    write_reports(session, tmp_path / "out", ("md", "html"))
    text = md.read_text()
    assert "## Your machine" in text
    assert "| r1 | 185% | 900 MB | 1.5 | — | — | — |" in text  # mean CPU, peak memory, mean load; no GPU
    assert "| r2 | 95% | 800 MB | 1.5 | — | — | — |" in text
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Your machine" in html and "CPU, load and memory per epoch" in html
    svg = system_svg(session.runs)
    assert svg is not None and "cores busy" in svg and "memory of this process" in svg and "GPU" not in svg
    assert assert_inside(svg) > 0
    series = svg_points(svg)
    assert len(series) == 2  # the CPU panel and the memory panel


def test_a_gpu_run_adds_the_gpu_panels(tmp_path: Path) -> None:
    session = session_of(tmp_path, [[gpu(93.0), gpu(95.0, 5000.0)], [cpu(100.0), cpu(100.0)]])
    svg = system_svg(session.runs)
    assert svg is not None and "GPU utilisation" in svg and "GPU memory in use" in svg and "used (GB)" in svg
    assert len(svg_points(svg)) == 4
    assert_inside(svg)
    write_reports(session, tmp_path / "out", ("md",))
    assert "| r1 | 100% | 2.0 GB | 1.0 | 94% | 4.9 GB | 61°C |" in (tmp_path / "out" / "report.md").read_text()


def test_a_session_without_the_figures_has_no_section(tmp_path: Path) -> None:
    session = session_of(tmp_path, [[None, None]])
    assert system_svg(session.runs) is None
    write_reports(session, tmp_path / "out", ("md", "html"))
    assert "Your machine" not in (tmp_path / "out" / "report.md").read_text()
    assert "Your machine" not in (tmp_path / "out" / "report.html").read_text()


@pytest.mark.parametrize("big", [1.8e308, 5e-324])
def test_extreme_figures_stay_inside_the_chart(tmp_path: Path, big: float) -> None:
    sample = SystemSample(big, big, big, big, big, big)
    session = session_of(tmp_path, [[sample, cpu(100.0)]])
    svg = system_svg(session.runs)
    assert svg is not None and "nan" not in svg.lower() and "inf" not in svg.lower()
    assert_inside(svg)
    write_reports(session, tmp_path / "out", ("md", "html"))
