"""Run configuration and the one validation function every front end uses.

The CLI hands in argparse strings, the TUI hands in the text of its inputs; both
go through :func:`parse_configs`, so an error message reads the same everywhere
and names the field it belongs to. Every run setting takes a comma list; the runs are
the cartesian product (a *grid*, order and limits in :func:`parse_configs`), each an
ordinary RunConfig. This module must not import torch: the TUI
validates while typing, before torch has been imported. Device availability is
passed in (see :func:`detect_devices`, which does import torch, lazily).
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from lrtui.engine.field_values import (
    MAX_SWEEP,
    ConfigError,
    _blank,
    _choice,
    _items,
    _number,
    _parse_list,
    _ranged,
)

OPTIMIZERS: tuple[str, ...] = ("sgd", "sgd-momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad")
DATASETS: tuple[str, ...] = ("mnist-5k", "mnist", "fashion-mnist", "kmnist")
#: Training-pool size (before the validation split) of each dataset.
TRAIN_POOL: dict[str, int] = {"mnist-5k": 4000, "mnist": 60000, "fashion-mnist": 60000, "kmnist": 60000}
#: Momentum used when the field is left empty: plain SGD has none, the momentum flavours the usual 0.9.
DEFAULT_MOMENTUM: dict[str, float] = {"sgd-momentum": 0.9, "nesterov": 0.9}
#: Optimizers that take a momentum argument at all.
MOMENTUM_OPTIMIZERS: frozenset[str] = frozenset({"sgd", "sgd-momentum", "nesterov", "rmsprop"})
#: ``dataset`` of runs whose data come from a ``data`` factory (they have no pool size known in advance).
CUSTOM_DATA = "custom"
#: Where a hint's range-test command names its session: the runner, which knows it, puts the session's folder there.
SESSION_ARG = "--open SESSION"
#: The reference CNN's name and parameter count: what a config records when no ``model`` factory is given.
REFERENCE_MODEL, REFERENCE_PARAMS = "ConvNet", 206_922
#: Learning-rate schedules (formulas in :mod:`lrtui.engine.schedule`).
SCHEDULES: tuple[str, ...] = ("constant", "step", "exp", "cosine", "onecycle")
LR_MAX = 100.0
EPOCHS_MAX = 1000
#: Settings that take a comma list, outer to inner: the order of the grid's runs (see :func:`parse_configs`).
GRID_FIELDS: tuple[str, ...] = (
    "optimizer",
    "batch_size",
    "epochs",
    "momentum",
    "weight_decay",
    "schedule",
    "warmup",
    "lr",
    "seed",
)
#: Grids with more runs than this: front ends ask before queuing them (see :func:`grid_size`).
GRID_CONFIRM = 24
#: Grids with more runs than this are refused.
GRID_MAX = 256


def default_data_dir() -> str:
    """Where torchvision datasets live: ``$LRTUI_DATA`` or ``<user data dir>/data``."""
    env = os.environ.get("LRTUI_DATA")
    if env:
        return env
    from platformdirs import user_data_dir

    return os.path.join(user_data_dir("lrtui"), "data")


#: Fields recorded with a run that are not what it trained (how it was measured, what its session knew): never
#: a varying setting, never splits repeats.
NOT_SETTINGS = ("sample_every", "range_test_lr")


@dataclass(frozen=True)
class RunConfig:
    """Everything that decides one training run. Frozen: a run's config never changes under it."""

    lr: float = 0.01
    optimizer: str = "sgd"
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup: int = 0  #: steps of linear lr warmup at the start (any schedule)
    epochs: int = 5
    batch_size: int = 10
    dataset: str = "mnist-5k"
    data_dir: str = field(default_factory=default_data_dir)
    val_fraction: float = 0.2
    seed: int = 0
    device: str = "auto"
    log_every: int | None = None
    train_limit: int | None = None
    model: str = ""  #: ``FILE.py:FUNC`` or ``package.module:FUNC`` building the network; empty: the reference CNN
    data: str = ""  #: ``FILE.py:FUNC`` or ``package.module:FUNC`` returning the data; empty: ``dataset``
    model_name: str = REFERENCE_MODEL  #: what built the network (``factory() → Class``), recorded once it is built
    model_params: int = REFERENCE_PARAMS  #: its trainable parameters, recorded with the name
    classes: int = 10  #: outputs of the network = classes of the data: chance is 1/classes, a uniform guess ln classes
    sample_every: int = 4  #: diagnostics measured every this many steps, recorded at setup (engine/sample_rate.py)
    #: the lr a range test in the run's session suggests for its network, data, optimizer and batch (None: none)
    range_test_lr: float | None = None

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
        """Short name for legends and tables: ``lr=0.01 sgd``, ``lr=0.1 sgd cosine warmup=100``."""
        text = f"lr={format_lr(self.lr)} {self.optimizer}"
        if self.schedule != "constant":
            text += f" {self.schedule}"
        if self.warmup:
            text += f" warmup={self.warmup}"
        return text


def uniform_loss(classes: int) -> float:
    """ln C: the loss of a uniform guess over C classes, and about a fresh network's."""
    return math.log(classes)


def at_chance(classes: int) -> float:
    """Validation accuracy at or below which a run counts as "at chance": 1/C plus 10 points (ten classes: 0.2)."""
    return 1 / classes + 0.1


def format_lr(lr: float) -> str:
    """``0.01`` → ``0.01``, ``0.0001`` → ``1e-04``: short and unambiguous."""
    return f"{lr:g}"


_parse_lr = _ranged("lr", lambda v: 0 < v <= LR_MAX, f"must be > 0 and <= {LR_MAX:g}")


def parse_lrs(text: Any) -> list[float]:
    """``"0.01"``, ``"1e-3"`` or ``"0.5, 0.01, 1e-4"`` → list of learning rates (repeats dropped). Raises ConfigError."""
    if _blank(text) or (isinstance(text, str) and all(not p.strip() for p in _items(text))):
        raise ConfigError({"lr": "is required (e.g. 0.01, 1e-3, or a list 0.5, 0.01, 1e-4)"})
    errors: dict[str, str] = {}
    lrs = _parse_list(text, "lr", _parse_lr, errors)
    if lrs is None:
        if errors["lr"].startswith("at most"):
            errors["lr"] = f"at most {MAX_SWEEP} learning rates at once (got {len(_items(text))})"
        raise ConfigError(errors)
    return lrs


def _distinct_items(value: Any) -> int:
    """How many distinct values a raw setting holds, parsed leniently (``10`` = ``1e1``); never raises."""
    keys: set[Any] = set()
    for part in _items(value):
        if _blank(part):
            continue
        text = str(part).strip().lower()
        try:
            keys.add(float(text))
        except ValueError:
            keys.add(text)
    return max(1, len(keys))


def grid_size(fields: Mapping[str, Any]) -> int:
    """Number of runs :func:`parse_configs` would make of these raw fields, without validating or building them.

    For a front end's "queue N runs?" question (above :data:`GRID_CONFIRM`). Equal to
    ``len(parse_configs(fields))`` whenever that succeeds.
    """
    size = 1
    for name in GRID_FIELDS:
        if name in fields:
            size *= _distinct_items(fields[name])
    return size


def varying_fields(configs: Sequence[RunConfig]) -> tuple[str, ...]:
    """The settings whose values differ between these configs, in :data:`GRID_FIELDS` order then the rest.

    What a table or legend of a grid must show besides the label (``seed``, ``batch_size``, ...).
    """
    names = [*GRID_FIELDS, *(f for f in RunConfig.__dataclass_fields__ if f not in (*GRID_FIELDS, *NOT_SETTINGS))]
    return tuple(n for n in names if len({getattr(c, n) for c in configs}) > 1)


def total_steps(config: RunConfig) -> int:
    """Optimizer steps of a whole run: ``epochs × ceil(train samples / batch_size)`` (what the trainer runs)."""
    n_train = train_size(config.dataset, config.val_fraction, config.train_limit)
    return config.epochs * math.ceil(n_train / config.batch_size)


def detect_devices() -> tuple[str, ...]:
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
        text.startswith("cuda:") and text[5:].isascii() and text[5:].isdigit()  # not "cuda:²"
    )
    if not shape_ok:
        return f"{text!r} is not a device: use auto, cpu, cuda, cuda:N or mps"
    if available is None:
        available = detect_devices()
    if resolve_device(text, available) not in available:
        have = ", ".join(available)
        if text.startswith("cuda") and not any(d.startswith("cuda") for d in available):
            return f"{text} asked for, but CUDA is not available here (devices: {have})"
        return f"{text} is not available here (devices: {have})"
    return None


class _Form:
    """One :func:`parse_configs` call: the raw fields, the base, every error so far and the values parsed so far.

    Each field's parser (:data:`_FIELD_PARSERS`) reads the raw value through these helpers and
    may read the values of fields parsed before it (a batch size is checked against the training
    set the dataset, validation fraction and limit make).
    """

    def __init__(self, raw: Mapping[str, Any], base: RunConfig, devices: tuple[str, ...] | None) -> None:
        self.raw, self.base, self.devices = raw, base, devices
        self.momentum_given = "momentum" in raw and not _blank(raw.get("momentum"))
        self.errors: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def listed(self, name: str, parse_one: Callable[[Any, dict[str, str]], Any]) -> list[Any]:
        """The setting's values (``base``'s when absent); ``[]`` after recording an error."""
        if name not in self.raw:
            return [getattr(self.base, name)]
        return _parse_list(self.raw[name], name, parse_one, self.errors) or []

    def single(self, name: str) -> str:
        """A setting that takes one word (lower case): a list is an error."""
        value = str(self.raw.get(name, getattr(self.base, name)) or "").strip().lower()
        if "," in value:
            self.errors[name] = f"takes one value, not a list ({value!r})"
        return value

    def number(self, name: str, *, integer: bool = False, optional: bool = False) -> Any:
        """A setting that takes one number; None when ``optional`` and empty, or after recording an error."""
        value = self.raw.get(name, getattr(self.base, name))
        if optional and _blank(value):
            return None
        return _number(value, name, self.errors, integer=integer)

    def momenta_for(self, optimizer: str) -> list[float]:
        """Given: the list; empty: the optimizer's usual; absent: the base's, if the base is for the same optimizer."""
        if self.momentum_given:
            return list(self.values.get("momentum", []))
        if "momentum" not in self.raw and optimizer == self.base.optimizer:
            return [self.base.momentum]
        return [DEFAULT_MOMENTUM.get(optimizer, 0.0)]

    def n_train(self) -> int | None:
        """Training samples of the dataset, validation fraction and limit parsed so far (None: not known)."""
        dataset, val_fraction = self.values.get("dataset"), self.values.get("val_fraction")
        if dataset not in TRAIN_POOL or val_fraction is None or "val_fraction" in self.errors:
            return None
        train_limit = self.values.get("train_limit") if "train_limit" not in self.errors else None
        return train_size(dataset, val_fraction, train_limit)


FieldParser = Callable[[_Form, str], Any]


def _listed(parse_one: Callable[[Any, dict[str, str]], Any]) -> FieldParser:
    """A comma-list setting whose items ``parse_one`` parses."""
    return lambda form, name: form.listed(name, parse_one)


def _lrs(form: _Form, name: str) -> list[float]:
    if name not in form.raw:
        return [form.base.lr]
    try:
        return parse_lrs(form.raw[name])
    except ConfigError as e:
        form.errors.update(e.errors)
        return []


def _dataset(form: _Form, name: str) -> str:
    """One of :data:`DATASETS`; with a ``data`` factory :data:`CUSTOM_DATA`, and another dataset named is an error."""
    if str(form.raw.get("data", form.base.data) or "").strip():
        given = form.single(name) if name in form.raw else CUSTOM_DATA
        if given not in ("", CUSTOM_DATA):
            form.errors["data"] = f"takes the place of the dataset ({given!r}): give one of them"
        return CUSTOM_DATA
    dataset = form.single(name)
    if dataset not in DATASETS and name not in form.errors:
        form.errors[name] = f"{dataset!r} is unknown: choose one of {', '.join(DATASETS)}"
    return dataset


def _device(form: _Form, name: str) -> str:
    device = form.single(name) or "auto"
    device_error = None if name in form.errors else _check_device(device, form.devices)
    if device_error:
        form.errors[name] = device_error
    return device


_parse_momentum = _ranged("momentum", lambda v: 0 <= v < 1, "must be >= 0 and < 1")


def _momenta(form: _Form, name: str) -> list[float]:
    """The given momenta (``[]`` when empty or absent: see :meth:`_Form.momenta_for`), checked against each optimizer."""
    form.values[name] = form.listed(name, _parse_momentum) if form.momentum_given else []
    if name not in form.errors:
        for optimizer, momentum in ((o, m) for o in form.values["optimizer"] for m in form.momenta_for(o)):
            if optimizer in DEFAULT_MOMENTUM and momentum == 0:
                form.errors[name] = f"{optimizer} needs momentum > 0 (e.g. 0.9)"
            elif momentum and optimizer not in MOMENTUM_OPTIMIZERS:
                form.errors[name] = f"{optimizer} takes no momentum (got {momentum:g}): leave it 0 or empty"
            if name in form.errors:
                break
    return list(form.values[name])


def _val_fraction(form: _Form, name: str) -> float | None:
    value = form.number(name)
    if value is not None and not 0 < value < 1:
        form.errors[name] = f"{value:g} is out of range: must be > 0 and < 1"
    return value


def _optional_count(empty: str) -> FieldParser:
    """A whole number >= 1, or empty for ``empty`` (``train_limit``: all, ``log_every``: auto)."""

    def parse(form: _Form, name: str) -> int | None:
        value = form.number(name, integer=True, optional=True)
        if value is not None and value < 1:
            form.errors[name] = f"{value} is out of range: must be >= 1 (or empty for {empty})"
        return value

    return parse


def _batch_sizes(form: _Form, name: str) -> list[int]:
    """Batch sizes of at least 1 and at most the training set."""
    n_train = form.n_train()

    def parse_one(item: Any, errors: dict[str, str]) -> int | None:
        value = _number(item, name, errors, integer=True)
        if value is None:
            return None
        if value < 1:
            errors[name] = f"{value} is out of range: must be >= 1"
        elif n_train is not None and value > n_train:
            errors[name] = f"{value} is larger than the training set ({n_train} samples)"
        else:
            return int(value)
        return None

    return form.listed(name, parse_one)


_parse_warmup = _ranged("warmup", lambda v: v >= 0, "must be >= 0 (steps)", integer=True)


def _warmups(form: _Form, name: str) -> list[int]:
    """Warmups in steps, none longer than the shortest run of the grid."""
    warmups: list[int] = form.listed(name, _parse_warmup)
    n_train = form.n_train()
    if warmups and n_train is not None and "epochs" not in form.errors and "batch_size" not in form.errors:
        shortest = min(
            (n * math.ceil(n_train / size), n, size)
            for n in form.values["epochs"]
            for size in form.values["batch_size"]
        )
        if max(warmups) > shortest[0]:
            form.errors[name] = (
                f"{max(warmups)} is longer than the run: {shortest[1]} epoch(s) at batch "
                f"{shortest[2]} is {shortest[0]} steps"
            )
    return warmups


def _factory(form: _Form, name: str) -> str:
    """``FILE.py:FUNC`` or ``package.module:FUNC`` (checked for its shape only: nothing is loaded here), or empty."""
    spec = str(form.raw.get(name, getattr(form.base, name)) or "").strip()
    where, _, func = spec.rpartition(":")
    module_ok = where.endswith(".py") or all(part.isidentifier() for part in where.split("."))
    if spec and not (where and module_ok and func.isidentifier()):
        form.errors[name] = f"{spec!r} is not FILE.py:FUNC or package.module:FUNC"
    return spec


def _recorded(ok: Callable[[Any], bool], why: str) -> FieldParser:
    """A value recorded when the network is built (its name, size, classes): kept as given, checked by ``ok``."""

    def parse(form: _Form, name: str) -> Any:
        value = form.raw.get(name, getattr(form.base, name))
        if not ok(value):
            form.errors[name] = f"{str(value)[:40]!r} {why}"
        return value

    return parse


def _data_dir(form: _Form, name: str) -> str:
    return str(form.raw.get(name, form.base.data_dir) or "").strip() or default_data_dir()


#: Every setting's parser, in the order the settings are checked (a field's error names the first bad
#: item of its list); a parser may read the fields before it. Errors are listed in this order too.
_FIELD_PARSERS: dict[str, FieldParser] = {
    "lr": _lrs,
    "optimizer": _listed(_choice("optimizer", OPTIMIZERS)),
    "dataset": _dataset,
    "device": _device,
    "momentum": _momenta,
    "weight_decay": _listed(_ranged("weight_decay", lambda v: 0 <= v <= 1, "must be between 0 and 1")),
    "schedule": _listed(_choice("schedule", SCHEDULES)),
    "epochs": _listed(
        _ranged("epochs", lambda v: 1 <= v <= EPOCHS_MAX, f"must be between 1 and {EPOCHS_MAX}", integer=True)
    ),
    "val_fraction": _val_fraction,
    "seed": _listed(_ranged("seed", lambda v: 0 <= v < 2**63, "must be >= 0", integer=True)),
    "train_limit": _optional_count("all"),
    "log_every": _optional_count("auto"),
    "batch_size": _batch_sizes,
    "warmup": _warmups,
    "data_dir": _data_dir,
    "model": _factory,
    "data": _factory,
    "model_name": _recorded(lambda v: isinstance(v, str), "is not a name"),
    "model_params": _recorded(lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0, "is not a count"),
    "classes": _recorded(lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 2, "is not >= 2 classes"),
    "sample_every": _recorded(lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1, "is not >= 1"),
    "range_test_lr": _recorded(
        lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < math.inf),
        "is not a learning rate",
    ),
}


def _check_grid_size(form: _Form) -> None:
    """More than :data:`GRID_MAX` runs is an error (key ``"grid"``), once every list parsed."""
    lists = {n: form.values[n] for n in GRID_FIELDS if n != "momentum"}
    if not all(lists.values()):
        return
    sizes = {n: len(v) for n, v in lists.items()}
    sizes["momentum"] = len(form.momenta_for(lists["optimizer"][0]))
    size = math.prod(sizes.values())
    if size > GRID_MAX:
        parts = " × ".join(f"{n} {sizes[n]}" for n in GRID_FIELDS if sizes[n] > 1)
        form.errors["grid"] = f"{size} runs is too many (at most {GRID_MAX}): {parts}"


def parse_configs(
    raw: Mapping[str, Any],
    *,
    devices: tuple[str, ...] | None = None,
    base: RunConfig | None = None,
) -> list[RunConfig]:
    """Validate raw field values (strings or numbers) and return the runs they describe.

    Keys are RunConfig field names; missing keys take ``base``'s values (or the defaults).
    Every setting in :data:`GRID_FIELDS` takes a comma list; the runs are the cartesian product,
    in :data:`GRID_FIELDS` order, outer to inner: ``optimizer, batch_size, epochs, momentum,
    weight_decay, schedule, warmup, lr, seed``. Seeds vary fastest, so a setting's repeats sit
    side by side (one band, one folded row), and within those the lrs, so every block of rows
    reads as one lr sweep of one setting; the optimizer changes slowest: each optimizer's block
    is its own sweep. Repeated values are dropped (use seeds for repeats). More than
    :data:`GRID_MAX` runs is an error (key ``"grid"``); the other settings take one value.

    Empty strings for ``momentum``, ``log_every`` and ``train_limit`` mean "default"; an empty
    momentum is, per optimizer of the product, 0.9 for sgd-momentum and nesterov, else 0. A
    momentum given for an optimizer that takes none is an error, as without a grid.
    Raises :class:`ConfigError` with *every* invalid field, so a form can mark them all at once;
    a field's message names the first bad item of its list. Each field has its own parser
    (:data:`_FIELD_PARSERS`).
    ``devices`` is the result of :func:`detect_devices`; pass it to avoid importing torch.
    """
    form = _Form(raw, base or RunConfig(), devices)
    for key in sorted(set(raw) - set(RunConfig.__dataclass_fields__)):
        form.errors[key] = "is not a setting"
    for name, parse in _FIELD_PARSERS.items():
        form.values[name] = parse(form, name)
    _check_grid_size(form)
    if form.errors:
        raise ConfigError(form.errors)
    v = form.values
    configs: list[RunConfig] = []
    for optimizer, batch_size, epochs in itertools.product(v["optimizer"], v["batch_size"], v["epochs"]):
        for momentum, weight_decay, schedule, warmup, lr, seed in itertools.product(
            form.momenta_for(optimizer), v["weight_decay"], v["schedule"], v["warmup"], v["lr"], v["seed"]
        ):
            configs.append(
                RunConfig(
                    lr=lr,
                    optimizer=optimizer,
                    momentum=float(momentum),
                    weight_decay=float(weight_decay),
                    schedule=schedule,
                    warmup=int(warmup),
                    epochs=int(epochs),
                    batch_size=int(batch_size),
                    dataset=v["dataset"],
                    data_dir=os.path.expanduser(v["data_dir"]),
                    val_fraction=float(v["val_fraction"]),
                    seed=int(seed),
                    device=v["device"],
                    log_every=v["log_every"],
                    train_limit=v["train_limit"],
                    **{
                        k: v[k]
                        for k in (
                            "model",
                            "data",
                            "model_name",
                            "model_params",
                            "classes",
                            "sample_every",
                            "range_test_lr",
                        )
                    },
                )
            )
    return configs


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
