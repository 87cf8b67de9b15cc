"""The step probe: its grid, its events, what it shows, and that it never changes the run."""

from __future__ import annotations

import copy
import math
import threading
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from engine_helpers import TINY, run_tiny

from lrtui.engine.diagnostics import RELU_LAYERS
from lrtui.engine.events import EpochEnd, ProbeResult, RunEnd, RunStarted
from lrtui.engine.model import build_model
from lrtui.engine.probe import (
    ABOVE_DECADES,
    BELOW_DECADES,
    MAX_POINTS,
    MINIBATCHES,
    PROBE_SIZE,
    WALL_LR,
    ProbeData,
    minibatch_gradients,
    probe_grid,
    steps_along,
)
from lrtui.engine.probe_reading import largest_safe_step, read_probe
from lrtui.engine.run import Run


@pytest.mark.parametrize("lr", [1e-9, 1e-7, 1e-4, 0.01, 0.5, 10.0])
def test_the_grid_spans_a_decade_below_two_above_and_reaches_the_wall(lr: float) -> None:
    grid = probe_grid(lr)
    assert lr in grid and grid == sorted(grid) and len(grid) <= MAX_POINTS
    assert grid[0] <= lr / 10**BELOW_DECADES * (1 + 1e-9)
    assert grid[-1] >= lr * 10**ABOVE_DECADES * (1 - 1e-9)
    if lr >= 1e-6:  # a grid of at most MAX_POINTS points reaches the wall from 1e-6 up
        assert grid[-1] >= WALL_LR * (1 - 1e-9)


def outcome(rec) -> list:
    """Everything a run reports, minus timings (which differ between any two runs) and the verdict
    (which reads the probes when there are some)."""
    epochs = [
        (e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.batch_losses, e.diagnostics) for e in rec.of(EpochEnd)
    ]
    end: RunEnd = rec.of(RunEnd)[0]
    assert end.test is not None
    return [epochs, end.status, end.test.accuracy, end.test.loss, end.test.confusion_matrix, end.test.samples]


@pytest.mark.parametrize(
    "changes",
    [{}, {"optimizer": "sgd-momentum", "momentum": 0.9, "weight_decay": 1e-3}, {"optimizer": "adam", "lr": 1e-3}],
)
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
        assert len(probe.raised_fraction) == len(probe.dead_after) == len(probe.lrs)
        assert probe.minibatches == MINIBATCHES  # 300 samples hold 30 minibatches of 10
        assert all(set(d) == set(RELU_LAYERS) for d in probe.dead_after)
        assert probe.loss_before == probe.base_loss and probe.to_dict()["loss_before"] == probe.base_loss


@pytest.fixture(scope="module")
def digits_start() -> ProbeResult:
    """The probe from the initial weights of a real run on the 5k digits (batch 10, lr 0.01, one epoch)."""
    _, rec = run_tiny(train_limit=None, epochs=1)
    return rec.of(ProbeResult)[0]


def test_from_the_initial_weights_a_real_step_of_1_raises_the_loss_and_001_does_not(digits_start) -> None:
    """The lesson (measured in plain torch): one real minibatch step of η ≈ 1 from the initial weights raises
    the loss for most minibatches and kills fc1 units; η = 0.01 does neither."""
    p = digits_start
    at = {round(eta, 6): i for i, eta in enumerate(p.lrs)}
    one, small = at[1.0], at[0.01]
    assert p.epoch == 0 and p.minibatches == MINIBATCHES and abs(p.base_loss - math.log(10)) < 0.05
    assert p.raised_fraction[one] > 0.5 and p.losses[one] > p.base_loss
    assert p.raised_fraction[small] < 0.5 and p.losses[small] <= p.base_loss
    assert p.dead_after[one]["fc1"] > p.dead_after[small]["fc1"] + 0.1
    assert p.raised_fraction[-1] == 1.0  # the wall: every step of the largest size raised it
    safe = largest_safe_step(p)
    assert safe is not None and 0.01 <= safe < 0.5  # the old probe's "lowest loss at η=0.5" is no longer said
    sentence = read_probe(p)
    assert sentence.startswith("Before training, a step of 0.01 (the run's lr) raises the loss on ")
    assert f"the largest safe step measured here is {safe:.3g}." in sentence


def the_optimizers_step(run: Run, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """The weights after the run's optimizer really steps on (x, y), taken on deep copies."""
    model, update = copy.deepcopy((run.model, run.update))  # one copy: the update steps the copied weights
    assert model is not None and update.params[0] is next(model.parameters())
    update(F.cross_entropy(model(x), y))
    return [p.detach() for p in model.parameters()]


@pytest.mark.parametrize(
    "changes",
    [
        {"optimizer": "sgd-momentum", "momentum": 0.9, "weight_decay": 1e-3},
        {"optimizer": "adam", "lr": 1e-3},
        {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.01},
    ],
)
def test_a_probe_step_of_the_runs_lr_is_the_optimizers_own_step(changes: dict) -> None:
    """State included: after a few real steps (momentum buffers, Adam's moments), the probe's step of η = lr
    along a minibatch's update lands where the optimizer itself would."""
    config = replace(TINY, **changes)
    run = Run(config, lambda e: None, threading.Event(), "r1")
    run.setup()
    assert run.model is not None
    for i in range(3):
        x, y = run.splits.train_x[100 + 10 * i : 110 + 10 * i], run.splits.train_y[100 + 10 * i : 110 + 10 * i]
        run.update(F.cross_entropy(run.model(x), y))
    x, y = run.probe_data.batches[0]
    direction = run.update.direction(minibatch_gradients(run.model, run.probe_data)[0])
    probed = [p.detach() - config.lr * d for p, d in zip(run.model.parameters(), direction)]
    real = the_optimizers_step(run, x, y)
    for a, b in zip(probed, real):
        assert torch.allclose(a, b, rtol=0, atol=1e-6)


@pytest.mark.parametrize("changes", [{"optimizer": "sgd-momentum", "momentum": 0.9}, {"optimizer": "adam"}])
def test_probing_leaves_the_weights_and_the_optimizer_state_untouched(changes: dict) -> None:
    run = Run(replace(TINY, lr=0.01, **changes), lambda e: None, threading.Event(), "r1")
    run.setup()
    assert run.model is not None
    for _ in range(2):  # make momentum buffers / Adam's moments
        x, y = run.splits.train_x[:10], run.splits.train_y[:10]
        run.update(F.cross_entropy(run.model(x), y))
    weights = [p.detach().clone() for p in run.model.parameters()]
    grads = [None if p.grad is None else p.grad.clone() for p in run.model.parameters()]
    state = copy.deepcopy(run.update.buffers if hasattr(run.update, "buffers") else run.update.optimizer.state_dict())
    run.probe(1)
    assert all(torch.equal(a, b) for a, b in zip(weights, run.model.parameters()))
    after = run.update.buffers if hasattr(run.update, "buffers") else run.update.optimizer.state_dict()
    if isinstance(state, list):
        assert all(torch.equal(a, b) for a, b in zip(state, after))
    else:
        for key, values in state["state"].items():
            assert all(torch.equal(v, after["state"][key][k]) for k, v in values.items())
    for g, p in zip(grads, run.model.parameters()):  # the probe's gradients never reach .grad
        assert (g is None and p.grad is None) or torch.equal(g, p.grad)


def test_zero_steps_change_nothing_and_small_ones_lower_the_loss_on_their_own_samples() -> None:
    model = build_model(0)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(60, 1, 28, 28, generator=gen), torch.randint(0, 10, (60,), generator=gen)
    data = ProbeData(((x, y),), x, y)  # the step's minibatch is the evaluation set itself
    directions = minibatch_gradients(model, data)
    curves = steps_along(model, directions, [0.0, 1e-3], data)
    assert curves.losses[0] == pytest.approx(curves.loss_before, abs=1e-6) and curves.raised_fraction[0] == 0.0
    assert curves.losses[1] < curves.loss_before and curves.raised_fraction[1] == 0.0
    assert set(curves.dead_after[0]) == set(RELU_LAYERS)


def test_the_probe_data_are_the_runs_minibatches_and_the_first_validation_images() -> None:
    x, y = torch.arange(95.0).view(95, 1), torch.arange(95)
    data = ProbeData.take(x, y, x, y, batch_size=32)  # 2 whole minibatches fit
    assert [b[1].tolist() for b in data.batches] == [list(range(32)), list(range(32, 64))]
    assert data.y.tolist() == list(range(min(95, PROBE_SIZE)))
    assert len(ProbeData.take(x, y, x, y, batch_size=2).batches) == MINIBATCHES
    assert len(ProbeData.take(x, y, x, y, batch_size=95).batches) == 1
