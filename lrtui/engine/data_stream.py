"""A ``--data`` factory's datasets, read through a DataLoader: once to check them, then anew every epoch.

Why re-read: a dataset's transforms are random (a shifted, rotated, noisy digit), and a model
that sees one draw of them for every epoch learns from a different, smaller set than the user
wrote. Why a whole epoch at a time, into the training tensor in place: batches are then drawn
exactly as for tensors (the on-device ``randperm``, the stack's shared batches, a CUDA graph
that keeps pointing at the same buffer), so a stacked sweep still equals its runs one by one.
Reading costs what ``DataLoader(num_workers=0)`` costs a notebook loop: every item once per epoch.

Draws are reproducible: each epoch's read runs under generators seeded by the run's seed and
the epoch (:func:`lrtui.engine.rng.seeded_draws`), so the runs of a sweep (same seed) see the
same draws, and a rerun sees them again. The validation part of
the training dataset and the test dataset keep their first read: every epoch and run is
measured on the same images.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from lrtui.engine.rng import seeded_draws
from lrtui.engine.user_code import one_line

#: Items read per DataLoader batch (a refill looks at its cancel before every item).
READ_BATCH = 512


class DataReadError(ValueError):
    """A dataset's items cannot be read or do not fit (the message says which part and why)."""


def read_chunks(dataset: Any, part: str, batch: int = READ_BATCH) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The dataset's ``(x, y)`` items, ``batch`` at a time, through a DataLoader (its default collation)."""
    from torch.utils.data import DataLoader

    try:
        for items in DataLoader(dataset, batch_size=batch, shuffle=False):
            if not isinstance(items, Sequence) or len(items) != 2:
                raise DataReadError(f"the {part} dataset's items are not (input, label) pairs")
            yield torch.as_tensor(items[0]), torch.as_tensor(items[1])
    except DataReadError:
        raise
    except Exception as e:  # noqa: BLE001 — the user's dataset may raise anything
        raise DataReadError(f"reading the {part} dataset failed ({one_line(e)})") from None


class _Cancelled(BaseException):
    """A cancel seen between two items (a BaseException: the DataLoader and the read pass it on untouched)."""


class _Rows:
    """The training split's items of a dataset, in order; each read first looks at the run's cancel, so a slow
    transform delays a stop by one item, not by a DataLoader batch of them."""

    def __init__(self, dataset: Any, rows: Sequence[int], cancel: threading.Event) -> None:
        self.dataset, self.rows, self.cancel = dataset, rows, cancel

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> Any:
        if self.cancel.is_set():
            raise _Cancelled
        return self.dataset[self.rows[i]]


@dataclass(frozen=True)
class TrainStream:
    """The training split of a factory's dataset, to be read anew into the run's training tensors each epoch."""

    name: str  #: the factory as messages name it (``digits.py:augmented``)
    dataset: Any  #: the training dataset the factory returned
    rows: tuple[int, ...]  #: its items of the training split, in the split's order
    classes: int  #: labels must stay class numbers below this

    def refill(self, x: torch.Tensor, y: torch.Tensor, seed: int, epoch: int, cancel: threading.Event) -> None:
        """Read every training item again into ``x`` and ``y`` (in place); a set ``cancel`` stops the read early.

        (The batch loop then stops before its first batch: what was half read never trains.)

        Raises :class:`DataReadError` (one line naming the factory and the epoch) when an item fails or no
        longer fits the first read: another input shape, a non-finite input, a label outside the classes.
        """
        done = 0
        try:
            with seeded_draws(seed * 1_000_003 + epoch):
                for xb, yb in read_chunks(_Rows(self.dataset, self.rows, cancel), "train"):
                    self._check(xb, yb, x)
                    end = done + len(xb)
                    x[done:end].copy_(xb)
                    y[done:end].copy_(yb)
                    done = end
        except DataReadError as e:
            raise DataReadError(f"data: {self.name}: epoch {epoch}: {e}") from None
        except _Cancelled:
            return

    def _check(self, xb: torch.Tensor, yb: torch.Tensor, x: torch.Tensor) -> None:
        """One chunk of a re-read fits the first read: the same input shape, finite inputs, known classes."""
        if tuple(xb.shape[1:]) != tuple(x.shape[1:]) or yb.shape != xb.shape[:1]:
            raise DataReadError(
                f"the train dataset's inputs are now {tuple(xb.shape[1:])}, at the first read {tuple(x.shape[1:])}"
            )
        if yb.dtype.is_floating_point or bool((yb < 0).any()) or bool((yb >= self.classes).any()):
            raise DataReadError(f"the train dataset gave a label outside the classes 0..{self.classes - 1}")
        if not bool(torch.isfinite(xb.float()).all()):
            raise DataReadError("the train dataset gave NaN or infinite inputs")
