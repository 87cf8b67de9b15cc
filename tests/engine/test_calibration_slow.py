"""Verdicts across what a learner can choose, on real runs: a subset of ``calibrate_verdicts.py --choices``.

Each cell is one the calibration labelled the same by lrtui's verdict and by the stated criterion of
``benchmarks/expected_verdicts.py`` (README, "How the verdicts are calibrated"); the test trains it again
(1,000 training digits of the 5k, 250 validation, seed 0), checks the measured numbers that criterion rests on, then lrtui's label.
The numbers in comments were measured here.
"""

from __future__ import annotations

from typing import Any

import pytest
from engine_helpers import Recorder

from lrtui.engine.config import RunConfig
from lrtui.engine.events import EpochEnd, RunEnd
from lrtui.engine.trainer import train

pytestmark = pytest.mark.slow

BASE = RunConfig(lr=0.01, batch_size=10, epochs=3, device="cpu", seed=0, log_every=10**9, train_limit=1000)


def run(**changes: Any) -> tuple[RunEnd, list[EpochEnd]]:
    rec = Recorder()
    end = train(RunConfig(**{**BASE.to_dict(), **changes}), rec)
    assert end.status == "finished" and end.verdict is not None, end
    return end, rec.of(EpochEnd)


def most_dead(epoch: EpochEnd) -> float:
    assert epoch.diagnostics is not None
    return max(v for v in epoch.diagnostics.dead_fraction.values() if v is not None)


def test_sgd_lr_1_dies_in_its_first_epoch() -> None:
    end, epochs = run(lr=1.0, epochs=1)  # 12%, 100% of fc1 dead
    assert epochs[-1].val_acc <= 0.2 and most_dead(epochs[-1]) >= 0.6
    assert end.verdict is not None and end.verdict.label == "not learning"


def test_sgd_lr_1e_4_is_too_slow() -> None:
    end, epochs = run(lr=1e-4, epochs=2)  # 12% flat, median step ~1e-5 of the weights
    assert epochs[-1].val_acc <= 0.2
    assert end.verdict is not None and end.verdict.label == "too slow"


def test_sgd_lr_0_05_still_learning_after_3_epochs() -> None:
    end, epochs = run(lr=0.05)  # 50 → 60 → 86%
    assert epochs[-1].val_acc - epochs[-2].val_acc >= 0.1
    assert end.verdict is not None and end.verdict.label == "still learning"


def test_nesterov_lr_0_1_dies() -> None:
    end, epochs = run(optimizer="nesterov", momentum=0.9, lr=0.1, epochs=2)  # 12 → 7%, 100% dead
    assert epochs[-1].val_acc <= 0.2 and most_dead(epochs[-1]) >= 0.6
    assert end.verdict is not None and end.verdict.label == "not learning"


def test_lr_0_4_on_800_digits_is_unstable() -> None:
    end, epochs = run(lr=0.4, train_limit=800)  # 40 → 75 → 39%, the training loss up 14%
    accs = [e.val_acc for e in epochs]
    assert max(accs[:-1]) - accs[-1] >= 0.05 and epochs[-1].train_loss > min(e.train_loss for e in epochs[:-1])
    assert end.verdict is not None and end.verdict.label == "unstable"


def test_weight_decay_0_5_is_not_learning() -> None:
    end, epochs = run(weight_decay=0.5, epochs=2)  # 12% flat, the training loss flat at ~ln 10
    assert epochs[-1].val_acc <= 0.2 and abs(epochs[-1].train_loss - epochs[-2].train_loss) < 0.01
    assert end.verdict is not None and end.verdict.label == "not learning"
