"""A stacked sweep's diagnostics and probes: per model, and equal to sequential runs within rounding."""

from __future__ import annotations

import pytest

from lrtui.engine.config import RunConfig
from lrtui.engine.events import EpochEnd, Event, ProbeResult, ProvisionalVerdict, RunEnd, TracePoints
from lrtui.engine.sweep import run_many

TINY = RunConfig(epochs=2, batch_size=10, train_limit=305, device="cpu", seed=3)  # 31 batches, the last one short
LRS = (0.5, 0.01, 1e-4)
IDS = ["r1", "r2", "r3"]


def sweep(batched: bool, **kw) -> tuple[list[RunEnd], list[Event]]:
    events: list[Event] = []
    ends = run_many([TINY.with_lr(lr) for lr in LRS], IDS, events.append, batched=batched, **kw)
    return ends, events


@pytest.fixture(scope="module")
def both() -> dict[bool, tuple[list[RunEnd], list[Event]]]:
    return {batched: sweep(batched) for batched in (False, True)}


def of(events: list[Event], kind: type, run_id: str) -> list:
    return [e for e in events if isinstance(e, kind) and e.run_id == run_id]


def test_every_model_of_the_stack_has_its_own_diagnostics(both) -> None:
    _, events = both[True]
    fc1 = [of(events, EpochEnd, run_id)[0].diagnostics.update_ratio["fc1"] for run_id in IDS]
    assert fc1[0] > 10 * fc1[1] > 100 * fc1[2] > 0  # lr 0.5, 0.01, 1e-4: steps ordered like the lrs


def test_stacked_diagnostics_equal_sequential_ones(both) -> None:
    (_, seq), (_, bat) = both[False], both[True]
    for run_id in IDS:
        for a, b in zip(of(seq, EpochEnd, run_id), of(bat, EpochEnd, run_id), strict=True):
            da, db = a.diagnostics, b.diagnostics
            assert da is not None and db is not None and da.update_ratio_max and db.update_ratio_max
            for key, ra, rb in (
                ("update_ratio", da.update_ratio, db.update_ratio),
                ("update_ratio_max", da.update_ratio_max, db.update_ratio_max),
            ):
                for layer, value in ra.items():
                    assert rb[layer] == pytest.approx(value, rel=1e-3), (run_id, a.epoch, key, layer)
            assert db.grad_norm == pytest.approx(da.grad_norm, rel=1e-3)
            assert db.dead_fraction == da.dead_fraction
            assert db.top_class_share == da.top_class_share
            assert db.pred_entropy == pytest.approx(da.pred_entropy, abs=1e-4)


def test_stacked_step_traces_and_provisional_verdicts_equal_sequential_ones(both) -> None:
    (_, seq), (_, bat) = both[False], both[True]
    for run_id in IDS:
        a = [p for ev in of(seq, TracePoints, run_id) for p in ev.points]
        b = [p for ev in of(bat, TracePoints, run_id) for p in ev.points]
        assert [p.step for p in a] == [p.step for p in b] and a
        for x, y in zip(a, b):
            assert y.loss == pytest.approx(x.loss, rel=1e-3)
            assert (x.update_ratio is None) == (y.update_ratio is None)
            for layer, value in (x.update_ratio or {}).items():
                assert y.update_ratio[layer] == pytest.approx(value, rel=1e-2, abs=1e-9), (run_id, x.step, layer)
            assert y.dead_fraction == x.dead_fraction, (run_id, x.step)
        labels = [(p.step, p.verdict.label) for p in of(seq, ProvisionalVerdict, run_id)]
        assert labels and labels == [(p.step, p.verdict.label) for p in of(bat, ProvisionalVerdict, run_id)]


def test_stacked_probes_equal_sequential_ones(both) -> None:
    (_, seq), (_, bat) = both[False], both[True]
    for run_id, lr in zip(IDS, LRS):
        a, b = of(seq, ProbeResult, run_id), of(bat, ProbeResult, run_id)
        assert [p.epoch for p in a] == [p.epoch for p in b] == [0, 1, 2]
        for x, y in zip(a, b):
            assert x.lrs == y.lrs and x.current_lr == y.current_lr == lr
            assert y.losses == pytest.approx(x.losses, rel=1e-3, abs=1e-3), (run_id, x.epoch)


def test_stacked_verdicts_equal_sequential_ones(both) -> None:
    (seq_ends, _), (bat_ends, _) = both[False], both[True]
    assert [e.verdict.label for e in seq_ends] == [e.verdict.label for e in bat_ends]


def test_measuring_changes_nothing_in_the_stack(both) -> None:
    _, plain = sweep(True, diagnostics=False, probes=False)
    _, measured = both[True]
    for run_id in IDS:
        a, b = of(plain, EpochEnd, run_id), of(measured, EpochEnd, run_id)
        assert [(e.train_loss, e.val_loss, e.val_acc, e.batch_losses) for e in a] == [
            (e.train_loss, e.val_loss, e.val_acc, e.batch_losses) for e in b
        ]
        assert all(e.diagnostics is None for e in a) and not of(plain, ProbeResult, run_id)
        assert not of(plain, TracePoints, run_id) and not of(plain, ProvisionalVerdict, run_id)
