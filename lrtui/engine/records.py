"""What a run measured, as typed records: its epochs (with what happened inside the network), its step
probes, its test score and its verdicts (final and provisional).

The engine builds them (:class:`lrtui.engine.events.EpochEnd` carries :class:`Diagnostics`, the verdict
judges :class:`EpochRecord` and :class:`ProbeRecord`), :class:`lrtui.sessions.record.RunRecord` keeps
them, and :mod:`lrtui.sessions.schema` validates a session file into them: every reader uses attributes
(``e.val_acc``), never string keys. A number that was NaN or ±inf is None here (JSON has neither), so a
record always turns into strict JSON (``to_dict``) with the keys the session files have always held.
Pure Python: no torch, no validation library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any

from lrtui.engine.numbers import as_float


def layers(values: Mapping[str, Any] | None) -> dict[str, float | None]:
    """Per-layer numbers with every non-finite one (NaN, inf, a bool, None) as None. Layer names are data: any
    network has its own."""
    return {str(k): as_float(v) for k, v in (values or {}).items()}


@dataclass(frozen=True)
class Diagnostics:
    """What happened inside the network in one epoch; None (or no layers) where it was not measured."""

    #: per layer: mean ‖Δw‖/‖w‖ of the epoch's measured steps
    update_ratio: dict[str, float | None] = field(default_factory=dict)
    #: per layer: the largest ‖Δw‖/‖w‖ of one measured step (only with the step trace; None: not kept)
    update_ratio_max: dict[str, float | None] | None = None
    grad_norm: float | None = None  #: mean global gradient norm per step
    #: per ReLU layer: share of channels/units never > 0 on the validation set
    dead_fraction: dict[str, float | None] = field(default_factory=dict)
    top_class_share: float | None = None  #: share of validation predictions in the most common class
    pred_entropy: float | None = None  #: mean predictive entropy on validation, nats (ln C = uniform)
    #: activations whose dead units cannot be measured (a GELU's, ...), with why; None: every one was
    dead_na: dict[str, str] | None = None

    @classmethod
    def of(
        cls,
        update_ratio: Mapping[str, Any] | None = None,
        update_ratio_max: Mapping[str, Any] | None = None,
        grad_norm: Any = None,
        dead_fraction: Mapping[str, Any] | None = None,
        top_class_share: Any = None,
        pred_entropy: Any = None,
        dead_na: Mapping[str, str] | None = None,
    ) -> Diagnostics:
        """From measured numbers: non-finite ones as None; an empty ``update_ratio_max`` as not kept."""
        return cls(
            layers(update_ratio),
            layers(update_ratio_max) if update_ratio_max else None,
            as_float(grad_norm),
            layers(dead_fraction),
            as_float(top_class_share),
            as_float(pred_entropy),
            dict(dead_na) if dead_na else None,
        )

    def finite(self) -> Diagnostics:
        """The same with every non-finite number as None (for one built without :meth:`of`)."""
        return Diagnostics.of(
            self.update_ratio,
            self.update_ratio_max,
            self.grad_norm,
            self.dead_fraction,
            self.top_class_share,
            self.pred_entropy,
            self.dead_na,
        )

    def to_dict(self) -> dict[str, Any]:
        largest = {} if self.update_ratio_max is None else {"update_ratio_max": dict(self.update_ratio_max)}
        na = {} if self.dead_na is None else {"dead_na": dict(self.dead_na)}
        return {
            "update_ratio": dict(self.update_ratio),
            **largest,
            "grad_norm": self.grad_norm,
            "dead_fraction": dict(self.dead_fraction),
            "top_class_share": self.top_class_share,
            "pred_entropy": self.pred_entropy,
            **na,
        }


@dataclass(frozen=True)
class EpochRecord:
    """One epoch's averaged metrics after validation. Accuracies are fractions in [0, 1]."""

    epoch: int  #: 1-based
    train_loss: float | None = None
    train_acc: float | None = None
    val_loss: float | None = None
    val_acc: float | None = None
    seconds: float | None = None  #: wall time of the epoch's training and validation
    diagnostics: Diagnostics | None = None  #: None when not measured (or saved before diagnostics existed)

    @classmethod
    def of(
        cls,
        epoch: int,
        train_loss: Any = None,
        train_acc: Any = None,
        val_loss: Any = None,
        val_acc: Any = None,
        seconds: Any = None,
        diagnostics: Diagnostics | None = None,
    ) -> EpochRecord:
        """From measured numbers: non-finite ones as None."""
        return cls(
            int(epoch),
            as_float(train_loss),
            as_float(train_acc),
            as_float(val_loss),
            as_float(val_acc),
            as_float(seconds),
            None if diagnostics is None else diagnostics.finite(),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "train_acc": self.train_acc,
            "val_loss": self.val_loss,
            "val_acc": self.val_acc,
            "seconds": self.seconds,
            "diagnostics": None if self.diagnostics is None else self.diagnostics.to_dict(),
        }


#: The fields every saved probe holds; later ones are written only where measured (not None).
_PROBE_ALWAYS = ("epoch", "lrs", "losses", "current_lr", "base_loss")


@dataclass(frozen=True)
class ProbeRecord:
    """A step probe (:class:`lrtui.engine.events.ProbeResult` without its run id): the probe-set loss after one
    step of each size in ``lrs`` from the weights at the end of ``epoch`` (0 = the initial weights).

    A field added here with a default of None is read from the event by name (:meth:`of`), saved where it is
    not None and validated by the schema once it lists it: older files simply lack it.
    """

    epoch: int  #: 0 = before the first step
    lrs: tuple[float, ...] = ()  #: step sizes, ascending
    losses: tuple[float | None, ...] = ()  #: loss after one step of each size (None: not finite)
    current_lr: float | None = None
    base_loss: float | None = None  #: loss of the weights themselves (step 0)
    #: per step size: share of the real minibatch steps that left the loss above ``base_loss`` (None: an older probe)
    raised_fraction: tuple[float, ...] | None = None
    #: per step size: {ReLU layer: share of units never > 0 after a step, median over the minibatches}
    dead_after: tuple[dict[str, float | None], ...] | None = None
    minibatches: int | None = None  #: how many real steps each size was measured over

    @property
    def loss_before(self) -> float | None:
        """The loss the steps are compared with: the weights' own, on the same images."""
        return self.base_loss

    @classmethod
    def of(cls, result: Any) -> ProbeRecord:
        """From a ProbeResult (or anything with these attributes): non-finite numbers as None."""
        rest = {f.name: _tuple(_finite_tree(getattr(result, f.name, None))) for f in fields(cls)[3:]}
        return cls(
            int(result.epoch), tuple(float(x) for x in result.lrs), tuple(as_float(x) for x in result.losses), **rest
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _PROBE_ALWAYS or value is not None:
                out[f.name] = list(value) if isinstance(value, tuple) else value
        if self.minibatches is not None:  # a probe along real steps: what its steps are compared with, by name
            out["loss_before"] = self.base_loss
        return out


def _tuple(x: Any) -> Any:
    """A list as a tuple (a frozen record's sequences are tuples); an empty one as None (not measured)."""
    return (tuple(x) or None) if isinstance(x, list) else x


def _finite_tree(x: Any) -> Any:
    """A number, or a dict/list of them, with every non-finite float as None."""
    if isinstance(x, float):
        return as_float(x)
    if isinstance(x, Mapping):
        return {k: _finite_tree(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite_tree(v) for v in x]
    return x


@dataclass(frozen=True)
class ClassScores:
    """One row of scikit-learn's classification report: a class, or an average over them."""

    precision: float
    recall: float
    f1: float  #: saved as ``f1-score``, scikit-learn's key
    support: float

    def to_dict(self) -> dict[str, float]:
        return {"precision": self.precision, "recall": self.recall, "f1-score": self.f1, "support": self.support}


@dataclass(frozen=True)
class Samples:
    """A few test digits for display, misclassified ones first: 784 pixels (0..255) each, true and predicted class."""

    images: tuple[tuple[float, ...], ...] = ()
    true: tuple[int, ...] = ()
    pred: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, list[Any]]:
        return {"images": [list(i) for i in self.images], "true": list(self.true), "pred": list(self.pred)}


@dataclass(frozen=True)
class TestResult:
    """The held-out test set's score, computed once at the end of a run."""

    __test__ = False  # a name pytest would otherwise try to collect

    accuracy: float
    loss: float | None  #: None: not finite
    confusion_matrix: tuple[tuple[int, ...], ...] = ()  #: rows = true class, columns = predicted
    #: per class (``"0"``..``"9"``) and the averages (``"macro avg"``, ``"weighted avg"``), in report order
    scores: dict[str, ClassScores] = field(default_factory=dict)
    report_accuracy: float | None = None  #: the report's ``accuracy`` row (None: the report had none)
    samples: Samples = field(default_factory=Samples)
    #: the data's names of classes 0, 1, …, where it gives them (Fashion-MNIST's, a factory's); () for digits
    class_names: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        accuracy: float,
        loss: Any,
        confusion_matrix: Sequence[Sequence[int]],
        report: Mapping[str, Any],
        samples: Mapping[str, Sequence[Any]] | None = None,
        class_names: Sequence[str] = (),
    ) -> TestResult:
        """From scikit-learn's ``classification_report(output_dict=True)`` and plain lists."""
        scores = {
            str(name): ClassScores(
                float(row["precision"]), float(row["recall"]), float(row["f1-score"]), float(row["support"])
            )
            for name, row in report.items()
            if isinstance(row, Mapping)
        }
        s = samples or {}
        return cls(
            float(accuracy),
            as_float(loss),
            tuple(tuple(int(v) for v in row) for row in confusion_matrix),
            scores,
            as_float(report.get("accuracy")),
            Samples(
                tuple(tuple(image) for image in s.get("images", ())),
                tuple(int(t) for t in s.get("true", ())),
                tuple(int(p) for p in s.get("pred", ())),
            ),
            tuple(class_names),
        )

    def class_label(self, key: int | str) -> str:
        """A class (its number, or a report row's key) as a table names it: ``3`` for digits, ``3 Dress`` where
        the data name their classes; a report's other rows (``macro avg``) as they are."""
        k = key if isinstance(key, int) else int(key) if key.isascii() and key.isdecimal() else -1
        if k < 0 or str(k) != str(key):  # "macro avg"; "00", "²", "١": no class number as lrtui writes one
            return str(key)
        return f"{k} {self.class_names[k]}" if k < len(self.class_names) else str(k)

    @property
    def report(self) -> dict[str, Any]:
        """The classification report as scikit-learn writes it (the saved form): classes, accuracy, averages."""
        rows: dict[str, Any] = {}
        for name, scores in self.scores.items():
            if self.report_accuracy is not None and name == "macro avg":
                rows["accuracy"] = self.report_accuracy
            rows[name] = scores.to_dict()
        if self.report_accuracy is not None and "accuracy" not in rows:
            rows["accuracy"] = self.report_accuracy
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "loss": self.loss,
            "confusion_matrix": [list(row) for row in self.confusion_matrix],
            "report": self.report,
            "samples": self.samples.to_dict(),
            **({"class_names": list(self.class_names)} if self.class_names else {}),
        }


class VerdictLabel(str, Enum):
    """The one word on how a run went (see :mod:`lrtui.engine.verdict` for what each means)."""

    CONVERGED = "converged"
    STILL_LEARNING = "still learning"  #: healthy steps, still improving: more epochs will help
    TOO_SLOW = "too slow"  #: steps far too small for this model
    NOT_LEARNING = "not learning"  #: stuck (dead units, one-class answers, a uniform guess)
    DIVERGED = "diverged"  #: the loss blew up
    OVERFITTING = "overfitting"
    UNSTABLE = "unstable"  #: learning, but steps so large that the accuracy falls or units die
    TOO_EARLY = "too early"  #: too little was measured to judge

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Verdict:
    """A one-word judgement of a run, with the reason in plain words and what to try next."""

    label: VerdictLabel
    reason: str
    hint: str

    def to_dict(self) -> dict[str, str]:
        return {"label": str(self.label), "reason": self.reason, "hint": self.hint}


@dataclass(frozen=True)
class Provisional:
    """The latest provisional verdict of a run still training, and the optimizer step it was judged at."""

    step: int
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, **self.verdict.to_dict()}
