"""Run configuration and the one validation function every front end uses.

The CLI hands in argparse strings, the TUI hands in the text of its inputs; both
go through :func:`parse_configs`, so an error message reads the same everywhere
and names the field it belongs to. This module must not import torch: the TUI
validates while typing, before torch has been imported. Device availability is
passed in (see :func:`probe_devices`, which does import torch, lazily).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

OPTIMIZERS: tuple[str, ...] = ("sgd", "sgd-momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
DATASETS: tuple[str, ...] = ("mnist-5k", "mnist", "fashion-mnist", "kmnist")
#: Training-pool size (before the validation split) of each dataset.
TRAIN_POOL: dict[str, int] = {"mnist-5k": 4000, "mnist": 60000, "fashion-mnist": 60000, "kmnist": 60000}
#: Momentum used when the field is left empty: plain SGD has none, the momentum flavours the usual 0.9.
DEFAULT_MOMENTUM: dict[str, float] = {"sgd-momentum": 0.9, "nesterov": 0.9}
#: Optimizers that take a momentum argument at all.
MOMENTUM_OPTIMIZERS: frozenset[str] = frozenset({"sgd", "sgd-momentum", "nesterov", "rmsprop"})
LR_MAX = 100.0
EPOCHS_MAX = 1000
MAX_SWEEP = 16


def default_data_dir() -> str:
    """Where torchvision datasets live: ``$LRTUI_DATA`` or ``<user data dir>/data``."""
    env = os.environ.get("LRTUI_DATA")
    if env:
        return env
    from platformdirs import user_data_dir

    return os.path.join(user_data_dir("lrtui"), "data")


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides one training run. Frozen: a run's config never changes under it."""

    lr: float = 0.01
    optimizer: str = "sgd"
    momentum: float = 0.0
    weight_decay: float = 0.0
    epochs: int = 5
    batch_size: int = 10
    dataset: str = "mnist-5k"
    data_dir: str = field(default_factory=default_data_dir)
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    log_every: int | None = None
    train_limit: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Rebuild from JSON, ignoring keys a newer lrtui may have added."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def with_lr(self, lr: float) -> RunConfig:
        return replace(self, lr=lr)

    @property
    def label(self) -> str:
        """Short name for legends and tables: ``lr=0.01 sgd``."""
        return f"lr={format_lr(self.lr)} {self.optimizer}"


def format_lr(lr: float) -> str:
    """``0.01`` → ``0.01``, ``0.0001`` → ``1e-04``: short and unambiguous."""
    return f"{lr:g}"


class ConfigError(ValueError):
    """Invalid fields. ``errors`` maps each field name to a message naming the allowed range."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def _number(text: Any, name: str, errors: dict[str, str], *, integer: bool = False) -> float | int | None:
    """Parse a number, recording a message on failure (non-number, NaN, inf)."""
    if isinstance(text, bool):
        errors[name] = "must be a number"
        return None
    if isinstance(text, (int, float)):
        value: float | int = text
    else:
        s = str(text).strip()
        if not s:
            errors[name] = "is required"
            return None
        try:
            value = int(s) if integer else float(s)
        except ValueError:
            try:
                as_float = float(s)
            except ValueError:
                errors[name] = f"{s!r} is not a number"
                return None
            if integer and as_float.is_integer():
                value = int(as_float)
            else:
                errors[name] = f"{s!r} is not a whole number"
                return None
    if isinstance(value, float) and not math.isfinite(value):
        errors[name] = "must be a finite number"
        return None
    if integer and isinstance(value, float):
        if not value.is_integer():
            errors[name] = f"{value!r} is not a whole number"
            return None
        value = int(value)
    return value


def parse_lrs(text: Any) -> list[float]:
    """``"0.01"``, ``"1e-3"`` or ``"0.5, 0.01, 1e-4"`` → list of learning rates. Raises ConfigError."""
    errors: dict[str, str] = {}
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        parts: list[Any] = [text]
    elif isinstance(text, (list, tuple)):
        parts = list(text)
    else:
        parts = [p for p in str(text).replace(";", ",").split(",")]
        if all(not p.strip() for p in parts):
            raise ConfigError({"lr": "is required (e.g. 0.01, 1e-3, or a list 0.5, 0.01, 1e-4)"})
    lrs: list[float] = []
    for part in parts:
        if isinstance(part, str) and not part.strip():
            raise ConfigError({"lr": "has an empty item in the list"})
        value = _number(part, "lr", errors)
        if value is None:
            raise ConfigError(errors)
        if not 0 < value <= LR_MAX:
            raise ConfigError({"lr": f"{value:g} is out of range: must be > 0 and <= {LR_MAX:g}"})
        lrs.append(float(value))
    if len(lrs) > MAX_SWEEP:
        raise ConfigError({"lr": f"at most {MAX_SWEEP} learning rates at once (got {len(lrs)})"})
    return lrs


def probe_devices() -> tuple[str, ...]:
    """Devices this machine can train on, e.g. ``("cpu", "cuda:0")``. Imports torch (slow the first time)."""
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return tuple(devices)


def resolve_device(device: str, available: tuple[str, ...]) -> str:
    """``auto`` → first CUDA device, else mps, else cpu; ``cuda`` → ``cuda:0``."""
    if device == "auto":
        for prefix in ("cuda", "mps"):
            for d in available:
                if d.startswith(prefix):
                    return d
        return "cpu"
    if device == "cuda":
        return "cuda:0"
    return device


def _check_device(text: str, available: tuple[str, ...] | None) -> str | None:
    """Return an error message for a device string, or None if it is usable."""
    if text == "auto" or text == "cpu":
        return None
    shape_ok = text in ("cuda", "mps") or (
        text.startswith("cuda:") and text[5:].isdigit()
    )
    if not shape_ok:
        return f"{text!r} is not a device: use auto, cpu, cuda, cuda:N or mps"
    if available is None:
        available = probe_devices()
    if resolve_device(text, available) not in available:
        have = ", ".join(available)
        if text.startswith("cuda") and not any(d.startswith("cuda") for d in available):
            return f"{text} asked for, but CUDA is not available here (devices: {have})"
        return f"{text} is not available here (devices: {have})"
    return None


def parse_configs(
    raw: Mapping[str, Any],
    *,
    devices: tuple[str, ...] | None = None,
    base: RunConfig | None = None,
) -> list[RunConfig]:
    """Validate raw field values (strings or numbers) and return one RunConfig per learning rate.

    Keys are RunConfig field names; missing keys take ``base``'s values (or the defaults).
    Empty strings for ``momentum``, ``log_every`` and ``train_limit`` mean "default".
    Raises :class:`ConfigError` with *every* invalid field, so a form can mark them all at once.
    ``devices`` is the result of :func:`probe_devices`; pass it to avoid importing torch.
    """
    base = base or RunConfig()
    errors: dict[str, str] = {}
    unknown = set(raw) - set(RunConfig.__dataclass_fields__)
    for key in sorted(unknown):
        errors[key] = "is not a setting"

    lrs: list[float] = [base.lr]
    if "lr" in raw:
        try:
            lrs = parse_lrs(raw["lr"])
        except ConfigError as e:
            errors.update(e.errors)

    def text(name: str) -> str:
        return str(raw.get(name, getattr(base, name)) or "").strip().lower()

    optimizer = text("optimizer")
    if optimizer not in OPTIMIZERS:
        errors["optimizer"] = f"{optimizer!r} is unknown: choose one of {', '.join(OPTIMIZERS)}"
    dataset = text("dataset")
    if dataset not in DATASETS:
        errors["dataset"] = f"{dataset!r} is unknown: choose one of {', '.join(DATASETS)}"
    device = text("device") or "auto"
    device_error = _check_device(device, devices)
    if device_error:
        errors["device"] = device_error

    def number(name: str, *, integer: bool = False, optional: bool = False) -> Any:
        value = raw.get(name, getattr(base, name))
        if optional and (value is None or (isinstance(value, str) and not value.strip())):
            return None
        return _number(value, name, errors, integer=integer)

    # empty: the optimizer's usual momentum; absent: the base's, if the base is for the same optimizer
    momentum_raw = raw.get("momentum", base.momentum if optimizer == base.optimizer else None)
    momentum_blank = momentum_raw is None or (isinstance(momentum_raw, str) and not momentum_raw.strip())
    momentum = DEFAULT_MOMENTUM.get(optimizer, 0.0) if momentum_blank else _number(momentum_raw, "momentum", errors)
    if not momentum_blank and momentum is not None and not 0 <= momentum < 1:
        errors["momentum"] = f"{momentum:g} is out of range: must be >= 0 and < 1"
    if "momentum" not in errors and optimizer in DEFAULT_MOMENTUM and momentum == 0:
        errors["momentum"] = f"{optimizer} needs momentum > 0 (e.g. 0.9)"
    if "momentum" not in errors and momentum and optimizer in OPTIMIZERS and optimizer not in MOMENTUM_OPTIMIZERS:
        errors["momentum"] = f"{optimizer} takes no momentum: leave it 0 or empty"

    weight_decay = number("weight_decay")
    if weight_decay is not None and not 0 <= weight_decay <= 1:
        errors["weight_decay"] = f"{weight_decay:g} is out of range: must be between 0 and 1"

    epochs = number("epochs", integer=True)
    if epochs is not None and not 1 <= epochs <= EPOCHS_MAX:
        errors["epochs"] = f"{epochs} is out of range: must be between 1 and {EPOCHS_MAX}"

    val_fraction = number("val_fraction")
    if val_fraction is not None and not 0 < val_fraction < 1:
        errors["val_fraction"] = f"{val_fraction:g} is out of range: must be > 0 and < 1"

    seed = number("seed", integer=True)
    if seed is not None and not 0 <= seed < 2**63:
        errors["seed"] = f"{seed} is out of range: must be >= 0"

    train_limit = number("train_limit", integer=True, optional=True)
    if train_limit is not None and train_limit < 1:
        errors["train_limit"] = f"{train_limit} is out of range: must be >= 1 (or empty for all)"

    log_every = number("log_every", integer=True, optional=True)
    if log_every is not None and log_every < 1:
        errors["log_every"] = f"{log_every} is out of range: must be >= 1 (or empty for auto)"

    batch_size = number("batch_size", integer=True)
    if batch_size is not None:
        limit = None
        if dataset in TRAIN_POOL and val_fraction is not None and "val_fraction" not in errors:
            limit = train_size(dataset, val_fraction, train_limit if "train_limit" not in errors else None)
        if batch_size < 1:
            errors["batch_size"] = f"{batch_size} is out of range: must be >= 1"
        elif limit is not None and batch_size > limit:
            errors["batch_size"] = f"{batch_size} is larger than the training set ({limit} samples)"

    data_dir = str(raw.get("data_dir", base.data_dir) or "").strip() or default_data_dir()

    if errors:
        raise ConfigError(errors)
    one = RunConfig(
        lr=lrs[0],
        optimizer=optimizer,
        momentum=float(momentum),
        weight_decay=float(weight_decay),
        epochs=int(epochs),
        batch_size=int(batch_size),
        dataset=dataset,
        data_dir=os.path.expanduser(data_dir),
        val_fraction=float(val_fraction),
        seed=int(seed),
        device=device,
        log_every=log_every,
        train_limit=train_limit,
    )
    return [one.with_lr(lr) for lr in lrs]


def split_sizes(pool: int, val_fraction: float, train_limit: int | None = None) -> tuple[int, int]:
    """(train, validation) sample counts of a training pool; a ``train_limit`` shrinks both in proportion."""
    n_val = min(pool - 1, max(1, round(pool * val_fraction)))
    n_train = pool - n_val
    if train_limit and train_limit < n_train:
        n_val = min(n_val, max(1, round(train_limit * val_fraction / (1 - val_fraction))))
        n_train = train_limit
    return n_train, n_val


def train_size(dataset: str, val_fraction: float, train_limit: int | None = None) -> int:
    """Number of training samples of a known dataset after the split (and the optional limit)."""
    return split_sizes(TRAIN_POOL[dataset], val_fraction, train_limit)[0]
