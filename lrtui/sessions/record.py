"""A run as data: built from engine events, saved as JSON, read back for reports.

:class:`RunRecord` is the one place where events turn into the result format
shared by ``lrtui run --json``, the session file and the reports::

    {"id", "status", "config": {...}, "epochs": [{"epoch", "train_loss", "train_acc",
     "val_loss", "val_acc", "seconds", "diagnostics": {...} | null}, ...], "batch_losses": [...],
     "probes": [{"epoch", "lrs", "losses", "current_lr", "base_loss"}, ...], "test": {...} | null,
     "verdict": {"label", "reason", "hint"} | null, "duration_s", "samples_per_s",
     "lr_trace": [[step, lr], ...] | null, "system": [{"epoch", "cpu_percent", ...}, ...], "step_trace": [{"step", "loss", "update_ratio",
     "dead_fraction"[, "dead_on"]}, ...] | null, "provisional_verdict": {"step", "label", "reason", "hint"} | null,
     ...}

``diagnostics`` is :class:`lrtui.engine.events.EpochEnd`'s; ``probes`` come from
:class:`lrtui.engine.events.ProbeResult` (epoch 0 = the initial weights). Sessions
saved before these existed simply lack them (null / empty list). ``lr_trace`` is
:class:`lrtui.engine.events.RunEnd`'s: the lr the schedule gave at the first, every logged
and the last step taken (0-based optimizer steps). ``step_trace`` is the run's single steps
(:mod:`lrtui.engine.step_trace`), as a list of dicts in documents and as columns in a session's
run files (``to_dict(compact=True)``). ``provisional_verdict`` is the latest
:class:`lrtui.engine.events.ProvisionalVerdict` while the run trains: never its final verdict, and
gone once RunEnd brings that.

Consumers feed every event to :meth:`RunRecord.apply` (or :class:`RunBook` for
many runs); nothing here imports torch, textual or rich.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lrtui.engine.config import RunConfig
from lrtui.engine.events import (
    BatchLog,
    EpochEnd,
    Event,
    ProbeResult,
    Progress,
    ProvisionalVerdict,
    RunEnd,
    RunStarted,
    RunState,
    TracePoints,
    Verdict,
)
from lrtui.engine.records import EpochRecord, ProbeRecord, Provisional, TestResult
from lrtui.engine.step_trace import StepTrace
from lrtui.system_load import SystemSample


def _finite_or_none(x: float | None) -> float | None:
    """JSON has no NaN/inf: store them as null."""
    return x if x is not None and math.isfinite(x) else None


@dataclass
class RunRecord:
    """Everything measured about one run. Mutable: it grows as events arrive."""

    id: str
    config: RunConfig
    status: RunState = RunState.QUEUED  #: a str Enum: compares equal to "finished" etc.
    device: str = ""
    device_name: str = ""
    n_train: int = 0
    n_val: int = 0
    n_test: int = 0
    epochs: list[EpochRecord] = field(default_factory=list)
    batch_losses: list[float | None] = field(default_factory=list)
    probes: list[ProbeRecord] = field(default_factory=list)  #: step probes, in order (epoch 0 first)
    test: TestResult | None = None
    verdict: Verdict | None = None
    duration_s: float = 0.0
    samples_per_s: float = 0.0
    diverged_at: list[int] | None = None
    error: str | None = None
    #: ``[[step, lr], ...]``: the lr at the first, every logged and the last step (None: saved before schedules)
    lr_trace: list[list[float]] | None = None
    step_trace: StepTrace | None = None  #: single steps, dense early (None: saved before it, or not kept)
    provisional: Provisional | None = None  #: the latest provisional verdict while running (None once ended)
    started_at: float | None = None
    ended_at: float | None = None
    #: the machine during each epoch, by epoch number (:mod:`lrtui.system_load`; the runner notes them)
    system: dict[int, SystemSample] = field(default_factory=dict)

    def apply(self, event: Event) -> None:
        """Fold one event of this run into the record."""
        if isinstance(event, RunStarted):
            self.status = RunState.RUNNING
            self.config = event.config  # with what building the network recorded (its name, size, classes)
            self.device, self.device_name = event.device, event.device_name
            self.n_train, self.n_val, self.n_test = event.n_train, event.n_val, event.n_test
            self.started_at = time.time()
        elif isinstance(event, EpochEnd):
            self.epochs.append(event.record())
            self.batch_losses.extend(_finite_or_none(x) for x in event.batch_losses)
        elif isinstance(event, ProbeResult):
            self.probes.append(ProbeRecord.of(event))
        elif isinstance(event, TracePoints):
            if self.step_trace is None:
                self.step_trace = StepTrace(dead_on=event.dead_on)
            self.step_trace.extend(event.points)
        elif isinstance(event, ProvisionalVerdict):
            self.provisional = Provisional(event.step, event.verdict)
        elif isinstance(event, RunEnd):
            self.status = RunState(event.status)
            self.verdict, self.test = event.verdict, event.test
            self.duration_s, self.samples_per_s = event.duration_s, event.samples_per_s
            self.diverged_at = list(event.diverged_at) if event.diverged_at else None
            self.error = event.error
            self.lr_trace = [[int(s), float(lr)] for s, lr in event.lr_trace] if event.lr_trace else None
            self.provisional = None  # the final word is here
            self.ended_at = time.time()
        elif isinstance(event, (BatchLog, Progress)):
            pass  # live-only: not part of the saved record

    def note_system(self, epoch: int, sample: SystemSample) -> None:
        """Keep what the machine did during ``epoch`` (saved with the epoch: call before its EpochEnd is saved)."""
        self.system[epoch] = sample

    # -- derived values, for tables and reports -------------------------------------------
    @property
    def done(self) -> bool:
        return RunState(self.status).done

    @property
    def best_val_acc(self) -> float | None:
        accs = [e.val_acc for e in self.epochs if e.val_acc is not None]
        return max(accs) if accs else None

    @property
    def last_val_acc(self) -> float | None:
        return self.epochs[-1].val_acc if self.epochs else None

    @property
    def test_acc(self) -> float | None:
        return self.test.accuracy if self.test else None

    @property
    def verdict_label(self) -> str | None:
        return str(self.verdict.label) if self.verdict else None

    # -- JSON ---------------------------------------------------------------------------
    def to_dict(self, compact: bool = False) -> dict[str, Any]:
        """``compact``: the step trace as columns (a session's run files), else as a list of dicts."""
        trace = self.step_trace
        return {
            "id": self.id,
            "status": self.status,
            "config": self.config.to_dict(),
            "device": self.device,
            "device_name": self.device_name,
            "sizes": {"train": self.n_train, "val": self.n_val, "test": self.n_test},
            "epochs": [e.to_dict() for e in self.epochs],
            "batch_losses": self.batch_losses,
            "probes": [p.to_dict() for p in self.probes],
            "test": None if self.test is None else self.test.to_dict(),
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "duration_s": self.duration_s,
            "samples_per_s": self.samples_per_s,
            "diverged_at": self.diverged_at,
            "error": self.error,
            "lr_trace": self.lr_trace,
            "step_trace": None if trace is None else trace.columns() if compact else trace.rows(),
            "provisional_verdict": None if self.provisional is None else self.provisional.to_dict(),
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "system": [{"epoch": epoch, **sample.to_dict()} for epoch, sample in sorted(self.system.items())],
        }

    @classmethod
    def from_dict(cls, data: Any) -> RunRecord:
        """Inverse of :meth:`to_dict`, validated as a session file's run is (:func:`lrtui.sessions.schema.run_record`).
        Raises ValueError (:class:`lrtui.sessions.schema.Malformed`, one line) on malformed input."""
        from lrtui.sessions.schema import run_record  # the schema builds records: it imports this module

        return run_record(data)


#: Verdicts of runs that never count as a session's best while another run is left.
_FAILED_VERDICTS = frozenset({"diverged", "not learning"})


class RunBook:
    """An ordered collection of runs that routes events to their records by ``run_id``."""

    def __init__(self, runs: list[RunRecord] | None = None) -> None:
        self.runs: list[RunRecord] = list(runs or [])
        self._last = max((run_number(r.id) for r in self.runs), default=0)  #: highest ``rN`` ever held

    def add(self, config: RunConfig, run_id: str | None = None) -> RunRecord:
        """Queue a run: it gets the next id (``r1``, ``r2``, ...) unless one is given."""
        record = RunRecord(id=run_id or self.next_id(), config=config)
        self._last = max(self._last, run_number(record.id))
        self.runs.append(record)
        return record

    def next_id(self) -> str:
        """One past the highest id this book has held: a removed run's id is never given again
        (a queue may still name it, and a run's chart colour goes by its number)."""
        return f"r{self._last + 1}"

    def get(self, run_id: str) -> RunRecord | None:
        return next((r for r in self.runs if r.id == run_id), None)

    def remove(self, run_id: str) -> None:
        self.runs = [r for r in self.runs if r.id != run_id]

    def apply(self, event: Event) -> RunRecord | None:
        """Route an event to its run. Returns the record it changed (None for an unknown run)."""
        record = self.get(event.run_id)
        if record is not None:
            record.apply(event)
        return record

    def best(self) -> RunRecord | None:
        return best_run(self.runs)


def best_run(runs: Iterable[RunRecord]) -> RunRecord | None:
    """The run with the highest best validation accuracy, preferring runs that did not blow up:
    a run that peaked and then diverged is not the one to recommend."""
    scored = [r for r in runs if r.best_val_acc is not None]
    return max(scored, key=lambda r: (r.verdict_label not in _FAILED_VERDICTS, r.best_val_acc or 0.0), default=None)


#: ``r`` and ASCII digits only: ``str.isdigit()`` also takes ``²``, ``٣`` and ``１``, which ``int()`` refuses or reads
#: as another number; 18 digits at most, so that no name can make ``int()`` slow.
_RUN_NUMBER = re.compile(r"r([0-9]{1,18})")


def run_number(run_id: str) -> int:
    """``r12`` → 12; any other id or file name (``r²``, ``r١``, ``notes``) → 0."""
    match = _RUN_NUMBER.fullmatch(run_id)
    return int(match.group(1)) if match else 0
