"""The step trace and provisional verdicts on real tiny runs: dense early, bounded, saved and read back,
the largest step beside the mean, and a dying run named within its first epoch."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch
from engine_helpers import Recorder

from lrtui.engine.config import RunConfig
from lrtui.engine.diagnostics import LAYERS, RELU_LAYERS, SAMPLE_EVERY
from lrtui.engine.events import BatchLog, EpochEnd, ProvisionalVerdict, RunEnd, TracePoints
from lrtui.engine.step_trace import DEAD_EVERY, DENSE_STEPS, MAX_POINTS, StepTrace
from lrtui.engine.tracing import Tracer
from lrtui.engine.trainer import train
from lrtui.sessions.listing import load_session
from lrtui.sessions.store import Session

#: lr 0.5 on 500 digits, seed 2: conv2 dies within the first epoch (seeds 0, 1, 3, 4 first learn on 500 digits)
DYING = RunConfig(lr=0.5, epochs=1, batch_size=10, train_limit=500, device="cpu", seed=2)


@pytest.fixture(scope="module")
def dying() -> tuple[RunEnd, Recorder]:
    rec = Recorder()
    return train(DYING, rec), rec


def points(rec: Recorder) -> list:
    return [p for ev in rec.of(TracePoints) for p in ev.points]


def test_the_trace_keeps_every_measured_step_early_with_dead_units_on_the_fixed_batch(dying) -> None:
    _, rec = dying
    trace = points(rec)
    steps = [p.step for p in trace]
    assert steps == sorted(set(steps))
    measured = [p.step for p in trace if p.update_ratio is not None]
    assert measured == list(range(0, 50, SAMPLE_EVERY))  # 50 steps, all in the dense window: every measured one
    assert all(set(p.update_ratio) == set(LAYERS) for p in trace if p.update_ratio is not None)
    probed = [p for p in trace if p.dead_fraction is not None]
    assert [p.step for p in probed][:2] == [0, DEAD_EVERY]
    assert all(
        set(p.dead_fraction) == set(RELU_LAYERS) and all(0 <= f <= 1 for f in p.dead_fraction.values()) for p in probed
    )
    assert {ev.dead_on for ev in rec.of(TracePoints)} == {32}
    assert all(p.loss is not None and p.loss > 0 for p in trace)


def test_the_largest_step_is_beside_the_mean_and_never_below_it(dying) -> None:
    _, rec = dying
    (epoch,) = rec.of(EpochEnd)
    mean, top = epoch.diagnostics.update_ratio, epoch.diagnostics.update_ratio_max
    assert set(top) == set(LAYERS) and all(top[k] >= mean[k] > 0 for k in LAYERS)
    traced = max(p.update_ratio["conv2"] for p in points(rec) if p.update_ratio)
    assert top["conv2"] == pytest.approx(traced, rel=1e-3)  # every measured step is in this trace
    assert all(log.update_ratio_max is not None for log in rec.of(BatchLog))


def test_lr_05_is_provisionally_not_learning_within_its_first_epoch(dying) -> None:
    end, rec = dying
    provisional = rec.of(ProvisionalVerdict)
    assert len(provisional) == len(rec.of(BatchLog)), "judged at every log point"
    assert provisional[0].verdict.label == "too early"
    dead = [p for p in provisional if p.verdict.label == "not learning"]
    assert dead and dead[0].step <= 50 and "dying ReLUs" in dead[0].verdict.reason
    assert "never fire on a fixed batch of 32 validation images" in dead[0].verdict.reason
    assert re.search(r"the largest step moved (conv2|fc1) by [0-9.]+% of its weights", dead[0].verdict.reason)
    assert end.verdict is not None and end.verdict.label == "not learning"
    assert re.search(r"the largest step moved conv2 by [0-9.]+% of its weights", end.verdict.reason)


def test_too_slow_is_told_at_the_first_log_point() -> None:
    rec = Recorder()
    train(DYING.with_lr(1e-4), rec)
    first = rec.of(ProvisionalVerdict)[0]
    assert first.step == 10 and first.verdict.label == "too slow" and "steps too small" in first.verdict.reason


def test_the_trace_goes_through_the_session_file_and_back(dying, tmp_path: Path) -> None:
    _, rec = dying
    session = Session.create(tmp_path)
    record = session.add(DYING)
    assert record.id == "r1"  # the run's id in the recorded events
    for ev in rec.events:
        session.observe(ev)
    session.close()
    assert record.step_trace is not None and len(record.step_trace) == len(points(rec))
    assert record.provisional is None, "the final verdict replaces the provisional one"
    saved = load_session(session.path)  # from the run file: the trace as columns
    assert saved.runs[0].step_trace == record.step_trace
    assert saved.runs[0].to_dict()["step_trace"] == record.step_trace.rows()
    only_snapshot = tmp_path / "snapshot"
    only_snapshot.mkdir()
    shutil.copy(session.file, only_snapshot / "session.json")  # the document: a list of points
    assert load_session(only_snapshot).runs[0].step_trace == record.step_trace


def test_a_long_run_keeps_at_most_max_points() -> None:
    """100 epochs of full MNIST (4,800 steps each): dense early, then a stride, dead probes at log points."""
    batches, epochs = 4800, 100
    tracer = Tracer("r1", torch.zeros(64, 1, 28, 28), batches * epochs, SAMPLE_EVERY)
    kept, probes = 0, 0
    for epoch in range(epochs):
        tracer.start_epoch(epoch * batches)
        for b in range(batches):
            step = epoch * batches + b
            log_now = (b + 1) % 1250 == 0 or b + 1 == batches
            if tracer.dead_due(step, log_now):
                tracer.last_dead, probes = step, probes + 1
            if log_now:
                kept += len(tracer._kept(-(-(b + 1) // SAMPLE_EVERY)))
    assert kept + probes <= MAX_POINTS
    assert kept >= DENSE_STEPS // SAMPLE_EVERY + 100  # still a point every few hundred steps


def test_old_sessions_without_a_trace_still_open(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    shutil.copy(Path(__file__).parents[1] / "tui" / "data" / "lessons-session.json", folder / "session.json")
    session = load_session(folder)
    assert session.runs and all(r.step_trace is None and r.provisional is None for r in session.runs)
    assert all("step_trace" in r.to_dict() for r in session.runs)


def test_a_trace_reads_back_from_either_form() -> None:
    rows = [
        {"step": 0, "loss": 2.3, "update_ratio": {"fc1": 0.5}, "dead_fraction": {"fc1": 1.0}, "dead_on": 25},
        {"step": 4, "loss": None, "update_ratio": {"fc1": 0.25}, "dead_fraction": None},
    ]
    trace = StepTrace.from_json(rows)
    assert trace.dead_on == 25 and trace.rows() == rows
    assert StepTrace.from_json(trace.columns()) == trace
    assert trace.largest_step() == (0, "fc1", 0.5) and trace.latest_dead() == trace.points[0]


def test_the_trace_changes_nothing_in_the_run(dying) -> None:
    _, traced = dying
    rec = Recorder()
    train(DYING, rec, trace=False)
    assert [(e.train_loss, e.val_loss, e.val_acc, e.batch_losses) for e in rec.of(EpochEnd)] == [
        (e.train_loss, e.val_loss, e.val_acc, e.batch_losses) for e in traced.of(EpochEnd)
    ]
    assert not rec.of(TracePoints) and not rec.of(ProvisionalVerdict)
    assert rec.of(EpochEnd)[0].diagnostics.update_ratio_max is None
