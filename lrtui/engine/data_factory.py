"""The user's own data: ``--data FILE.py:FUNC`` returning ``(train_x, train_y, test_x, test_y)`` or two datasets.

Tensors are taken as they are (inputs of any shape, as float32; labels as int64 classes 0..C-1).
Datasets (``torch.utils.data.Dataset`` of ``(x, y)`` items) are read once through a DataLoader
and kept as one tensor each, so training draws batches exactly as for the built-in sets: the
validation split, ``--train-limit``, the seeds and the batch order apply unchanged. Every fault is
one :class:`~lrtui.engine.data.DataUnavailable` line starting ``data: SPEC:``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lrtui.engine.config import ConfigError
from lrtui.engine.user_code import call_factory

#: Items read per DataLoader batch when a factory returns datasets.
READ_BATCH = 512


class FactoryDataError(ValueError):
    """What is wrong with a factory's data (the caller names the factory)."""


def factory_tensors(spec: str, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Call the factory (seeded: random data come out the same every time) and check what it returned.

    Raises ConfigError (the factory cannot be loaded or raised) or FactoryDataError (what it returned).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        out = call_factory(spec, "data")
    if isinstance(out, (tuple, list)) and len(out) == 4 and all(_tensorlike(t) for t in out):
        parts = [torch.as_tensor(t) for t in out]
    elif isinstance(out, (tuple, list)) and len(out) == 2 and all(_datasetlike(d) for d in out):
        parts = [*_read(out[0], "train"), *_read(out[1], "test")]
    else:
        raise FactoryDataError(
            f"returned {_kind(out)}, not (train_x, train_y, test_x, test_y) tensors or (train_dataset, test_dataset)"
        )
    train_x, train_y, test_x, test_y = parts
    for part, x, y, minimum in (("train", train_x, train_y, 2), ("test", test_x, test_y, 1)):
        _check(part, x, y, minimum)
    if train_x.shape[1:] != test_x.shape[1:]:
        raise FactoryDataError(f"train inputs are {tuple(train_x.shape[1:])} but test inputs {tuple(test_x.shape[1:])}")
    return train_x.float().contiguous(), train_y.long(), test_x.float().contiguous(), test_y.long()


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
    from torch.utils.data import DataLoader

    xs: list[torch.Tensor] = []
    ys: list[torch.Tensor] = []
    try:
        for batch in DataLoader(dataset, batch_size=READ_BATCH, shuffle=False):
            if not isinstance(batch, Sequence) or len(batch) != 2:
                raise FactoryDataError(f"the {part} dataset's items are not (input, label) pairs")
            xs.append(torch.as_tensor(batch[0]))
            ys.append(torch.as_tensor(batch[1]))
    except (FactoryDataError, ConfigError):
        raise
    except Exception as e:  # noqa: BLE001 — the user's dataset may raise anything
        raise FactoryDataError(
            f"reading the {part} dataset failed ({type(e).__name__}: {' '.join(str(e).split())})"
        ) from None
    if not xs:
        raise FactoryDataError(f"the {part} dataset is empty")
    return torch.cat(xs), torch.cat(ys)


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
