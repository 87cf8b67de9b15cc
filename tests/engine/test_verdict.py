"""Verdicts on synthetic epoch lists without diagnostics (sessions saved before they existed):
each label, its reason (with numbers) and its hint.

The curves imitate the measured ones (mnist-5k, batch 10, SGD): see lrtui/engine/verdict.py.
The rules with diagnostics and probes are in test_verdict_measured.py.
"""

from __future__ import annotations

import math

import pytest

from lrtui.engine.records import EpochRecord
from lrtui.engine.verdict import judge


def epochs(train_loss, val_acc, val_loss=None, train_acc=None):
    """Epoch records like a RunRecord's, from per-epoch lists."""
    val_loss = val_loss or train_loss
    train_acc = train_acc or val_acc
    return [
        EpochRecord.of(i + 1, t, ta, vl, va)
        for i, (t, ta, vl, va) in enumerate(zip(train_loss, train_acc, val_loss, val_acc))
    ]


#: lr 0.01, seed 0: climbs to ~92%.
GOOD = epochs(
    [2.2566, 1.2629, 0.5154, 0.3833, 0.3251],
    [0.469, 0.772, 0.88, 0.909, 0.916],
    [2.1364, 0.688, 0.4037, 0.3102, 0.2685],
)
#: lr 0.5, seed 0: collapses to a constant guess; the loss wobbles around 2.31.
STUCK = epochs(
    [2.2073, 2.3141, 2.312, 2.3157, 2.3159], [0.115, 0.09, 0.115, 0.09, 0.114], [2.3108, 2.3139, 2.3033, 2.3269, 2.3104]
)
#: lr 1e-4, seed 1: also ~10% accuracy, but both losses fall a little every single epoch.
CRAWLING = epochs(
    [2.3048, 2.3043, 2.3037, 2.3031, 2.3026],
    [0.108, 0.109, 0.112, 0.115, 0.124],
    [2.3001, 2.2996, 2.2991, 2.2986, 2.2982],
)


def test_the_three_lessons() -> None:
    good, stuck, crawling = judge(GOOD, "finished"), judge(STUCK, "finished"), judge(CRAWLING, "finished")
    assert good.label == "converged" and "91.6%" in good.reason
    assert stuck.label == "not learning" and "chance" in stuck.reason and "smaller" in stuck.hint
    assert crawling.label == "too slow" and "2.3031 → 2.3026" in crawling.reason
    assert "larger learning rate" in crawling.hint


def test_diverged_status_always_wins() -> None:
    verdict = judge(GOOD[:2], "diverged")
    assert verdict.label == "diverged" and "2 full epochs" in verdict.reason and "10x smaller" in verdict.hint
    assert "first epoch" in judge([], "diverged").reason


def test_non_finite_loss_in_the_record_is_divergence() -> None:
    # a saved record stores NaN as null
    assert judge(epochs([2.0, None], [0.3, 0.1]), "finished").label == "diverged"
    assert judge(epochs([2.0, math.inf], [0.3, 0.1]), "finished").label == "diverged"


def test_accuracy_falling_back_to_chance_is_divergence() -> None:
    """lr 0.5, seed 2: 27% after the first epoch, then a constant guess."""
    run = epochs(
        [1.6795, 2.0433, 2.3154, 2.3147, 2.3149],
        [0.268, 0.09, 0.097, 0.083, 0.094],
        [1.9231, 2.3152, 2.3075, 2.3196, 2.3241],
    )
    verdict = judge(run, "finished")
    assert verdict.label == "diverged" and "26.8%" in verdict.reason and "9.4%" in verdict.reason


def test_exploding_loss_is_divergence() -> None:
    verdict = judge(epochs([1.0, 2.0, 4.0], [0.5, 0.45, 0.4]), "finished")
    assert verdict.label == "diverged" and "1.000 to 4.000" in verdict.reason


def test_overfitting() -> None:
    run = epochs([0.5, 0.3, 0.2, 0.1, 0.05], [0.90, 0.92, 0.93, 0.92, 0.91], [0.35, 0.28, 0.27, 0.30, 0.34])
    verdict = judge(run, "finished")
    assert verdict.label == "overfitting" and "0.270 → 0.340" in verdict.reason and "weight decay" in verdict.hint


def test_one_rising_validation_epoch_is_not_overfitting() -> None:
    """lr 0.01, seed 2 ends with one noisy uptick of the validation loss: still converged."""
    run = epochs(
        [2.2414, 1.1612, 0.5285, 0.403, 0.3301],
        [0.606, 0.784, 0.879, 0.881, 0.879],
        [2.0453, 0.6512, 0.3799, 0.364, 0.3809],
    )
    assert judge(run, "finished").label == "converged"


def test_too_slow_far_below_the_best_run() -> None:
    run = epochs([1.2, 0.8, 0.6], [0.70, 0.80, 0.84], [1.0, 0.7, 0.55])
    assert judge(run, "finished").label == "converged"  # 84% on its own looks fine
    verdict = judge(run, "finished", best_val_acc=0.97)
    assert verdict.label == "too slow" and "13.0 points below the best run" in verdict.reason


def test_still_learning_when_still_climbing_and_far_from_good() -> None:
    """Climbing fast is no sign of steps too small (that takes diagnostics): more epochs."""
    verdict = judge(epochs([2.2, 1.9, 1.6], [0.30, 0.45, 0.55]), "finished")
    assert verdict.label == "still learning" and "55.0%" in verdict.reason and "more epochs" in verdict.hint
    assert "1.9000 → 1.6000" in verdict.reason


def test_crawling_needs_three_epochs_to_tell_from_stuck() -> None:
    """Two falling steps in a row happen by chance at lr 0.5: with fewer epochs and no diagnostics,
    at chance is "too early" (never a hint that may point the wrong way)."""
    assert judge(CRAWLING[:2], "finished").label == "too early"
    assert "3+ epochs" in judge(CRAWLING[:2], "finished").reason
    assert "smaller" not in judge(CRAWLING[:2], "finished").hint
    assert judge(CRAWLING[:3], "finished").label == "too slow"
    assert "larger" in judge(CRAWLING[:3], "finished").hint


def test_cancelled_run_is_judged_on_what_it_did() -> None:
    assert judge(GOOD[:1], "cancelled").label == "still learning"  # 46.9% after one epoch: needs more
    assert judge(GOOD[:4], "cancelled").label == "converged"


def test_no_epochs() -> None:
    verdict = judge([], "cancelled")
    assert verdict.label == "too early" and "no epoch" in verdict.reason


@pytest.mark.parametrize("run", [GOOD, STUCK, CRAWLING])
def test_every_verdict_has_a_reason_and_a_hint(run) -> None:
    verdict = judge(run, "finished")
    assert verdict.reason and verdict.hint and "\n" not in verdict.reason


def test_a_loss_that_blew_up_but_stayed_finite_is_diverged_not_not_learning() -> None:
    """lr 100 on a small subset: epoch means of ~1e35, then a dead network guessing one class."""
    blown = epochs([1.08e35, 2.3133], [0.1, 0.1], [2.3205, 2.3115])
    verdict = judge(blown, "finished")
    assert verdict.label == "diverged" and "1.08e+35" in verdict.reason and "smaller" in verdict.hint
    assert judge(STUCK, "finished").label == "not learning"  # a loss of ~2.31 is no blow-up


def test_a_flat_tiny_step_run_is_too_slow_not_stuck() -> None:
    """lr 1e-7, 3 epochs (no diagnostics): the loss moves in the 7th digit; the hint must say larger."""
    flat = epochs([2.3007004, 2.3007001, 2.3006999], [0.116, 0.116, 0.116], [2.2988, 2.2988, 2.2988])
    verdict = judge(flat, "finished")
    assert verdict.label == "too slow" and "larger" in verdict.hint and "smaller" not in verdict.hint
    assert "2.3007004 → 2.3006999" in verdict.reason


def test_a_reason_never_shows_two_equal_numbers_as_a_trend() -> None:
    from lrtui.engine.verdict import trend

    assert trend(2.30071, 2.30069) == "2.30071 → 2.30069"
    assert trend(2.3007, 2.3007) == "flat at 2.3007"
    assert trend(1.2629, 0.5154) == "1.2629 → 0.5154"
