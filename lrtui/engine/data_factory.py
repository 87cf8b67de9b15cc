"""The user's own data: ``--data FILE.py:FUNC`` returning ``(train_x, train_y, test_x, test_y)`` or two datasets.

Tensors are taken as they are (inputs of any shape, as float32; labels as int64 classes 0..C-1).
Datasets (``torch.utils.data.Dataset`` of ``(x, y)`` items) are read through a DataLoader into one
tensor each, so training draws batches exactly as for the built-in sets: the validation split,
``--train-limit``, the seeds and the batch order apply unchanged; the training dataset is read
again every epoch (:mod:`lrtui.engine.data_stream`), so its random transforms stay random. Every
fault is one :class:`~lrtui.engine.data.DataUnavailable` line starting ``data: SPEC:``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any, NamedTuple

import torch

from lrtui.engine.data_stream import DataReadError, read_chunks
from lrtui.engine.rng import seeded_draws
from lrtui.engine.user_code import call_factory

#: The longest class name a factory may give (a table column, a confusion matrix's row label).
MAX_NAME = 40


class FactoryDataError(ValueError):
    """What is wrong with a factory's data (the caller names the factory)."""


class FactoryData(NamedTuple):
    """What a factory gave, checked: its tensors (a dataset's first read) and the training dataset to read again."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    train_set: Any = None  #: the training dataset (None: the factory gave tensors)
    class_names: tuple[str, ...] = ()  #: names of classes 0, 1, … where the factory gives them


def factory_tensors(spec: str, seed: int) -> FactoryData:
    """Call the factory and read what it returned, under generators seeded with ``seed`` (random data and a
    dataset's first draw of its transforms come out the same in every process), and check it.

    Raises ConfigError (the factory cannot be loaded or raised) or FactoryDataError (what it returned).
    """
    with seeded_draws(seed):
        given = call_factory(spec, "data")
        out: Any = given
        names: tuple[str, ...] = ()
        if isinstance(given, (tuple, list)) and len(given) in (3, 5) and _names_like(given[-1]):
            out, names = given[:-1], _class_names(given[-1])
        if isinstance(out, (tuple, list)) and len(out) == 4 and all(_tensorlike(t) for t in out):
            parts, train_set = [torch.as_tensor(t) for t in out], None
        elif isinstance(out, (tuple, list)) and len(out) == 2 and all(_datasetlike(d) for d in out):
            parts, train_set = [*_read(out[0], "train"), *_read(out[1], "test")], out[0]
        else:
            raise FactoryDataError(
                f"returned {_kind(given)}, not (train_x, train_y, test_x, test_y) tensors or "
                "(train_dataset, test_dataset) (either with a list of class names after them)"
            )
    train_x, train_y, test_x, test_y = parts
    for part, x, y, minimum in (("train", train_x, train_y, 2), ("test", test_x, test_y, 1)):
        _check(part, x, y, minimum)
    if train_x.shape[1:] != test_x.shape[1:]:
        raise FactoryDataError(f"train inputs are {tuple(train_x.shape[1:])} but test inputs {tuple(test_x.shape[1:])}")
    if not names and train_set is not None:  # torchvision's datasets name their classes so
        names = _found_names(getattr(train_set, "classes", None), int(max(train_y.max(), test_y.max())) + 1)
    return FactoryData(
        train_x.float().contiguous(), train_y.long(), test_x.float().contiguous(), test_y.long(), train_set, names
    )


def _names_like(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, str) for v in value)


def _unfit(name: str) -> bool:
    """Empty, or holding what is no text on one line: control and format characters, line and paragraph
    separators, code points Unicode has not assigned."""
    return not name.strip() or any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for c in name)


def _without_number(names: Sequence[str]) -> tuple[str, ...]:
    """torchvision's MNIST calls its classes "3 - three": the table shows the number already."""
    if all(name.startswith(f"{k} - ") for k, name in enumerate(names)):
        return tuple(name[len(f"{k} - ") :] for k, name in enumerate(names))
    return tuple(names)


def _class_names(names: Sequence[str]) -> tuple[str, ...]:
    """Names the factory gave: each must fit a table (one line of text, at most 40 characters), or it is one line."""
    for k, name in enumerate(names):
        if _unfit(name):
            raise FactoryDataError(f"class name {k} ({name!r}) is empty or is not one line of text")
        if len(name) > MAX_NAME:
            raise FactoryDataError(f"class name {k} is {len(name)} characters long; at most {MAX_NAME} fit a table")
    return _without_number(names)


def _found_names(names: Any, classes: int) -> tuple[str, ...]:
    """A dataset's own ``.classes``, which the user never asked to show: used where there is one per class at
    least, a name that does not fit cut to 40 characters or replaced by its number; else none."""
    if not _names_like(names) or len(names) < classes:
        return ()
    fit = [str(k) if _unfit(n) else n if len(n) <= MAX_NAME else n[: MAX_NAME - 1] + "…" for k, n in enumerate(names)]
    return _without_number(fit)


def _tensorlike(value: Any) -> bool:
    return isinstance(value, torch.Tensor) or type(value).__module__ == "numpy"


def _datasetlike(value: Any) -> bool:
    return hasattr(value, "__getitem__") and hasattr(value, "__len__") and not _tensorlike(value)


def _kind(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} ({', '.join(type(v).__name__ for v in value[:5])})"
    return f"a {type(value).__name__}"


def _read(dataset: Any, part: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every ``(x, y)`` item of a dataset, through a DataLoader, as one input and one label tensor."""
    try:
        chunks = list(read_chunks(dataset, part))
    except DataReadError as e:
        raise FactoryDataError(str(e)) from None
    if not chunks:
        raise FactoryDataError(f"the {part} dataset is empty")
    return torch.cat([x for x, _ in chunks]), torch.cat([y for _, y in chunks])


def _check(part: str, x: torch.Tensor, y: torch.Tensor, minimum: int) -> None:
    """Inputs and labels that belong together: as many of each, enough, labels whole classes from 0."""
    if x.dim() < 2:
        raise FactoryDataError(f"{part}_x has shape {tuple(x.shape)}: expected (samples, ...) with one input per row")
    if y.dim() != 1:
        raise FactoryDataError(f"{part}_y has shape {tuple(y.shape)}: expected one class number per sample")
    if len(x) != len(y):
        raise FactoryDataError(f"{part}_x holds {len(x):,} inputs but {part}_y {len(y):,} labels")
    if len(x) < minimum:
        raise FactoryDataError(f"{part} holds {len(x)} samples; at least {minimum} needed")
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise FactoryDataError(f"{part}_y holds {y.dtype} values: labels must be integer class numbers")
    if int(y.min()) < 0:
        raise FactoryDataError(f"{part}_y holds the label {int(y.min())}: classes are numbered from 0")
    if not torch.isfinite(x.float()).all():
        raise FactoryDataError(f"{part}_x holds NaN or infinite values")
