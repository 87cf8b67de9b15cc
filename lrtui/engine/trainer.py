"""Training runs: the driver over epochs and batches (:class:`Fit`), and :func:`train`, which nothing escapes.

A run's own state (setup, events, evaluation, probe, end) is :class:`lrtui.engine.run.Run`. Why the loop
looks the way it does:

* Batches are drawn by indexing whole on-device tensors with an on-device ``randperm`` (no
  DataLoader in the loop; a factory's dataset is read again between epochs: :mod:`~lrtui.engine.data_stream`).
* One driver, :class:`Fit`, trains a lone run and a stacked sweep's K runs alike: the
  epochs, the batch loop (:func:`lrtui.engine.loop.run_batches`) with the events and the
  divergence checks as its callback, evaluation, and each run's end. What trains a batch
  is a step (:mod:`lrtui.engine.steps`): the run's own :class:`~lrtui.engine.steps.LoneStep`,
  or the stack's :class:`~lrtui.engine.steps.StackedStep`.
* Each batch's loss and correct count stay on the device; sums, ``.item()`` and the look
  for a non-finite loss happen only when an event goes out, so on CUDA the loop does not
  synchronise every batch. On the CPU a sync is free, so the divergence check runs every
  batch there.
* Validation and test run at a larger batch under ``torch.inference_mode()``; a run uses one
  torch thread fewer than there are cores (:func:`lrtui.engine.machine.run_threads`).
* A schedule (:mod:`lrtui.engine.schedule`) is applied by the step, from one table per epoch
  (none for a constant lr); the run's ``lr_trace`` is computed at its end, at the logged steps.
* Diagnostics (:mod:`lrtui.engine.diagnostics`) add a few foreach norms to each step
  and ride along the validation pass; the step probe (:mod:`lrtui.engine.probe`) runs
  at the start and at each epoch's end on copies. Both can be switched off per run
  (``train(..., diagnostics=False, probes=False)``), for benchmarks.
* The step trace (:mod:`lrtui.engine.tracing`) keeps single steps, dense early, probes dead
  units on a fixed batch, and judges the run provisionally at every log point
  (``TracePoints`` and ``ProvisionalVerdict`` after each ``BatchLog``); ``trace=False`` leaves it out.
* Nothing escapes :func:`train`: every problem ends the run ``failed`` with a one-line message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import torch
from torch import nn

from lrtui.engine.config import ConfigError, RunConfig
from lrtui.engine.data import DataUnavailable
from lrtui.engine.data_stream import DataReadError, EpochReader
from lrtui.engine.dead_stop import provably_dead
from lrtui.engine.events import (
    Emit,
    RunEnd,
    RunState,
)
from lrtui.engine.loop import Callback, run_batches
from lrtui.engine.machine import run_threads
from lrtui.engine.run import Run
from lrtui.engine.steps import StackedStep, Step

#: Minimum seconds between two Progress events (~10 per second).
PROGRESS_EVERY_S = 0.1


def one_line(error: BaseException) -> str:
    """An exception as one line: ours read as sentences; others keep their type name (``OutOfMemoryError``)."""
    text = " ".join(str(error).split())
    if isinstance(error, (DataUnavailable, ConfigError, DataReadError)) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def train_alone(run: Run) -> RunEnd:
    """Set up and train one run alone; its RunEnd (also emitted)."""
    run.setup()
    Fit([run], run.step).run()
    assert run.ended is not None
    return run.ended


def train(
    config: RunConfig,
    emit: Emit,
    cancel: threading.Event | None = None,
    *,
    run_id: str = "r1",
    diagnostics: bool = True,
    probes: bool = True,
    trace: bool = True,
    stop_dead: bool = False,
    model_factory: Callable[[], nn.Module] | None = None,
) -> RunEnd:
    """Train one run, emitting its events; never raises. The returned RunEnd is also the last event.

    ``diagnostics``/``probes``/``trace``: measure what happens inside the network / run the step probe / keep
    the step trace and judge provisionally (on by default; the trace needs the diagnostics); ``stop_dead``: end
    once provably dead (off by default: a batch of several runs turns it on, see :mod:`lrtui.engine.dead_stop`).
    ``model_factory``: see :class:`Run`.
    """
    run = Run(
        config,
        emit,
        cancel or threading.Event(),
        run_id,
        diagnostics=diagnostics,
        probes=probes,
        trace=trace,
        stop_dead=stop_dead,
        model_factory=model_factory,
    )
    with run_threads():  # on a GPU it only touches host-side ops
        try:
            return train_alone(run)
        except Exception as e:  # noqa: BLE001 — every failure becomes a "failed" run, never a traceback
            if run.ended is not None:  # the consumer's handler of RunEnd raised: the run itself is over
                return run.ended
            return run.end(RunState.FAILED, None, error=one_line(e))


class Fit(Callback):
    """The epochs of one run, or of K runs that one stacked step trains together, through the batch loop.

    Every run is set up first. Per batch (the loop's callback) the driver counts, checks for a
    non-finite loss (every batch where a sync is free, else at event points only), stops the
    runs that diverged, and emits BatchLog and Progress; per epoch it evaluates each run still
    training (:meth:`Run.finish_epoch`) and probes it. The others run on: a stack's diverged
    model is masked in the step, its run ends at once, as K runs one by one would.
    """

    def __init__(self, runs: Sequence[Run], step: Step) -> None:
        self.runs, self.step = list(runs), step
        self.active = list(range(len(self.runs)))  #: indices of the runs still training
        self.epoch = 0
        self.batches = self.samples = 0  #: done so far in the current epoch (the same for every model)
        self.last_progress = 0.0
        self.reader: EpochReader | None = None  #: a dataset's reads (set by run; a trial's epochs read none)

    @classmethod
    def stacked(cls, runs: Sequence[Run], graphs: bool = True, kind: type[StackedStep] = StackedStep) -> Fit:
        """Set-up runs (equal but for lr, schedule and warmup) trained as one stacked model from the first's weights.

        ``kind``: the stack (the reference CNN's grouped convolutions; torch.func's for another network)."""
        first = runs[0]
        assert first.model is not None
        step = kind.of(
            first.model,
            [run.config for run in runs],
            first.splits.train_x,
            first.splits.train_y,
            first.batches_per_epoch,
            first.total_steps,
            graphs=graphs,
            diagnostics=first.diagnostics,
            trace=first.traced,
        )
        for i, run in enumerate(runs):
            assert run.model is not None
            run.use_update(step.update_of(i, run.model, run.config))
        return cls(runs, step)

    def run(self) -> None:
        """Probe, train every epoch, evaluate; every run ends with its RunEnd (and no read ahead outlives it)."""
        first, data = self.runs[0], self.runs[0].splits
        reader = EpochReader.of(data.stream, data.train_x, data.train_y, first.model, first.config.seed, first.cancel)
        with reader as self.reader:
            self.epochs()

    def epochs(self) -> None:  # the body of run
        for run in self.runs:
            run.probe(0)
        for epoch in range(1, self.runs[0].config.epochs + 1):
            if not self.active:
                break
            if self.train_epoch(epoch):
                self.stop(list(self.active), RunState.CANCELLED)
                return
            for i in self.active:
                run = self.runs[i]
                assert run.model is not None
                self.step.copy_into(i, run.model)
                run.finish_epoch(epoch, self.step.epoch_state(i, self.batches, self.samples))
                run.probe(epoch)
            if epoch < self.runs[0].config.epochs:
                self.stop_dead(epoch)
        for i in list(self.active):
            self.runs[i].conclude(RunState.FINISHED, None)

    def train_epoch(self, epoch: int) -> bool:
        """One pass over the training data for every active run; True when cancelled."""
        first = self.runs[0]
        started = time.monotonic()
        for i in self.active:
            self.runs[i].start_epoch(started)
            tracer = self.runs[i].tracer
            if tracer is not None:
                tracer.start_epoch((epoch - 1) * first.batches_per_epoch)
        if self.reader is not None:  # a dataset's random transforms, drawn anew (a cancel stops the read and the loop)
            self.reader.start_epoch(epoch, first.config.epochs)
        order = torch.randperm(first.n_train, generator=first.generator, device=first.device)
        self.epoch, self.batches, self.samples = epoch, 0, 0
        return run_batches(
            self.step, order, first.batches_per_epoch, (epoch - 1) * first.batches_per_epoch, [self], first.cancel
        )

    def after_batch(self, b: int, loss: torch.Tensor) -> bool:
        """Count, check, stop the diverged runs, emit; True (end the epoch) once no run is left."""
        first, epoch = self.runs[0], self.epoch
        size = min(first.config.batch_size, first.n_train - b * first.config.batch_size)
        self.batches, self.samples = b + 1, self.samples + size
        for i in self.active:
            self.runs[i].count_batch(size)
        last = b + 1 == first.batches_per_epoch
        log_now = (b + 1) % first.log_every == 0 or last
        now = time.monotonic()
        progress_now = now - self.last_progress >= PROGRESS_EVERY_S or last
        if first.sync_each_batch or log_now or progress_now:
            bad = self.step.bad_batches()
            self.stop([i for i in self.active if bad[i] >= 0], RunState.DIVERGED, bad)
        step = (epoch - 1) * first.batches_per_epoch + b
        for i in self.active:
            run = self.runs[i]
            if run.tracer is not None and run.tracer.dead_due(step, log_now):
                assert run.model is not None
                self.step.copy_into(i, run.model)
                run.tracer.probe_dead(run.model, step)
        if log_now and self.active:
            losses = torch.atleast_1d(loss).tolist()
            for i in self.active:
                state = self.step.epoch_state(i, self.batches, self.samples)
                self.runs[i].emit_batch_log(epoch, b + 1, state, losses[i])
        if progress_now:
            self.last_progress = now
            for i in self.active:
                self.runs[i].emit_progress(epoch, b + 1)
        return not self.active

    def stop_dead(self, epoch: int) -> None:
        """At an epoch's end: a run that may stop when dead and is provably dead ends now, *finished*.

        A stack masks its model (its weights stay, its updates stop); the others train on exactly as before.
        """
        for i in list(self.active):
            run = self.runs[i]
            dead = provably_dead(run.tracer.points, run.tracer.trace) if run.stop_dead and run.tracer else None
            if dead is None:
                continue
            self.active.remove(i)
            if isinstance(self.step, StackedStep):
                self.step.mask(i)
            run.conclude(RunState.FINISHED, None, note=dead.note(epoch, run.config.epochs))

    def stop(self, which: list[int], status: RunState, bad: list[int] | None = None) -> None:
        """End these runs mid-epoch, each tested on its model's last weights (``bad``: per model, 0-based)."""
        for i in which:
            self.active.remove(i)
            run = self.runs[i]
            assert run.model is not None
            self.step.copy_into(i, run.model)  # a diverged run's last finite weights (conclude may restore an epoch's)
            run.flush_trace(self.step.epoch_state(i, self.batches, self.samples))
            run.stop(status, self.epoch, bad[i] + 1 if bad is not None else None)
