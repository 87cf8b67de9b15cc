"""The engine's event vocabulary: what a run reports, in the order it happens.

Every consumer (the Textual app, the headless CLI, the session store) sees the
same frozen dataclasses through one callback ``emit(event)``. Values are plain
Python numbers (``.item()`` happened in the engine), so consumers on other
threads never touch tensors. Accuracies are fractions in [0, 1].

Order for one run: ``RunStarted``, then per epoch any number of ``BatchLog`` and
``Progress``, one ``EpochEnd``; finally exactly one ``RunEnd`` (also when the run
is cancelled, diverges or fails). Events of a batched sweep interleave by
``run_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from lrtui.engine.config import RunConfig

RunStatus = Literal["finished", "cancelled", "diverged", "failed", "interrupted"]
VerdictLabel = Literal["converged", "diverged", "not learning", "too slow", "overfitting"]


@dataclass(frozen=True)
class Verdict:
    """A one-word judgement of a run, with the reason in plain words and what to try next."""

    label: VerdictLabel
    reason: str
    hint: str

    def to_dict(self) -> dict[str, str]:
        return {"label": self.label, "reason": self.reason, "hint": self.hint}


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


@dataclass(frozen=True)
class TestResult:
    """The held-out test set's score, computed once at the end of a run."""

    accuracy: float
    loss: float
    confusion_matrix: list[list[int]]  #: rows = true class, columns = predicted
    report: dict[str, Any]  #: scikit-learn ``classification_report(output_dict=True)``
    #: a few test digits for display: ``{"images": [[28*28 uint8]], "true": [...], "pred": [...]}``,
    #: misclassified ones first
    samples: dict[str, list[Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "confusion_matrix": self.confusion_matrix,
            "report": self.report,
            "samples": self.samples,
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


Event = Union[RunStarted, BatchLog, Progress, EpochEnd, RunEnd]
Emit = Callable[[Event], None]
