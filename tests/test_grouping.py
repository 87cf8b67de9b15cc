"""Seed groups, rankings and grid tables on hand-made records: the edge cases real training rarely hits."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest

from lrtui.engine.config import RunConfig
from lrtui.engine.events import RunState
from lrtui.engine.records import EpochRecord
from lrtui.plots.grouping import (
    best_setting,
    column_settings,
    common_settings_text,
    comparison_fields,
    grid_table,
    has_seed_groups,
    make_group,
    range_text,
    ranked,
    seed_groups,
    setting_label,
    summarize,
    summary_text,
    time_shares,
    time_text,
)
from lrtui.sessions.record import RunRecord

_ids = iter(range(1, 10_000))


def run(val: list[float | None], **config: Any) -> RunRecord:
    """A finished run whose epochs have these validation accuracies (losses = 1 − accuracy)."""
    epochs = [
        EpochRecord(
            i + 1,
            val_acc=v,
            train_acc=v,
            val_loss=None if v is None else 1 - v,
            train_loss=None if v is None else 1 - v,
        )
        for i, v in enumerate(val)
    ]
    return RunRecord(id=f"r{next(_ids)}", config=RunConfig(**config), status=RunState.FINISHED, epochs=epochs)


# -- groups ------------------------------------------------------------------------------------------
def test_a_single_run_is_a_group_of_one() -> None:
    (group,) = seed_groups([run([0.5, 0.6], lr=0.1)])
    assert len(group.runs) == 1 and group.label == "lr=0.1 sgd" and group.epochs == (1, 2)
    assert group.curves["val_acc"].lo == group.curves["val_acc"].hi == (0.5, 0.6)
    assert group.best_val is not None and group.best_val.spread == 0 and group.best_val.n == 1
    assert not has_seed_groups([group])


def test_only_the_seed_may_differ_within_a_group() -> None:
    runs = [
        run([0.5], lr=0.1, seed=0),
        run([0.6], lr=0.1, seed=1),
        run([0.7], lr=0.1, seed=0, batch_size=32),
        run([0.8], lr=0.1, seed=0, weight_decay=1e-4),
    ]
    groups = seed_groups(runs)
    assert [len(g.runs) for g in groups] == [2, 1, 1]
    assert [g.label for g in groups] == [
        "lr=0.1 sgd batch=10 wd=0",
        "lr=0.1 sgd batch=32 wd=0",
        "lr=0.1 sgd batch=10 wd=0.0001",
    ], "labels name what varies, never the seed"


def test_repeats_of_a_seed_and_runs_without_an_epoch_are_not_seeds() -> None:
    """``-`` twice on one run queues two runs of one setting with the same seed: repeats, not two seeds.
    A cancelled run that never finished an epoch adds no seed either."""
    first = run([0.5, 0.6], lr=0.01)
    repeat = run([0.7], lr=0.01)
    empty = run([], lr=0.01, seed=1)
    empty.status = "cancelled"  # type: ignore[assignment]
    groups = seed_groups([first, repeat, empty])
    assert [g.ids for g in groups] == [(first.id,), (repeat.id,), (empty.id,)]
    assert not has_seed_groups(groups)
    other_seed = run([0.9], lr=0.01, seed=1)  # a distinct seed with an epoch joins the setting's first group
    groups = seed_groups([first, repeat, empty, other_seed])
    assert [g.ids for g in groups] == [(first.id, other_seed.id), (repeat.id,), (empty.id,)]
    assert groups[0].seeds == (0, 1)


def test_setting_label_skips_what_the_label_already_shows() -> None:
    config = RunConfig(lr=0.01, optimizer="adam", schedule="cosine", warmup=5, momentum=0.0, seed=3)
    assert (
        setting_label(config, ("optimizer", "momentum", "lr", "seed", "warmup"))
        == "lr=0.01 adam cosine warmup=5 momentum=0"
    )


def test_ragged_runs_are_cut_to_the_epochs_every_seed_reached() -> None:
    group = make_group([run([0.2, 0.4, 0.6], seed=0), run([0.3, 0.5], seed=1)])
    assert group.epochs == (1, 2)
    curve = group.curves["val_acc"]
    assert curve.mean == pytest.approx((0.25, 0.45)) and curve.lo == (0.2, 0.4) and curve.hi == (0.3, 0.5)
    best = group.best_val  # the summaries still use every epoch of each run
    assert best is not None and (best.lo, best.hi) == (0.5, 0.6)


def test_a_missing_value_makes_the_point_missing_not_a_partial_mean() -> None:
    group = make_group([run([0.2, None], seed=0), run([0.3, 0.5], seed=1)])
    curve = group.curves["val_loss"]
    assert curve.mean[0] == pytest.approx(0.75) and curve.mean[1] is None and curve.lo[1] is None


def test_a_run_without_epochs_empties_the_curve_and_leaves_one_seed() -> None:
    a = make_group([run([], seed=0), run([0.9], seed=1)])
    b = make_group([run([0.5], seed=0, lr=0.1), run([0.6], seed=1, lr=0.1)])
    assert a.epochs == () and a.curves["val_acc"].mean == ()
    assert a.best_val is not None and a.best_val.n == 1
    assert b.best_val is not None and b.best_val.n == 2
    assert make_group([run([], seed=0)]).best_val is None


def test_summaries_skip_missing_and_non_finite_values() -> None:
    s = summarize([0.5, None, math.nan, math.inf, 0.7])
    assert s is not None and (s.n, s.lo, s.hi) == (2, 0.5, 0.7) and s.mean == pytest.approx(0.6)
    assert summarize([None, math.nan]) is None


def test_summary_texts_read_mean_plus_minus_half_the_spread() -> None:
    s = summarize([0.908, 0.916])
    assert summary_text(s) == "91.2% ± 0.4" and range_text(s) == "90.8–91.6%"
    one = summarize([0.5])
    assert summary_text(one) == "50.0%" and range_text(one) == "—" and summary_text(None, "-") == "-"


# -- ranking ---------------------------------------------------------------------------------------------
def test_settings_rank_by_their_mean_best_validation_accuracy() -> None:
    groups = [
        make_group([run([v], lr=lr, seed=0), run([v + 0.01], lr=lr, seed=1)])
        for lr, v in ((0.001, 0.5), (0.01, 0.9), (0.1, 0.7), (0.5, 0.1), (1.0, 0.6))
    ]
    assert [g.config.lr for g in ranked(groups)] == [0.01, 0.1, 1.0, 0.001, 0.5]
    assert ranked([make_group([run([], seed=0)])]) == []


def test_best_setting_is_the_best_mean_over_seeds_not_the_best_single_run() -> None:
    lucky = [run([0.95], lr=0.5, seed=0), run([0.55], lr=0.5, seed=1)]  # the best single run, mean 75%
    steady = [run([0.85], lr=0.01, seed=0), run([0.84], lr=0.01, seed=1)]  # mean 84.5%
    best = best_setting([*lucky, *steady])
    assert best is not None and best.config.lr == 0.01 and best.ids == tuple(r.id for r in steady)
    assert best is not None and best.ids == ranked(seed_groups([*lucky, *steady]))[0].ids  # as the report ranks
    assert best_setting([]) is None and best_setting([run([], lr=0.1)]) is None


# -- runs tables ---------------------------------------------------------------------------------------------
def test_the_settings_that_vary_are_the_columns_and_the_rest_is_said_once() -> None:
    """``--lr 0.1 --schedule onecycle,cosine --warmup 0,5``: four runs that differ in schedule and warmup."""
    configs = [RunConfig(lr=0.1, schedule=s, warmup=w) for s in ("onecycle", "cosine") for w in (0, 5)]
    assert [s.key for s in column_settings(configs)] == ["schedule", "warmup"]
    assert common_settings_text(configs) == "sgd · batch 10 · mnist-5k · seed 0"
    grid = [
        RunConfig(optimizer=o, momentum=0.9, batch_size=32, dataset="mnist", train_limit=t, seed=s, epochs=e)
        for o in ("sgd", "adam")
        for t in (None, 200)
        for s in (0, 1)
        for e in (1, 3)
    ]
    assert [s.key for s in column_settings(grid)] == ["optimizer", "dataset", "seed"]  # epochs: a column anyway
    assert common_settings_text(grid) == "momentum 0.9 · batch 32"
    assert column_settings([RunConfig(lr=0.1), RunConfig(lr=0.01)]) == ()
    assert common_settings_text([]) == ""


def test_runs_trained_side_by_side_split_their_time() -> None:
    """A stacked sweep's three runs each report the whole stack's time; a run trained alone keeps its own."""
    stack = [run([0.5], lr=lr) for lr in (0.1, 0.01, 0.001)]
    for i, r in enumerate(stack):
        r.started_at, r.ended_at, r.duration_s = 100.0 + i * 0.1, 280.0 + i * 3, 167.0 + 6 * i
    alone = run([0.5], lr=0.5)
    alone.started_at, alone.ended_at, alone.duration_s = 300.0, 360.0, 55.0
    old = run([0.5], lr=0.2)  # saved before start and end times were kept
    old.duration_s = 40.0
    shares = time_shares([*stack, alone, old])
    assert set(shares) == {r.id for r in stack}
    assert [round(shares[r.id]) for r in stack] == [57, 59, 63]  # about a third each
    assert sum(shares.values()) == pytest.approx(179.0)  # the stack's time: its longest clock
    assert time_text(stack[0], shares) == "~56.7 s" and time_text(alone, shares) == "55.0 s"
    chain = [run([0.5], lr=lr) for lr in (0.3, 0.4)]  # partly side by side (two processes): no one clock to split
    (a, b), (chain[0].started_at, chain[0].ended_at), (chain[1].started_at, chain[1].ended_at) = (
        chain,
        (0, 100),
        (50, 150),
    )
    a.duration_s = b.duration_s = 100.0
    assert time_shares(chain) == {a.id: pytest.approx(75.0), b.id: pytest.approx(75.0)}
    running = run([0.5], lr=0.3)  # a run still training counts until now
    running.status, running.started_at = "running", 200.0  # type: ignore[assignment]
    assert time_shares([stack[0], running], now=300.0)[stack[0].id] < stack[0].duration_s


# -- grid tables -------------------------------------------------------------------------------------------
def grid_runs() -> list[RunRecord]:
    """adam given first: columns keep the user's order; lrs sort ascending."""
    out = []
    for opt, lrs in (("adam", (0.1, 0.001)), ("sgd", (0.1, 0.001))):
        for lr in lrs:
            for seed in (0, 1):
                out.append(
                    run(
                        [
                            0.1
                            + 0.5 * (opt == "sgd") * (lr == 0.1)
                            + 0.6 * (opt == "adam") * (lr == 0.001)
                            + 0.01 * seed
                        ],
                        optimizer=opt,
                        lr=lr,
                        seed=seed,
                    )
                )
    return out


def test_comparison_fields_prefer_lr_rows_and_never_pick_the_seed() -> None:
    runs = grid_runs()
    assert comparison_fields(runs) == ("lr", "optimizer")
    assert comparison_fields([r for r in runs if r.config.optimizer == "sgd"]) is None, "an lr sweep with seeds"
    no_lr = [
        run([0.5], batch_size=b, optimizer=o, seed=s) for b in (10, 32, 64) for o in ("sgd", "adam") for s in (0, 1)
    ]
    assert comparison_fields(no_lr) == ("batch_size", "optimizer"), "the most-varying setting as rows"
    three = [
        run([0.5], lr=lr, batch_size=b, optimizer=o)
        for lr in (0.1, 0.01)
        for b in (10, 32, 64)
        for o in ("sgd", "adam")
    ]
    assert comparison_fields(three) == ("lr", "batch_size")


def test_grid_table_cells_and_order() -> None:
    table = grid_table(grid_runs())
    assert table.row_values == (0.001, 0.1) and table.col_values == ("adam", "sgd")
    assert table.cell(0.001, "adam").mean == pytest.approx(0.705)
    assert table.cell(0.1, "sgd").mean == pytest.approx(0.605)
    assert table.cell(0.1, "adam").mean == pytest.approx(0.105)
    assert [table.best_row(j) for j in range(2)] == [0, 1], "each optimizer its own good lr"
    assert table.best_col(0) == 0 and table.best_col(1) == 1
    assert table.value_range == (pytest.approx(0.105), pytest.approx(0.705))
    assert table.fraction(0, 0) == 1.0 and table.fraction(0, 1) == 0.0


def test_grid_table_holes_and_runs_without_a_value() -> None:
    runs = grid_runs()
    runs = [r for r in runs if not (r.config.optimizer == "sgd" and r.config.lr == 0.001)]  # a hole
    runs[0].epochs = []  # adam 0.1 seed 0 diverged before its first epoch
    table = grid_table(runs)
    hole = table.cell(0.001, "sgd")
    assert hole.ids == () and hole.mean is None and table.fraction(0, 1) is None
    partial = table.cell(0.1, "adam")
    assert len(partial.ids) == 2 and partial.n == 1 and partial.mean == pytest.approx(0.11)
    assert table.counts == (0, 2)


def test_grid_table_any_two_fields_and_bad_requests() -> None:
    runs = grid_runs()
    by_seed = grid_table(runs, rows="optimizer", cols="seed")
    assert by_seed.averaged_over == ("lr",) and by_seed.col_values == (0, 1)
    assert by_seed.cell("sgd", 1).mean == pytest.approx((0.61 + 0.11) / 2)
    flat = grid_table(runs, rows="lr", cols="batch_size")  # a field that does not vary: one column
    assert flat.col_values == (10,) and flat.averaged_over == ("optimizer", "seed")
    assert grid_table(runs, cols="optimizer").rows_field == "lr"
    assert grid_table(runs, rows="optimizer").cols_field == "lr"
    with pytest.raises(ValueError, match="'colour' is not a setting"):
        grid_table(runs, rows="colour")
    with pytest.raises(ValueError, match="both 'lr'"):
        grid_table(runs, rows="lr", cols="lr")
    with pytest.raises(ValueError, match="cannot be compared"):
        grid_table(runs, value="duration_s")
    with pytest.raises(ValueError, match="two settings that vary"):
        grid_table([r for r in runs if r.config.optimizer == "sgd"])


def test_grouping_imports_no_ui_or_torch() -> None:
    code = (
        "import sys, lrtui.plots.grouping; "
        "bad = [m for m in ('torch', 'textual', 'rich') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
