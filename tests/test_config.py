"""The one validation function every front end uses: each error names its field and says why."""

from __future__ import annotations

import math
import sys

import pytest

from lrtui.engine.config import (
    LR_MAX,
    MAX_SWEEP,
    ConfigError,
    RunConfig,
    parse_configs,
    parse_lrs,
    resolve_device,
    split_sizes,
    train_size,
)

CPU_ONLY = ("cpu",)
WITH_GPU = ("cpu", "cuda:0", "cuda:1")


def errors_of(raw: dict, devices: tuple[str, ...] = CPU_ONLY) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        parse_configs(raw, devices=devices)
    return info.value.errors


@pytest.mark.parametrize(
    "raw, field, words",
    [
        ({"lr": "abc"}, "lr", "'abc' is not a number"),
        ({"lr": "nan"}, "lr", "finite"),
        ({"lr": "inf"}, "lr", "finite"),
        ({"lr": "-inf"}, "lr", "finite"),
        ({"lr": "0"}, "lr", "must be > 0 and <= 100"),
        ({"lr": "-0.1"}, "lr", "must be > 0"),
        ({"lr": "101"}, "lr", "<= 100"),
        ({"lr": ""}, "lr", "is required"),
        ({"lr": " , "}, "lr", "is required"),
        ({"lr": "0.1,,0.01"}, "lr", "empty item"),
        ({"lr": "0.1, x"}, "lr", "'x' is not a number"),
        ({"lr": ",".join(["0.1"] * (MAX_SWEEP + 1))}, "lr", f"at most {MAX_SWEEP}"),
        ({"lr": True}, "lr", "not a number"),
        (
            {"optimizer": "lion"},
            "optimizer",
            "choose one of sgd, sgd-momentum, nesterov, adam, adamw, rmsprop, adagrad",
        ),
        ({"dataset": "cifar10"}, "dataset", "choose one of mnist-5k, mnist, fashion-mnist, kmnist"),
        ({"device": "tpu"}, "device", "use auto, cpu, cuda, cuda:N or mps"),
        ({"device": "cuda:x"}, "device", "not a device"),
        ({"device": "cuda"}, "device", "CUDA is not available here"),
        ({"device": "cuda:0"}, "device", "CUDA is not available here"),
        ({"device": "mps"}, "device", "not available here"),
        ({"momentum": "1"}, "momentum", "must be >= 0 and < 1"),
        ({"momentum": "-0.5"}, "momentum", "must be >= 0 and < 1"),
        ({"momentum": "fast"}, "momentum", "not a number"),
        ({"optimizer": "sgd-momentum", "momentum": "0"}, "momentum", "needs momentum > 0"),
        ({"optimizer": "nesterov", "momentum": "0"}, "momentum", "needs momentum > 0"),
        ({"optimizer": "adam", "momentum": "0.9"}, "momentum", "adam takes no momentum"),
        ({"weight_decay": "1.5"}, "weight_decay", "between 0 and 1"),
        ({"weight_decay": "-1e-4"}, "weight_decay", "between 0 and 1"),
        ({"weight_decay": "nan"}, "weight_decay", "finite"),
        ({"epochs": "0"}, "epochs", "between 1 and 1000"),
        ({"epochs": "1001"}, "epochs", "between 1 and 1000"),
        ({"epochs": "2.5"}, "epochs", "not a whole number"),
        ({"epochs": "five"}, "epochs", "not a number"),
        ({"epochs": ""}, "epochs", "is required"),
        ({"epochs": math.nan}, "epochs", "finite"),
        ({"epochs": 2.5}, "epochs", "not a whole number"),
        ({"batch_size": "0"}, "batch_size", "must be >= 1"),
        ({"batch_size": "3201"}, "batch_size", "larger than the training set (3200 samples)"),
        ({"batch_size": "200", "train_limit": "100"}, "batch_size", "larger than the training set (100 samples)"),
        ({"val_fraction": "0"}, "val_fraction", "must be > 0 and < 1"),
        ({"val_fraction": "1"}, "val_fraction", "must be > 0 and < 1"),
        ({"seed": "-1"}, "seed", "must be >= 0"),
        ({"seed": str(2**63)}, "seed", "must be >= 0"),
        ({"train_limit": "0"}, "train_limit", ">= 1 (or empty for all)"),
        ({"log_every": "0"}, "log_every", ">= 1 (or empty for auto)"),
        ({"learning_rate": "0.1"}, "learning_rate", "is not a setting"),
    ],
)
def test_each_bad_field_is_named_with_the_reason(raw: dict, field: str, words: str) -> None:
    errors = errors_of(raw)
    assert list(errors) == [field]
    assert words in errors[field]
    assert "\n" not in errors[field]


def test_every_bad_field_is_reported_at_once() -> None:
    errors = errors_of({"lr": "x", "epochs": "0", "optimizer": "lion", "batch_size": "-1", "seed": "y"})
    assert set(errors) == {"lr", "epochs", "optimizer", "batch_size", "seed"}
    message = str(ConfigError(errors))
    assert message.startswith("lr: 'x' is not a number; ") and "\n" not in message


def test_a_gpu_device_is_accepted_only_where_present() -> None:
    assert parse_configs({"device": "cuda"}, devices=WITH_GPU)[0].device == "cuda"
    assert parse_configs({"device": "cuda:1"}, devices=WITH_GPU)[0].device == "cuda:1"
    assert "not available here (devices: cpu, cuda:0, cuda:1)" in errors_of({"device": "cuda:2"}, WITH_GPU)["device"]


def test_unicode_digits_make_no_device_number() -> None:
    for text in ("cuda:²", "cuda:٣", "cuda:１"):
        assert "is not a device" in errors_of({"device": text}, WITH_GPU)["device"], text


def test_good_input_becomes_one_config_per_lr() -> None:
    configs = parse_configs(
        {
            "lr": "0.5, 0.01, 1e-4",
            "optimizer": " SGD ",
            "epochs": "5",
            "batch_size": "10",
            "seed": "3",
            "train_limit": "",
            "log_every": "",
            "device": "CPU",
            "momentum": "",
            "weight_decay": "0",
        },
        devices=CPU_ONLY,
    )
    assert [c.lr for c in configs] == [0.5, 0.01, 1e-4]
    assert all(c.optimizer == "sgd" and c.epochs == 5 and c.seed == 3 and c.device == "cpu" for c in configs)
    assert configs[0].train_limit is None and configs[0].log_every is None
    assert configs[1] == configs[0].with_lr(0.01)


def test_numbers_may_come_as_numbers_or_text() -> None:
    [config] = parse_configs({"lr": 0.01, "epochs": 3, "batch_size": "1e1", "val_fraction": 0.25}, devices=CPU_ONLY)
    assert (config.lr, config.epochs, config.batch_size, config.val_fraction) == (0.01, 3, 10, 0.25)
    assert isinstance(config.epochs, int) and isinstance(config.batch_size, int)


def test_momentum_defaults_follow_the_optimizer() -> None:
    def momentum(raw, base=None):
        return parse_configs(raw, devices=CPU_ONLY, base=base)[0].momentum

    assert momentum({}) == 0.0
    assert momentum({"optimizer": "sgd-momentum"}) == 0.9
    assert momentum({"optimizer": "nesterov", "momentum": " "}) == 0.9
    assert momentum({"optimizer": "rmsprop", "momentum": "0.5"}) == 0.5
    base = RunConfig(optimizer="sgd", momentum=0.5)
    assert momentum({"lr": "0.1"}, base) == 0.5  # absent: the base's value
    assert momentum({"optimizer": "adam"}, base) == 0.0  # the base's was for another optimizer


def test_missing_fields_take_the_base_values() -> None:
    base = RunConfig(epochs=7, batch_size=32, dataset="mnist", seed=9)
    [config] = parse_configs({"lr": "0.1"}, devices=CPU_ONLY, base=base)
    assert (config.epochs, config.batch_size, config.dataset, config.seed) == (7, 32, "mnist", 9)


def test_parse_lrs() -> None:
    assert parse_lrs("0.01") == [0.01]
    assert parse_lrs("1e-3") == [0.001]
    assert parse_lrs("0.5; 0.01") == [0.5, 0.01]
    assert parse_lrs([0.1, "0.2"]) == [0.1, 0.2]
    assert parse_lrs(LR_MAX) == [LR_MAX]


def test_validation_does_not_import_torch_when_devices_are_given() -> None:
    """The app validates while typing, before torch is imported."""
    import subprocess

    code = (
        "import sys; from lrtui.engine.config import parse_configs; "
        "parse_configs({'lr': '0.1', 'device': 'cpu'}, devices=('cpu',)); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_device_resolution() -> None:
    assert resolve_device("auto", ("cpu",)) == "cpu"
    assert resolve_device("auto", ("cpu", "mps")) == "mps"
    assert resolve_device("auto", ("cpu", "mps", "cuda:0")) == "cuda:0"
    assert resolve_device("cuda", WITH_GPU) == "cuda:0"


def test_split_sizes() -> None:
    assert split_sizes(4000, 0.2) == (3200, 800)
    assert split_sizes(60000, 0.2) == (48000, 12000)
    assert split_sizes(4000, 0.2, train_limit=300) == (300, 75)
    assert split_sizes(4000, 0.2, train_limit=10**6) == (3200, 800)
    assert train_size("mnist-5k", 0.5) == 2000


def test_configs_saved_before_schedules_load_as_constant_without_warmup() -> None:
    old = RunConfig(lr=0.1, optimizer="adam", epochs=3).to_dict()
    del old["schedule"], old["warmup"]
    config = RunConfig.from_dict(old | {"added_by_a_newer_lrtui": 1})
    assert (config.schedule, config.warmup, config.lr, config.optimizer, config.epochs) == (
        "constant",
        0,
        0.1,
        "adam",
        3,
    )
    scheduled = RunConfig(schedule="onecycle", warmup=20)
    assert RunConfig.from_dict(scheduled.to_dict()) == scheduled


def test_the_label_names_a_schedule_and_warmup_only_when_set() -> None:
    assert RunConfig(lr=0.01).label == "lr=0.01 sgd"
    assert RunConfig(lr=0.01, schedule="cosine").label == "lr=0.01 sgd cosine"
    assert (
        RunConfig(lr=1e-4, optimizer="adam", schedule="onecycle", warmup=100).label
        == "lr=0.0001 adam onecycle warmup=100"
    )
    assert RunConfig(warmup=5).label == "lr=0.01 sgd warmup=5"


def test_schedule_and_warmup_are_parsed_like_the_other_settings() -> None:
    [config] = parse_configs({"schedule": " Cosine ", "warmup": "1e2"}, devices=CPU_ONLY)
    assert (config.schedule, config.warmup) == ("cosine", 100)
    [default] = parse_configs({}, devices=CPU_ONLY)
    assert (default.schedule, default.warmup) == ("constant", 0)
    assert "is required" in errors_of({"warmup": ""})["warmup"]
    assert "'2.5' is not a whole number" in errors_of({"warmup": "2.5"})["warmup"]
