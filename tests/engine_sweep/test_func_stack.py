"""Sweeps for any network: K torch.func copies equal K runs one by one; what cannot stack trains one by one."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lrtui.engine import stack_choice
from lrtui.engine.config import RunConfig
from lrtui.engine.data import Splits
from lrtui.engine.diagnostics import SAMPLE_EVERY, StepStats, layer_groups
from lrtui.engine.events import BatchLog, EpochEnd, Event, ProbeResult, RunState, TracePoints
from lrtui.engine.func_stack import (
    NOTE_PREFIX,
    FuncStackedStep,
    plan_stack,
    stack_note,
    train_sweep,
)
from lrtui.engine.loop import run_batches
from lrtui.engine.machine import run_threads
from lrtui.engine.model import ConvNet, seeded_model
from lrtui.engine.run import Run
from lrtui.engine.steps import LoneStep, SGDStep
from lrtui.engine.sweep import run_many

BASE = RunConfig(device="cpu", batch_size=10, seed=3)
LRS = (0.3, 0.05, 1e-3)
CPU = torch.device("cpu")


def mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 32), nn.ReLU(), nn.Linear(32, 10))


class Residual(nn.Module):
    """A small conv net with a skip connection: conv, then ``h + conv(relu(conv(h)))``, pool, linear."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.block = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
        self.head = nn.Linear(4 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.stem(x))
        h = F.relu(h + self.block(h))
        return self.head(F.max_pool2d(h, 4).flatten(1))


class Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(28 * 28, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc(x.flatten(1))
        return h if h.sum() > 0 else -h  # data-dependent control flow


def batch_norm() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 28 * 28, 10)
    )


def dropout() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10))


def digits(n: int = 125) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 28, 28, generator=gen), torch.randint(0, 10, (n,), generator=gen)


@pytest.mark.parametrize("factory", [mlp, Residual], ids=["mlp", "residual"])
@pytest.mark.parametrize(
    "optimizer,momentum,weight_decay",
    [("sgd", 0.0, 0.0), ("sgd", 0.0, 0.01), ("sgd-momentum", 0.9, 0.0), ("nesterov", 0.9, 1e-3)],
)
def test_func_stack_equals_k_runs_one_by_one(factory, optimizer: str, momentum: float, weight_decay: float) -> None:
    """Same seed, same batches (13, the last one short): K copies end where K lone runs end, step for step."""
    config = replace(BASE, optimizer=optimizer, momentum=momentum, weight_decay=weight_decay)
    configs = [config.with_lr(lr) for lr in LRS]
    x, y = digits()
    batches = 13
    order = torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(1))
    stack = FuncStackedStep.of(seeded_model(factory, 3), configs, x, y, batches, batches, graphs=False, trace=True)
    assert not run_batches(stack, order, batches, 0, [], threading.Event())
    for k, cfg in enumerate(configs):
        model = seeded_model(factory, 3)
        stats = StepStats(CPU, layer_groups(model), every=SAMPLE_EVERY, rows=batches)
        lone = LoneStep(model, SGDStep(model.parameters(), cfg, stats), x, y, 10)
        run_batches(lone, order, batches, 0, [], threading.Event())
        copy = seeded_model(factory, 0)  # other weights, overwritten
        stack.copy_into(k, copy)
        for name, p in model.named_parameters():
            torch.testing.assert_close(copy.get_parameter(name), p, rtol=1e-5, atol=1e-6, msg=f"{k} {name}")
        torch.testing.assert_close(stack.batch_losses[:, k], lone.batch_losses, rtol=1e-5, atol=1e-6)
        a, b = lone.epoch_state(0, batches, 125), stack.epoch_state(k, batches, 125)
        assert int(a.correct) == int(b.correct)
        ours, theirs = b.update_ratio(), a.update_ratio()
        assert ours is not None and theirs is not None and list(ours) == list(theirs) == list(stats.groups.names)
        for layer, value in theirs.items():
            assert ours[layer] == pytest.approx(value, rel=1e-4), (k, layer)
        assert b.update_ratio_max() == pytest.approx(a.update_ratio_max(), rel=1e-4)
        assert b.grad_norm() == pytest.approx(a.grad_norm(), rel=1e-4)


def test_update_ratios_are_per_parameter_owning_module() -> None:
    x, y = digits(20)
    stack = FuncStackedStep.of(Residual(), [BASE.with_lr(0.1), BASE.with_lr(1e-3)], x, y, 2, 2, graphs=False)
    run_batches(stack, torch.arange(20), 2, 0, [], threading.Event())
    ratios = [stack.epoch_state(k, 2, 20).update_ratio() for k in (0, 1)]
    assert ratios[0] is not None and ratios[1] is not None
    assert list(ratios[0]) == ["stem", "block.0", "block.2", "head"]
    assert all(ratios[0][m] == pytest.approx(100 * ratios[1][m], rel=1e-3) for m in ratios[0])  # one step, lr x100


@pytest.mark.parametrize(
    "factory,words",
    [
        (batch_norm, "BatchNorm2d '1' updates its buffer 'running_mean'"),
        (dropout, "draws random numbers as it trains (Dropout '3')"),
        (Branchy, "branches on its data"),
    ],
    ids=["batchnorm", "dropout", "control-flow"],
)
def test_what_cannot_stack_says_why_in_one_line(factory, words: str) -> None:
    x, y = digits(10)
    model = factory()
    state = {name: t.clone() for name, t in model.state_dict().items()}
    rng = torch.random.get_rng_state()
    note = stack_note(model, x, y)
    assert note is not None and note.startswith(NOTE_PREFIX) and words in note and "\n" not in note, note
    plan = plan_stack(model, x, y)
    assert plan.kind == "one-by-one" and plan.note == note
    assert all(torch.equal(t, state[name]) for name, t in model.state_dict().items())  # the trial left it alone
    assert torch.equal(torch.random.get_rng_state(), rng)


class Broken(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(10, 10)  # takes 10 features, gets 784

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


def test_a_model_that_fails_on_a_trial_batch_is_not_stacked() -> None:
    note = stack_note(Broken(), *digits(10))
    assert note is not None and note.startswith(NOTE_PREFIX + "stacking failed on a trial batch (RuntimeError: ")
    assert "\n" not in note and len(note) < 250


def test_what_stacks_is_planned_so() -> None:
    x, y = digits(10)
    assert plan_stack(mlp(), x, y).kind == "func" and plan_stack(Residual(), x, y).note is None
    assert plan_stack(ConvNet(), x, y).kind == "grouped"  # the reference keeps its grouped-convolution stack
    frozen_bn = batch_norm().eval()  # running statistics only read: the trial trains it, and they change
    assert plan_stack(frozen_bn, x, y).kind == "one-by-one"


TINY = RunConfig(epochs=2, batch_size=10, train_limit=205, device="cpu", seed=3)  # 21 batches, the last one short
IDS = ["r1", "r2", "r3"]


def sweep(factory, stacked: bool) -> tuple[object, list[Event]]:
    events: list[Event] = []
    outcome = train_sweep(factory, [TINY.with_lr(lr) for lr in LRS], IDS, events.append, stacked=stacked)
    return outcome, events


def of(events: list[Event], kind: type, run_id: str) -> list:
    return [e for e in events if isinstance(e, kind) and e.run_id == run_id]


def test_a_sweep_of_any_model_trains_stacked_as_it_would_one_by_one() -> None:
    (stacked, bat), (alone, seq) = sweep(Residual, True), sweep(Residual, False)
    assert stacked.plan.kind == "func" and stacked.note is None and alone.plan.kind == "one-by-one"
    assert [e.status for e in stacked.ends] == [RunState.FINISHED] * 3
    for run_id in IDS:
        for a, b in zip(of(seq, EpochEnd, run_id), of(bat, EpochEnd, run_id), strict=True):
            assert b.train_loss == pytest.approx(a.train_loss, rel=1e-4)
            assert b.val_loss == pytest.approx(a.val_loss, rel=1e-4) and b.val_acc == a.val_acc
            assert b.batch_losses == pytest.approx(a.batch_losses, rel=1e-4)
        logs = list(zip(of(seq, BatchLog, run_id), of(bat, BatchLog, run_id), strict=True))
        assert logs and all(list(b.update_ratio) == ["stem", "block.0", "block.2", "head"] for _, b in logs)
        for a, b in logs:
            assert b.update_ratio == pytest.approx(a.update_ratio, rel=1e-3)
        for a, b in zip(of(seq, ProbeResult, run_id), of(bat, ProbeResult, run_id), strict=True):
            assert b.losses == pytest.approx(a.losses, rel=1e-3, abs=1e-3)
        # the step trace too: every measured step's ratios (a torch.func stack once kept none)
        traced = [[p for e in of(ev, TracePoints, run_id) for p in e.points] for ev in (seq, bat)]
        assert len(traced[0]) > 2 and [p.step for p in traced[0]] == [p.step for p in traced[1]]
        assert any(p.update_ratio for p in traced[0])
        for a, b in zip(*traced, strict=True):  # a point kept for its dead units alone has no ratios, either way
            assert b.update_ratio == (None if a.update_ratio is None else pytest.approx(a.update_ratio, rel=1e-3))
    assert [e.verdict.label for e in stacked.ends] == [e.verdict.label for e in alone.ends]


def test_a_sweep_that_cannot_stack_trains_one_by_one_and_says_so() -> None:
    outcome, events = sweep(batch_norm, True)
    assert outcome.plan.kind == "one-by-one" and outcome.note is not None
    assert outcome.note.startswith(NOTE_PREFIX) and "BatchNorm2d" in outcome.note
    assert [e.status for e in outcome.ends] == [RunState.FINISHED] * 3
    assert all(len(of(events, EpochEnd, run_id)) == 2 for run_id in IDS)


def test_run_many_takes_a_model_factory_and_passes_the_note_on() -> None:
    notes: list[str] = []
    events: list[Event] = []
    configs = [replace(TINY, epochs=1).with_lr(lr) for lr in (0.1, 0.01)]
    ends = run_many(configs, ["a", "b"], events.append, model_factory=dropout, note=notes.append, batched=True)
    assert [e.status for e in ends] == [RunState.FINISHED] * 2 and len(notes) == 1 and "Dropout" in notes[0]
    ends = run_many(configs, ["c", "d"], events.append, model_factory=mlp, note=notes.append, batched=True)
    assert [e.status for e in ends] == [RunState.FINISHED] * 2 and len(notes) == 1  # it stacked: nothing to say
    assert list(of(events, BatchLog, "c")[0].update_ratio) == ["1", "3"]  # the MLP's Linear layers


def test_auto_mode_times_the_models_own_stack_and_caches_it_under_the_model(tmp_path) -> None:
    path, config = tmp_path / "choice.json", replace(TINY, train_limit=100)
    with run_threads():
        stack_choice.stacked_is_faster(config, 2, CPU, path=path, factory=mlp)
        assert stack_choice.stacked_is_faster(config, 2, CPU, path=path, factory=batch_norm)  # its trial will say why
        reference_key = stack_choice.cache_key(CPU, 2, 10, torch.get_num_threads())
    (key,) = stack_choice.read_choices(path)  # the model that cannot stack left no entry
    assert key == reference_key + "|model Sequential 25450"
    assert stack_choice.model_label(ConvNet) == stack_choice.model_label(None) == ""  # the reference's keys stay


def test_the_cuda_calibration_times_a_lone_run_of_any_model_as_a_stack_of_one() -> None:
    """On CUDA a lone run trains as a stack of one (its graph); for a --model network that is torch.func's stack,
    not the reference CNN's grouped one (which cannot hold an MLP: the calibration then always failed and said
    "stacked" unmeasured). Built here for the CPU: the same fit, graphs off."""
    config = replace(TINY, epochs=1)
    gen = torch.Generator().manual_seed(0)
    x, y = torch.rand(40, 1, 28, 28, generator=gen), torch.randint(0, 10, (40,), generator=gen)
    run = Run(config, lambda event: None, threading.Event(), "lone", probes=False, model_factory=mlp, diagnostics=False)
    run.setup(Splits(x, y, x[:10], y[:10], x[:10], y[:10], None))
    fit = stack_choice.lone_fit(run, torch.device("cuda"))
    assert isinstance(fit.step, FuncStackedStep) and fit.step.net.k == 1
    fit.train_epoch(1)
    assert int(fit.step.counter) == 4 and bool(torch.isfinite(fit.step.batch_losses).all())
    assert not isinstance(stack_choice.lone_fit(run, CPU).step, FuncStackedStep)  # elsewhere: its own lone step


def test_a_factory_that_raises_ends_every_run_failed_in_one_line() -> None:
    def broken() -> nn.Module:
        raise ValueError("no such layer")

    outcome = train_sweep(broken, [TINY.with_lr(lr) for lr in LRS], IDS, lambda e: None)
    assert [e.status for e in outcome.ends] == [RunState.FAILED] * 3
    assert all(e.error == "ValueError: no such layer" for e in outcome.ends)
