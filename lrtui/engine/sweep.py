"""Several learning rates in one go: the entry point front ends call for any list of configs.

Batched sweeps: when K configs differ only in their learning rate and the
optimizer is SGD (plain, momentum or Nesterov), the K models are trained as one
stacked model — grouped convolutions and batched matmuls over parameters of
shape ``[K, ...]`` (on the CPU, one thread, K=4: 2x the samples/s of
``torch.func.vmap`` + ``functional_call`` over ConvNet). Every model starts
from the same seeded weights and sees the same batches in the same order, so the
comparison is controlled, and the per-epoch metrics equal K sequential runs of
:func:`lrtui.engine.trainer.train` (same seed) up to float rounding (grouped
kernels round differently in the last bit; plain SGD stays within ~1e-6 on the CPU, while a
momentum trajectory near a ReLU kink can grow that to ~1e-3 within an epoch; on CUDA,
cuDNN's TF32 convolutions make ~1e-3 the rule).

Diagnostics and probes are per model: each step adds every model's update ratio
per layer and gradient norm to ``[4, K]``/``[K]`` device sums (pure tensor ops,
inside the CUDA graph); validation, dead units and the step probe run on each
run's own plain model after its weights are copied out, as in a lone run.

Each model keeps its own learning rate in a device tensor and its own "alive"
flag: the first non-finite loss of a model masks all its later updates and ends
its run as ``diverged`` at that batch, while the others go on. Events go out
under each run's id through the trainer's own per-run objects (RunStarted,
BatchLog, Progress, EpochEnd, the test evaluation, the verdict and RunEnd), so
consumers see K runs exactly as if they had run one by one.

On CUDA the whole step (forward, backward, the masked SGD update and the
on-device metric sums) is captured once in a CUDA graph and replayed, because
at batch 10 the loop is bound by kernel launches; metrics stay on the device
until an event needs them. If capture fails, the same step runs eagerly (as on
the CPU, and for an epoch's short last batch). Auto mode stacks every batchable
run on CUDA (a stack of one, to get the graph); for two or more it stacks where a
short calibration on this device measured the stack faster (:mod:`lrtui.engine.stack_choice`).

Schedules: runs that differ in lr, schedule and/or warmup still stack. Each epoch the
K runs' lrs of every step (:func:`lrtui.engine.schedule.device_table`) are copied once
into a fixed ``[batches, K]`` device buffer; the step copies its row, picked by the
on-device batch counter, into the optimizer's ``[K]`` lr tensor (no host sync, the same
ops in a CUDA graph). Constant lrs allocate no buffer and skip that copy.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch
import torch.nn.functional as F

from lrtui.engine.config import RunConfig, probe_devices, resolve_device
from lrtui.engine.data import Splits, load_splits
from lrtui.engine.diagnostics import SAMPLE_EVERY, StepStats
from lrtui.engine.events import Emit, RunEnd, RunState
from lrtui.engine.model import ConvNet
from lrtui.engine.schedule import device_table, is_scheduled
from lrtui.engine.stack_choice import stacked_is_faster
from lrtui.engine.trainer import (
    PROGRESS_EVERY_S,
    SGD_OPTIMIZERS,
    EpochState,
    Run,
    SGDStep,
    one_line,
    run_threads,
    train,
)

#: Optimizers whose update the stacked step implements (torch.optim.SGD's exact arithmetic).
BATCHABLE_OPTIMIZERS = SGD_OPTIMIZERS
#: Eager steps before a CUDA graph is captured (they warm up cuDNN/cuBLAS on a side stream).
GRAPH_WARMUP = 3


def batchable(configs: Sequence[RunConfig]) -> bool:
    """True when the configs can share one stacked model: SGD-family, and equal but for lr, schedule and warmup."""
    if not configs or configs[0].optimizer not in BATCHABLE_OPTIMIZERS:
        return False
    first = configs[0]
    return all(replace(c, lr=first.lr, schedule=first.schedule, warmup=first.warmup) == first for c in configs)


def use_batched(configs: Sequence[RunConfig], batched: bool | None, device: str, *,
                choice: Callable[[RunConfig, int, torch.device], bool] | None = None) -> bool:
    """``batched=None`` (auto): a lone run stacks on CUDA only (a stack of one, for the CUDA graph); K > 1
    stacks where :func:`lrtui.engine.stack_choice.stacked_is_faster` measured the stack faster on this
    device (cached per device, torch version, threads, K and batch size). ``choice`` replaces that
    measurement (tests). True/False force the stack (where the configs allow it) / one by one.

    Why measured: the same K=4/K=8 stack ran at 1.30x/1.44x of one-by-one speed on an Intel CPU
    and at 0.84x/0.81x on an AMD EPYC (benchmarks/sweep.py).
    """
    if not batchable(configs) or batched is False:
        return False
    if batched is True:
        return True
    if len(configs) == 1:
        return device.startswith("cuda")
    with run_threads():  # measured at the thread count training will use (part of the cache key)
        return (choice or stacked_is_faster)(configs[0], len(configs), torch.device(device))


def run_many(
    configs: Sequence[RunConfig],
    run_ids: Sequence[str],
    emit: Emit,
    cancel: threading.Event | None = None,
    *,
    batched: bool | None = None,
    diagnostics: bool = True,
    probes: bool = True,
) -> list[RunEnd]:
    """Train every config, emitting each run's events under its id. A cancel stops the rest too.

    ``batched``: True forces the stacked path where the configs allow it (else they run one
    by one), False forces one by one, None chooses (see :func:`use_batched`). ``diagnostics``/``probes``:
    as for :func:`lrtui.engine.trainer.train`.
    """
    if len(configs) != len(run_ids):
        raise ValueError(f"{len(configs)} configs but {len(run_ids)} run ids")
    cancel = cancel or threading.Event()
    if configs and use_batched(configs, batched, resolve_device(configs[0].device, probe_devices())):
        return train_stacked(configs, run_ids, emit, cancel, diagnostics=diagnostics, probes=probes)
    ends = []
    for config, run_id in zip(configs, run_ids, strict=True):
        if cancel.is_set():
            break
        if batched is None and len(configs) > 1:  # one by one, each as auto runs a lone run (CUDA: a graph)
            ends.extend(run_many([config], [run_id], emit, cancel, diagnostics=diagnostics, probes=probes))
        else:
            ends.append(train(config, emit, cancel, run_id=run_id, diagnostics=diagnostics, probes=probes))
    return ends


class StackedNet:
    """K copies of :class:`ConvNet` as one set of parameters with a leading ``[K]`` dimension.

    The forward is ConvNet's, written for K models at once: grouped convolutions
    (``groups=K``) over the input repeated K times, then batched matmuls. Models
    never mix: a NaN in one stays in its own group.
    """

    def __init__(self, model: ConvNet, k: int) -> None:
        self.k = k
        #: oneDNN's NHWC kernels, as build_model uses on the CPU: measured ~25% faster for the stack
        self.memory_format = torch.channels_last if model.conv1.weight.device.type == "cpu" else torch.contiguous_format
        self.names = [name for name, _ in model.named_parameters()]
        self.params = [
            p.detach().unsqueeze(0).repeat(k, *[1] * p.dim()).contiguous().requires_grad_()
            for _, p in model.named_parameters()
        ]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[K, B, 10]`` of every model for the same batch ``x`` ``[B, 1, 28, 28]``."""
        k, b = self.k, x.shape[0]
        w1, b1, w2, b2, w3, b3, w4, b4 = self.params
        fmt = self.memory_format
        x = x.expand(b, k, *x.shape[2:]).contiguous(memory_format=fmt)
        h = F.conv2d(x, w1.flatten(0, 1).contiguous(memory_format=fmt), b1.flatten(), padding=1, groups=k)
        h = F.relu(F.max_pool2d(h, 2), inplace=True)  # pool first, as ConvNet does: the same function
        h = F.conv2d(h, w2.flatten(0, 1).contiguous(memory_format=fmt), b2.flatten(), padding=1, groups=k)
        h = F.relu(F.max_pool2d(h, 2), inplace=True)
        h = h.contiguous().view(b, k, -1).transpose(0, 1)  # [K, B, 32*7*7], each model's own channels
        h = F.relu(torch.baddbmm(b3.unsqueeze(1), h, w3.transpose(1, 2)), inplace=True)
        return torch.baddbmm(b4.unsqueeze(1), h, w4.transpose(1, 2))

    def copy_into(self, i: int, model: ConvNet) -> None:
        """Put model ``i``'s weights into a plain ConvNet (the trainer evaluates that one)."""
        with torch.no_grad():
            for name, p in zip(self.names, self.params):
                model.get_parameter(name).copy_(p[i])


class StackedSGD:
    """torch.optim.SGD's update for K models at once, with a per-model lr tensor and a per-model mask."""

    def __init__(self, params: list[torch.Tensor], lrs: torch.Tensor, config: RunConfig) -> None:
        self.params, self.momentum, self.weight_decay = params, config.momentum, config.weight_decay
        self.nesterov = config.optimizer == "nesterov"
        self.lr_values = lrs  #: ``[K]``, written in place by a schedule (the views below follow)
        self.lrs = [lrs.view(-1, *[1] * (p.dim() - 1)) for p in params]
        self.buffers = [torch.zeros_like(p) for p in params] if self.momentum else []

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], alive: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """One update; models whose ``alive`` flag is False keep their weights exactly.

        A dead model's gradient is zeroed first (it may hold NaN, and 0 × NaN is NaN), then its
        lr is multiplied by 0. For live models the arithmetic is torch.optim.SGD's:
        ``addcmul_(d, lr, value=-1)`` is ``add_(d, alpha=-lr)`` — bit for bit on the CPU; on CUDA
        the two kernels may round the product differently in the last bit.

        Returns the directions applied and the effective per-model lrs ``[K]`` (0 for masked
        models): the step was ``p -= lr_k * d`` (for the update-ratio diagnostics).
        """
        directions = []
        for i, (p, g, lr) in enumerate(zip(self.params, grads, self.lrs)):
            keep = alive.view(-1, *[1] * (p.dim() - 1))
            d = torch.where(keep, g, 0.0)
            if self.weight_decay:
                d = d.add(p, alpha=self.weight_decay)
            if self.momentum:
                buf = self.buffers[i]
                buf.mul_(self.momentum).add_(d)  # the buffer starts at 0: the first step is torch's clone(d)
                d = d.add(buf, alpha=self.momentum) if self.nesterov else buf
            p.addcmul_(d, lr * keep, value=-1)
            directions.append(d)
        return directions, self.lrs[0].view(-1) * alive


class StackedStep:
    """One training step of the stacked model plus on-device bookkeeping, eager or as a CUDA graph.

    Per-epoch sums live in fixed device tensors (reset in place), so a captured
    graph keeps pointing at them: loss sums, correct counts, every batch loss, the
    first non-finite batch of each model, and the batch counter itself.
    """

    def __init__(self, net: StackedNet, opt: StackedSGD, x_all: torch.Tensor, y_all: torch.Tensor,
                 batch_size: int, batches: int, *, graphs: bool, diagnostics: bool = True) -> None:
        self.net, self.opt, self.x_all, self.y_all = net, opt, x_all, y_all
        dev, k = x_all.device, net.k
        self.alive = torch.ones(k, dtype=torch.bool, device=dev)
        self.loss_sum = torch.zeros(k, device=dev)
        self.correct = torch.zeros(k, dtype=torch.int64, device=dev)
        self.batch_losses = torch.zeros(batches, k, device=dev)
        self.first_bad = torch.full((k,), -1, dtype=torch.int64, device=dev)
        self.counter = torch.zeros((), dtype=torch.int64, device=dev)
        self.last_loss = torch.zeros(k, device=dev)
        #: this epoch's lr of every model at every batch (None: constant lrs); a fixed buffer the graph reads
        self.lr_rows: torch.Tensor | None = None
        #: per-model update ratios and gradient norms, over the same steps a lone run measures
        self.stats = StepStats(dev, k, every=SAMPLE_EVERY) if diagnostics else None
        self.batch_size = batch_size
        self.use_graphs = graphs and dev.type == "cuda"
        self.graph: tuple[Any, torch.Tensor] | None = None  #: (captured step, its index input)
        self.warm = 0  #: eager warm-up steps taken so far

    def new_epoch(self) -> None:
        for t in (self.loss_sum, self.correct, self.batch_losses, self.counter):
            t.zero_()
        self.first_bad.fill_(-1)
        if self.stats is not None:
            self.stats.reset()

    def _step(self, idx: torch.Tensor) -> None:
        x, y = self.x_all[idx], self.y_all[idx]
        logits = self.net(x)
        losses = F.cross_entropy(logits.transpose(1, 2), y.expand(self.net.k, -1), reduction="none").mean(1)
        grads = torch.autograd.grad(losses.sum(), self.net.params)
        with torch.no_grad():
            finite = torch.isfinite(losses)
            self.first_bad.copy_(torch.where(~finite & (self.first_bad < 0) & self.alive, self.counter, self.first_bad))
            self.alive.logical_and_(finite)
            if self.lr_rows is not None:  # this batch's row, picked on the device by the batch counter
                self.opt.lr_values.copy_(self.lr_rows.index_select(0, self.counter.view(1)).view(-1))
            weight_norms = StepStats.per_model_norms(self.net.params) if self.stats is not None else []
            directions, lrs = self.opt.step(grads, self.alive)
            if self.stats is not None:
                self.stats.add_stacked(weight_norms, grads, directions, lrs, self.counter)
            self.last_loss.copy_(losses)
            self.batch_losses.index_copy_(0, self.counter.view(1), losses.view(1, -1))
            self.loss_sum.add_(losses * y.shape[0])
            self.correct.add_((logits.argmax(-1) == y).sum(1))
            self.counter.add_(1)

    def __call__(self, idx: torch.Tensor) -> None:
        """Run one step on the samples ``idx``: a graph replay once one is captured, else eagerly."""
        full = idx.shape[0] == self.batch_size  # an epoch's short last batch always runs eagerly
        if self.graph is not None and full:
            self.graph[1].copy_(idx)
            self.graph[0].replay()
        elif not (self.use_graphs and full):
            self._step(idx)
        elif self.warm < GRAPH_WARMUP:  # capture wants a few eager steps on a side stream first
            side = torch.cuda.Stream(device=idx.device)
            side.wait_stream(torch.cuda.current_stream(idx.device))
            with torch.cuda.stream(side):
                self._step(idx)
            torch.cuda.current_stream(idx.device).wait_stream(side)
            self.warm += 1
        else:
            self.graph = self._capture(idx)
            self(idx)  # recording ran nothing: now replay it (or, if CUDA refused, run eagerly)

    def _capture(self, idx: torch.Tensor) -> tuple[Any, torch.Tensor] | None:
        """Record one step; None (and eager from now on) if CUDA refuses to capture it.

        The capture gets its own stream on the run's GPU (torch's shared one lives on whichever
        GPU was current first: ``cuda:1`` work would escape it), and ``thread_local`` mode, so
        CUDA work in another thread (the app's LR finder) cannot invalidate it.
        """
        dev = idx.device
        static_idx = idx.clone()
        graph = torch.cuda.CUDAGraph()
        previous = torch.cuda.current_stream(dev)
        try:
            with torch.cuda.device(dev), torch.cuda.graph(graph, stream=torch.cuda.Stream(device=dev),
                                                          capture_error_mode="thread_local"):
                self._step(static_idx)
        except Exception:  # noqa: BLE001 — whatever CUDA refused, the eager step still works
            torch.cuda.set_stream(previous)  # a failed capture leaves its stream current
            with contextlib.suppress(Exception):
                torch.cuda.synchronize(dev)
            self.use_graphs = False
            return None
        return graph, static_idx


def train_stacked(configs: Sequence[RunConfig], run_ids: Sequence[str], emit: Emit,
                  cancel: threading.Event, *, graphs: bool = True, diagnostics: bool = True,
                  probes: bool = True) -> list[RunEnd]:
    """Train K configs that differ only in lr, schedule or warmup as one stacked model.

    Never raises: a failure ends the runs ``failed``.
    """
    runs = [Run(config, emit, cancel, run_id, diagnostics=diagnostics, probes=probes)
            for config, run_id in zip(configs, run_ids, strict=True)]
    with run_threads():  # as train() does: leave a core free
        try:
            _StackedSweep(runs, graphs).run()
        except Exception as e:  # noqa: BLE001 — as in train(): a failure is a run status, never a traceback
            for run in runs:
                if run.ended is None:
                    run.end(RunState.FAILED, None, error=one_line(e))
    return [run.ended for run in runs if run.ended is not None]


class _StackedSweep:
    """The epoch loop of a stacked sweep, driving the trainer's per-run objects for everything but the step."""

    def __init__(self, runs: list[Run], graphs: bool) -> None:
        self.runs, self.graphs = runs, graphs
        self.active: list[int] = []  #: indices of the runs still training
        self.batches = self.samples = 0  #: done so far in the current epoch (the same for every model)
        self.last_progress = 0.0

    def setup(self, splits: Splits | None = None) -> None:
        """Every run's setup on one shared copy of the data (``splits``: already loaded, e.g. a calibration's)."""
        first = self.runs[0]
        device = torch.device(resolve_device(first.config.device, probe_devices()))
        splits = splits if splits is not None else load_splits(first.config, device)
        for run in self.runs:  # every run emits its RunStarted, builds its (identical) model and its generator
            run.setup(splits)
        self.active = list(range(len(self.runs)))
        lrs = torch.tensor([run.config.lr for run in self.runs], dtype=torch.float32, device=device)
        assert first.model is not None
        net = StackedNet(first.model, len(self.runs))
        self.net = net
        opt = StackedSGD(net.params, lrs, first.config)
        self.step = StackedStep(net, opt, splits.train_x, splits.train_y, first.config.batch_size,
                                first.batches_per_epoch, graphs=self.graphs, diagnostics=first.diagnostics)
        self.scheduled = any(is_scheduled(run.config) for run in self.runs)
        if self.scheduled:
            self.step.lr_rows = torch.zeros(first.batches_per_epoch, len(self.runs), device=device)
        for i, run in enumerate(self.runs):
            assert run.model is not None
            # the probe asks run.update for the next direction: an SGDStep (never stepped) reading model i's buffers
            update = SGDStep(run.model.parameters(), run.config)
            update.buffers = [b[i] for b in opt.buffers] if opt.buffers else None
            run.update = update
            run.probe(0)

    def run(self) -> None:
        self.setup()
        first = self.runs[0]
        for epoch in range(1, first.config.epochs + 1):
            if not self.active:
                break
            started = time.monotonic()
            for i in self.active:
                self.runs[i].epoch_started = started
            if self.train_epoch(epoch):
                self.stop(list(self.active), RunState.CANCELLED, epoch)
                return
            for i in list(self.active):
                model = self.runs[i].model
                assert model is not None
                self.net.copy_into(i, model)
                self.runs[i].finish_epoch(epoch, self.epoch_view(i))
                self.runs[i].probe(epoch)
        for i in list(self.active):
            self.runs[i].conclude(RunState.FINISHED, None)

    def epoch_view(self, i: int) -> EpochState:
        """Model ``i``'s share of the epoch sums, in the shape the trainer's event builders read."""
        s = self.step
        return EpochState(loss_sum=s.loss_sum[i], correct=s.correct[i], batch_losses=s.batch_losses[:, i],
                          batches=self.batches, samples=self.samples, stats=s.stats, model_index=i)

    def train_epoch(self, epoch: int) -> bool:
        """One pass over the data for every active model; True when cancelled."""
        first, step = self.runs[0], self.step
        cfg, per_epoch = first.config, first.batches_per_epoch
        order = torch.randperm(first.n_train, generator=first.generator, device=step.x_all.device)
        step.new_epoch()
        if step.lr_rows is not None:  # one host-to-device copy per epoch, into the buffer the graph reads
            start = (epoch - 1) * per_epoch
            step.lr_rows.copy_(device_table([r.config for r in self.runs], first.total_steps, step.lr_rows.device,
                                            start, start + per_epoch))
        self.batches = self.samples = 0
        for b in range(per_epoch):
            if first.cancel.is_set():
                return True
            idx = order[b * cfg.batch_size : (b + 1) * cfg.batch_size]
            step(idx)
            self.batches, self.samples = b + 1, self.samples + idx.shape[0]
            for i in self.active:
                self.runs[i].samples_done += idx.shape[0]
                self.runs[i].steps_done += 1
            last = b + 1 == per_epoch
            log_now = (b + 1) % first.log_every == 0 or last
            now = time.monotonic()
            progress_now = now - self.last_progress >= PROGRESS_EVERY_S or last
            if first.sync_each_batch or log_now or progress_now:
                self.end_diverged(epoch)
            if log_now:
                losses = step.last_loss.tolist()
                for i in self.active:
                    self.runs[i].emit_batch_log(epoch, b + 1, self.epoch_view(i), losses[i])
            if progress_now:
                self.last_progress = now
                for i in self.active:
                    self.runs[i].emit_progress(epoch, b + 1)
            if not self.active:
                break
        return False

    def end_diverged(self, epoch: int) -> None:
        """End the runs whose loss went non-finite this epoch, at their batch, as a sequential run would."""
        bad = self.step.first_bad.tolist()
        self.stop([i for i in self.active if bad[i] >= 0], RunState.DIVERGED, epoch, bad)

    def stop(self, which: list[int], status: RunState, epoch: int, bad: list[int] | None = None) -> None:
        """End these runs mid-epoch: clock stopped, tested on their last kept weights, RunEnd out."""
        for i in which:
            self.active.remove(i)
            run = self.runs[i]
            run.train_seconds += time.monotonic() - run.epoch_started
            assert run.model is not None
            self.net.copy_into(i, run.model)  # a diverged run's last finite weights (conclude may restore an epoch's)
            if bad is not None:  # the GPU checks only now and then: the lr trace ends at the diverged step
                run.steps_done = (epoch - 1) * run.batches_per_epoch + bad[i] + 1
            run.conclude(status, (epoch, bad[i] + 1) if bad is not None else None)
