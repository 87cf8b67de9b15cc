"""The training steps, behind one small :class:`Step` protocol: what the batch loop calls for each batch.

Which step trains a run:

* :class:`LoneStep`: one model. Its update is :class:`SGDStep` for the SGD flavours (torch's
  arithmetic, less overhead) or :class:`OptimizerStep` around any torch optimizer; a range
  test (:mod:`lrtui.engine.lrfind`) sets that update's lr itself each batch.
* :class:`StackedStep`: K models as one (:class:`~lrtui.engine.stacked_model.StackedNet`) with
  :class:`StackedSGD`, eager or replayed as a CUDA graph (:mod:`lrtui.engine.sweep` says when).

Why one protocol: a lone run, a stacked sweep and the range test differ only in how a batch
is trained and where its numbers are kept, so they share one batch loop
(:func:`lrtui.engine.loop.run_batches`) and one run driver (:class:`lrtui.engine.trainer.Fit`).

Each step keeps its epoch's record on the device (every batch's loss, the correct counts, on a
stack also the first non-finite batch of each model): writing it costs no sync, and
:meth:`Step.bad_batches` and :meth:`Step.epoch_state` read it back only when an event needs it.
A schedule (:mod:`lrtui.engine.schedule`) is applied by the step too: a lone step sets
``update.lr`` from one host table of Python floats per epoch (no device sync); a stack copies
the K runs' table once per epoch into a fixed ``[batches, K]`` device buffer, whose row the
step picks by its on-device batch counter (the same ops inside a CUDA graph). Constant lrs
build no table and leave the step exactly as it was.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import torch
import torch.nn.functional as F
from torch import nn

from lrtui.engine.config import RunConfig
from lrtui.engine.diagnostics import SAMPLE_EVERY, LayerGroups, StepStats
from lrtui.engine.model import ConvNet
from lrtui.engine.probe import optimizer_direction, sgd_direction
from lrtui.engine.schedule import device_table, is_scheduled, lr_table
from lrtui.engine.stacked_model import StackedNet

#: Optimizers :class:`SGDStep` implements (torch.optim.SGD's flavours).
SGD_OPTIMIZERS = frozenset({"sgd", "sgd-momentum", "nesterov"})

#: Eager steps before a CUDA graph is captured (they warm up cuDNN/cuBLAS on a side stream).
GRAPH_WARMUP = 3


@dataclass
class EpochState:
    """One model's record of an epoch so far, still on the device: what a run's event builders read."""

    loss_sum: torch.Tensor  #: sample-weighted sum of the batch losses
    correct: torch.Tensor  #: correct predictions so far
    batch_losses: torch.Tensor  #: every batch's loss (the first ``batches`` are this epoch's so far)
    batches: int  #: batches run so far (at the end, fewer than an epoch's when cancelled or diverged)
    samples: int
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

    def update_ratio_max(self) -> dict[str, float] | None:
        """The largest single measured step per layer so far (one device read), or None when not kept."""
        return self.stats.update_ratio_max(self.measured_steps(), self.model_index) if self.stats is not None else None

    def grad_norm(self) -> float | None:
        return self.stats.grad_norm(self.measured_steps(), self.model_index) if self.stats is not None else None


class Step(Protocol):
    """What the batch loop and the run driver know of a step: it trains batch ``b``, and says what it recorded."""

    def start_epoch(self, order: torch.Tensor, first_step: int) -> None:
        """A new epoch over the training samples in ``order`` (on the device); its first batch is step ``first_step``."""
        ...

    def train_batch(self, b: int) -> torch.Tensor:
        """Forward, loss, backward and update on batch ``b`` (0-based); its loss (``[K]``: a stack's), on the device."""
        ...

    def bad_batches(self) -> list[int]:
        """Per model, the epoch's first batch (0-based) with a non-finite loss, or -1. Reads the device."""
        ...

    def epoch_state(self, model: int, batches: int, samples: int) -> EpochState:
        """Model ``model``'s record of the epoch so far: ``batches`` batches trained, ``samples`` samples seen."""
        ...

    def copy_into(self, model: int, target: ConvNet) -> None:
        """Put model ``model``'s weights into a run's plain ConvNet, which evaluation and the probe use."""
        ...


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
        return sgd_direction(
            self.params,
            grads,
            momentum=self.momentum,
            weight_decay=self.weight_decay,
            nesterov=self.nesterov,
            buffers=self.buffers,
        )


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


def make_update(
    config: RunConfig, params: Iterable[torch.Tensor], stats: StepStats | None = None
) -> SGDStep | OptimizerStep:
    """``update(loss)``: one optimizer step from a batch's loss (:class:`SGDStep` for the SGD flavours)."""
    if config.optimizer in SGD_OPTIMIZERS:
        return SGDStep(params, config, stats)
    return OptimizerStep(params, config, stats)


class LoneStep:
    """One model's step: the batch sliced from the epoch's order, forward, loss, ``update(loss)``, two device writes.

    The epoch's samples are gathered once (one gather, then every batch is a slice: two ops fewer
    per step); the batch's loss and correct count are written on the device, nothing is read.
    """

    def __init__(
        self,
        model: ConvNet,
        update: SGDStep | OptimizerStep,
        x: torch.Tensor,
        y: torch.Tensor,
        batch_size: int,
        schedule: RunConfig | None = None,
        total_steps: int = 0,
    ) -> None:
        """``schedule``: the config whose lr schedule the step follows (None, or a constant one: ``update.lr`` stays)."""
        self.model, self.update, self.x, self.y, self.batch_size = model, update, x, y, batch_size
        self.batches = -(-x.shape[0] // batch_size)
        sizes = [batch_size] * self.batches
        sizes[-1] = x.shape[0] - batch_size * (self.batches - 1)
        self.batch_sizes = torch.tensor(sizes, dtype=torch.float32, device=x.device)  # weights of the epoch mean
        self.schedule = schedule if schedule is not None and is_scheduled(schedule) else None
        self.total_steps = total_steps
        self.lrs: list[float] | None = None  #: this epoch's lr of every batch (None: the update's lr stays)
        self.done = 0  #: batches of this epoch trained so far
        self.checked = 0  #: batches of this epoch already looked at for a non-finite loss

    def start_epoch(self, order: torch.Tensor, first_step: int) -> None:
        self.x_all, self.y_all = self.x[order], self.y[order]
        self.batch_losses = torch.zeros(self.batches, device=self.x.device)
        self.hits = torch.zeros(self.batches, dtype=torch.int64, device=self.x.device)  # correct of each batch
        if self.update.stats is not None:
            self.update.stats.reset()
        self.lrs = (
            lr_table(self.schedule, self.total_steps, first_step, first_step + self.batches)
            if self.schedule is not None
            else None
        )
        self.checked = self.done = 0
        self.model.train()

    def train_batch(self, b: int) -> torch.Tensor:
        rows = slice(b * self.batch_size, (b + 1) * self.batch_size)
        x, y = self.x_all[rows], self.y_all[rows]
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        if self.lrs is not None:
            self.update.lr = self.lrs[b]
        self.update(loss)
        with torch.no_grad():  # two device writes per batch; sums only when an event needs them
            self.batch_losses[b] = loss
            self.hits[b] = (logits.argmax(1) == y).sum()
        self.loss, self.done = loss, b + 1
        return loss

    def bad_batches(self) -> list[int]:
        """Looks only at the batches not looked at yet: checked every batch, that is one scalar read."""
        if self.checked == self.done - 1:
            bad = None if math.isfinite(self.loss.item()) else self.checked
        else:
            bad = first_non_finite(self.batch_losses, self.checked, self.done)
        self.checked = self.done
        return [-1 if bad is None else bad]

    def epoch_state(self, model: int, batches: int, samples: int) -> EpochState:
        return EpochState(
            loss_sum=self.batch_losses[:batches] @ self.batch_sizes[:batches],
            correct=self.hits[:batches].sum(),
            batch_losses=self.batch_losses,
            batches=batches,
            samples=samples,
            stats=self.update.stats,
        )

    def copy_into(self, model: int, target: ConvNet) -> None:
        """Nothing to copy: a lone step trains the run's own model."""


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


_Step = TypeVar("_Step", bound="StackedStep")


class StackedStep:
    """One training step of the stacked model plus on-device bookkeeping, eager or as a CUDA graph.

    Per-epoch sums live in fixed device tensors (reset in place), so a captured
    graph keeps pointing at them: loss sums, correct counts, every batch loss, the
    first non-finite batch of each model, and the batch counter itself. The first
    non-finite loss of a model masks all its later updates (its "alive" flag), so the
    others go on while its run ends as ``diverged`` at that batch.

    On CUDA the whole step (forward, backward, the masked update, the metric sums) is
    captured once in a CUDA graph and replayed, because at batch 10 the loop is bound by
    kernel launches. If capture fails, the same step runs eagerly (as on the CPU, and for
    an epoch's short last batch).
    """

    def __init__(
        self,
        net: StackedNet,
        opt: StackedSGD,
        x_all: torch.Tensor,
        y_all: torch.Tensor,
        batch_size: int,
        batches: int,
        *,
        graphs: bool,
        diagnostics: bool = True,
        schedules: Sequence[RunConfig] = (),
        total_steps: int = 0,
        trace: bool = False,
    ) -> None:
        """``schedules``: the K runs' configs, whose lr schedules the step follows (none scheduled: no table);
        ``trace``: keep every measured step's ratios (the step trace, ``update_ratio_max``)."""
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
        self.schedules, self.total_steps = list(schedules), total_steps
        if any(is_scheduled(c) for c in self.schedules):
            self.lr_rows = torch.zeros(batches, k, device=dev)
        #: per-model update ratios and gradient norms, over the same steps a lone run measures (its config's
        #: ``sample_every``: 4 for the reference CNN, timed per network for another one)
        every = self.schedules[0].sample_every if self.schedules else SAMPLE_EVERY
        self.stats = (
            StepStats(dev, LayerGroups(net.names), k, every=every, rows=batches if trace else 0)
            if diagnostics
            else None
        )
        self.batch_size = batch_size
        self.use_graphs = graphs and dev.type == "cuda"
        self.graph: tuple[Any, torch.Tensor] | None = None  #: (captured step, its index input)
        self.warm = 0  #: eager warm-up steps taken so far

    @staticmethod
    def stacked_net(model: nn.Module, k: int) -> StackedNet:
        """K copies of ``model`` as this step stacks them (the reference CNN: grouped convolutions)."""
        return StackedNet(cast(ConvNet, model), k)

    @classmethod
    def of(
        cls: type[_Step],
        model: nn.Module,
        configs: Sequence[RunConfig],
        x: torch.Tensor,
        y: torch.Tensor,
        batches: int,
        total_steps: int,
        *,
        graphs: bool,
        diagnostics: bool = True,
        trace: bool = False,
    ) -> _Step:
        """The step of K runs (``configs``: equal but for lr, schedule and warmup) that all start from ``model``."""
        net = cls.stacked_net(model, len(configs))
        lrs = torch.tensor([c.lr for c in configs], dtype=torch.float32, device=x.device)
        return cls(
            net,
            StackedSGD(net.params, lrs, configs[0]),
            x,
            y,
            configs[0].batch_size,
            batches,
            graphs=graphs,
            diagnostics=diagnostics,
            schedules=configs,
            total_steps=total_steps,
            trace=trace,
        )

    def start_epoch(self, order: torch.Tensor, first_step: int) -> None:
        self.order = order
        self.new_epoch()
        if self.lr_rows is not None:  # one host-to-device copy per epoch, into the buffer the graph reads
            self.lr_rows.copy_(
                device_table(
                    self.schedules,
                    self.total_steps,
                    self.lr_rows.device,
                    first_step,
                    first_step + self.lr_rows.shape[0],
                )
            )

    def train_batch(self, b: int) -> torch.Tensor:
        self(self.order[b * self.batch_size : (b + 1) * self.batch_size])
        return self.last_loss

    def bad_batches(self) -> list[int]:
        return [int(b) for b in self.first_bad.tolist()]

    def epoch_state(self, model: int, batches: int, samples: int) -> EpochState:
        return EpochState(
            loss_sum=self.loss_sum[model],
            correct=self.correct[model],
            batch_losses=self.batch_losses[:, model],
            batches=batches,
            samples=samples,
            stats=self.stats,
            model_index=model,
        )

    def copy_into(self, model: int, target: ConvNet) -> None:
        self.net.copy_into(model, target)

    def update_of(self, model: int, target: ConvNet, config: RunConfig) -> SGDStep:
        """An SGDStep on ``target`` (model ``model``'s plain copy) reading that model's share of the momentum.

        It never steps: the probe asks it for the direction the stack's next update would take.
        """
        update = SGDStep(target.parameters(), config)
        update.buffers = [b[model] for b in self.opt.buffers] if self.opt.buffers else None
        return update

    def mask(self, model: int) -> None:
        """Stop updating one model (a run that ended early): its weights stay, the others' arithmetic is untouched."""
        self.alive[model] = False

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
            with (
                torch.cuda.device(dev),
                torch.cuda.graph(graph, stream=torch.cuda.Stream(device=dev), capture_error_mode="thread_local"),
            ):
                self._step(static_idx)
        except Exception:  # noqa: BLE001 — whatever CUDA refused, the eager step still works
            torch.cuda.set_stream(previous)  # a failed capture leaves its stream current
            with contextlib.suppress(Exception):
                torch.cuda.synchronize(dev)
            self.use_graphs = False
            return None
        return graph, static_idx
