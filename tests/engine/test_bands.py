"""The healthy bands per optimizer family: each edge sits where the measured runs say (lrtui/engine/bands.py)."""

from __future__ import annotations

import pytest

from lrtui.engine.bands import (
    ADAM,
    DEAD_FRACTION,
    EPOCH_TRAVEL,
    SGD,
    STATISTICS,
    UPDATE_RATIO,
    bands_for,
    decay_ratio,
    effective_lr,
    epoch_travel,
    largest_dead,
    median_update_ratio,
)
from lrtui.engine.config import OPTIMIZERS
from lrtui.engine.records import Diagnostics


def test_every_optimizer_has_a_family_and_every_band_a_named_statistic() -> None:
    assert {bands_for(o).family for o in OPTIMIZERS} == {"sgd", "adam"}
    assert bands_for("nesterov") is SGD and bands_for("adamw") is ADAM and bands_for("rmsprop") is ADAM
    assert bands_for(None) is SGD and bands_for("something new") is SGD
    for family in (SGD, ADAM):
        for name in STATISTICS:
            assert family.band(name).statistic == name
        with pytest.raises(KeyError):
            family.band("accuracy")


def test_sgd_update_ratio_band_against_the_measured_runs() -> None:
    band = SGD.update_ratio
    assert band.below(7e-5)  # lr 1e-3: 26% after 4 epochs
    assert band.contains(6.8e-4)  # lr 0.01 at its slowest: learns
    assert band.contains(2.4e-2)  # lr 0.1's first epoch: the best run (96.7%)
    assert band.above(5.2e-2)  # lr 0.3: learns, but large


def test_adam_update_ratio_band_against_the_measured_runs() -> None:
    band = ADAM.update_ratio
    assert band.below(1e-4)  # Adam 1e-5: 67% after 3 epochs
    assert band.contains(4.5e-4) and band.contains(2.2e-3)  # 1e-4 (90%), 1e-3 (95.7%)
    assert band.contains(1.7e-2)  # 1e-2's first epoch (93.5%)


def test_dead_bands_hold_for_each_family() -> None:
    assert not SGD.dead_fraction.above(0.38)  # every SGD run that learned on 3,200 digits
    assert SGD.dead_fraction.above(0.41)  # lr 0.5 on 1,000 digits, the epoch before it dies
    assert not ADAM.dead_fraction.above(0.625)  # Adam 1e-2: 20 of conv2's 32 channels, 95.6%
    assert not ADAM.dead_fraction.above(0.51)  # Adam 1e-3's fc1, the best region
    assert ADAM.dead_fraction.above(0.81)  # Adam 3e-2: conv1 81%, conv2 94-97%


def test_epoch_travel_floor_separates_batch_256_from_runs_that_move() -> None:
    assert SGD.epoch_travel.below(epoch_travel(13, 2.2e-4))  # batch 256, lr 0.01: 17% after 3 epochs
    assert not SGD.epoch_travel.below(epoch_travel(50, 7e-4))  # 500 digits, batch 10: takes off
    assert not SGD.epoch_travel.below(epoch_travel(13, 5e-2))  # batch 256, lr 0.3: 92% in 5 epochs


def test_effective_lr_and_the_decay_part_of_a_step() -> None:
    assert effective_lr("sgd", 0.1, 0.9) == pytest.approx(1.0)
    assert effective_lr("nesterov", 0.01, 0.0) == 0.01 and effective_lr("adam", 0.1, 0.9) == 0.1
    assert decay_ratio("sgd", 0.01, 0.5) == pytest.approx(5e-3)  # ‖lr·wd·w‖/‖w‖
    assert decay_ratio("sgd-momentum", 0.01, 0.5, 0.9) == pytest.approx(5e-2)
    assert decay_ratio("adamw", 1e-3, 0.01) == pytest.approx(1e-5)
    assert decay_ratio("adam", 1e-3, 0.01) is None  # folded into the gradient, then rescaled
    assert decay_ratio("sgd", 0.01, 0.0) is None


def test_statistics_from_diagnostics() -> None:
    diag = Diagnostics(
        update_ratio={"conv1": 1e-3, "conv2": 2e-3, "fc1": 4e-3, "fc2": None},
        dead_fraction={"conv1": 0.0, "conv2": 0.5, "fc1": 0.25},
    )
    assert median_update_ratio(diag.update_ratio) == 2e-3 and largest_dead(diag) == 0.5
    assert median_update_ratio({}) is None and largest_dead(Diagnostics()) is None
    assert UPDATE_RATIO in STATISTICS and DEAD_FRACTION in STATISTICS and EPOCH_TRAVEL in STATISTICS
