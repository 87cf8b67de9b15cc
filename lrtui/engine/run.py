"""One run's state: its setup (data, model, the step that trains it alone), its events, evaluation, the
step probe and its end with the verdict.

What trains it is :class:`lrtui.engine.trainer.Fit`, alone or with the other runs of a stacked sweep;
a run only says what happened to it. Kept apart from the driver so that each stays small.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import torch
from torch import nn

from lrtui.engine.config import RunConfig, detect_devices, resolve_device
from lrtui.engine.data import Splits, load_splits
from lrtui.engine.diagnostics import Observer, StepStats, ValStats
from lrtui.engine.evaluation import predict, scored
from lrtui.engine.events import (
    BatchLog,
    Emit,
    EpochEnd,
    ProbeResult,
    Progress,
    RunEnd,
    RunStarted,
    RunState,
    TestResult,
    TracePoints,
)
from lrtui.engine.machine import device_name, syncs_each_batch
from lrtui.engine.model import ConvNet, seeded_model
from lrtui.engine.model_factory import build_network, described, with_caveat
from lrtui.engine.probe import ProbeData, minibatch_gradients, probe_grid, steps_along
from lrtui.engine.records import Diagnostics, EpochRecord, ProbeRecord
from lrtui.engine.sample_rate import sample_interval
from lrtui.engine.schedule import is_scheduled, lr_at, lr_trace_at
from lrtui.engine.steps import EpochState, LoneStep, OptimizerStep, SGDStep, make_update
from lrtui.engine.tracing import Tracer
from lrtui.engine.verdict import judge


def nice_log_every(batches_per_epoch: int) -> int:
    """The "nice" number (1, 1.25, 2, 2.5, 5 × 10^k) closest to a quarter epoch: 4800 → 1250, 320 → 100."""
    target = batches_per_epoch / 4
    candidates = [int(c) for k in range(8) for m in (1, 1.25, 2, 2.5, 5) if (c := m * 10.0**k).is_integer()]
    return min(candidates, key=lambda c: (abs(c - target), c))


class Run:
    """State of one run: setup, its events, evaluation, the probe and its end.

    :func:`lrtui.engine.trainer.train_alone` trains it alone; a stacked sweep sets up several of these and
    trains them with one step (:meth:`lrtui.engine.trainer.Fit.stacked`).
    """

    def __init__(
        self,
        config: RunConfig,
        emit: Emit,
        cancel: threading.Event,
        run_id: str,
        *,
        diagnostics: bool = True,
        probes: bool = True,
        trace: bool = True,
        stop_dead: bool = False,
        model_factory: Callable[[], nn.Module] | None = None,
    ) -> None:
        """``stop_dead``: end at an epoch's end once provably dead (:mod:`lrtui.engine.dead_stop`; needs the trace).
        ``model_factory``: builds the run's model (under its seed); None: the reference CNN."""
        self.config, self.emit, self.cancel, self.run_id = config, emit, cancel, run_id
        self.model_factory = model_factory
        self.diagnostics, self.probes, self.stop_dead = diagnostics, probes, stop_dead
        self.traced = trace and self.diagnostics  #: keep the step trace (it reads the diagnostics' rows)
        self.tracer: Tracer | None = None
        self.stats: StepStats | None = None
        self.val_diagnostics: dict[str, Any] | None = None  #: from the last validation pass
        self.probe_log: list[ProbeRecord] = []  #: every ProbeResult so far, as records (for the verdict)
        self.probe_model: ConvNet | None = None  #: scratch copy the probe overwrites (never the run's model)
        self.epochs: list[EpochRecord] = []
        self.train_seconds = 0.0
        self.epoch_started = 0.0  #: when the current epoch's training started (time.monotonic())
        self.samples_done = 0
        self.steps_done = 0  #: optimizer steps taken (the lr trace ends at the last one)
        self.log_steps: list[int] = []  #: 0-based steps of every BatchLog (the lr trace's points)
        self.total_steps = 0  #: steps of the whole run, set in setup (the schedule's T)
        self.model: ConvNet | None = None
        self.last_good: dict[str, torch.Tensor] | None = None  #: weights at the end of the last finished epoch
        self.ended: RunEnd | None = None

    # -- setup --------------------------------------------------------------------------
    def setup(self, splits: Splits | None = None) -> None:
        """Data, model, optimizer, RunStarted. ``splits``: already loaded (a stacked sweep shares one copy)."""
        import sklearn.metrics  # noqa: F401 — for test(); ~1 s once, better before training than at a quit

        cfg = self.config
        self.device = torch.device(resolve_device(cfg.device, detect_devices()))
        self.splits: Splits = splits if splits is not None else load_splits(cfg, self.device)
        self.n_train = self.splits.train_x.shape[0]
        if cfg.batch_size > self.n_train:
            raise ValueError(f"batch size {cfg.batch_size} is larger than the training set ({self.n_train} samples)")
        self.batches_per_epoch = math.ceil(self.n_train / cfg.batch_size)
        self.log_every = cfg.log_every or nice_log_every(self.batches_per_epoch)
        self.total_steps = cfg.epochs * self.batches_per_epoch
        # typed as the reference CNN: a foreign network (any nn.Module) meets only what takes any module
        # (the lone step, the probe, the diagnostics' observer), never the grouped stack
        self.model = cast(
            ConvNet,
            build_network(cfg, self.device)
            if self.model_factory is None
            else seeded_model(self.model_factory, cfg.seed, self.device),
        )
        if cfg.model or cfg.data:  # one batch through it; its name, size and classes go into the config
            self.config = cfg = described(cfg, self.model)
        self.observer = Observer.for_model(self.model)
        if self.diagnostics:  # every 4th step, or fewer where measuring costs this network more (timed here)
            every = sample_interval(
                self.model,
                cfg,
                self.splits.train_x[: cfg.batch_size],
                self.splits.train_y[: cfg.batch_size],
                self.total_steps,
                self.traced,
            )
            self.config = cfg = replace(cfg, sample_every=every)
        rows = self.batches_per_epoch if self.traced else 0
        self.stats = (
            self.observer.step_stats(self.device, every=cfg.sample_every, rows=rows) if self.diagnostics else None
        )
        if self.traced:
            self.tracer = Tracer(self.run_id, self.splits.val_x, self.total_steps, cfg.sample_every)
        self.update: SGDStep | OptimizerStep = make_update(cfg, self.model.parameters(), self.stats)
        #: how the run trains alone (a stacked sweep trains its model in the stack instead)
        self.step = LoneStep(
            self.model, self.update, self.splits.train_x, self.splits.train_y, cfg.batch_size, cfg, self.total_steps
        )
        self.probe_data = ProbeData.take(
            self.splits.train_x, self.splits.train_y, self.splits.val_x, self.splits.val_y, cfg.batch_size
        )
        self.generator = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.sync_each_batch = syncs_each_batch(self.device)
        self.emit(
            RunStarted(
                run_id=self.run_id,
                config=cfg,
                device=str(self.device),
                device_name=device_name(self.device),
                n_train=self.n_train,
                n_val=self.splits.val_x.shape[0],
                n_test=self.splits.test_x.shape[0],
                batches_per_epoch=self.batches_per_epoch,
                log_every=self.log_every,
            )
        )

    # -- the clock and the counters, as the batch loop goes ------------------------------------
    def start_epoch(self, now: float) -> None:
        """An epoch's training starts (its clock runs from ``now``)."""
        self.epoch_started = now

    def count_batch(self, samples: int) -> None:
        """One optimizer step on ``samples`` samples was taken."""
        self.samples_done += samples
        self.steps_done += 1

    def use_update(self, update: SGDStep | OptimizerStep) -> None:
        """The update the probe asks for the next direction: a stacked run's reads its share of the stack's momentum."""
        self.update = update

    def stop(self, status: RunState, epoch: int, bad_batch: int | None = None) -> None:
        """End mid-epoch (cancelled, or diverged at the 1-based ``bad_batch``): clock stopped, tested, RunEnd out."""
        self.train_seconds += time.monotonic() - self.epoch_started
        if bad_batch is not None:  # a GPU notices only at a check: the lr trace ends at the bad step
            self.steps_done = (epoch - 1) * self.batches_per_epoch + bad_batch
        self.conclude(status, (epoch, bad_batch) if bad_batch is not None else None)

    def current_lr(self) -> float:
        """The lr of the next step (the schedule's): what the step probe tries around."""
        if not self.total_steps or not is_scheduled(self.config):
            return self.config.lr
        return lr_at(self.config, min(self.steps_done, self.total_steps - 1), self.total_steps)

    def emit_batch_log(self, epoch: int, batch: int, state: EpochState, loss: float) -> None:
        self.log_steps.append((epoch - 1) * self.batches_per_epoch + batch - 1)
        correct = int(state.correct.item())
        log = BatchLog(
            run_id=self.run_id,
            epoch=epoch,
            batch=batch,
            seen=state.samples,
            total=self.n_train,
            loss=loss,
            correct=correct,
            accuracy=correct / state.samples,
            update_ratio=state.update_ratio(),
            update_ratio_max=state.update_ratio_max(),
        )
        self.emit(log)
        if self.tracer is not None:
            traced, provisional = self.tracer.log_point(
                log,
                state,
                probes=self.probe_log,
                config=self.config,
                n_train=self.n_train,
                n_val=self.splits.val_x.shape[0],
            )
            if traced is not None:
                self.emit(traced)
            self.emit(provisional)

    def flush_trace(self, state: EpochState) -> None:
        """A run stopped mid-epoch: the trace's points since the last log point (the steps before a divergence)."""
        points = self.tracer.flush(state) if self.tracer is not None else []
        if points and self.tracer is not None:
            self.emit(TracePoints(self.run_id, tuple(points), self.tracer.trace.dead_on))

    def emit_progress(self, epoch: int, batch: int) -> None:
        cfg = self.config
        done = (epoch - 1) * self.batches_per_epoch + batch
        total = cfg.epochs * self.batches_per_epoch
        elapsed = self.train_seconds + (time.monotonic() - self.epoch_started)
        self.emit(
            Progress(
                run_id=self.run_id,
                epoch=epoch,
                epochs=cfg.epochs,
                batch=batch,
                batches_per_epoch=self.batches_per_epoch,
                batches_done=done,
                batches_total=total,
                samples_per_s=self.samples_done / elapsed if elapsed > 0 else 0.0,
                eta_s=elapsed / done * (total - done) if done else 0.0,
            )
        )

    # -- evaluation -------------------------------------------------------------------------
    def predict(self, x: torch.Tensor, y: torch.Tensor, observe: ValStats | None = None) -> tuple[float, torch.Tensor]:
        """Mean loss and predicted classes over a whole split (:func:`lrtui.engine.evaluation.predict`)."""
        assert self.model is not None
        return predict(self.model, x, y, self.observer, observe)

    def validate(self) -> tuple[float, float]:
        """Validation loss and accuracy; with diagnostics on, also sets :attr:`val_diagnostics`."""
        observe = ValStats(self.device) if self.diagnostics else None
        loss, pred = self.predict(self.splits.val_x, self.splits.val_y, observe)
        self.val_diagnostics = observe.result() if observe is not None else None
        return loss, float((pred == self.splits.val_y).float().mean().item())

    def epoch_diagnostics(self, state: EpochState) -> Diagnostics | None:
        """The epoch's diagnostics (see :class:`EpochEnd`), or None when not measured."""
        if state.stats is None or self.val_diagnostics is None:
            return None
        return Diagnostics.of(
            update_ratio=state.update_ratio(),
            update_ratio_max=state.update_ratio_max(),
            grad_norm=state.grad_norm(),
            **self.val_diagnostics,
        )

    # -- the step probe -------------------------------------------------------------------
    def probe(self, epoch: int) -> None:
        """Emit the step probe from the current weights (epoch 0: the initial ones). Changes nothing."""
        if not self.probes or self.model is None:
            return
        model, lr = self.model, self.current_lr()
        was_training = model.training
        model.train()  # the mode the next step would run in (the reference CNN has no dropout/batch norm)
        buffers = {k: b.clone() for k, b in model.named_buffers()}  # a foreign network's batch-norm statistics
        directions = [self.update.direction(g) for g in minibatch_gradients(model, self.probe_data)]
        lrs = probe_grid(lr)
        if self.probe_model is None:
            self.probe_model = copy.deepcopy(model)
        curves = steps_along(model, directions, lrs, self.probe_data, self.probe_model)
        model.train(was_training)
        for k, b in model.named_buffers():
            b.copy_(buffers[k])  # the probe changes nothing, not even running statistics
        result = ProbeResult(
            run_id=self.run_id,
            epoch=epoch,
            lrs=tuple(lrs),
            losses=curves.losses,
            current_lr=lr,
            base_loss=curves.loss_before,
            raised_fraction=curves.raised_fraction,
            dead_after=curves.dead_after,
            minibatches=len(directions),
        )
        self.probe_log.append(ProbeRecord.of(result))
        self.emit(result)

    def test(self) -> TestResult:
        loss, pred = self.predict(self.splits.test_x, self.splits.test_y)
        s = self.splits
        return scored(loss, pred, s.test_y, s.classes, s.test_images, s.class_names)

    def conclude(self, status: RunState, diverged_at: tuple[int, int] | None, note: str | None = None) -> RunEnd:
        """Test the model (a diverged one as it was at its last finished epoch) and emit RunEnd (``note``: see end)."""
        assert self.model is not None
        if status == RunState.DIVERGED and self.last_good is not None:
            self.model.load_state_dict(self.last_good)  # test what it learned before blowing up
        test = self.test() if self.epochs else None
        return self.end(status, test, diverged_at, note=note)

    def finish_epoch(self, epoch: int, state: EpochState) -> None:
        val_loss, val_acc = self.validate()
        seconds = time.monotonic() - self.epoch_started
        self.train_seconds += seconds
        train_loss = float(state.loss_sum.item()) / state.samples
        train_acc = int(state.correct.item()) / state.samples
        assert self.model is not None
        if self.config.epochs > epoch:  # the last epoch's weights are the model itself
            self.last_good = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        end = EpochEnd(
            run_id=self.run_id,
            epoch=epoch,
            train_loss=train_loss,
            train_acc=train_acc,
            val_loss=val_loss,
            val_acc=val_acc,
            seconds=seconds,
            batch_losses=tuple(state.batch_losses[: state.batches].tolist()),
            diagnostics=self.epoch_diagnostics(state),
        )
        self.epochs.append(end.record())
        self.emit(end)

    def end(
        self,
        status: RunState,
        test: TestResult | None,
        diverged_at: tuple[int, int] | None = None,
        error: str | None = None,
        note: str | None = None,
    ) -> RunEnd:
        """Build and emit the one RunEnd of this run; ``note`` ends its verdict's reason (why it stopped early)."""
        verdict = (
            judge(
                self.epochs,
                status,
                probes=self.probe_log,
                config=self.config,
                n_train=self.n_train,
                n_val=self.splits.val_x.shape[0],
            )  # epochs or a divergence: set up, splits loaded
            if self.epochs or status == RunState.DIVERGED
            else None
        )
        if verdict is not None and note:
            verdict = replace(verdict, reason=f"{verdict.reason}; {note}")
        verdict = with_caveat(verdict, self.config)
        end = RunEnd(
            run_id=self.run_id,
            status=RunState(status),
            verdict=verdict,
            test=test,
            duration_s=self.train_seconds,
            samples_per_s=self.samples_done / self.train_seconds if self.train_seconds > 0 else 0.0,
            epochs_done=len(self.epochs),
            diverged_at=diverged_at,
            error=error,
            lr_trace=lr_trace_at(self.config, self.total_steps, self.log_steps, self.steps_done)
            if self.total_steps
            else None,
        )
        self.ended = end
        self.emit(end)
        return end
