"""The session file format as types: what msgspec checks a run, a writer and the file's top level against.

Every number is checked for its type (a bool is no number, text is no number), its range and, by the range,
finiteness (NaN fails every comparison). Unknown keys are ignored: a newer lrtui's fields. The readers in
:mod:`lrtui.sessions.schema` convert these into the typed records of :mod:`lrtui.engine.records`.
"""

from __future__ import annotations

import re
import sys
import typing
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from lrtui.engine import events as _events

#: Times must be within what ``time.localtime`` can show everywhere: 1970 to 9999.
MAX_TIME = 253_402_300_799.0
#: Longest free text kept (a verdict's reason, an error line, a device name).
MAX_TEXT = 10_000
#: Run ids are ``r<N>``: they name files (``runs/r3.json``), so nothing else may pass.
RUN_ID = re.compile(r"r[1-9][0-9]{0,8}")
#: The largest integer a count may hold.
MAX_COUNT = 2**53
#: Most points of a run's step trace read (a run keeps at most 2,000: lrtui.engine.step_trace.MAX_POINTS).
MAX_TRACE_POINTS = 100_000


def _enum_values(kind: Any, fallback: tuple[str, ...]) -> frozenset[str]:
    """String values of an Enum or a Literal, whichever the engine defines."""
    if isinstance(kind, type) and hasattr(kind, "__members__"):
        return frozenset(str(m.value) for m in kind.__members__.values())
    args = typing.get_args(kind)
    return frozenset(str(a) for a in args) if args else frozenset(fallback)


STATUSES = _enum_values(
    getattr(_events, "RunState", None) or getattr(_events, "RunStatus", None),
    ("finished", "cancelled", "diverged", "failed", "interrupted"),
) | {"queued", "running", "finished", "cancelled", "diverged", "failed", "interrupted"}
VERDICT_LABELS = _enum_values(
    getattr(_events, "VerdictLabel", None), ("converged", "diverged", "not learning", "too slow", "overfitting")
)


# -- the shape of a run, as msgspec types --------------------------------------------------------------
# Every number is checked for its type (a bool is no number, text is no number), its range and, by the
# range, finiteness (NaN fails every comparison). Unknown keys are ignored: a newer lrtui's fields.
_BIG = sys.float_info.max
Number = Annotated[float, Meta(ge=-_BIG, le=_BIG)]  #: any finite number
NonNeg = Annotated[float, Meta(ge=0.0, le=_BIG)]  #: a loss, a time span, a ratio
Share = Annotated[float, Meta(ge=0.0, le=1.0)]  #: an accuracy or a share
Positive = Annotated[float, Meta(gt=0.0, le=_BIG)]  #: a step size
Count = Annotated[int, Meta(ge=0, le=MAX_COUNT)]
EpochNumber = Annotated[int, Meta(ge=0, le=10**6)]
DeadOn = Annotated[int, Meta(ge=1, le=10**9)]
Time = Annotated[float, Meta(ge=0.0, le=MAX_TIME)]  #: seconds since 1970, that a clock can show
Text = Annotated[str, Meta(max_length=MAX_TEXT)]
Layer = Annotated[str, Meta(max_length=100)]  #: a layer's name (any network's: names are data)
Pixel = Annotated[int, Meta(ge=0, le=255)] | Annotated[float, Meta(ge=0.0, le=255.0)]
ClassNumber = Annotated[int, Meta(ge=0, lt=1000)]
#: at most this many layers in a per-layer figure (a ResNet-50 has ~160 parameterised modules)
MAX_LAYERS = 1_000
RatioLayers = Annotated[dict[Layer, NonNeg | None], Meta(max_length=MAX_LAYERS)]
ShareLayers = Annotated[dict[Layer, Share | None], Meta(max_length=MAX_LAYERS)]
#: why an activation's dead units are not measured (a GELU's, ...)
ReasonLayers = Annotated[dict[Layer, Annotated[str, Meta(max_length=200)]], Meta(max_length=MAX_LAYERS)]
#: Most points of a trace column (the ``step`` column sets the length of the others).
TraceColumn = Annotated[list[NonNeg | None], Meta(max_length=MAX_TRACE_POINTS)]


class DiagnosticsDoc(Struct):
    update_ratio: RatioLayers | None = None
    update_ratio_max: RatioLayers | None = None
    grad_norm: NonNeg | None = None
    dead_fraction: ShareLayers | None = None
    top_class_share: Share | None = None
    pred_entropy: NonNeg | None = None
    dead_na: ReasonLayers | None = None


class EpochDoc(Struct):
    epoch: EpochNumber
    train_loss: NonNeg | None = None
    train_acc: Share | None = None
    val_loss: NonNeg | None = None
    val_acc: Share | None = None
    seconds: NonNeg | None = None
    diagnostics: DiagnosticsDoc | None = None


class ProbeDoc(Struct):
    epoch: EpochNumber
    lrs: Annotated[list[Positive], Meta(max_length=10_000)]
    losses: Annotated[list[Number | None], Meta(max_length=10_000)]
    current_lr: Positive | None = None
    base_loss: Number | None = None
    raised_fraction: Annotated[list[Share], Meta(max_length=10_000)] | None = None
    dead_after: Annotated[list[ShareLayers], Meta(max_length=10_000)] | None = None
    minibatches: Annotated[int, Meta(ge=0, le=10**9)] | None = None


class ScoresDoc(Struct, rename={"f1": "f1-score"}):
    precision: Share
    recall: Share
    f1: Share
    support: NonNeg


class SamplesDoc(Struct):
    images: Annotated[list[Annotated[list[Pixel | list[Pixel]], Meta(max_length=784)]], Meta(max_length=10_000)] = []
    true: Annotated[list[ClassNumber], Meta(max_length=10_000)] = []
    pred: Annotated[list[ClassNumber], Meta(max_length=10_000)] = []


class TestDoc(Struct):
    accuracy: Share
    loss: NonNeg | None = None
    confusion_matrix: Annotated[list[Annotated[list[Count], Meta(max_length=1000)]], Meta(max_length=1000)] | None = (
        None
    )
    #: scikit-learn's report: a row per class and average, and ``accuracy`` as a bare number
    report: Annotated[dict[Annotated[str, Meta(max_length=200)], ScoresDoc | Share], Meta(max_length=10_000)] | None = (
        None
    )
    samples: SamplesDoc | None = None
    class_names: Annotated[list[Annotated[str, Meta(max_length=200)]], Meta(max_length=1000)] | None = None


if typing.TYPE_CHECKING:
    VerdictText = str
    StatusText = str
else:
    VerdictText = Literal[tuple(sorted(VERDICT_LABELS))]  # the labels and statuses the engine defines
    StatusText = Literal[tuple(sorted(STATUSES))]


class VerdictDoc(Struct):
    label: VerdictText
    reason: Text = ""
    hint: Text = ""


class ProvisionalDoc(Struct):
    step: Count
    label: VerdictText
    reason: Text = ""
    hint: Text = ""


class PointDoc(Struct):
    step: Count
    loss: NonNeg | None = None
    update_ratio: RatioLayers | None = None
    dead_fraction: ShareLayers | None = None
    dead_on: DeadOn | None = None


class ColumnsDoc(Struct):
    step: Annotated[list[Count], Meta(max_length=MAX_TRACE_POINTS)]
    loss: TraceColumn
    update_ratio: Annotated[dict[Layer, TraceColumn], Meta(max_length=100)] | None = None
    dead_fraction: (
        Annotated[dict[Layer, Annotated[list[Share | None], Meta(max_length=MAX_TRACE_POINTS)]], Meta(max_length=100)]
        | None
    ) = None
    dead_on: DeadOn | None = None


class SizesDoc(Struct):
    train: Count = 0
    val: Count = 0
    test: Count = 0


class SystemDoc(Struct):  # the machine during one epoch (lrtui.system_load.SystemSample)
    epoch: EpochNumber
    cpu_percent: NonNeg | None = None
    rss_mb: NonNeg | None = None
    load1: NonNeg | None = None
    gpu_util: NonNeg | None = None
    gpu_mem_mb: NonNeg | None = None
    gpu_temp_c: NonNeg | None = None


class RunDoc(Struct):
    """A run as :meth:`RunRecord.to_dict` writes it (``config`` is checked by :func:`config`)."""

    id: Annotated[str, Meta(pattern=f"^{RUN_ID.pattern}$")]
    status: StatusText
    config: dict[str, Any]
    device: Annotated[str, Meta(max_length=200)] = ""
    device_name: Annotated[str, Meta(max_length=1000)] = ""
    sizes: SizesDoc | None = None
    epochs: list[EpochDoc] = []
    batch_losses: list[NonNeg | None] = []
    probes: Annotated[list[ProbeDoc], Meta(max_length=100_000)] | None = None
    test: TestDoc | None = None
    verdict: VerdictDoc | None = None
    duration_s: NonNeg | None = None
    samples_per_s: NonNeg | None = None
    diverged_at: tuple[Count, Count] | None = None  #: [epoch, batch]
    error: Text | None = None
    lr_trace: Annotated[list[tuple[Count, NonNeg]], Meta(max_length=10_000_000)] | None = None
    step_trace: Annotated[list[PointDoc], Meta(max_length=MAX_TRACE_POINTS)] | ColumnsDoc | None = None
    provisional_verdict: ProvisionalDoc | None = None
    started_at: Time | None = None
    ended_at: Time | None = None
    system: Annotated[list[SystemDoc], Meta(max_length=100_000)] | None = None  #: newer files only


class WriterDoc(Struct):
    host: Annotated[str, Meta(max_length=255)]
    pid: Annotated[int, Meta(ge=1, le=2**31)]
    token: Annotated[str, Meta(max_length=64)]
    proc_start: Count | None = None
    started: Time | None = None
    heartbeat: Time | None = None


class TopDoc(Struct):
    created: Time | None = None
    updated: Time | None = None
    environment: dict[str, Annotated[str, Meta(max_length=1000)] | bool | int | Number | None] | None = None
