"""The default suggestion judged against real training, not against other finders.

Ground truth: a small lr grid trained for 3 epochs on the classic setup (SGD,
batch 10, the 5k digits). The rates within a few points of the grid's best are
the "good" region; the finder's default suggestion must land inside it for every
seed, and the seeds must agree within a small factor. torch-lr-finder's defaults
were measured to suggest 0.6-1.6 here, where this model does not learn at all.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from lrtui.engine.config import RunConfig
from lrtui.engine.events import Event, RunEnd
from lrtui.engine.lrfind import find_lr
from lrtui.engine.trainer import train

#: 0.01 is left out: it trails the best by ~8 points after 3 epochs, so it could only widen the good region
GRID = (0.03, 0.1, 0.3)
SEEDS = (0, 1, 2)
POINTS = 0.03  #: "within a few points" of the grid's best validation accuracy
AGREE = 3.0  #: largest allowed ratio between the suggestions of different seeds


def _best_val_acc(config: RunConfig) -> float:
    """Best validation accuracy of a real training run (the engine's own trainer)."""
    accs: list[float] = []

    def emit(event: Event) -> None:
        if hasattr(event, "val_acc"):
            accs.append(event.val_acc)  # type: ignore[union-attr]

    end = train(config, emit)
    assert isinstance(end, RunEnd) and end.status in ("finished", "diverged")
    return max(accs, default=0.0)


@pytest.mark.slow
def test_default_suggestion_trains_well_for_every_seed() -> None:
    base = RunConfig(optimizer="sgd", batch_size=10, dataset="mnist-5k", epochs=3, device="cpu")
    suggestions = []
    for seed in SEEDS:
        config = replace(base, seed=seed)
        result = find_lr(config)
        assert result.lr is not None and result.method == "valley", result.why
        suggestions.append(result.lr)
        scores = {lr: _best_val_acc(config.with_lr(lr)) for lr in GRID}
        best = max(scores.values())
        good = [lr for lr, acc in scores.items() if acc >= best - POINTS]
        assert min(good) <= result.lr <= max(good), (seed, result.lr, scores)
    assert max(suggestions) / min(suggestions) <= AGREE, suggestions
