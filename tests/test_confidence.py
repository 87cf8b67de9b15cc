"""How sure a comparison is, on hand-made records: settings paired by seed, grid edges, small validation sets."""

from __future__ import annotations

import math
from typing import Any

import pytest

from lrtui.engine.config import RunConfig
from lrtui.engine.events import RunState
from lrtui.engine.records import EpochRecord
from lrtui.plots.confidence import (
    acc_text,
    comparison_sentence,
    comparison_sentences,
    edge_sentences,
    paired_seeds,
    resolved,
    seed_comparison,
    small_val_note,
)
from lrtui.plots.formatting import pct
from lrtui.plots.grouping import make_group, seed_groups
from lrtui.sessions.record import RunRecord

_ids = iter(range(1, 10_000))


def run(best: float | None, n_val: int = 800, **config: Any) -> RunRecord:
    """A finished one-epoch run whose validation accuracy (its best and last) is ``best``."""
    epochs = (
        [] if best is None else [EpochRecord(1, val_acc=best, train_acc=best, val_loss=1 - best, train_loss=1 - best)]
    )
    return RunRecord(
        id=f"r{next(_ids)}",
        config=RunConfig(**config),
        status=RunState.FINISHED,
        epochs=epochs,
        n_train=3200,
        n_val=n_val,
        n_test=1000,
    )


def group(values: list[float | None], seeds: tuple[int, ...] = (0, 1, 2), **config: Any):
    return make_group([run(v, seed=s, **config) for v, s in zip(values, seeds)])


# -- settings paired by seed -------------------------------------------------------------------------------------
def test_three_agreeing_seeds_are_not_resolved() -> None:
    """lr 0.1 against lr 0.03 on seeds 0, 1, 2: +27.6, +18.0, +11.2 points. The spread rule called this "a real
    difference" (a gap of 18.9 above both spreads); paired by seed its 95% interval is [−1.5, +39.4]."""
    fast = group([0.776, 0.680, 0.612], lr=0.1)
    slow = group([0.5, 0.5, 0.5], lr=0.03)
    assert paired_seeds(fast, slow) == (pytest.approx([77.6, 68.0, 61.2]), [50.0, 50.0, 50.0])
    paired = seed_comparison(fast, slow)
    assert paired is not None and (round(paired.lo, 1), round(paired.hi, 1)) == (-1.5, 39.4)
    assert resolved(fast, slow) is False
    expected = (
        "lr=0.1 sgd better than lr=0.03 sgd on all 3 paired seeds by 18.9 points on average, "
        "95% interval −1.5 … +39.4: not resolved — run more seeds."
    )
    assert comparison_sentence(fast, slow) == comparison_sentence(slow, fast) == expected


def test_a_consistent_difference_over_enough_seeds_is_resolved() -> None:
    a = group([0.90, 0.91, 0.92, 0.905], (0, 1, 2, 3), optimizer="adam")
    b = group([0.80, 0.815, 0.82, 0.81], (0, 1, 2, 3))
    assert resolved(a, b) is True
    assert comparison_sentence(b, a).startswith("lr=0.01 adam better than lr=0.01 sgd on all 4 paired seeds by ")
    assert comparison_sentence(b, a).endswith(": resolved.")


def test_runs_are_paired_by_seed_not_by_position() -> None:
    """Seeds 0, 1, 2 against seeds 2, 0 (in that order) and 5: only seeds 0 and 2 pair, each with its own."""
    a = group([0.9, 0.1, 0.7], (0, 1, 2), lr=0.1)
    b = make_group([run(0.6, seed=2), run(0.8, seed=0), run(0.2, seed=5)])
    assert paired_seeds(a, b) == ([90.0, 70.0], [80.0, 60.0])
    paired = seed_comparison(a, b)
    assert paired is not None and paired.n == 2 and paired.mean == pytest.approx(10.0)


def test_too_few_seeds_say_so() -> None:
    one = group([0.9], (0,), lr=0.1)
    assert resolved(one, group([0.5], (0,))) is None
    assert comparison_sentence(one, group([0.5], (0,))).endswith("one seed gives no interval — run more seeds.")
    apart = group([0.5, 0.6], (3, 4))
    assert seed_comparison(one, apart) is None and resolved(one, apart) is None
    assert comparison_sentence(one, apart) == (
        "lr=0.1 sgd (seed 0) and lr=0.01 sgd (seed 3, 4) share no seed: nothing to pair — run both on the same seeds."
    )
    nothing = group([None], (0,))
    assert comparison_sentence(nothing, one) == "lr=0.01 sgd has no validation accuracy yet: nothing to compare."
    assert (
        comparison_sentence(group([0.5, 0.6], lr=0.1), group([0.5, 0.6]))
        == "lr=0.1 sgd ties with lr=0.01 sgd on 2 paired seeds."
    )


def test_the_best_setting_is_compared_with_the_next_few() -> None:
    groups = [
        group([v, v + 0.01], (0, 1), lr=lr) for lr, v in ((0.001, 0.5), (0.01, 0.9), (0.1, 0.7), (0.5, 0.1), (1.0, 0.6))
    ]
    pairs = comparison_sentences(groups, k=3)
    assert [g.config.lr for g, _ in pairs] == [0.1, 1.0, 0.001]
    assert all(text.startswith("lr=0.01 sgd better than ") for _, text in pairs)
    assert comparison_sentences(groups[:1]) == []


# -- the edges of a grid -----------------------------------------------------------------------------------------
def test_a_best_lr_at_the_edge_of_the_grid_says_extend_it() -> None:
    """sgd, adam × lr 1e-4, 1e-3, 1e-2: adam is best at 0.01, the top of the grid; sgd at 1e-3, inside it."""
    scores = {
        ("sgd", 1e-4): 0.3,
        ("sgd", 1e-3): 0.9,
        ("sgd", 1e-2): 0.8,
        ("adam", 1e-4): 0.5,
        ("adam", 1e-3): 0.7,
        ("adam", 1e-2): 0.95,
    }
    runs = [run(v, optimizer=opt, lr=lr, seed=s) for (opt, lr), v in scores.items() for s in (0, 1)]
    assert edge_sentences(runs) == [
        "The best lr for adam, 0.01, is the largest the grid tried: extend the grid to larger lr."
    ]
    sweep = [run(v, lr=lr) for lr, v in ((0.01, 0.9), (0.1, 0.7), (0.3, 0.2))]
    assert edge_sentences(sweep) == [
        "The best lr, 0.01, is the smallest the grid tried: extend the grid to smaller lr."
    ]
    inside = [run(v, lr=lr, seed=s) for lr, v in ((0.01, 0.7), (0.1, 0.9), (0.3, 0.2)) for s in (0, 1)]
    assert edge_sentences(inside) == []


def test_edges_that_cannot_be_extended_or_are_no_search_say_nothing() -> None:
    decay = [run(v, weight_decay=wd) for wd, v in ((0.0, 0.9), (1e-4, 0.8), (1e-3, 0.7))]
    assert edge_sentences(decay) == [], "no weight decay smaller than none"
    assert edge_sentences([run(0.9, epochs=3), run(0.8, epochs=1)]) == [], "epochs are no search"
    assert (
        edge_sentences(
            [
                run(0.9, optimizer="adam", schedule="cosine"),
                run(0.8, schedule="cosine"),
                run(0.7, optimizer="adam"),
                run(0.6),
            ]
        )
        == []
    ), "no order among optimizers and schedules"
    assert edge_sentences([run(0.9)]) == [] and edge_sentences([]) == []
    assert edge_sentences([run(0.9, batch_size=64), run(0.8, batch_size=32)]) == [
        "The best batch size, 64, is the largest the grid tried: extend the grid to larger batch size."
    ]


# -- one accuracy on a small validation set ----------------------------------------------------------------------
def test_small_validation_sets_show_their_interval() -> None:
    assert acc_text(0.2, 50) == "20.0% (11–33%)"  # Wilson 95% of 10 / 50
    assert acc_text(1.0, 25) == "100.0% (87–100%)" and acc_text(0.0, 25) == "0.0% (0–13%)"
    assert acc_text(0.2, 200) == acc_text(0.2, 800) == acc_text(0.2, 0) == acc_text(0.2, None) == "20.0%"
    assert acc_text(None, 50) == acc_text(math.nan, 50) == "—"
    assert acc_text(1e308, 50) == pct(1e308) and acc_text("0.5", 50) == "—"  # a file's odd values: as pct has them


def test_the_small_validation_note_names_the_sizes() -> None:
    assert small_val_note([run(0.5, n_val=800)]) == ""
    note = small_val_note([run(0.5, n_val=50), run(0.5, n_val=25), run(0.5, n_val=800)])
    assert note.startswith("Validation sets under 200 images (here 25 or 50): ")


def test_groups_from_seed_groups_pair_the_same_way() -> None:
    runs = [
        run(v, lr=lr, seed=s)
        for lr, vs in ((0.1, (0.776, 0.680, 0.612)), (0.03, (0.5, 0.5, 0.5)))
        for s, v in enumerate(vs)
    ]
    fast, slow = seed_groups(runs)
    assert "95% interval −1.5 … +39.4: not resolved" in comparison_sentence(fast, slow)
