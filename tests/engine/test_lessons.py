"""The three lessons of the classic experiment, on the real mnist-5k digits at batch 10, 5 epochs.

lr 0.01 learns (> 85% validation accuracy), lr 0.5 never leaves chance, lr 1e-4 barely
moves in 5 epochs. One module-scoped fixture trains the three runs once (~15 s of CPU).
"""

from __future__ import annotations

import pytest
from engine_helpers import Recorder

from lrtui.engine.config import RunConfig
from lrtui.engine.events import EpochEnd, RunEnd
from lrtui.engine.records import EpochRecord
from lrtui.engine.trainer import train
from lrtui.engine.verdict import judge

pytestmark = pytest.mark.slow

LESSON = RunConfig(epochs=5, batch_size=10, dataset="mnist-5k", device="cpu", seed=0)


@pytest.fixture(scope="module")
def lessons() -> dict[float, tuple[RunEnd, list[EpochEnd]]]:
    runs = {}
    for lr in (0.01, 0.5, 1e-4):
        rec = Recorder()
        end = train(LESSON.with_lr(lr), rec)
        runs[lr] = (end, rec.of(EpochEnd))
    return runs


def val_accs(epochs: list[EpochEnd]) -> list[float]:
    return [e.val_acc for e in epochs]


def test_lr_001_learns(lessons) -> None:
    end, epochs = lessons[0.01]
    accs = val_accs(epochs)
    assert end.status == "finished" and len(epochs) == 5
    assert accs[-1] > 0.85 and accs[-1] > accs[0] + 0.3
    assert end.test is not None and end.test.accuracy > 0.85
    assert end.verdict is not None and end.verdict.label == "converged"


def test_lr_05_stays_at_chance(lessons) -> None:
    end, epochs = lessons[0.5]
    assert max(val_accs(epochs)[1:], default=0.1) < 0.2  # after the first epoch, a constant guess
    assert end.test is None or end.test.accuracy < 0.2
    assert end.verdict is not None and end.verdict.label in ("not learning", "diverged")


def test_lr_1e4_is_far_too_slow(lessons) -> None:
    end, epochs = lessons[1e-4]
    best = max(val_accs(lessons[0.01][1]))
    assert end.status == "finished" and val_accs(epochs)[-1] < best - 0.5
    losses = [e.train_loss for e in epochs]
    assert all(b < a for a, b in zip(losses, losses[1:]))  # learning, just very slowly
    assert end.verdict is not None and end.verdict.label == "too slow"


def test_too_slow_also_when_compared_with_the_best_run(lessons) -> None:
    """What a front end does with a session's runs: judge again against the best of them."""
    best = max(val_accs(lessons[0.01][1]))
    records = [EpochRecord.of(e.epoch, e.train_loss, e.train_acc, e.val_loss, e.val_acc) for e in lessons[1e-4][1]]
    verdict = judge(records, "finished", best_val_acc=best)
    assert verdict.label == "too slow" and "below the best run" in verdict.reason
