"""The one batch loop: every lone run, stacked sweep and range test trains through :func:`run_batches`.

What differs between them is not the loop but the step that trains a batch
(:class:`~lrtui.engine.steps.Step`) and what happens around each batch: callbacks, as in
fastai's ``fit`` (a run's events and divergence checks are :class:`lrtui.engine.trainer.Fit`'s,
the range test is :class:`lrtui.engine.lrfind.RangeTest`, as fastai's ``LRFinder`` is a
callback of ``fit``). The loop itself does only what all of them need: the cancel check
before each batch, the hooks, and the stop a hook asks for.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import torch

from lrtui.engine.steps import Step


class Callback:
    """What runs around each batch of :func:`run_batches`; every hook is optional."""

    def before_batch(self, b: int) -> None:
        """Before batch ``b`` (0-based) is trained: e.g. set its learning rate."""

    def after_batch(self, b: int, loss: torch.Tensor) -> bool:
        """After batch ``b``, with its loss (``[K]`` for a stack) still on the device; True ends the epoch here."""
        return False


def run_batches(
    step: Step,
    order: torch.Tensor,
    batches: int,
    first_step: int,
    callbacks: Sequence[Callback],
    cancel: threading.Event,
) -> bool:
    """Train batches ``0 .. batches-1`` of the samples in ``order``; True when ``cancel`` stopped it first.

    ``first_step``: the run's step index of batch 0 (where a schedule's lrs for this epoch start).
    A callback's True ends the epoch after that batch, without calling the callbacks after it.
    """
    step.start_epoch(order, first_step)
    for b in range(batches):
        if cancel.is_set():
            return True
        for callback in callbacks:
            callback.before_batch(b)
        loss = step.train_batch(b)
        for callback in callbacks:
            if callback.after_batch(b, loss):
                return False
    return False
