"""LR schedules in real training: the lr each step applies, the run's lr trace, the probe, stacked = sequential."""

from __future__ import annotations

import json
import math
import threading
from dataclasses import replace
from typing import Any

import pytest

from lrtui.engine.config import RunConfig
from lrtui.engine.events import BatchLog, EpochEnd, Event, ProbeResult, RunEnd, RunStarted
from lrtui.engine.machine import run_threads
from lrtui.engine.records import Diagnostics, EpochRecord, ProbeRecord
from lrtui.engine.run import Run
from lrtui.engine.schedule import lr_at
from lrtui.engine.sweep import run_many
from lrtui.engine.trainer import train_alone
from lrtui.sessions.record import RunRecord
from lrtui.sessions.schema import Malformed, run_record

#: 30 batches of 10 per epoch, 2 epochs: 60 steps, a BatchLog every 5.
TINY = RunConfig(lr=0.05, epochs=2, batch_size=10, train_limit=300, device="cpu", seed=0)
IDS = ["r1", "r2", "r3"]


def run_watched(config: RunConfig, **kw: Any) -> tuple[RunEnd, list[Event], dict[int, list[float]]]:
    """Train ``config``; at every BatchLog, note the lr of every param group (or SGDStep) of the step just taken."""
    events: list[Event] = []
    applied: dict[int, list[float]] = {}
    holder: dict[str, Run] = {}

    def emit(event: Event) -> None:
        events.append(event)
        if isinstance(event, BatchLog):
            run = holder["run"]
            step = (event.epoch - 1) * run.batches_per_epoch + event.batch - 1
            update: Any = run.update
            groups = getattr(update, "optimizer", None)
            applied[step] = [g["lr"] for g in groups.param_groups] if groups is not None else [update.lr]

    run = Run(config, emit, threading.Event(), "r1", **kw)
    holder["run"] = run
    with run_threads():
        end = train_alone(run)
    return end, events, applied


def total(events: list[Event]) -> int:
    started = next(e for e in events if isinstance(e, RunStarted))
    return started.batches_per_epoch * started.config.epochs


def numbers(events: list[Event]) -> list[Any]:
    """Everything a run measured, for bit-equality (diagnostics and probes included)."""
    out: list[Any] = []
    for e in events:
        if isinstance(e, EpochEnd):
            out.append((e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.batch_losses, e.diagnostics))
        elif isinstance(e, BatchLog):
            out.append((e.loss, e.correct, e.update_ratio))
        elif isinstance(e, ProbeResult):
            out.append((e.lrs, e.losses, e.base_loss, e.current_lr))
        elif isinstance(e, RunEnd):
            assert e.test is not None
            out.append((e.status, e.test.accuracy, e.test.loss, e.test.confusion_matrix))
    return out


def test_a_cosine_run_applies_and_traces_the_schedule() -> None:
    config = replace(TINY, schedule="cosine")
    end, events, applied = run_watched(config)
    n = total(events)
    logged = sorted(applied)
    assert end.status == "finished" and end.lr_trace is not None
    assert [s for s, _ in end.lr_trace] == sorted({0, n - 1, *logged})
    for step, lr in end.lr_trace:
        assert lr == lr_at(config, int(step), n)
    for step, lrs in applied.items():  # the step really took the scheduled lr
        assert lrs == [lr_at(config, step, n)]
    assert end.lr_trace[0][1] == config.lr and end.lr_trace[-1][1] < config.lr / 100  # it did decay


def test_onecycle_with_warmup_on_adam_sets_every_param_group() -> None:
    config = replace(TINY, optimizer="adam", lr=3e-3, schedule="onecycle", warmup=7)
    end, events, applied = run_watched(config)
    n = total(events)
    assert end.status == "finished" and len(applied) >= 10
    for step, lrs in applied.items():
        assert lrs == [lr_at(config, step, n)] * len(lrs)
    trace = dict((int(s), lr) for s, lr in end.lr_trace or [])
    assert trace[0] == pytest.approx(config.lr / 25 / 7)  # warmup's first step of onecycle's start
    assert max(trace.values()) <= config.lr and trace[n - 1] < config.lr / 1e4


@pytest.mark.parametrize(
    "changes", [{}, {"optimizer": "nesterov", "momentum": 0.9, "weight_decay": 1e-3}, {"optimizer": "adam", "lr": 1e-3}]
)
def test_a_constant_lr_is_bit_equal_whichever_way_it_is_given(changes: dict) -> None:
    """Explicit ``constant`` = the default; ``warmup=1`` sends the same lr through the per-step table path."""
    base = replace(TINY, **changes)
    _, plain, _ = run_watched(base)
    _, explicit, _ = run_watched(replace(base, schedule="constant"))
    _, table, _ = run_watched(replace(base, warmup=1))
    assert numbers(plain) == numbers(explicit) == numbers(table)


def test_a_constant_stack_is_bit_equal_through_the_device_table() -> None:
    configs = [TINY.with_lr(lr) for lr in (0.1, 0.02)]
    events: dict[bool, list[Event]] = {False: [], True: []}
    run_many(configs, IDS[:2], events[False].append, batched=True)
    run_many([replace(c, warmup=1) for c in configs], IDS[:2], events[True].append, batched=True)
    for run_id in IDS[:2]:
        a, b = ([e for e in events[k] if e.run_id == run_id] for k in (False, True))
        assert numbers(a) == numbers(b)


def test_a_scheduled_sweep_stacks_and_equals_sequential_runs() -> None:
    configs = [
        replace(TINY, schedule="cosine", lr=0.1),
        replace(TINY, schedule="step", warmup=10, lr=0.2),
        replace(TINY, lr=0.02),
    ]
    ends: dict[bool, list[RunEnd]] = {}
    events: dict[bool, list[Event]] = {False: [], True: []}
    for batched in (False, True):
        ends[batched] = run_many(configs, IDS, events[batched].append, batched=batched)
    for run_id, a, b in zip(IDS, ends[False], ends[True], strict=True):
        assert a.status == b.status == "finished"
        assert a.lr_trace == b.lr_trace and a.lr_trace is not None
        ea, eb = ([e for e in events[k] if isinstance(e, EpochEnd) and e.run_id == run_id] for k in (False, True))
        for x, y in zip(ea, eb, strict=True):
            for field in ("train_loss", "train_acc", "val_loss", "val_acc"):
                assert getattr(y, field) == pytest.approx(getattr(x, field), abs=1e-4), (run_id, x.epoch, field)
            assert y.batch_losses == pytest.approx(x.batch_losses, abs=1e-4)
            assert x.diagnostics is not None and y.diagnostics is not None
            for layer, value in x.diagnostics.update_ratio.items():
                assert y.diagnostics.update_ratio[layer] == pytest.approx(value, rel=1e-3)
        pa, pb = ([e for e in events[k] if isinstance(e, ProbeResult) and e.run_id == run_id] for k in (False, True))
        assert [p.current_lr for p in pa] == [p.current_lr for p in pb]
        assert a.verdict == b.verdict
    # the schedules made a difference: the cosine run is not the constant one at another lr
    first = [e for e in events[True] if isinstance(e, EpochEnd) and e.run_id == "r1"]
    assert len({round(e.train_loss, 5) for e in first}) == 2


@pytest.mark.parametrize("batched", [False, True])
def test_the_probe_tries_around_the_next_steps_scheduled_lr(batched: bool) -> None:
    configs = [replace(TINY, schedule="exp", warmup=5), replace(TINY, schedule="cosine", lr=0.1)]
    events: list[Event] = []
    run_many(configs, IDS[:2], events.append, batched=batched)
    n = total([e for e in events if e.run_id == "r1"])
    per_epoch = n // TINY.epochs
    for run_id, config in zip(IDS, configs):
        probes = [e for e in events if isinstance(e, ProbeResult) and e.run_id == run_id]
        assert [p.epoch for p in probes] == [0, 1, 2]
        for p in probes:
            step = min(p.epoch * per_epoch, n - 1)  # the next step; after the last epoch, the last one
            assert p.current_lr == lr_at(config, step, n) and p.current_lr in p.lrs


def test_diagnostics_see_the_applied_lr() -> None:
    """``exp`` ends at lr/100: the second epoch's steps are far smaller relative to the weights than the first's."""
    _, events, _ = run_watched(replace(TINY, schedule="exp", lr=0.1))
    ratios = [e.diagnostics.update_ratio["fc1"] for e in events if isinstance(e, EpochEnd) and e.diagnostics]
    assert len(ratios) == 2 and ratios[1] < ratios[0] / 3
    end = next(e for e in events if isinstance(e, RunEnd))
    assert end.verdict is not None and end.verdict.label


def test_the_trace_is_saved_validated_and_read_back() -> None:
    config = replace(TINY, schedule="cosine", warmup=4)
    end, events, _ = run_watched(config)
    record = RunRecord(id="r1", config=config)
    for event in events:
        record.apply(event)
    assert record.lr_trace == end.lr_trace and record.lr_trace
    raw = json.loads(json.dumps(record.to_dict()))
    back = run_record(raw, "run")
    assert back.lr_trace == record.lr_trace
    assert RunRecord.from_dict(raw).lr_trace == record.lr_trace
    old = {k: v for k, v in raw.items() if k != "lr_trace"}  # a session saved before schedules
    assert run_record(old, "run").lr_trace is None
    for bad in ([[0]], [[-1, 0.1]], [[0.5, 0.1]], [[0, -0.1]], [[0, "fast"]], [[0, math.inf]], {"0": 0.1}, [0.1]):
        with pytest.raises(Malformed, match="lr_trace"):
            run_record({**raw, "lr_trace": bad}, "run")


def test_a_diverged_runs_trace_ends_at_the_bad_step() -> None:
    end, events, _ = run_watched(replace(TINY, lr=100.0, weight_decay=0.2, schedule="cosine"))
    assert end.status == "diverged" and end.diverged_at is not None and end.lr_trace is not None
    epoch, batch = end.diverged_at
    per_epoch = total(events) // TINY.epochs
    assert end.lr_trace[-1][0] == (epoch - 1) * per_epoch + batch - 1


def test_a_session_saves_each_probe_and_the_trace(tmp_path) -> None:
    from lrtui.sessions.listing import load_session
    from lrtui.sessions.store import Session

    session = Session.create(tmp_path / "sessions")
    config = replace(TINY, schedule="onecycle", epochs=1)
    run_id = session.add(config).id
    probes_on_disk: list[int] = []

    def emit(event: Event) -> None:
        session.observe(event)
        if isinstance(event, ProbeResult):  # on disk as soon as it comes, the epoch-0 one before any epoch ends
            doc = json.loads(session.file.read_text())
            probes_on_disk.append(len(next(r for r in doc["runs"] if r["id"] == run_id)["probes"]))

    end = run_many([config], [run_id], emit)[0]
    session.close()
    assert probes_on_disk == [1, 2]
    back = load_session(session.path).book.get(run_id)
    assert back is not None and back.lr_trace == end.lr_trace and back.lr_trace


def test_a_too_slow_hint_after_a_decayed_schedule_scales_the_configured_lr() -> None:
    """The last probe sees the decayed lr; the hint must still point from the lr the user chose."""
    from lrtui.engine.verdict import judge

    diagnostics = Diagnostics(
        update_ratio={"conv1": 1e-6, "conv2": 1e-6, "fc1": 1e-6, "fc2": 1e-6},
        grad_norm=1.0,
        dead_fraction={"conv1": 0.0, "conv2": 0.0, "fc1": 0.0},
        top_class_share=0.3,
        pred_entropy=2.3,
    )
    epochs = [
        EpochRecord(
            e,
            train_loss=2.30 - 0.001 * e,
            train_acc=0.12,
            val_loss=2.30 - 0.001 * e,
            val_acc=0.12,
            diagnostics=diagnostics,
        )
        for e in (1, 2, 3)
    ]
    probes = [ProbeRecord(3, (1e-4, 1e-3, 1e-2, 1e-1), (2.297, 2.297, 2.29, 2.2), current_lr=5e-4)]
    verdict = judge(epochs, "finished", probes=probes, lr=0.05)
    assert verdict.label == "too slow"
    assert "the schedule has lowered the lr to 0.0005" in verdict.reason
    factor = float(verdict.hint.split("try a ")[1].split("x")[0].replace(",", ""))
    assert f"(≈ {0.05 * factor:.2g})" in verdict.hint
