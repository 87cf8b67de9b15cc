"""The training loop's contract: event order and fields, determinism, cancel, divergence, failures."""

from __future__ import annotations

import math
import threading

import pytest
import torch
from engine_helpers import Recorder, run_tiny

from lrtui.engine import machine
from lrtui.engine import run as run_module
from lrtui.engine.config import RunConfig
from lrtui.engine.events import BatchLog, EpochEnd, Progress, RunEnd, RunStarted
from lrtui.engine.model import build_model
from lrtui.engine.run import nice_log_every
from lrtui.engine.steps import SGDStep, make_optimizer
from lrtui.engine.trainer import train


def metrics(recorder: Recorder) -> list[tuple]:
    """Every number of every epoch, without wall times."""
    return [(e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.batch_losses) for e in recorder.of(EpochEnd)]


def test_event_order_and_fields() -> None:
    end, rec = run_tiny(log_every=7)
    events = rec.events
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunEnd)
    assert sum(isinstance(e, RunEnd) for e in events) == 1 and end is events[-1]
    started = events[0]
    assert (started.n_train, started.n_val, started.n_test) == (300, 75, 1000)
    assert started.batches_per_epoch == 30 and started.log_every == 7
    assert started.device == "cpu" and started.device_name

    logs = rec.of(BatchLog)
    for epoch in (1, 2):
        batches = [log.batch for log in logs if log.epoch == epoch]
        assert batches == [7, 14, 21, 28, 30]  # every log_every batches, and the epoch's last
    for log in logs:
        assert log.seen == min(log.batch * 10, 300) and log.total == 300
        assert 0 <= log.correct <= log.seen and log.accuracy == log.correct / log.seen
        assert math.isfinite(log.loss)

    epochs = rec.of(EpochEnd)
    assert [e.epoch for e in epochs] == [1, 2]
    for e, last_log in zip(epochs, [log for log in logs if log.batch == 30]):
        assert len(e.batch_losses) == 30
        # all batches hold 10 samples, so the epoch's loss is the mean of its batch losses
        assert e.train_loss == pytest.approx(sum(e.batch_losses) / 30, rel=1e-5)
        assert e.train_acc == last_log.accuracy
        assert e.batch_losses[-1] == last_log.loss
        assert 0 <= e.val_acc <= 1 and e.val_loss > 0 and e.seconds > 0

    progress = rec.of(Progress)
    done = [p.batches_done for p in progress]
    assert done == sorted(done) and done[-1] == 60 and progress[-1].batches_total == 60
    assert all(p.eta_s >= 0 and p.samples_per_s > 0 for p in progress)
    # the order of one run: RunStarted, then epoch 1's events, then epoch 2's, then RunEnd
    kinds = [type(e) for e in events]
    assert kinds.index(EpochEnd) < [i for i, e in enumerate(events) if isinstance(e, BatchLog) and e.epoch == 2][0]

    assert end.status == "finished" and end.epochs_done == 2 and end.error is None
    assert end.duration_s >= sum(e.seconds for e in epochs) * 0.99
    assert end.samples_per_s == pytest.approx(600 / end.duration_s)


def test_partial_last_batch_is_kept() -> None:
    _, rec = run_tiny(batch_size=64, epochs=1, log_every=2)  # 300 = 4 × 64 + 44
    assert [(log.batch, log.seen) for log in rec.of(BatchLog)] == [(2, 128), (4, 256), (5, 300)]
    assert len(rec.of(EpochEnd)[0].batch_losses) == 5


def test_test_result() -> None:
    end, _ = run_tiny()
    test = end.test
    assert test is not None
    matrix = test.confusion_matrix
    assert len(matrix) == 10 and all(len(row) == 10 for row in matrix)
    assert sum(map(sum, matrix)) == 1000
    assert test.accuracy == pytest.approx(sum(matrix[i][i] for i in range(10)) / 1000)
    assert test.report_accuracy == pytest.approx(test.accuracy)
    assert test.scores["3"].support == sum(matrix[3])
    samples = test.samples
    assert len(samples.images) == len(samples.true) == len(samples.pred) == 16
    assert all(len(img) == 784 and 0 <= min(img) and max(img) <= 255 for img in samples.images)
    wrong = [t != p for t, p in zip(samples.true, samples.pred)]
    n_wrong = 1000 - sum(matrix[i][i] for i in range(10))
    assert wrong == [True] * min(16, n_wrong) + [False] * (16 - min(16, n_wrong))  # misclassified first
    assert end.verdict is not None and end.verdict.reason


def test_same_config_same_numbers() -> None:
    end_a, a = run_tiny()
    end_b, b = run_tiny()
    assert metrics(a) == metrics(b)
    assert end_a.test == end_b.test
    _, other = run_tiny(seed=1)
    assert metrics(other) != metrics(a)


def test_cancel_mid_epoch_stops_within_one_batch() -> None:
    cancel = threading.Event()

    def hook(event: object) -> None:
        if isinstance(event, BatchLog) and event.batch == 12:
            cancel.set()

    end, rec = run_tiny(hook, cancel, log_every=1)
    assert [log.batch for log in rec.of(BatchLog)] == list(range(1, 13))
    assert all(p.batches_done <= 12 for p in rec.of(Progress))
    assert end.status == "cancelled" and end.epochs_done == 0
    assert end.test is None and not rec.of(EpochEnd)
    assert rec.events[-1] is end


def test_cancel_in_second_epoch_keeps_the_first() -> None:
    cancel = threading.Event()

    def hook(event: object) -> None:
        if isinstance(event, BatchLog) and (event.epoch, event.batch) == (2, 5):
            cancel.set()

    end, rec = run_tiny(hook, cancel, log_every=5)
    assert [e.epoch for e in rec.of(EpochEnd)] == [1]
    assert end.status == "cancelled" and end.epochs_done == 1
    assert end.test is not None and end.verdict is not None  # judged on what it did
    assert end.samples_per_s == pytest.approx((300 + 50) / end.duration_s)


@pytest.mark.parametrize("per_batch_check", [True, False], ids=["cpu-style", "cuda-style"])
def test_nan_loss_ends_as_diverged_at_the_first_bad_batch(monkeypatch, per_batch_check: bool) -> None:
    """lr 1e6 (above the form's cap, so built directly) blows the loss up within a few batches.

    The CUDA-style check only looks at the device-side record at event points; it must
    report the same first bad batch as the per-batch check.
    """
    monkeypatch.setattr(run_module, "syncs_each_batch", lambda device: per_batch_check)
    end, rec = run_tiny(lr=1e6, log_every=1)
    assert end.status == "diverged" and end.diverged_at is not None
    epoch, batch = end.diverged_at
    logs = rec.of(BatchLog)
    assert epoch == 1 and 1 <= batch <= 30
    if per_batch_check:  # every batch before the bad one was logged, with a finite loss
        assert [log.batch for log in logs] == list(range(1, batch))
    assert all(math.isfinite(log.loss) for log in logs if log.batch < batch)
    assert end.verdict is not None and end.verdict.label == "diverged"
    assert end.test is None and not rec.of(EpochEnd)
    assert rec.events[-1] is end


def test_divergence_in_a_later_epoch_keeps_finished_epochs(monkeypatch) -> None:
    """This model dies rather than overflows at high lr, so the NaN is injected: batch 7 of epoch 2.

    The test set is then scored with the weights of the last finished epoch, which
    are exactly those of the same run stopped after one epoch.
    """
    real = torch.nn.functional.cross_entropy
    calls = {"train": 0}

    def cross_entropy(logits, target, **kw):
        loss = real(logits, target, **kw)
        if kw:  # validation and test use reduction="sum"
            return loss
        calls["train"] += 1
        return loss * float("nan") if calls["train"] == 30 + 7 else loss

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", cross_entropy)
    end, rec = run_tiny(epochs=3, log_every=5, probes=False)  # the probe's gradients would count as batches
    monkeypatch.undo()
    one_epoch, _ = run_tiny(epochs=1)
    assert end.status == "diverged" and end.diverged_at == (2, 7)
    assert [e.epoch for e in rec.of(EpochEnd)] == [1] and end.epochs_done == 1
    assert [(log.epoch, log.batch) for log in rec.of(BatchLog)][-1] == (2, 5)
    assert end.test == one_epoch.test
    assert end.verdict is not None and end.verdict.label == "diverged"


def test_divergence_detected_on_the_same_batch_either_way(monkeypatch) -> None:
    found = []
    for per_batch in (True, False):
        monkeypatch.setattr(run_module, "syncs_each_batch", lambda device, p=per_batch: p)
        end, _ = run_tiny(lr=1e6, log_every=30)
        found.append(end.diverged_at)
    assert found[0] is not None and found[0] == found[1]


def test_missing_dataset_fails_with_a_clear_line(tmp_path, monkeypatch) -> None:
    import torchvision.datasets as tvd

    monkeypatch.setattr(tvd.MNIST, "mirrors", ["http://127.0.0.1:9/"])  # offline: nothing listens there
    end, rec = run_tiny(dataset="mnist", data_dir=str(tmp_path))
    assert rec.events == [end]
    assert end.status == "failed" and end.test is None and end.verdict is None
    assert "\n" not in end.error
    assert str(tmp_path / "MNIST" / "raw") in end.error and "mnist-5k" in end.error


def test_a_crash_inside_becomes_a_failed_run() -> None:
    def hook(event: object) -> None:
        if isinstance(event, EpochEnd):
            raise RuntimeError("consumer\nbroke")

    end, rec = run_tiny(hook)
    assert end.status == "failed" and end.error == "RuntimeError: consumer broke"
    assert rec.events[-1] is end and len(rec.of(RunEnd)) == 1


def test_batch_larger_than_training_set_fails_cleanly() -> None:
    end, _ = run_tiny(batch_size=301)
    assert end.status == "failed" and "larger than the training set" in end.error


@pytest.mark.parametrize("batches, expected", [(4800, 1250), (320, 100), (40, 10), (1, 1), (7, 2), (400, 100)])
def test_auto_log_every_is_a_nice_quarter_epoch(batches: int, expected: int) -> None:
    assert nice_log_every(batches) == expected


@pytest.mark.parametrize("name", ["sgd", "sgd-momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"])
def test_every_optimizer_trains(name: str) -> None:
    momentum = 0.9 if name in ("sgd-momentum", "nesterov") else 0.0
    config = RunConfig(optimizer=name, momentum=momentum, weight_decay=1e-4, lr=0.001)
    optimizer = make_optimizer(config, build_model(0).parameters())
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.001 and group["weight_decay"] == 1e-4
    if name in ("sgd-momentum", "nesterov"):
        assert group["momentum"] == 0.9 and group["nesterov"] == (name == "nesterov")
    end, _ = run_tiny(optimizer=name, momentum=momentum, lr=0.001, epochs=1, train_limit=100)
    assert end.status == "finished", end.error


def test_train_never_raises_on_a_bad_optimizer_name() -> None:
    end = train(RunConfig(optimizer="lion", device="cpu", train_limit=50, epochs=1), lambda e: None)
    assert end.status == "failed" and "lion" in end.error


def test_a_run_leaves_a_core_free_and_restores_the_thread_count(monkeypatch) -> None:
    monkeypatch.setattr(machine.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    before = torch.get_num_threads()
    torch.set_num_threads(8)
    try:
        assert machine.cpu_threads() == 3
        during = []
        run_tiny(lambda e: during.append(torch.get_num_threads()), epochs=1, train_limit=50)
        assert set(during) == {3} and torch.get_num_threads() == 8
        torch.set_num_threads(2)
        assert machine.cpu_threads() == 2  # never more than it was given
    finally:
        torch.set_num_threads(before)
    monkeypatch.setattr(machine.os, "sched_getaffinity", lambda pid: {0})
    assert machine.cpu_threads() == 1


@pytest.mark.parametrize(
    "name,momentum,weight_decay",
    [("sgd", 0.0, 0.0), ("sgd", 0.0, 1e-3), ("sgd-momentum", 0.9, 1e-3), ("nesterov", 0.9, 0.0)],
)
def test_sgd_step_is_torch_sgd_bit_for_bit(name: str, momentum: float, weight_decay: float) -> None:
    config = RunConfig(optimizer=name, lr=0.05, momentum=momentum, weight_decay=weight_decay)
    ours, theirs = build_model(0), build_model(0)
    step, optimizer = SGDStep(ours.parameters(), config), make_optimizer(config, theirs.parameters())
    x, y = torch.rand(4, 10, 1, 28, 28), torch.randint(0, 10, (4, 10))
    for i in range(4):
        step(torch.nn.functional.cross_entropy(ours(x[i]), y[i]))
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(theirs(x[i]), y[i]).backward()
        optimizer.step()
    for (n, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert torch.equal(p, q), n
