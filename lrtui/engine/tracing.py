"""A run's step trace as it trains: which steps it keeps, the dead-unit probe, the reads at log points.

What the trace holds and why is :mod:`lrtui.engine.step_trace`'s. How it is measured without
slowing training:

* the update ratios of every measured step are written on the device by the step itself
  (:class:`lrtui.engine.diagnostics.StepStats` ``rows``: one copy per measured step, no read);
* the dead-unit probe is one forward pass of :data:`~lrtui.engine.step_trace.PROBE_IMAGES` fixed
  validation images with the activations watched (:mod:`lrtui.engine.activations`), every
  :data:`~lrtui.engine.step_trace.DEAD_EVERY` steps of the first
  :data:`~lrtui.engine.step_trace.DEAD_STEPS`, then at log points (at most once per
  ``DEAD_EVERY`` steps within the dense window, once per stride after it); its result stays on
  the device;
* at a log point (and where a run stops mid-epoch) :meth:`Tracer.flush` picks the kept steps among
  those measured since the last flush and reads their ratios, losses and the pending probes: a
  few reads at a point that already reads the device, none per step.

:meth:`Tracer.log_point` then judges the run provisionally (:mod:`lrtui.engine.provisional`) from
the log points so far.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from lrtui.engine.activations import UnitsFired, watching
from lrtui.engine.config import RunConfig
from lrtui.engine.events import BatchLog, ProvisionalVerdict, TracePoints
from lrtui.engine.provisional import LogPoint, judge_provisional
from lrtui.engine.records import ProbeRecord
from lrtui.engine.step_trace import DEAD_EVERY, DEAD_STEPS, DENSE_STEPS, PROBE_IMAGES, StepTrace, TracePoint, stride
from lrtui.engine.steps import EpochState


class Tracer:
    """One run's step trace: the points kept so far, the log points, and what is pending on the device."""

    def __init__(self, run_id: str, probe_x: torch.Tensor, total_steps: int, every: int) -> None:
        """``probe_x``: the validation images (the first :data:`PROBE_IMAGES` are the fixed batch)."""
        self.run_id = run_id
        self.probe_x = probe_x[:PROBE_IMAGES]
        self.every = every
        self.stride = stride(total_steps, every)
        self.trace = StepTrace(dead_on=int(self.probe_x.shape[0]))
        self.points: list[LogPoint] = []
        self.next_sparse = DENSE_STEPS  #: the first step after the dense window that is kept next
        self.last_dead = -DENSE_STEPS  #: step of the last dead-unit probe
        #: (step, activations, their dead shares on the device) not read yet
        self.pending: list[tuple[int, tuple[str, ...], torch.Tensor]] = []
        self.flushed = 0  #: measured steps of this epoch already looked at
        self.epoch_first = 0  #: the epoch's first step
        self.loss_sum = 0.0  #: the epoch's loss sum and samples at the last log point
        self.samples = self.correct = 0

    def start_epoch(self, first_step: int) -> None:
        self.flushed, self.epoch_first = 0, first_step
        self.loss_sum, self.samples, self.correct = 0.0, 0, 0

    def dead_due(self, step: int, log_now: bool) -> bool:
        """Whether to probe the dead units after ``step`` (0-based): early every DEAD_EVERY, later at log points."""
        if step < DEAD_STEPS and step % DEAD_EVERY == 0:
            return True
        return log_now and step - self.last_dead >= (DEAD_EVERY if step < DENSE_STEPS else self.stride)

    @torch.no_grad()
    def probe_dead(self, model: nn.Module, step: int) -> None:
        """The share of each ReLU layer's channels/units that never fire on the fixed batch (stays on the device)."""
        units, training = UnitsFired(), model.training
        model.eval()  # as validation sees it: batch norm's running statistics stay the training's own
        with watching(model, units) as forward:
            forward(self.probe_x)
        model.train(training)
        if units.fired:
            self.pending.append((step, tuple(units.fired), units.dead()))
        self.last_dead = step

    def _kept(self, measured: int) -> list[tuple[int, int]]:
        """(row, step) of the measured steps since the last flush that the trace keeps."""
        kept = []
        for row in range(self.flushed, measured):
            step = self.epoch_first + row * self.every
            if step < DENSE_STEPS:
                kept.append((row, step))
            elif step >= self.next_sparse:
                kept.append((row, step))
                self.next_sparse = step + self.stride
        self.flushed = measured
        return kept

    def flush(self, state: EpochState) -> list[TracePoint]:
        """The new points since the last flush (read now from the device), added to :attr:`trace`."""
        stats = state.stats
        kept = self._kept(state.measured_steps()) if stats is not None and stats.rows is not None else []
        pending, self.pending = self.pending, []
        ratios: list[list[float]] = []
        if kept:
            assert stats is not None
            ratios = stats.ratios_at([row for row, _ in kept], state.model_index).tolist()
        shares = torch.cat([d for _, _, d in pending]).tolist() if pending else []
        dead: dict[int, dict[str, float]] = {}
        for step, names, _ in pending:
            dead[step] = dict(zip(names, shares[: len(names)]))
            shares = shares[len(names) :]
        steps = sorted({s for _, s in kept} | set(dead))
        if not steps:
            return []
        index = torch.tensor([s - self.epoch_first for s in steps], dtype=torch.long, device=state.batch_losses.device)
        losses = state.batch_losses[index].tolist()
        by_step: dict[int, Sequence[float]] = {s: r for (_, s), r in zip(kept, ratios)}
        layers = stats.groups.names if stats is not None else ()
        points = [
            TracePoint.of(s, loss, dict(zip(layers, by_step[s])) if s in by_step else None, dead.get(s))
            for s, loss in zip(steps, losses)
        ]
        self.trace.extend(points)
        return points

    def log_point(
        self,
        log: BatchLog,
        state: EpochState,
        *,
        probes: Sequence[ProbeRecord],
        config: RunConfig,
        n_train: int,
        n_val: int,
    ) -> tuple[TracePoints | None, ProvisionalVerdict]:
        """At a log point: the new trace points and the provisional verdict, for the run to emit."""
        points = self.flush(state)
        loss_sum = float(state.loss_sum.item())
        samples, correct = state.samples - self.samples, log.correct - self.correct
        step = self.epoch_first + log.batch
        since = self.points[-1].step if self.points else 0
        self.points.append(
            LogPoint(
                step,
                since,
                (loss_sum - self.loss_sum) / max(1, samples),
                correct / max(1, samples),
                log.update_ratio,
                log.update_ratio_max,
            )
        )
        self.loss_sum, self.samples, self.correct = loss_sum, state.samples, log.correct
        verdict = judge_provisional(self.points, self.trace, probes=probes, config=config, n_train=n_train, n_val=n_val)
        traced = TracePoints(self.run_id, tuple(points), self.trace.dead_on) if points else None
        return traced, ProvisionalVerdict(self.run_id, step, verdict)
