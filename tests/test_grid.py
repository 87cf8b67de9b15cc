"""Grids: every run setting takes a comma list; the runs are the cartesian product in one documented order."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from lrtui.engine.config import (
    GRID_CONFIRM,
    GRID_FIELDS,
    GRID_MAX,
    MAX_SWEEP,
    ConfigError,
    RunConfig,
    grid_size,
    parse_configs,
    varying_fields,
)

CPU = ("cpu",)


def parse(raw: dict[str, Any], base: RunConfig | None = None) -> list[RunConfig]:
    return parse_configs(raw, devices=CPU, base=base)


def errors_of(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        parse(raw)
    return info.value.errors


def test_the_runs_are_the_product_outer_to_inner_in_grid_order() -> None:
    raw = {
        "optimizer": "sgd,adam",
        "batch_size": "10,32",
        "epochs": "1,2",
        "weight_decay": "0,1e-4",
        "schedule": "constant,cosine",
        "warmup": "0,5",
        "lr": "0.1,0.01",
        "seed": "0,1",
    }
    configs = parse(raw)
    assert GRID_FIELDS[-2:] == ("lr", "seed")  # seeds side by side, each block of rows one lr sweep
    got = [tuple(getattr(c, f) for f in GRID_FIELDS) for c in configs]
    expected = list(
        itertools.product(
            ["sgd", "adam"], [10, 32], [1, 2], [0.0], [0.0, 1e-4], ["constant", "cosine"], [0, 5], [0.1, 0.01], [0, 1]
        )
    )
    assert got == expected
    assert len(configs) == len(set(configs)) == 2**8 == grid_size(raw)


def test_every_run_of_a_grid_is_the_run_its_own_values_make() -> None:
    configs = parse(
        {"optimizer": "nesterov,rmsprop", "momentum": "0.5,0.8", "lr": "0.1,3e-3", "seed": "4,5", "train_limit": "300"}
    )
    assert len(configs) == 16
    for config in configs:
        single = {f: str(getattr(config, f)) for f in GRID_FIELDS} | {"train_limit": "300"}
        assert parse(single) == [config]


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"lr": "0.1, 0.01, 1e-2, 0.1"},  # 2 distinct
        {"batch_size": "10, 1e1, 32", "epochs": "1, 1.0, 2"},
        {"optimizer": "sgd, SGD , adam", "seed": "0;1;2"},
        {"optimizer": "sgd-momentum,adam", "momentum": ""},
        {"optimizer": "sgd,rmsprop", "momentum": "0,0.5,0.9", "schedule": "step,exp,onecycle", "warmup": "0,3"},
        {"lr": [0.1, 0.01], "seed": 3},
    ],
)
def test_grid_size_counts_the_runs_without_building_them(raw: dict[str, Any]) -> None:
    assert grid_size(raw) == len(parse(raw))


def test_repeated_values_are_dropped_keeping_the_first() -> None:
    assert [c.lr for c in parse({"lr": "0.1, 0.01, 1e-1, 0.01"})] == [0.1, 0.01]
    assert [c.optimizer for c in parse({"optimizer": "adam, sgd, ADAM"})] == ["adam", "sgd"]
    assert [c.seed for c in parse({"seed": "2, 1, 2.0"})] == [2, 1]


def test_an_empty_momentum_is_each_optimizers_usual_one() -> None:
    configs = parse({"optimizer": "sgd, sgd-momentum, nesterov, adam, rmsprop", "momentum": ""})
    assert [(c.optimizer, c.momentum) for c in configs] == [
        ("sgd", 0.0),
        ("sgd-momentum", 0.9),
        ("nesterov", 0.9),
        ("adam", 0.0),
        ("rmsprop", 0.0),
    ]
    base = RunConfig(optimizer="sgd", momentum=0.5)  # absent: the base's momentum, for the base's optimizer only
    assert [c.momentum for c in parse({"optimizer": "sgd,nesterov,adam"}, base)] == [0.5, 0.9, 0.0]


def test_a_momentum_list_multiplies_the_optimizers_that_take_one() -> None:
    configs = parse({"optimizer": "sgd,rmsprop", "momentum": "0.5,0.9"})
    assert [(c.optimizer, c.momentum) for c in configs] == [
        ("sgd", 0.5),
        ("sgd", 0.9),
        ("rmsprop", 0.5),
        ("rmsprop", 0.9),
    ]
    assert "adam takes no momentum (got 0.9)" in errors_of({"optimizer": "sgd,adam", "momentum": "0,0.9"})["momentum"]
    assert (
        "sgd-momentum needs momentum > 0"
        in errors_of({"optimizer": "sgd,sgd-momentum", "momentum": "0,0.9"})["momentum"]
    )


@pytest.mark.parametrize(
    "raw, field, words",
    [
        ({"optimizer": "sgd, adamx"}, "optimizer", "'adamx' is unknown: choose one of sgd,"),
        ({"optimizer": "sgd,,adam"}, "optimizer", "empty item"),
        ({"lr": "0.1, 0, 0.01"}, "lr", "0 is out of range"),
        ({"momentum": "0.5, 1"}, "momentum", "1 is out of range: must be >= 0 and < 1"),
        ({"weight_decay": "0, 2"}, "weight_decay", "2 is out of range: must be between 0 and 1"),
        ({"epochs": "1, 2.5"}, "epochs", "'2.5' is not a whole number"),
        ({"epochs": "1, 1001"}, "epochs", "1001 is out of range"),
        ({"batch_size": "10, 5000"}, "batch_size", "5000 is larger than the training set (3200 samples)"),
        ({"seed": "0, -1"}, "seed", "-1 is out of range: must be >= 0"),
        ({"seed": "0, x"}, "seed", "'x' is not a number"),
        (
            {"schedule": "cosine, linear"},
            "schedule",
            "'linear' is unknown: choose one of constant, step, exp, cosine, onecycle",
        ),
        ({"warmup": "0, -5"}, "warmup", "-5 is out of range: must be >= 0"),
        (
            {"warmup": "10, 500", "train_limit": "200", "epochs": "2"},
            "warmup",
            "500 is longer than the run: 2 epoch(s) at batch 10 is 40 steps",
        ),
        ({"warmup": "30", "train_limit": "200", "epochs": "1,2"}, "warmup", "1 epoch(s) at batch 10 is 20 steps"),
        ({"seed": ",".join(map(str, range(MAX_SWEEP + 1)))}, "seed", f"at most {MAX_SWEEP} values"),
        ({"dataset": "mnist, kmnist"}, "dataset", "takes one value, not a list"),
        ({"device": "cpu,cuda"}, "device", "takes one value, not a list"),
    ],
)
def test_a_bad_item_is_named_with_its_field(raw: dict[str, Any], field: str, words: str) -> None:
    errors = errors_of(raw)
    assert list(errors) == [field]
    assert words in errors[field] and "\n" not in errors[field]


def test_a_grid_larger_than_the_cap_is_refused_in_one_line() -> None:
    assert GRID_CONFIRM < GRID_MAX
    largest = {"lr": ",".join(f"{i / 100:g}" for i in range(1, 17)), "seed": ",".join(map(str, range(16)))}
    assert grid_size(largest) == GRID_MAX == len(parse(largest))
    too_large = largest | {"optimizer": "sgd,adam"}
    assert grid_size(too_large) == 2 * GRID_MAX
    errors = errors_of(too_large)
    assert list(errors) == ["grid"]
    assert errors["grid"] == f"{2 * GRID_MAX} runs is too many (at most {GRID_MAX}): optimizer 2 × lr 16 × seed 16"
    assert str(ConfigError(errors)).count("\n") == 0


def test_grid_size_counts_even_before_the_values_are_valid() -> None:
    """The app asks "queue N runs?" from the raw form; a typo must not make it crash."""
    assert grid_size({"optimizer": "sgd,adamx", "seed": "0,1,", "lr": ""}) == 4


def test_the_readme_grid_reads_as_cli_strings() -> None:
    configs = parse(
        {
            "optimizer": "sgd,adam",
            "lr": "0.1,0.001",
            "seed": "0,1,2",
            "epochs": "2",
            "schedule": "onecycle",
            "warmup": "10",
            "device": "cpu",
        }
    )
    assert len(configs) == 12
    assert [c.label for c in configs[:3]] == ["lr=0.1 sgd onecycle warmup=10"] * 3
    assert varying_fields(configs) == ("optimizer", "lr", "seed")
    assert varying_fields(configs[:1]) == ()


@pytest.mark.slow
def test_a_grid_trains_as_ordinary_runs_in_its_order() -> None:
    """Real training (100 samples, 1 epoch): every run of an optimizer × seed grid finishes under its own config."""
    import threading

    from lrtui.engine.events import EpochEnd, RunStarted
    from lrtui.engine.sweep import run_many

    configs = parse(
        {
            "optimizer": "sgd,adam",
            "lr": "0.05,0.001",
            "seed": "0,1",
            "train_limit": "100",
            "epochs": "1",
            "device": "cpu",
        }
    )
    assert len(configs) == 8
    events: list[Any] = []
    ids = [f"r{i}" for i in range(1, 9)]
    ends = run_many(configs, ids, events.append, threading.Event())
    assert [e.status for e in ends] == ["finished"] * 8
    started = {e.run_id: e.config for e in events if isinstance(e, RunStarted)}
    assert [started[i] for i in ids] == configs
    loss = {e.run_id: e.train_loss for e in events if isinstance(e, EpochEnd)}
    for a, b in zip(ids[::2], ids[1::2]):  # seed 0 then seed 1 of the same setting: a real second sample
        assert loss[a] != loss[b]
