"""The verdict rules that need the run's setting (optimizer, batch, weight decay, data sizes), on
synthetic epochs shaped like the measured ones. Real runs of each case: test_verdict_settings.py."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lrtui.engine.config import RunConfig
from lrtui.engine.records import Diagnostics, EpochRecord
from lrtui.engine.verdict import judge

SGD_CFG = RunConfig(lr=0.01, batch_size=10)


def epoch(
    acc: float,
    loss: float,
    ratio: float,
    *,
    dead: float = 0.13,
    train_acc: float | None = None,
    train_loss: float | None = None,
    n: int = 1,
) -> EpochRecord:
    return EpochRecord(
        n,
        loss if train_loss is None else train_loss,
        acc if train_acc is None else train_acc,
        loss,
        acc,
        diagnostics=Diagnostics(
            update_ratio={"conv1": ratio / 5, "conv2": ratio, "fc1": ratio, "fc2": ratio * 3},
            grad_norm=0.7,
            dead_fraction={"conv1": 0.0, "conv2": dead / 2, "fc1": dead},
            top_class_share=0.3,
            pred_entropy=1.0,
        ),
    )


def run_of(*rows: tuple[float, float, float], **kw: Any) -> list[EpochRecord]:
    return [epoch(a, loss, r, n=i + 1, **kw) for i, (a, loss, r) in enumerate(rows)]


def test_weight_decay_rule_needs_the_config_and_a_loss_at_ln_10() -> None:
    stuck = run_of((0.09, 2.3028, 5e-3), (0.08, 2.3028, 5e-3))
    wd = RunConfig(lr=0.01, weight_decay=0.5)
    verdict = judge(stuck, "finished", config=wd)
    assert verdict.label == "not learning" and "weight decay too strong" in verdict.reason
    assert "100% of the measured step" in verdict.reason and "0.05" in verdict.hint
    assert "weight decay" not in judge(stuck, "finished").reason  # without the config, no decay is known
    moving = run_of((0.30, 2.25, 1.4e-3), (0.50, 2.21, 1.4e-3))  # wd 0.1: most of the step, but learning
    verdict = judge(moving, "finished", config=RunConfig(lr=0.01, weight_decay=0.1))
    assert verdict.label == "still learning" and "most of each step is weight decay (71%" in verdict.reason


def test_adams_decay_is_not_split_off_but_adamws_is() -> None:
    stuck = run_of((0.09, 2.3028, 5e-3), (0.08, 2.3028, 5e-3))
    assert (
        "weight decay"
        not in judge(stuck, "finished", config=RunConfig(optimizer="adam", lr=0.01, weight_decay=0.5)).reason
    )
    verdict = judge(stuck, "finished", config=RunConfig(optimizer="adamw", lr=0.01, weight_decay=0.5))
    assert "weight decay too strong" in verdict.reason


def test_too_few_steps_needs_the_steps_per_epoch() -> None:
    slow = run_of((0.14, 2.2967, 2.2e-4), (0.155, 2.2946, 2.2e-4))
    big = RunConfig(lr=0.01, batch_size=256)
    verdict = judge(slow, "finished", config=big, n_train=3200, n_val=800)
    assert verdict.label == "too slow" and "13 steps per epoch" in verdict.reason
    assert "scale the lr with the batch size" in verdict.hint
    assert judge(slow, "finished", config=big).label == "still learning"  # steps per epoch unknown
    few = judge(slow, "finished", config=SGD_CFG, n_train=100, n_val=25)  # batch 10, 10 steps per epoch
    assert few.label == "too slow" and "10 steps per epoch" in few.reason and "more epochs" in few.hint


def test_momentum_is_named_with_its_effective_step() -> None:
    verdict = judge(
        run_of((0.5, 1.4, 5e-3), (0.7, 0.9, 5e-3)),
        "finished",
        config=RunConfig(optimizer="sgd-momentum", lr=0.03, momentum=0.9),
    )
    assert "effective step lr/(1−0.9) = 0.3 under momentum 0.9" in verdict.reason


def test_a_fall_is_unstable_only_beyond_the_noise_and_with_a_loss_rising() -> None:
    fell = [epoch(0.795, 0.8, 5e-2, n=1), epoch(0.625, 1.3, 5e-2, n=2)]
    verdict = judge(fell, "finished", config=RunConfig(lr=0.3), n_val=800)
    assert verdict.label == "unstable" and "fell from 79.5% (epoch 1) to 62.5%" in verdict.reason
    assert verdict.hint.startswith("try a smaller learning rate (3x smaller: 0.1)")
    small = judge([epoch(0.80, 0.8, 5e-3, n=1), epoch(0.72, 0.9, 5e-3, n=2)], "finished", n_val=25)
    assert small.label != "unstable"  # 2 of 25 images
    both_falling = [epoch(0.795, 0.8, 5e-3, n=1), epoch(0.625, 0.7, 5e-3, n=2)]
    assert judge(both_falling, "finished", n_val=800).label != "unstable"


def test_dead_units_beyond_the_familys_band() -> None:
    learning = run_of((0.90, 0.35, 3e-3), (0.95, 0.15, 2e-3), dead=0.55)  # fc1 55%: Adam 3e-3 measured
    adam = judge(learning, "finished", config=RunConfig(optimizer="adam", lr=3e-3))
    assert adam.label == "still learning" and "55% of fc1, 28% of conv2 never fire (within Adam's band" in adam.reason
    # SGD 0.3 on the 5k digits learns to 92% with half of fc1 dead (calibration): a run that learned keeps its
    # label and names the dead share; one that has not learned is dying
    sgd = judge(learning, "finished", config=SGD_CFG)
    assert sgd.label == "still learning" and "55% of fc1, 28% of conv2 never fire (above SGD's band" in sgd.reason
    dying = run_of((0.40, 1.60, 3e-2), (0.52, 1.40, 3e-2), dead=0.55)
    stuck = judge(dying, "finished", config=SGD_CFG)
    assert stuck.label == "unstable" and "55% of fc1" in stuck.reason and "smaller learning rate" in stuck.hint


def test_no_dead_units_only_when_none_are() -> None:
    some = judge(run_of((0.13, 2.297, 7e-4), (0.13, 2.286, 7e-4)), "finished")
    assert "no dead units" not in some.reason and "at most 13% of fc1 dead" in some.reason
    none = judge(run_of((0.13, 2.297, 7e-4), (0.13, 2.286, 7e-4), dead=0.0), "finished")
    assert "no dead units" in none.reason


def test_converged_needs_the_loss_to_flatten() -> None:
    still = run_of((0.77, 0.93, 1e-3), (0.887, 0.61, 7e-4), (0.904, 0.41, 4.5e-4))  # Adam 1e-4, 3 epochs
    verdict = judge(still, "finished", config=RunConfig(optimizer="adam", lr=1e-4))
    assert verdict.label == "still learning" and "0.6100 → 0.4100 (−33%)" in verdict.reason
    flat = run_of((0.88, 0.40, 5e-3), (0.906, 0.31, 4e-3), (0.916, 0.27, 4e-3))  # lr 0.01 at epoch 5: −13%
    assert judge(flat, "finished").label == "converged" and "flattening" in judge(flat, "finished").reason


def test_a_run_that_stopped_improving_below_good_is_not_still_learning() -> None:
    stalled = run_of((0.45, 1.50, 3e-3), (0.50, 1.20, 3e-3), (0.503, 1.196, 3e-3))
    verdict = judge(stalled, "finished")
    assert verdict.label == "not learning" and verdict.reason.startswith("stalled at 50.3%")


def test_overfitting_from_the_minimum_and_the_gap() -> None:
    rows = [(0.60, 1.0, 0.6), (0.84, 0.482, 0.88), (0.88, 0.526, 0.98), (0.88, 0.565, 1.0)]
    run = [
        epoch(a, vl, 5e-3, train_acc=ta, train_loss=tl, n=i + 1)
        for i, ((a, vl, ta), tl) in enumerate(zip(rows, (1.9, 0.5, 0.05, 0.02)))
    ]
    run[2] = replace(run[2], val_loss=0.470)  # the validation loss's minimum, then up 20%; not two rises in a row
    verdict = judge(run, "finished", n_val=25)
    assert verdict.label == "overfitting" and "above its minimum 0.470 (epoch 3)" in verdict.reason
    assert "88.0% (95% interval 70–96%)" in verdict.reason and "too few validation images" in verdict.reason
    same_acc = [replace(e, train_acc=e.val_acc) for e in run]  # no train/validation gap: not overfitting
    assert judge(same_acc, "finished", n_val=25).label != "overfitting"


def test_a_large_validation_set_gets_no_interval() -> None:
    verdict = judge(run_of((0.5, 1.4, 5e-3), (0.7, 0.9, 5e-3)), "finished", n_val=800)
    assert "interval" not in verdict.reason and "too few" not in verdict.reason


def test_still_improving_only_where_the_accuracy_rose() -> None:
    """Adam 1e-3 after 3 epochs: 96.0% → 95.7% with the loss down 39%; "still improving" read as the accuracy."""
    adam = RunConfig(lr=1e-3, optimizer="adam")
    falling_loss = run_of((0.918, 0.73, 2e-3), (0.960, 0.21, 2e-3), (0.957, 0.125, 2e-3))
    verdict = judge(falling_loss, "finished", config=adam, n_train=3200, n_val=800)
    assert verdict.label == "still learning" and "training loss still falling" in verdict.reason
    assert "still improving" not in verdict.reason
    rising = run_of((0.30, 2.0, 1e-3), (0.50, 1.5, 1e-3))
    assert judge(rising, "finished", config=SGD_CFG, n_train=3200, n_val=800).reason.count("still improving") == 1
    one = judge(run_of((0.40, 1.8, 1e-3)), "finished", config=SGD_CFG, n_train=3200, n_val=800)
    assert one.label == "still learning" and "still improving" not in one.reason  # one epoch: nothing to compare
