"""The step probe: its grid, its events, what it shows, and that it never changes the run."""

from __future__ import annotations

import math
import threading
from dataclasses import replace

import pytest
import torch
from engine_helpers import TINY, run_tiny

from lrtui.engine.events import EpochEnd, ProbeResult, RunEnd, RunStarted
from lrtui.engine.model import build_model
from lrtui.engine.probe import MAX_POINTS, SPAN_DECADES, WALL_LR, ProbeData, losses_along, mean_gradient, probe_grid
from lrtui.engine.trainer import Run


@pytest.mark.parametrize("lr", [1e-9, 1e-7, 1e-4, 0.01, 0.5, 10.0])
def test_the_grid_spans_two_decades_each_side_and_reaches_the_wall(lr: float) -> None:
    grid = probe_grid(lr)
    assert lr in grid and grid == sorted(grid) and len(grid) <= MAX_POINTS
    assert grid[0] <= lr / 10**SPAN_DECADES * (1 + 1e-9)
    assert grid[-1] >= lr * 10**SPAN_DECADES * (1 - 1e-9)
    if lr >= 1e-7:  # a grid of at most MAX_POINTS points reaches the wall from 1e-7 up
        assert grid[-1] >= WALL_LR * (1 - 1e-9)


def outcome(rec) -> list:
    """Everything a run reports, minus timings (which differ between any two runs) and the verdict
    (which reads the probes when there are some)."""
    epochs = [(e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.batch_losses, e.diagnostics)
              for e in rec.of(EpochEnd)]
    end: RunEnd = rec.of(RunEnd)[0]
    assert end.test is not None
    return [epochs, end.status, end.test.accuracy, end.test.loss, end.test.confusion_matrix, end.test.samples]


@pytest.mark.parametrize("changes", [{}, {"optimizer": "sgd-momentum", "momentum": 0.9, "weight_decay": 1e-3},
                                     {"optimizer": "adam", "lr": 1e-3}])
def test_a_run_with_probes_is_bit_equal_to_one_without(changes: dict) -> None:
    _, with_probes = run_tiny(**changes)
    _, without = run_tiny(probes=False, **changes)
    assert len(with_probes.of(ProbeResult)) == TINY.epochs + 1 and not without.of(ProbeResult)
    assert outcome(with_probes) == outcome(without)


def test_probe_events_come_at_the_start_and_after_each_epoch() -> None:
    _, rec = run_tiny()
    kinds = [type(e).__name__ for e in rec.events if isinstance(e, (RunStarted, EpochEnd, ProbeResult, RunEnd))]
    assert kinds == ["RunStarted", "ProbeResult", "EpochEnd", "ProbeResult", "EpochEnd", "ProbeResult", "RunEnd"]
    for i, probe in enumerate(rec.of(ProbeResult)):
        assert probe.epoch == i and probe.current_lr == TINY.lr and probe.run_id == "r1"
        assert len(probe.lrs) == len(probe.losses) == len(probe_grid(TINY.lr)) and TINY.lr in probe.lrs


def test_the_probe_shows_the_wall_from_the_initial_weights() -> None:
    """DESIGN.md: one step from the initial weights is flat up to ~0.3 and climbs past ~3."""
    _, rec = run_tiny(epochs=1)
    start = rec.of(ProbeResult)[0]
    losses = dict(zip(start.lrs, start.losses))
    tiny = min(start.lrs)
    assert math.isclose(losses[tiny], start.base_loss, abs_tol=1e-3)  # a tiny step changes nothing
    assert abs(start.base_loss - math.log(10)) < 0.05  # a fresh model is a near-uniform guess
    assert max(start.losses) > start.base_loss + 0.05  # the wall
    assert start.lrs[start.losses.index(max(start.losses))] > 1.0


def test_probing_leaves_the_weights_and_momentum_untouched() -> None:
    config = replace(TINY, lr=0.1, optimizer="sgd-momentum", momentum=0.9)
    run = Run(config, lambda e: None, threading.Event(), "r1")
    run.setup()
    assert run.model is not None
    for _ in range(2):  # make momentum buffers
        x, y = run.splits.train_x[:10], run.splits.train_y[:10]
        run.update(torch.nn.functional.cross_entropy(run.model(x), y))
    weights = [p.detach().clone() for p in run.model.parameters()]
    buffers = [b.clone() for b in run.update.buffers]
    run.probe(1)
    assert all(torch.equal(a, b) for a, b in zip(weights, run.model.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(buffers, run.update.buffers))


def test_losses_along_a_zero_step_are_the_base_loss() -> None:
    model = build_model(0)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(60, 1, 28, 28, generator=gen), torch.randint(0, 10, (60,), generator=gen)
    data = ProbeData.take(x, y, x, y)
    direction = mean_gradient(model, data)
    base, losses = losses_along(model, direction, [0.0, 1e-3, 1.0], data)
    assert losses[0] == pytest.approx(base, abs=1e-6)
    assert losses[1] < base  # a small step down the gradient lowers the loss on the same samples
