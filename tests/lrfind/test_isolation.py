"""The finder never touches a run: a run after it is the same run as one without it."""

from __future__ import annotations

from lrtui.engine.config import RunConfig
from lrtui.engine.events import EpochEnd, Event
from lrtui.engine.lrfind import find_lr
from lrtui.engine.trainer import train


def _epochs(config: RunConfig) -> list[tuple[float, float, float, float, tuple[float, ...]]]:
    seen: list[Event] = []
    train(config, seen.append)
    return [(e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.batch_losses) for e in seen if isinstance(e, EpochEnd)]


def test_a_run_after_the_finder_equals_a_run_without_it() -> None:
    config = RunConfig(lr=0.05, epochs=1, train_limit=300, device="cpu")
    before = _epochs(config)
    find_lr(config, steps=30)
    after = _epochs(config)
    assert before and after == before
