"""Verdicts with diagnostics and probes: the rules on measured numbers, and the known failures of the
curve-only verdict on real short runs (the issue's list)."""

from __future__ import annotations

import re

import pytest
from engine_helpers import Recorder

from lrtui.engine.config import TRAIN_POOL, RunConfig, split_sizes
from lrtui.engine.events import EpochEnd, ProbeResult, RunEnd
from lrtui.engine.records import Diagnostics, EpochRecord, ProbeRecord
from lrtui.engine.sweep import run_many
from lrtui.engine.verdict import RATIO_LOW, judge


def epoch(acc: float, loss: float, ratio: float, dead: float = 0.13, top: float = 0.5, n: int = 1) -> EpochRecord:
    """An epoch with diagnostics, as a RunRecord keeps it (numbers as measured, see verdict.py)."""
    return EpochRecord(
        n,
        loss,
        acc,
        loss,
        acc,
        diagnostics=Diagnostics(
            update_ratio={"conv1": ratio / 5, "conv2": ratio, "fc1": ratio, "fc2": ratio * 3},
            grad_norm=0.7,
            dead_fraction={"conv1": 0.0, "conv2": dead / 2, "fc1": dead},
            top_class_share=top,
            pred_entropy=2.3,
        ),
    )


def probe(lr: float, best: float, gain: float, n: int = 1) -> ProbeRecord:
    lrs = (lr / 100, lr, best) if best > lr else (best, lr, lr * 100)
    losses = (2.30, 2.30, 2.30 - gain) if best > lr else (2.30 - gain, 2.30, 9.0)
    return ProbeRecord(n, lrs, losses, lr, 2.30)


def test_a_dead_network_is_not_learning_even_though_its_steps_are_zero() -> None:
    """lr 0.5 after the collapse: no gradient reaches dead units, so the update ratio is exactly 0."""
    run = [epoch(0.115, 2.31, 6e-2, dead=1.0, top=1.0), epoch(0.09, 2.314, 0.0, dead=1.0, top=1.0, n=2)]
    verdict = judge(run, "finished")
    assert verdict.label == "not learning" and "dying ReLUs" in verdict.reason and "100% of fc1" in verdict.reason
    assert "one class for 100% of images" in verdict.reason and "ln 10" in verdict.reason
    assert "killed by steps of up to 6e-02" in verdict.reason and "smaller" in verdict.hint


def test_a_sequentials_dead_layers_read_as_layers_not_bare_numbers() -> None:
    """An MLP's ReLUs are ``2`` and ``4`` in its Sequential: "100% of layer 4", never "100% of 4"."""

    def mlp_epoch(n: int, ratio: float) -> EpochRecord:
        diagnostics = Diagnostics(
            update_ratio={"1": ratio, "3": ratio, "5": ratio},
            grad_norm=0.7,
            dead_fraction={"2": 0.86, "4": 1.0},
            top_class_share=1.0,
            pred_entropy=2.3,
        )
        return EpochRecord(n, 2.31, 0.11, 2.316, 0.115, diagnostics=diagnostics)

    verdict = judge([mlp_epoch(1, 4e-2), mlp_epoch(2, 0.0)], "finished", config=RunConfig(model="mlp.py:mlp"))
    assert verdict.label == "not learning" and "100% of layer 4, 86% of layer 2 never fire" in verdict.reason
    assert not re.search(r"% of \d", verdict.reason)


def test_epoch_means_inside_the_band_are_not_quoted_as_the_killing_steps() -> None:
    """Full MNIST, lr 0.5: epoch means of 1e-3 (inside the band) while single steps moved layers by half."""
    run = [epoch(0.116, 2.32, 1e-3, dead=1.0, top=1.0), epoch(0.105, 2.321, 0.0, dead=1.0, top=1.0, n=2)]
    verdict = judge(run, "finished")
    assert verdict.label == "not learning" and "dying ReLUs" in verdict.reason
    assert "killed by steps" not in verdict.reason and "1e-03" not in verdict.reason


def test_a_collapse_after_learning_says_where_it_came_from() -> None:
    run = [epoch(0.592, 1.2, 7e-2, dead=0.24, top=0.26), epoch(0.128, 2.29, 9e-2, dead=0.75, top=1.0, n=2)]
    verdict = judge(run, "finished")
    assert verdict.label == "not learning" and "after reaching 59.2%" in verdict.reason


def test_too_slow_needs_small_steps_and_the_probe_agreeing() -> None:
    run = [epoch(0.124, 2.3005, 6.7e-6), epoch(0.132, 2.2999, 6.7e-6, n=2)]
    agreeing = judge(run, "finished", probes=[probe(1e-4, 0.18, 0.002)])
    assert agreeing.label == "too slow" and "6.7e-06" in agreeing.reason and "30x below" in agreeing.reason
    assert "100x larger" in agreeing.hint and "0.01" in agreeing.hint
    assert judge(run, "finished").label == "too slow"  # no probe: the ratio alone
    disagreeing = judge(run, "finished", probes=[probe(1e-4, 1e-6, 0.002)])  # smaller steps do better
    assert disagreeing.label != "too slow" and "larger" not in disagreeing.hint


def test_healthy_steps_at_chance_are_still_learning_not_stuck() -> None:
    """lr 0.01 on 500 digits: 13.6% for two epochs (the loss falling), 29% at the fourth."""
    run = [epoch(0.136, 2.2967, 6.8e-4, top=1.0), epoch(0.136, 2.2858, 7.5e-4, top=0.99, n=2)]
    verdict = judge(run, "finished")
    assert verdict.label == "still learning" and "more epochs" in verdict.hint
    assert "2.2967 → 2.2858" in verdict.reason


def test_large_but_live_steps_learn_and_the_hint_warns() -> None:
    verdict = judge([epoch(0.392, 2.14, 4.7e-2, dead=0.18)], "finished")
    assert verdict.label == "still learning" and "large" in verdict.reason and "dying" in verdict.hint


def test_converged_when_good_and_no_longer_rising() -> None:
    run = [epoch(0.88, 0.40, 5e-3), epoch(0.91, 0.31, 4e-3, n=2), epoch(0.916, 0.27, 4e-3, n=3)]
    assert judge(run, "finished").label == "converged"
    assert judge(run[:2], "finished").label == "still learning"  # +3 points in the last epoch


def test_the_ratio_floor_sits_between_the_slow_and_the_healthy_lr() -> None:
    assert 7e-5 < RATIO_LOW < 6.8e-4  # lr 1e-3 (too slow) and lr 0.01 at its slowest (learns): see verdict.py


# -- real short runs: the failures the issue listed -------------------------------------------
def sweep(lrs: list[float], **changes) -> dict[float, tuple[RunEnd, list[EpochEnd], list[ProbeResult]]]:
    rec = Recorder()
    config = RunConfig(batch_size=10, device="cpu", seed=0, **changes)
    ends = run_many([config.with_lr(lr) for lr in lrs], [f"r{i}" for i in range(len(lrs))], rec)
    return {
        lr: (
            end,
            [e for e in rec.of(EpochEnd) if e.run_id == end.run_id],
            [p for p in rec.of(ProbeResult) if p.run_id == end.run_id],
        )
        for lr, end in zip(lrs, ends)
    }


@pytest.fixture(scope="module")
def two_epochs() -> dict:
    """The README's suggestion: --epochs 2 on the 5k digits."""
    return sweep([0.01, 1e-4], epochs=2)


@pytest.fixture(scope="module")
def tiny_lrs() -> dict:
    return sweep([1e-7, 1e-5, 0.01], epochs=3, train_limit=500)


def test_two_epochs_of_lr_001_are_still_learning_not_too_slow(two_epochs) -> None:
    end = two_epochs[0.01][0]
    assert end.verdict is not None and end.verdict.label == "still learning", end.verdict


def test_two_epochs_of_lr_1e4_are_too_slow_not_not_learning(two_epochs) -> None:
    end = two_epochs[1e-4][0]
    assert end.verdict is not None and end.verdict.label == "too slow", end.verdict
    assert "larger" in end.verdict.hint


def test_lr_1e7_is_too_slow_and_the_hint_says_larger(tiny_lrs) -> None:
    verdict = tiny_lrs[1e-7][0].verdict
    assert verdict is not None and verdict.label == "too slow" and "larger" in verdict.hint
    assert "smaller" not in verdict.hint


def test_lr_001_on_500_samples_is_never_told_to_go_smaller(tiny_lrs) -> None:
    verdict = tiny_lrs[0.01][0].verdict
    assert verdict is not None and verdict.label == "still learning" and "smaller" not in verdict.hint


def test_no_reason_quotes_two_equal_numbers_as_a_trend(tiny_lrs, two_epochs) -> None:
    for runs in (tiny_lrs, two_epochs):
        for end, _, _ in runs.values():
            assert end.verdict is not None
            for a, b in re.findall(r"([\d.]+) → ([\d.]+)", end.verdict.reason):
                assert a != b, end.verdict.reason


def test_rejudging_a_saved_prefix_gives_the_shorter_runs_verdict(tiny_lrs) -> None:
    """What the calibration grid relies on: the first n epochs of a run are an n-epoch run."""
    end, epochs, probes = tiny_lrs[1e-5]
    records = [
        EpochRecord.of(e.epoch, e.train_loss, e.train_acc, e.val_loss, e.val_acc, diagnostics=e.diagnostics)
        for e in epochs
    ]
    # the run's setting, as the trainer passes it: the optimizer's bands, steps per epoch, the validation set's size
    config = RunConfig(lr=1e-5, batch_size=10, device="cpu", seed=0, epochs=3, train_limit=500)
    n_train, n_val = split_sizes(TRAIN_POOL[config.dataset], config.val_fraction, config.train_limit)
    setting = {"config": config, "n_train": n_train, "n_val": n_val}
    full = judge(records, "finished", probes=[ProbeRecord.of(p) for p in probes], **setting)
    assert end.verdict == full
    one = judge(records[:1], "finished", probes=[ProbeRecord.of(p) for p in probes[:2]], **setting)
    assert one.label == "too slow"
