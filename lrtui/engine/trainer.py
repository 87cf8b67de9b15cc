"""One training run: data and model on the device, a plain loop, typed events out.

Why the loop looks the way it does:

* Batches are drawn by indexing whole on-device tensors with an on-device
  ``randperm`` (no DataLoader, no per-sample transforms).
* Each batch's loss and correct count stay on the device (two writes per batch);
  sums, ``.item()`` and the look for a non-finite loss happen only when an event
  goes out, so on CUDA the loop does not synchronise every batch. On the CPU a
  sync is free, so the divergence check runs every batch there.
* Validation and test run at a larger batch under ``torch.inference_mode()``.
* The SGD flavours step through :class:`SGDStep` (torch's arithmetic, less overhead).
* A schedule (:mod:`lrtui.engine.schedule`) is one host table of Python floats per epoch:
  each step sets ``SGDStep.lr`` / every ``param_group["lr"]`` from it (no device sync); a
  constant lr builds no table and leaves the step exactly as it was. The run's ``lr_trace``
  (RunEnd) is computed at its end from the config at the logged steps only.
* A run uses one torch thread fewer than there are cores (:func:`cpu_threads`).
* Diagnostics (:mod:`lrtui.engine.diagnostics`) add a few foreach norms to each step
  and ride along the validation pass; the step probe (:mod:`lrtui.engine.probe`) runs
  at the start and at each epoch's end on copies. Both can be switched off per run
  (``train(..., diagnostics=False, probes=False)``), for benchmarks.
* Nothing escapes :func:`train`: every problem ends the run as ``failed`` with a
  one-line message, so a front end's worker thread never dies with a traceback.
"""

from __future__ import annotations

import copy
import math
import os
import platform
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from lrtui.engine.config import ConfigError, RunConfig, probe_devices, resolve_device
from lrtui.engine.data import CLASSES, DataUnavailable, Splits, load_splits
from lrtui.engine.diagnostics import SAMPLE_EVERY, StepStats, ValStats, forward_observed
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
)
from lrtui.engine.model import ConvNet, build_model
from lrtui.engine.probe import ProbeData, losses_along, mean_gradient, optimizer_direction, probe_grid, sgd_direction
from lrtui.engine.schedule import is_scheduled, lr_at, lr_table, lr_trace_at
from lrtui.engine.verdict import judge

#: Batch size of validation and test on the CPU, and on a GPU. Larger than training batches
#: (fewer steps, same numbers), but on the CPU not too large: at 1000 the activations fall
#: out of cache and a validation pass takes 2.3x as long as at 200 (measured).
EVAL_BATCH_CPU, EVAL_BATCH_GPU = 200, 4096
#: Minimum seconds between two Progress events (~10 per second).
PROGRESS_EVERY_S = 0.1
#: Test digits kept for display.
N_SAMPLES = 16


def nice_log_every(batches_per_epoch: int) -> int:
    """The "nice" number (1, 1.25, 2, 2.5, 5 × 10^k) closest to a quarter epoch: 4800 → 1250, 320 → 100."""
    target = batches_per_epoch / 4
    candidates = [int(c) for k in range(8) for m in (1, 1.25, 2, 2.5, 5) if (c := m * 10.0**k).is_integer()]
    return min(candidates, key=lambda c: (abs(c - target), c))


def cpu_threads() -> int:
    """Torch threads for a run: one fewer than the usable cores (at least 1, never more than torch's).

    Why: at batch 10 a second thread bought ~20% on an idle 2-core machine, but as soon as
    anything else wanted a core (the app's UI, a test worker, another process) OpenMP's
    spinning threads made the same loop 10-30x slower (measured here). Leaving a core free
    costs a little at best and avoids that cliff at worst.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(torch.get_num_threads(), cores - 1))


@contextmanager
def run_threads() -> Iterator[None]:
    """Torch at :func:`cpu_threads` for the ``with`` block, then back to what it was (the cap is per run)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(cpu_threads())
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def syncs_each_batch(device: torch.device) -> bool:
    """Whether to read the divergence flag every batch: free on the CPU, a stall on a GPU."""
    return device.type == "cpu"


def first_non_finite(losses: torch.Tensor, start: int, end: int) -> int | None:
    """Index of the first NaN/inf in ``losses[start:end]``, or None. One device sync."""
    finite = torch.isfinite(losses[start:end])
    if bool(finite.all()):
        return None
    return start + int((~finite).nonzero()[0, 0])


def make_optimizer(config: RunConfig, params: Iterable[torch.Tensor]) -> torch.optim.Optimizer:
    """The optimizer a config names, with its lr, momentum (where it has one) and weight decay."""
    kw: dict[str, Any] = {"lr": config.lr, "weight_decay": config.weight_decay}
    name = config.optimizer
    if name in ("sgd", "sgd-momentum", "nesterov"):
        return torch.optim.SGD(params, momentum=config.momentum, nesterov=name == "nesterov", **kw)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, momentum=config.momentum, **kw)
    classes = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "adagrad": torch.optim.Adagrad}
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}")
    return classes[name](params, **kw)


#: Optimizers :class:`SGDStep` implements (torch.optim.SGD's flavours).
SGD_OPTIMIZERS = frozenset({"sgd", "sgd-momentum", "nesterov"})


class SGDStep:
    """One torch.optim.SGD step from a loss, the same arithmetic in the same order, minus the machinery.

    Why: at batch 10 on the CPU, ``zero_grad`` + ``backward`` + ``Optimizer.step`` (hooks,
    profiler scopes, per-call checks, ``.grad`` bookkeeping) cost ~10% of the whole step over
    ``autograd.grad`` and a few foreach ops (measured). Equal to torch's SGD bit for bit (tested).
    """

    def __init__(self, params: Iterable[torch.Tensor], config: RunConfig, stats: StepStats | None = None) -> None:
        self.params = list(params)
        self.lr, self.momentum, self.weight_decay = config.lr, config.momentum, config.weight_decay
        self.nesterov = config.optimizer == "nesterov"
        self.buffers: list[torch.Tensor] | None = None  #: momentum buffers, made from the first gradient as torch does
        self.stats = stats  #: where each step's update ratio and gradient norm are summed (None: not measured)

    @torch.no_grad()
    def __call__(self, loss: torch.Tensor) -> None:
        grads: tuple[torch.Tensor, ...] | list[torch.Tensor]
        raw = grads = torch.autograd.grad(loss, self.params)
        if self.weight_decay:
            grads = torch._foreach_add(grads, self.params, alpha=self.weight_decay)
        if self.momentum:
            if self.buffers is None:
                self.buffers = [g.clone() for g in grads]
            else:
                torch._foreach_mul_(self.buffers, self.momentum)
                torch._foreach_add_(self.buffers, grads)
            grads = torch._foreach_add(grads, self.buffers, alpha=self.momentum) if self.nesterov else self.buffers
        if self.stats is not None and self.stats.due():
            self.stats.add_sgd(self.params, raw, grads, self.lr)
        torch._foreach_add_(self.params, grads, alpha=-self.lr)

    def direction(self, grads: list[torch.Tensor]) -> list[torch.Tensor]:
        """The direction the next step would take for these gradients (for the probe; changes nothing)."""
        return sgd_direction(self.params, grads, momentum=self.momentum, weight_decay=self.weight_decay,
                             nesterov=self.nesterov, buffers=self.buffers)


class OptimizerStep:
    """One step of any torch optimizer from a batch's loss; with ``stats``, the update actually applied is measured."""

    def __init__(self, params: Iterable[torch.Tensor], config: RunConfig, stats: StepStats | None = None) -> None:
        self.params = list(params)
        self.optimizer = make_optimizer(config, self.params)
        self.stats = stats

    @property
    def lr(self) -> float:
        """The lr of the last (or, before any, the first) step: the probe's trial step uses the same one."""
        return float(self.optimizer.param_groups[0]["lr"])

    @lr.setter
    def lr(self, value: float) -> None:
        """A schedule's lr for the next step: a Python float in every param group (no device sync)."""
        for group in self.optimizer.param_groups:
            group["lr"] = value

    def __call__(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        before = torch._foreach_mul(self.params, 1.0) if self.stats is not None and self.stats.due() else None
        self.optimizer.step()
        if self.stats is not None and before is not None:  # a measured step
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
            self.stats.add_delta(before, self.params, grads)

    def direction(self, grads: list[torch.Tensor]) -> list[torch.Tensor]:
        """The optimizer's next update direction for these gradients, from a trial step on a copy."""
        return optimizer_direction(self.optimizer, self.params, grads, self.lr)


def make_update(config: RunConfig, params: Iterable[torch.Tensor],
                stats: StepStats | None = None) -> SGDStep | OptimizerStep:
    """``update(loss)``: one optimizer step from a batch's loss (:class:`SGDStep` for the SGD flavours)."""
    if config.optimizer in SGD_OPTIMIZERS:
        return SGDStep(params, config, stats)
    return OptimizerStep(params, config, stats)


def device_name(device: torch.device) -> str:
    """A human name for the device: the GPU's name, or the CPU model."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (mps)"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"


def one_line(error: BaseException) -> str:
    """An exception as one readable line (CUDA errors come with several).

    Our own errors already read as sentences; anything else keeps its type name, which is
    often the most telling part (``OutOfMemoryError``).
    """
    text = " ".join(str(error).split())
    if isinstance(error, (DataUnavailable, ConfigError)) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


@dataclass
class EpochState:
    """What one pass over the training set left on the device: what the event builders read (also a stacked sweep's)."""

    loss_sum: torch.Tensor  #: sample-weighted sum of the batch losses, set at the epoch's end
    correct: torch.Tensor  #: correct predictions so far, brought up to date before each BatchLog
    batch_losses: torch.Tensor
    batches: int  #: batches actually run (fewer when cancelled or diverged)
    samples: int
    diverged_at: int | None = None  #: 1-based batch of the first non-finite loss
    cancelled: bool = False
    stats: StepStats | None = None  #: this epoch's update ratios and gradient norms (None: not measured)
    model_index: int | None = None  #: which model of ``stats`` (a stacked sweep's), None for a lone run

    def measured_steps(self) -> int:
        """Steps the stats hold: the measured ones among this epoch's (see :data:`SAMPLE_EVERY`)."""
        return self.stats.measured(self.batches) if self.stats is not None else 0

    def update_ratio(self) -> dict[str, float] | None:
        """Mean update ratio per layer over the steps so far (one device read), or None."""
        if self.stats is None:
            return None
        return self.stats.update_ratio(self.measured_steps(), self.model_index)

    def grad_norm(self) -> float | None:
        return self.stats.grad_norm(self.measured_steps(), self.model_index) if self.stats is not None else None


class Run:
    """State of one run; :meth:`run` is the whole of it. Public because a stacked sweep drives
    several of these (setup, events, evaluation) and replaces only their training step.
    """

    def __init__(self, config: RunConfig, emit: Emit, cancel: threading.Event, run_id: str, *,
                 diagnostics: bool = True, probes: bool = True) -> None:
        self.config, self.emit, self.cancel, self.run_id = config, emit, cancel, run_id
        self.diagnostics, self.probes = diagnostics, probes
        self.stats: StepStats | None = None
        self.val_diagnostics: dict[str, Any] | None = None  #: from the last validation pass
        self.probe_log: list[dict[str, Any]] = []  #: every ProbeResult so far, as dicts (for the verdict)
        self.probe_model: ConvNet | None = None  #: scratch copy the probe overwrites (never the run's model)
        self.epochs: list[dict[str, Any]] = []
        self.train_seconds = 0.0
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
        self.device = torch.device(resolve_device(cfg.device, probe_devices()))
        self.splits: Splits = splits if splits is not None else load_splits(cfg, self.device)
        self.n_train = self.splits.train_x.shape[0]
        if cfg.batch_size > self.n_train:
            raise ValueError(f"batch size {cfg.batch_size} is larger than the training set ({self.n_train} samples)")
        self.batches_per_epoch = math.ceil(self.n_train / cfg.batch_size)
        sizes = [cfg.batch_size] * self.batches_per_epoch
        sizes[-1] = self.n_train - cfg.batch_size * (self.batches_per_epoch - 1)
        self.batch_sizes = torch.tensor(sizes, dtype=torch.float32, device=self.device)  # weights of the epoch mean
        self.log_every = cfg.log_every or nice_log_every(self.batches_per_epoch)
        self.total_steps = cfg.epochs * self.batches_per_epoch
        self.model = build_model(cfg.seed, self.device)
        self.stats = StepStats(self.device, every=SAMPLE_EVERY) if self.diagnostics else None
        self.update = make_update(cfg, self.model.parameters(), self.stats)
        self.probe_data = ProbeData.take(self.splits.train_x, self.splits.train_y, self.splits.val_x,
                                         self.splits.val_y)
        self.generator = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.sync_each_batch = syncs_each_batch(self.device)
        self.last_progress = 0.0
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

    # -- one epoch ------------------------------------------------------------------------
    def train_epoch(self, epoch: int) -> EpochState:
        cfg, model, update, dev = self.config, self.model, self.update, self.device
        assert model is not None
        per_epoch = self.batches_per_epoch
        order = torch.randperm(self.n_train, generator=self.generator, device=dev)
        # one gather per epoch, then every batch is a slice (a view): two ops fewer per step
        x_all, y_all = self.splits.train_x[order], self.splits.train_y[order]
        state = EpochState(
            loss_sum=torch.zeros((), device=dev),
            correct=torch.zeros((), dtype=torch.int64, device=dev),
            batch_losses=torch.zeros(per_epoch, device=dev),
            batches=0,
            samples=0,
            stats=self.stats,
        )
        if self.stats is not None:
            self.stats.reset()
        hits = torch.zeros(per_epoch, dtype=torch.int64, device=dev)  # correct predictions of each batch
        checked = 0  # batches already checked for a non-finite loss
        first_step = (epoch - 1) * per_epoch
        lrs = lr_table(cfg, self.total_steps, first_step, first_step + per_epoch) if is_scheduled(cfg) else None
        model.train()
        for b in range(per_epoch):
            if self.cancel.is_set():
                state.cancelled = True
                break
            rows = slice(b * cfg.batch_size, (b + 1) * cfg.batch_size)
            x, y = x_all[rows], y_all[rows]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            if lrs is not None:
                update.lr = lrs[b]
            update(loss)
            with torch.no_grad():  # two device writes per batch; sums only when an event needs them
                state.batch_losses[b] = loss
                hits[b] = (logits.argmax(1) == y).sum()
            state.batches, state.samples = b + 1, state.samples + y.shape[0]
            self.samples_done += y.shape[0]
            self.steps_done += 1
            last = b + 1 == per_epoch
            log_now = (b + 1) % self.log_every == 0 or last
            now = time.monotonic()
            progress_now = now - self.last_progress >= PROGRESS_EVERY_S or last
            if self.sync_each_batch:  # the CPU: one scalar read is the cheapest check there is
                if not math.isfinite(loss.item()):
                    state.diverged_at = b + 1
                    break
            elif log_now or progress_now:
                bad = first_non_finite(state.batch_losses, checked, b + 1)
                checked = b + 1
                if bad is not None:
                    state.diverged_at = bad + 1
                    break
            if log_now:
                state.correct = hits[: b + 1].sum()
                self.emit_batch_log(epoch, b + 1, state, float(loss.item()))
            if progress_now:
                self.last_progress = now
                self.emit_progress(epoch, b + 1)
        if state.diverged_at is not None:  # a GPU notices only at a check: the trace ends at the bad step
            self.steps_done = first_step + state.diverged_at
        state.correct = hits[: state.batches].sum()
        state.loss_sum = state.batch_losses[: state.batches] @ self.batch_sizes[: state.batches]
        return state

    def current_lr(self) -> float:
        """The lr of the next step (the schedule's): what the step probe tries around."""
        if not self.total_steps or not is_scheduled(self.config):
            return self.config.lr
        return lr_at(self.config, min(self.steps_done, self.total_steps - 1), self.total_steps)

    def emit_batch_log(self, epoch: int, batch: int, state: EpochState, loss: float) -> None:
        self.log_steps.append((epoch - 1) * self.batches_per_epoch + batch - 1)
        correct = int(state.correct.item())
        self.emit(
            BatchLog(
                run_id=self.run_id,
                epoch=epoch,
                batch=batch,
                seen=state.samples,
                total=self.n_train,
                loss=loss,
                correct=correct,
                accuracy=correct / state.samples,
                update_ratio=state.update_ratio(),
            )
        )

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
        """Mean loss and predicted classes over a whole split, in large batches; ``observe`` also
        collects dead units and prediction collapse on the way (same logits)."""
        model = self.model
        assert model is not None
        model.eval()
        loss_sum = torch.zeros((), device=self.device)
        preds = []
        step = EVAL_BATCH_CPU if self.device.type == "cpu" else EVAL_BATCH_GPU
        with torch.inference_mode():
            for i in range(0, x.shape[0], step):
                if observe is None:
                    logits = model(x[i : i + step])
                else:
                    logits, acts = forward_observed(model, x[i : i + step])
                    observe.observe(logits, acts)
                loss_sum += F.cross_entropy(logits, y[i : i + step], reduction="sum")
                preds.append(logits.argmax(1))
        return float(loss_sum.item()) / max(1, x.shape[0]), torch.cat(preds)

    def validate(self) -> tuple[float, float]:
        """Validation loss and accuracy; with diagnostics on, also sets :attr:`val_diagnostics`."""
        observe = ValStats(self.device) if self.diagnostics else None
        loss, pred = self.predict(self.splits.val_x, self.splits.val_y, observe)
        self.val_diagnostics = observe.result() if observe is not None else None
        return loss, float((pred == self.splits.val_y).float().mean().item())

    def epoch_diagnostics(self, state: EpochState) -> dict[str, Any] | None:
        """The epoch's ``diagnostics`` dict (see :class:`EpochEnd`), or None when not measured."""
        if state.stats is None or self.val_diagnostics is None:
            return None
        return {"update_ratio": state.update_ratio(), "grad_norm": state.grad_norm(), **self.val_diagnostics}

    # -- the step probe -------------------------------------------------------------------
    def probe(self, epoch: int) -> None:
        """Emit the step probe from the current weights (epoch 0: the initial ones). Changes nothing."""
        if not self.probes or self.model is None:
            return
        model, lr = self.model, self.current_lr()
        was_training = model.training
        model.train()  # the mode the next step would run in (this model has no dropout/batch norm)
        grads = mean_gradient(model, self.probe_data)
        direction = self.update.direction(grads)
        lrs = probe_grid(lr)
        if self.probe_model is None:
            self.probe_model = copy.deepcopy(model)
        base, losses = losses_along(model, direction, lrs, self.probe_data, self.probe_model)
        model.train(was_training)
        result = ProbeResult(run_id=self.run_id, epoch=epoch, lrs=tuple(lrs), losses=tuple(losses),
                             current_lr=lr, base_loss=base)
        self.probe_log.append(result.to_dict())
        self.emit(result)

    def test(self) -> TestResult:
        from sklearn.metrics import classification_report

        loss, pred_t = self.predict(self.splits.test_x, self.splits.test_y)
        true_t = self.splits.test_y
        matrix = torch.bincount(true_t * CLASSES + pred_t, minlength=CLASSES * CLASSES).view(CLASSES, CLASSES)
        true, pred = true_t.tolist(), pred_t.tolist()
        report = classification_report(
            true, pred, labels=list(range(CLASSES)), output_dict=True, zero_division=0
        )
        wrong = [i for i, (t, p) in enumerate(zip(true, pred)) if t != p]
        right = [i for i, (t, p) in enumerate(zip(true, pred)) if t == p]
        picked = (wrong + right)[:N_SAMPLES]
        images = self.splits.test_images[picked].reshape(len(picked), -1)
        return TestResult(
            accuracy=sum(t == p for t, p in zip(true, pred)) / max(1, len(true)),
            loss=loss,
            confusion_matrix=matrix.cpu().tolist(),
            report=report,
            samples={
                "images": images.tolist(),
                "true": [true[i] for i in picked],
                "pred": [pred[i] for i in picked],
            },
        )

    # -- the whole run ----------------------------------------------------------------------
    def run(self) -> RunEnd:
        self.setup()
        assert self.model is not None
        status, diverged_at = RunState.FINISHED, None
        self.probe(0)
        for epoch in range(1, self.config.epochs + 1):
            self.epoch_started = time.monotonic()
            state = self.train_epoch(epoch)
            if state.diverged_at is not None:
                self.train_seconds += time.monotonic() - self.epoch_started
                status, diverged_at = RunState.DIVERGED, (epoch, state.diverged_at)
                break
            if state.cancelled:
                self.train_seconds += time.monotonic() - self.epoch_started
                status = RunState.CANCELLED
                break
            self.finish_epoch(epoch, state)
            self.probe(epoch)
        return self.conclude(status, diverged_at)

    def conclude(self, status: RunState, diverged_at: tuple[int, int] | None) -> RunEnd:
        """Test the model (a diverged one as it was at its last finished epoch) and emit RunEnd."""
        assert self.model is not None
        if status == RunState.DIVERGED and self.last_good is not None:
            self.model.load_state_dict(self.last_good)  # test what it learned before blowing up
        test = self.test() if self.epochs else None
        return self.end(status, test, diverged_at)

    def finish_epoch(self, epoch: int, state: EpochState) -> None:
        val_loss, val_acc = self.validate()
        seconds = time.monotonic() - self.epoch_started
        self.train_seconds += seconds
        train_loss = float(state.loss_sum.item()) / state.samples
        train_acc = int(state.correct.item()) / state.samples
        assert self.model is not None
        if self.config.epochs > epoch:  # the last epoch's weights are the model itself
            self.last_good = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        diagnostics = self.epoch_diagnostics(state)
        self.epochs.append(
            {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss, "val_acc": val_acc,
             "diagnostics": diagnostics}
        )
        self.emit(
            EpochEnd(
                run_id=self.run_id,
                epoch=epoch,
                train_loss=train_loss,
                train_acc=train_acc,
                val_loss=val_loss,
                val_acc=val_acc,
                seconds=seconds,
                batch_losses=tuple(state.batch_losses[: state.batches].tolist()),
                diagnostics=diagnostics,
            )
        )

    def end(self, status: RunState, test: TestResult | None, diverged_at: tuple[int, int] | None = None,
            error: str | None = None) -> RunEnd:
        """Build and emit the one RunEnd of this run."""
        verdict = (judge(self.epochs, status, probes=self.probe_log, config=self.config, n_train=self.n_train,
                         n_val=self.splits.val_x.shape[0])  # epochs or a divergence: set up, splits loaded
                   if self.epochs or status == RunState.DIVERGED else None)
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
            if self.total_steps else None,
        )
        self.ended = end
        self.emit(end)
        return end


def train(config: RunConfig, emit: Emit, cancel: threading.Event | None = None, *, run_id: str = "r1",
          diagnostics: bool = True, probes: bool = True) -> RunEnd:
    """Train one run, emitting its events; never raises. The returned RunEnd is also the last event.

    ``diagnostics``/``probes``: measure what happens inside the network / run the step probe (on by default).
    """
    run = Run(config, emit, cancel or threading.Event(), run_id, diagnostics=diagnostics, probes=probes)
    with run_threads():  # on a GPU it only touches host-side ops
        try:
            return run.run()
        except Exception as e:  # noqa: BLE001 — every failure becomes a "failed" run, never a traceback
            if run.ended is not None:  # the consumer's handler of RunEnd raised: the run itself is over
                return run.ended
            return run.end(RunState.FAILED, None, error=one_line(e))
