"""The engine's event vocabulary: what a run reports, in the order it happens.

Every consumer (the Textual app, the headless CLI, the session store) sees the
same frozen dataclasses through one callback ``emit(event)``. Values are plain
Python numbers (``.item()`` happened in the engine), so consumers on other
threads never touch tensors. Accuracies are fractions in [0, 1].

Order for one run: ``RunStarted``, a ``ProbeResult`` for epoch 0 (the step probe
from the initial weights), then per epoch any number of ``BatchLog`` (each followed,
when the step trace is kept, by ``TracePoints`` and a ``ProvisionalVerdict``) and
``Progress``, one ``EpochEnd`` and one ``ProbeResult``; finally exactly one
``RunEnd`` (also when the run is cancelled, diverges or fails; a run stopped
mid-epoch sends its last ``TracePoints`` before it). Events of a
batched sweep interleave by ``run_id``. Consumers ignore event types they do not
know, so new ones can be added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from lrtui.engine.config import RunConfig
from lrtui.engine.records import Diagnostics, EpochRecord, TestResult, Verdict
from lrtui.engine.records import VerdictLabel as VerdictLabel  # the events' vocabulary, kept with the other records
from lrtui.engine.step_trace import TracePoint


class RunState(str, Enum):
    """Where a run stands. A ``str`` Enum: equal to its plain string and saved as it in JSON."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    DIVERGED = "diverged"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  #: the process ended (killed, crashed) while the run was running

    def __str__(self) -> str:
        return self.value

    @property
    def done(self) -> bool:
        return self not in (RunState.QUEUED, RunState.RUNNING)


#: The old name of a run's status type, kept for code that imports it.
RunStatus = RunState


@dataclass(frozen=True)
class RunStarted:
    """A run has its data and model on the device and is about to take its first step."""

    run_id: str
    config: RunConfig
    device: str  #: resolved device, e.g. ``cpu`` or ``cuda:0``
    device_name: str  #: human name, e.g. ``NVIDIA H200`` or the CPU model
    n_train: int
    n_val: int
    n_test: int
    batches_per_epoch: int
    log_every: int  #: resolved from ``config.log_every`` (auto: ~4 lines per epoch)


@dataclass(frozen=True)
class BatchLog:
    """The classic printout line pair, every ``log_every`` batches and at the epoch's last batch.

    ``epoch:  1 | batch: 1250 | instances: [ 12500 / 48000] | loss: 0.0713``
    ``11873 of 12500 | accuracy: 94.984%``
    """

    run_id: str
    epoch: int  #: 1-based
    batch: int  #: 1-based batch index within the epoch
    seen: int  #: training instances seen so far this epoch
    total: int  #: training instances per epoch
    loss: float  #: loss of this batch
    correct: int  #: correct predictions so far this epoch
    accuracy: float  #: correct / seen
    #: per layer (conv1, conv2, fc1, fc2): mean ||Δw||/||w|| of this epoch's steps so far; None when not measured
    update_ratio: dict[str, float] | None = None
    #: per layer: the largest ||Δw||/||w|| of one measured step this epoch so far; None when not kept
    update_ratio_max: dict[str, float] | None = None


@dataclass(frozen=True)
class TracePoints:
    """New points of the run's step trace (:mod:`lrtui.engine.step_trace`), sent after each ``BatchLog``
    and where a run stops mid-epoch."""

    run_id: str
    points: tuple[TracePoint, ...]
    dead_on: int  #: validation images of the fixed batch the points' dead shares are measured on


@dataclass(frozen=True)
class ProvisionalVerdict:
    """The run judged again at a log point from what exists there (:mod:`lrtui.engine.provisional`):
    not the final word, which ``RunEnd`` brings."""

    run_id: str
    step: int  #: optimizer steps taken when judged
    verdict: Verdict


@dataclass(frozen=True)
class Progress:
    """Throttled (~10 per second at most) progress of the whole run, for progress bars."""

    run_id: str
    epoch: int
    epochs: int
    batch: int  #: batches done in this epoch
    batches_per_epoch: int
    batches_done: int  #: over the whole run
    batches_total: int
    samples_per_s: float
    eta_s: float


@dataclass(frozen=True)
class EpochEnd:
    """An epoch's averaged metrics, after validation."""

    run_id: str
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float  #: wall time of this epoch's training and validation
    batch_losses: tuple[float, ...] = ()  #: every training batch loss of this epoch, in order
    diagnostics: Diagnostics | None = None  #: what happened inside the network this epoch (None when not measured)

    def record(self) -> EpochRecord:
        """The epoch as a run keeps it (its numbers; a non-finite one as None)."""
        return EpochRecord.of(
            self.epoch, self.train_loss, self.train_acc, self.val_loss, self.val_acc, self.seconds, self.diagnostics
        )


@dataclass(frozen=True)
class ProbeResult:
    """The step probe: from the weights at the end of ``epoch`` (0 = the initial weights), one real
    optimizer step of size ``lrs[i]`` along each of ``minibatches`` fixed minibatches' updates,
    measured on a fixed evaluation set (:mod:`lrtui.engine.probe`).

    Shows whether the current step lands short of the valley, in it, or on the wall, and what a
    step of each size does to the loss and to the ReLUs.
    """

    run_id: str
    epoch: int  #: 0 = before the first step
    lrs: tuple[float, ...]  #: step sizes, a log grid, ascending; contains ``current_lr``
    losses: tuple[float, ...]  #: evaluation loss after one step of each size, median over the minibatches (may be inf)
    current_lr: float
    base_loss: float = float("nan")  #: evaluation loss of the weights themselves (before any step)
    #: per step size: share of the minibatches whose step left the loss above ``base_loss`` (empty: not measured)
    raised_fraction: tuple[float, ...] = ()
    #: per step size: {"conv1", "conv2", "fc1": share of channels/units never > 0 after a step, median}
    dead_after: tuple[dict[str, float], ...] = ()
    minibatches: int = 0  #: how many real steps each size was measured over (0: an older probe)

    @property
    def loss_before(self) -> float:
        """The loss the steps are compared with: the weights' own, on the same images."""
        return self.base_loss

    def to_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "lrs": list(self.lrs),
            "losses": list(self.losses),
            "current_lr": self.current_lr,
            "base_loss": self.base_loss,
            "loss_before": self.base_loss,
            "raised_fraction": list(self.raised_fraction),
            "dead_after": [dict(d) for d in self.dead_after],
            "minibatches": self.minibatches,
        }


@dataclass(frozen=True)
class RunEnd:
    """The run is over, whatever the reason. Always the last event of a run."""

    run_id: str
    status: RunStatus
    verdict: Verdict | None  #: None only when the run failed before its first epoch
    test: TestResult | None  #: None when cancelled before any epoch finished, or failed
    duration_s: float  #: wall time of the training and validation epochs
    samples_per_s: float  #: training samples per second of that time
    epochs_done: int
    diverged_at: tuple[int, int] | None = None  #: (epoch, batch) of the first non-finite loss
    error: str | None = None  #: one line, for status ``failed``
    lr_trace: list[list[float]] | None = None  #: ``[[step, lr], ...]``: first, every logged and the last step taken


Event = RunStarted | BatchLog | TracePoints | ProvisionalVerdict | Progress | EpochEnd | ProbeResult | RunEnd
Emit = Callable[[Event], None]
