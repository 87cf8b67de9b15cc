"""A training loss that rose within the last epoch is said beside a verdict that would otherwise hide it."""

from __future__ import annotations

import random

import pytest
from scipy.stats import mannwhitneyu

from lrtui.engine.config import RunConfig
from lrtui.engine.loss_rise import MIN_QUARTER, loss_rise
from lrtui.engine.records import Diagnostics, EpochRecord
from lrtui.engine.verdict import judge


def noisy(level: float, n: int, seed: int) -> list[float]:
    """Batch losses around ``level``: skewed and heavy-tailed, as at batch 10 (exponential noise)."""
    rng = random.Random(seed)
    return [level * rng.expovariate(1.0) for _ in range(n)]


def test_a_clear_rise_is_found_with_the_medians_and_scipys_p() -> None:
    losses = noisy(0.3, 20, 1) + noisy(0.4, 40, 2) + noisy(0.7, 20, 3)  # 80 batches: quarters of 20
    rise = loss_rise(losses)
    assert rise is not None and rise.batches == 20
    first, last = losses[:20], losses[-20:]
    assert rise.p == pytest.approx(mannwhitneyu(last, first, alternative="greater").pvalue)
    assert rise.last >= 1.5 * rise.first and rise.p < 0.01
    assert f"median {rise.first:.3f} in its first quarter" in rise.reason()


@pytest.mark.parametrize(
    "losses",
    [
        [2.3 - 0.02 * i for i in range(80)],  # falling: a run that learns
        noisy(0.5, 80, 4),  # flat, noisy: no rise at all
        noisy(0.3, 40, 5) + noisy(0.36, 40, 6),  # a small rise (1.2x): not said
        noisy(0.3, 3, 7) + noisy(3.0, 3, 8),  # too few batches to test
        [0.3] * 40 + [float("nan")] + [0.9] * 39,  # a non-finite batch: the run has other problems
    ],
    ids=["falling", "flat", "small", "few", "nan"],
)
def test_nothing_is_said_without_a_large_clear_rise(losses) -> None:
    assert loss_rise(losses) is None


def test_a_large_rise_that_noise_can_explain_is_not_said() -> None:
    """Medians 2x apart on 8 batches a quarter, but the two quarters overlap: p stays above 0.01."""
    first = [0.1, 0.2, 0.3, 0.4, 0.5, 1.5, 2.0, 3.0]
    last = [0.1, 0.3, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6]
    losses = first + [0.5] * (2 * MIN_QUARTER) + last
    assert mannwhitneyu(last, first, alternative="greater").pvalue > 0.01
    assert loss_rise(losses) is None


def epoch(n: int, acc: float, loss: float) -> EpochRecord:
    return EpochRecord(
        n,
        loss,
        acc,
        loss,
        acc,
        diagnostics=Diagnostics(
            update_ratio={"conv1": 1e-3, "conv2": 3e-3, "fc1": 3e-3, "fc2": 6e-3},
            grad_norm=0.7,
            dead_fraction={"conv1": 0.0, "conv2": 0.05, "fc1": 0.1},
            top_class_share=0.15,
            pred_entropy=2.0,
        ),
    )


def test_a_learning_run_whose_loss_rose_within_its_last_epoch_says_so_and_keeps_its_label() -> None:
    """SGD lr 0.3 on 800 digits, seed 1, in shape: validation 69 → 83 → 88%, the last epoch's batches climbing."""
    run = [epoch(1, 0.69, 0.95), epoch(2, 0.83, 0.55), epoch(3, 0.88, 0.40)]
    cfg = RunConfig(lr=0.3, train_limit=800)
    rising = noisy(0.3, 20, 1) + noisy(0.45, 40, 2) + noisy(0.7, 20, 3)
    plain = judge(run, "finished", config=cfg, n_train=800, n_val=800)
    told = judge(run, "finished", config=cfg, n_train=800, n_val=800, batch_losses=rising)
    assert told.label == plain.label == "still learning"
    assert told.reason.startswith(plain.reason) and "rose within the last epoch" in told.reason
    assert told.hint.endswith("try a smaller learning rate")
    steady = judge(run, "finished", config=cfg, n_train=800, n_val=800, batch_losses=noisy(0.4, 80, 9))
    assert steady == plain
