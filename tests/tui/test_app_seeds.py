"""Seed groups in the app: runs that differ only in seed are one mean line and band in the accuracy and
loss charts, and one row (mean ± spread) in the folded runs table. Real training on 200 digits."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.widgets import DataTable
from tui_helpers import make_app, settle

from lrtui.plots import palette
from lrtui.plots import terminal_charts as charts
from lrtui.plots.grouping import seed_groups, summary_text
from lrtui.sessions.record import RunRecord
from lrtui.tui.widgets.charts import RunChart


def _series(plt: Any) -> list[tuple[list[float], Any, Any]]:
    """(ys, label, colour) of every series drawn on a plotext figure."""
    monitor = plt._active.monitor
    colors = [c[0] if isinstance(c, list) and c else c for c in monitor.color]
    return [(list(ys), label, color) for ys, label, color in zip(monitor.y, monitor.label, colors)]


def _close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < 1e-9 for x, y in zip(a, b))


def _val(runs: tuple[RunRecord, ...], how: Any) -> list[float]:
    """Per epoch, ``how`` of the runs' validation accuracies, in percent (as the chart draws them)."""
    return [100.0 * how(r.epochs[i].val_acc for r in runs) for i in range(len(runs[0].epochs))]


def test_seed_groups_draw_as_bands_and_fold_in_the_table() -> None:
    async def scenario() -> None:
        app = make_app(lr="0.01, 0.1", seed="0, 1, 2", epochs="2")
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("ctrl+r")
            await settle(pilot)
            runs = app.session.runs
            assert len(runs) == 6 and all(r.status == "finished" and len(r.epochs) == 2 for r in runs)
            groups = seed_groups(runs)
            assert [len(g.runs) for g in groups] == [3, 3]

            # the accuracy chart: one mean line per group between its lowest and highest seed
            app.main.charts.active = "tab-accuracy"
            await pilot.pause()
            chart = app.query_one("#chart-accuracy", RunChart)
            picture = chart.picture().plain
            legend = picture.splitlines()[0]
            for g in groups:
                assert f"{g.runs[0].id} {g.label} · 3 seeds" in legend
            assert legend.count("seeds") == 2
            drawn = _series(chart.plt)
            for g in groups:
                color = palette.run_color(g.runs[0])
                for how in (min, max):
                    assert any(_close(ys, _val(g.runs, how)) and c == color for ys, _, c in drawn), how
                mean = [sum(v) / 3 for v in zip(*(_val((r,), min) for r in g.runs))]
                assert any(_close(ys, mean) and c == color for ys, _, c in drawn)
            per_group = 4 if chart.shows_training else 3  # lo, hi, mean validation (and mean training)
            assert len(drawn) == 1 + per_group * len(groups)  # the chance line, and no line per seed

            # the same with plotext's own legend (the reports' way): two group labels, no per-run ones
            fig = charts.new_figure(100, 22)
            charts.plot_accuracy(fig, runs, train=False, seeds=True)
            labels = [label for _, label, _ in _series(fig) if label]
            assert labels == ["chance 10%", *(f"{g.label} · 3 seeds" for g in groups)]
            head = charts.render(charts.plot_accuracy, runs, seeds=True, legend_outside=True).splitlines()[0]
            assert head.count("· 3 seeds") == 2
            fig = charts.new_figure(100, 22)
            charts.plot_loss(fig, runs, train=False, seeds=True)
            assert sum("3 seeds" in (label or "") for _, label, _ in _series(fig)) == 2

            # s folds the table to one row per group, s again brings back one row per run
            table = app.query_one(DataTable)
            table.focus()
            await pilot.press("s")
            await pilot.pause()
            assert table.row_count == 2
            for g in groups:
                first = g.runs[0].id
                assert table.get_cell(first, "run").plain.endswith(f"{first}×3")
                val = table.get_cell(first, "best val acc").plain
                assert "± " in val and val == summary_text(g.summary("best_val_acc"))
            assert table.selected_id == groups[0].runs[0].id  # row keys are the groups' first runs

            await pilot.press("space")  # a folded row hides its whole group from the charts
            await pilot.pause()
            assert app.main.charts.hidden == set(groups[0].ids) and table.row_count == 2
            assert table.get_cell(groups[0].runs[0].id, "run").plain.startswith("□")
            assert chart.picture().plain.splitlines()[0].count("seeds") == 1
            await pilot.press("space")
            await pilot.pause()
            assert not app.main.charts.hidden

            await pilot.press("s")
            await pilot.pause()
            assert table.row_count == 6
            assert [str(k.value) for k in table.rows] == [r.id for r in runs]
            assert "± " not in table.get_cell(runs[0].id, "best val acc").plain

    asyncio.run(scenario())


def test_single_seed_runs_draw_as_before() -> None:
    async def scenario() -> None:
        app = make_app(lr="0.01, 0.1", epochs="2")
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("ctrl+r")
            await settle(pilot)
            runs = app.session.runs
            assert len(runs) == 2
            picture = app.query_one("#chart-accuracy", RunChart).picture().plain
            assert "seeds" not in picture
            for draw in (charts.plot_accuracy, charts.plot_loss):
                assert charts.render(draw, runs, seeds=True) == charts.render(draw, runs)
            assert charts.legend_entries(runs, seeds=True) == charts.legend_entries(runs)

            table = app.query_one(DataTable)
            table.focus()
            await pilot.press("s")  # folding single seeds: the same rows
            await pilot.pause()
            assert table.row_count == 2 and "×" not in table.get_cell(runs[0].id, "run").plain

    asyncio.run(scenario())
