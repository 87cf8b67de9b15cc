"""The Steps and Dead charts per step (lrtui.plots.step_charts): a log step axis, the healthy band, dead shares
labelled as the probe batch's, and the per-epoch charts for runs saved without a step trace."""

from __future__ import annotations

from lrtui.engine.config import RunConfig
from lrtui.engine.records import Diagnostics, EpochRecord
from lrtui.engine.step_trace import StepTrace, TracePoint
from lrtui.plots import step_charts
from lrtui.plots import terminal_charts as charts
from lrtui.sessions.record import RunRecord

DIAG = Diagnostics.of(
    update_ratio={"conv1": 1e-3, "conv2": 1e-3, "fc1": 2e-3, "fc2": 3e-3},
    dead_fraction={"conv1": 0.1, "conv2": 0.9, "fc1": 0.5},
)


def dying_trace() -> StepTrace:
    """lr 0.5's shape: steps of half a layer early, conv2 from 0% to 100% dead by step 192."""
    points = []
    for step in range(0, 400, 4):
        ratio = 0.5 if step == 84 else 0.05 if step < 200 else 0.0
        dead = {"conv1": 0.1, "conv2": min(1.0, step / 192), "fc1": 0.3} if step % 32 == 0 else None
        points.append(TracePoint.of(step, 2.3, {k: ratio for k in ("conv1", "conv2", "fc1", "fc2")}, dead))
    return StepTrace(32, points)


def run(rid: str, trace: StepTrace | None) -> RunRecord:
    record = RunRecord(rid, RunConfig(lr=0.5, epochs=1))
    record.epochs = [EpochRecord.of(1, val_acc=0.1, val_loss=2.3, diagnostics=DIAG)]
    record.step_trace = trace
    return record


def test_steps_chart_draws_single_steps_on_a_log_step_axis_with_the_band() -> None:
    text = charts.render(step_charts.plot_update_ratio_steps, [run("r1", dying_trace())], width=90, height=24)
    lines = text.splitlines()
    assert "Update ratio of single steps (log)" in lines[0] and lines[-1].strip() == "step (log)"
    ticks = lines[-2].split()
    assert ticks[:3] == ["0", "10", "100"] and ticks[-1] == "396", "decades and the last step"
    assert text.count("-" * 40) >= 2, "the healthy band's two edges"
    assert "1┤" in text, "the step of half a layer reaches the decade of 1"


def test_dead_chart_says_the_probe_batch_and_shows_the_death_per_step() -> None:
    trace = dying_trace()
    tall = charts.render(step_charts.plot_dead_fraction_steps, [run("r1", trace)], width=90, height=24)
    assert "Dead ReLU units (%) on 32 fixed probe images, not the validation set" in tall.splitlines()[0]
    short = charts.render(step_charts.plot_dead_fraction_steps, [run("r1", trace)], width=70, height=12, short=True)
    lines = short.splitlines()
    assert "dead % on 32 probe images, not the val set" in lines[0], "even a short chart says it"
    assert "step (log)" not in short and "100┤" in short and "0┤" in short
    assert "a" in next(line for line in lines if "100┤" in line), "conv2 (dots) reaches 100%"


def test_without_a_step_trace_the_charts_are_per_epoch() -> None:
    old = run("r1", None)
    for draw, title in (
        (step_charts.plot_update_ratio_steps, "Update ratio per step (log)"),
        (step_charts.plot_dead_fraction_steps, "Dead ReLU units (%)"),
    ):
        text = charts.render(draw, [old], width=80, height=20)
        assert text.splitlines()[0].strip() == title and text.splitlines()[-1].strip() == "epoch"
        assert text == charts.render(
            {
                step_charts.plot_update_ratio_steps: charts.plot_update_ratio,
                step_charts.plot_dead_fraction_steps: charts.plot_dead_fraction,
            }[draw],
            [old],
            width=80,
            height=20,
        )


def test_runs_without_a_trace_beside_traced_ones_are_named() -> None:
    text = charts.render(
        step_charts.plot_update_ratio_steps, [run("r1", dying_trace()), run("r2", None)], width=120, height=20
    )
    assert "no step trace: r2" in text.splitlines()[0]


def test_thinning_keeps_every_bins_largest_step() -> None:
    points = [(s, 0.01) for s in range(5000)]
    points[4321] = (4321, 0.9)
    kept = step_charts.thin(points, bins=50)
    assert len(kept) <= 100 and (4321, 0.9) in kept and kept == sorted(kept)
    assert step_charts.thin(points[:80], bins=50) == points[:80]
