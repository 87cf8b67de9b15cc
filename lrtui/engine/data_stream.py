"""A ``--data`` factory's datasets, read through a DataLoader: once to check them, then anew every epoch.

Why re-read: a dataset's transforms are random (a shifted, rotated, noisy digit), and a model
that sees one draw of them for every epoch learns from a different, smaller set than the user
wrote. Why a whole epoch at a time, into the training tensor in place: batches are then drawn
exactly as for tensors (the on-device ``randperm``, the stack's shared batches, a CUDA graph
that keeps pointing at the same buffer), so a stacked sweep still equals its runs one by one.
Reading costs what ``DataLoader(num_workers=0)`` costs a notebook loop: every item once per epoch;
:class:`EpochReader` reads the next epoch on a thread of its own while this one trains (on a CPU at
batch 10 both threads want the GIL and little is won: 1.02x measured; a GPU's loop leaves it free).

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
from typing import Any, Protocol

import torch

from lrtui.engine.rng import RNG_LOCK, seeded_draws
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


class Flag(Protocol):
    """What a read looks at before each item: a ``threading.Event``, or :class:`_Either` of two."""

    def is_set(self) -> bool: ...


class _Either:
    """Set when either event is: the run's cancel, or the end of the fit that read ahead."""

    def __init__(self, a: Flag, b: Flag) -> None:
        self.a, self.b = a, b

    def is_set(self) -> bool:
        return self.a.is_set() or self.b.is_set()


class _Cancelled(BaseException):
    """A cancel seen between two items (a BaseException: the DataLoader and the read pass it on untouched)."""


class _Rows:
    """The training split's items of a dataset, in order; each read first looks at the run's cancel, so a slow
    transform delays a stop by one item, not by a DataLoader batch of them."""

    def __init__(self, dataset: Any, rows: Sequence[int], cancel: Flag) -> None:
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

    def refill(self, x: torch.Tensor, y: torch.Tensor, seed: int, epoch: int, cancel: Flag) -> bool:
        """Read every training item again into ``x`` and ``y`` (in place); False when a set ``cancel`` stopped
        the read early (the batch loop then stops before its first batch: what was half read never trains).

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
            return False
        return True

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


@dataclass
class _Ahead:
    """One epoch being read ahead: its tensors (on the CPU) and how the read ended."""

    epoch: int
    x: torch.Tensor
    y: torch.Tensor
    thread: threading.Thread | None = None
    complete: bool = False  #: every item read (False: stopped by a cancel or by the fit's end)
    error: BaseException | None = None  #: what the read raised, for the training thread to raise


class EpochReader:
    """A fit's reads of a dataset's training split: each epoch's into the training tensors, the next one read
    ahead on a thread of its own while this epoch trains (into CPU tensors, pinned for a GPU), so the device
    waits for a read only when the read is slower than an epoch.

    The draws are the same as read in turn (the epoch's seed decides them). Not ahead when the network draws
    from the global CPU generator itself (dropout on the CPU): the read would reseed it under the network's
    feet, so its masks would change with the timing; such a fit reads each epoch before it trains.
    """

    def __init__(
        self, stream: TrainStream | None, x: torch.Tensor, y: torch.Tensor, seed: int, cancel: Flag, ahead: bool
    ) -> None:
        """``stream`` None: tensors, nothing to read (every call does nothing)."""
        self.stream, self.x, self.y, self.seed, self.cancel, self.ahead = stream, x, y, seed, cancel, ahead
        self.stop = threading.Event()  #: set when the fit ends: a read ahead stops at its next item
        self.pending: _Ahead | None = None

    @classmethod
    def of(
        cls, stream: TrainStream | None, x: torch.Tensor, y: torch.Tensor, model: Any, seed: int, cancel: Flag
    ) -> EpochReader:
        """The reader of a fit whose first run trains ``model`` on ``x``/``y`` (ahead unless it draws randomness)."""
        return cls(stream, x, y, seed, cancel, stream is not None and not draws_randomness(model, x[:2]))

    def __enter__(self) -> EpochReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start_epoch(self, epoch: int, last: int) -> None:
        """Put epoch ``epoch``'s read into the training tensors (waiting for it if it is being read ahead), then
        start reading epoch ``epoch + 1`` ahead unless ``epoch`` is the ``last``. Raises what the read raised."""
        if self.stream is None:
            return
        ahead, self.pending = self.pending, None
        if ahead is not None and ahead.epoch == epoch and ahead.thread is not None:
            ahead.thread.join()
            if ahead.error is not None:
                raise ahead.error
            if not ahead.complete:
                return
            self.x.copy_(ahead.x, non_blocking=ahead.x.is_pinned())  # the pinned allocator keeps it until copied
            self.y.copy_(ahead.y, non_blocking=ahead.y.is_pinned())
        elif not self.stream.refill(self.x, self.y, self.seed, epoch, self.cancel):
            return
        if self.ahead and epoch < last and not self.cancel.is_set():
            self._read_ahead(epoch + 1)

    def _read_ahead(self, epoch: int) -> None:
        assert self.stream is not None
        stream, pin = self.stream, self.x.device.type == "cuda"
        ahead = _Ahead(
            epoch,
            torch.empty(self.x.shape, dtype=self.x.dtype, pin_memory=pin),
            torch.empty(self.y.shape, dtype=self.y.dtype, pin_memory=pin),
        )

        def read() -> None:
            try:
                ahead.complete = stream.refill(ahead.x, ahead.y, self.seed, epoch, _Either(self.cancel, self.stop))
            except BaseException as e:  # noqa: BLE001 — raised in the training thread, where the run ends with it
                ahead.error = e

        ahead.thread = threading.Thread(target=read, name=f"lrtui-read-epoch-{epoch}", daemon=True)
        self.pending = ahead
        ahead.thread.start()

    def close(self) -> None:
        """The fit is over: a read ahead stops at its next item and is waited for (no thread outlives the run)."""
        self.stop.set()
        if self.pending is not None and self.pending.thread is not None:
            self.pending.thread.join()
        self.pending = None


def draws_randomness(model: torch.nn.Module, x: torch.Tensor) -> bool:
    """Whether a training-mode forward pass of ``model`` on ``x`` draws from the global CPU generator (dropout on
    the CPU does). Its buffers (batch-norm statistics) and the generator are left as they were."""
    saved = {name: b.detach().clone() for name, b in model.named_buffers()}
    was_training = model.training
    with RNG_LOCK, torch.random.fork_rng(devices=[]), torch.no_grad():
        before = torch.get_rng_state()
        model.train()
        model(x)
        drew = not torch.equal(before, torch.get_rng_state())
    model.train(was_training)
    for name, b in model.named_buffers():
        b.copy_(saved[name])
    return drew
