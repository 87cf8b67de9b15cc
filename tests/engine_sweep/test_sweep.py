"""A stacked sweep against the real thing: K sequential runs of ``train`` with the same seed."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from lrtui.engine.config import RunConfig
from lrtui.engine.events import BatchLog, EpochEnd, Event, Progress, RunEnd, RunStarted
from lrtui.engine.sweep import run_many

TINY = RunConfig(epochs=2, batch_size=10, train_limit=305, device="cpu", seed=3)  # 31 batches, the last one short
IDS = ["r1", "r2", "r3"]


def _sweep(
    configs: list[RunConfig], batched: bool, cancel: threading.Event | None = None, hook=None
) -> tuple[list[RunEnd], list[Event]]:
    events: list[Event] = []

    def emit(event: Event) -> None:
        events.append(event)
        if hook is not None:
            hook(event)

    return run_many(configs, IDS[: len(configs)], emit, cancel, batched=batched), events


def _epochs(events: list[Event], run_id: str) -> list[EpochEnd]:
    return [e for e in events if isinstance(e, EpochEnd) and e.run_id == run_id]


def _per_run_kinds(events: list[Event], run_id: str) -> list[str]:
    return [type(e).__name__ for e in events if e.run_id == run_id and not isinstance(e, Progress)]


def test_batched_sweep_equals_sequential_runs() -> None:
    configs = [TINY.with_lr(lr) for lr in (0.5, 0.05, 0.01)]
    seq_ends, seq = _sweep(configs, batched=False)
    bat_ends, bat = _sweep(configs, batched=True)
    assert [e.run_id for e in bat_ends] == IDS
    for run_id, a, b in zip(IDS, seq_ends, bat_ends):
        assert (a.status, a.epochs_done) == (b.status, b.epochs_done) == ("finished", 2)
        assert _per_run_kinds(seq, run_id) == _per_run_kinds(bat, run_id)  # same events, in the same order
        for x, y in zip(_epochs(seq, run_id), _epochs(bat, run_id), strict=True):
            assert x.epoch == y.epoch
            for field in ("train_loss", "train_acc", "val_loss", "val_acc"):
                assert getattr(y, field) == pytest.approx(getattr(x, field), abs=1e-4), (run_id, x.epoch, field)
            assert y.batch_losses == pytest.approx(x.batch_losses, abs=1e-4)
        logs = [
            [(e.epoch, e.batch, e.seen, e.correct) for e in ev if isinstance(e, BatchLog) and e.run_id == run_id]
            for ev in (seq, bat)
        ]
        assert logs[0] == logs[1]
        assert b.test is not None and a.test is not None and b.test.accuracy == pytest.approx(a.test.accuracy, abs=1e-3)
        assert b.verdict == a.verdict
    # the learning rates really differ: this is not one run reported three times
    assert len({round(_epochs(bat, r)[-1].train_loss, 4) for r in IDS}) == 3


def test_one_diverging_model_does_not_poison_the_others() -> None:
    """lr 100 with weight decay multiplies the weights by -19 each step: inf, then NaN, within the first epoch."""
    configs = [replace(TINY, weight_decay=0.2).with_lr(lr) for lr in (0.05, 100.0, 0.1)]
    seq_ends, seq = _sweep(configs, batched=False)
    bat_ends, bat = _sweep(configs, batched=True)
    assert seq_ends[1].status == bat_ends[1].status == "diverged"
    assert bat_ends[1].diverged_at == seq_ends[1].diverged_at and bat_ends[1].diverged_at[0] == 1
    assert _per_run_kinds(bat, "r2") == _per_run_kinds(seq, "r2")
    for run_id, end in (("r1", bat_ends[0]), ("r3", bat_ends[2])):
        assert end.status == "finished" and end.epochs_done == 2
        for x, y in zip(_epochs(seq, run_id), _epochs(bat, run_id), strict=True):
            assert y.val_loss == pytest.approx(x.val_loss, abs=1e-4)
            assert y.train_loss == pytest.approx(x.train_loss, abs=1e-4)


def test_cancel_ends_every_stacked_run_within_a_batch() -> None:
    cancel = threading.Event()
    after_cancel: list[tuple[int, int]] = []

    def hook(event: Event) -> None:
        if cancel.is_set() and isinstance(event, (BatchLog, Progress)):
            after_cancel.append((event.epoch, event.batch))
        if cancel.is_set() and isinstance(event, EpochEnd):
            after_cancel.append((event.epoch, -1))
        if isinstance(event, BatchLog) and event.epoch == 2 and event.run_id == "r3":
            after_cancel.append((event.epoch, event.batch))  # where the flag went up
            cancel.set()

    configs = [TINY.with_lr(lr) for lr in (0.1, 0.03, 0.01)]
    ends, events = _sweep(configs, batched=True, cancel=cancel, hook=hook)
    assert [e.status for e in ends] == ["cancelled"] * 3
    assert all(e.epochs_done == 1 and e.test is not None for e in ends)  # the finished epoch is kept and tested
    assert len(set(after_cancel)) == 1  # only the batch during which the flag went up is reported
    for run_id in IDS:
        kinds = _per_run_kinds(events, run_id)
        assert kinds[0] == "RunStarted" and kinds.count("RunEnd") == 1 and kinds[-1] == "RunEnd"


def test_a_failure_ends_every_run_failed_with_one_line(tmp_path) -> None:
    configs = [replace(TINY, dataset="mnist", data_dir=str(tmp_path / "none")).with_lr(lr) for lr in (0.1, 0.01)]
    ends, events = _sweep(configs, batched=True)
    assert [e.status for e in ends] == ["failed", "failed"]
    assert all(e.error and "\n" not in e.error and "mnist" in e.error for e in ends)
    assert sum(isinstance(e, RunEnd) for e in events) == 2 and not any(isinstance(e, RunStarted) for e in events)
