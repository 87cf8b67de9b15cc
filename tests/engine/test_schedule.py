"""LR schedules: every step's lr against the documented formula and against torch's own schedulers."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch

from lrtui.engine.config import SCHEDULES, RunConfig, parse_configs, total_steps
from lrtui.engine.schedule import device_table, is_scheduled, lr_at, lr_table, lr_trace, lr_trace_at

LR = 0.1
STEPS = (1, 2, 7, 10, 100, 320)


def config(schedule: str, warmup: int = 0, lr: float = LR) -> RunConfig:
    return RunConfig(lr=lr, schedule=schedule, warmup=warmup)


def torch_lrs(
    total: int, make: Callable[[torch.optim.Optimizer], torch.optim.lr_scheduler.LRScheduler], lr: float = LR
) -> list[float]:
    """The lr torch's scheduler gives each of ``total`` steps, read before each optimizer step."""
    param = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([param], lr=lr)
    scheduler = make(opt)
    values = []
    for _ in range(total):
        values.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return values


def test_constant_is_the_lr_at_every_step() -> None:
    assert lr_table(config("constant"), 50) == [LR] * 50


@pytest.mark.parametrize("total", STEPS)
def test_step_drops_tenfold_at_half_and_three_quarters(total: int) -> None:
    table = lr_table(config("step"), total)
    half, three_quarters = math.floor(total / 2), math.floor(3 * total / 4)
    for t, value in enumerate(table):
        expected = LR * (0.1 if t >= half else 1) * (0.1 if t >= three_quarters else 1)
        assert value == pytest.approx(expected, rel=1e-12)
    milestones = [half, three_quarters]  # MultiStepLR counts a repeated milestone twice, as we do
    reference = torch_lrs(total, lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones, gamma=0.1))
    if half == three_quarters == 0:  # torch's milestone 0 never fires (it counts from step 1)
        return
    assert table == pytest.approx(reference, rel=1e-12)


@pytest.mark.parametrize("total", STEPS)
def test_exp_decays_geometrically_to_a_hundredth(total: int) -> None:
    table = lr_table(config("exp"), total)
    assert table[0] == LR
    if total == 1:
        return
    assert table[-1] == pytest.approx(LR / 100, rel=1e-12)
    ratios = [b / a for a, b in zip(table, table[1:])]
    assert ratios == pytest.approx([0.01 ** (1 / (total - 1))] * (total - 1), rel=1e-12)
    gamma = 0.01 ** (1 / (total - 1))
    assert table == pytest.approx(
        torch_lrs(total, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma)), rel=1e-9
    )


@pytest.mark.parametrize("total", STEPS)
def test_cosine_follows_half_a_cosine_towards_zero(total: int) -> None:
    table = lr_table(config("cosine"), total)
    assert table == pytest.approx([LR * 0.5 * (1 + math.cos(math.pi * t / total)) for t in range(total)], rel=1e-12)
    assert table[0] == LR and all(b < a for a, b in zip(table, table[1:])) and table[-1] > 0
    reference = torch_lrs(total, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=total))
    assert table == pytest.approx(reference, rel=1e-6, abs=LR * 1e-12)


@pytest.mark.parametrize("total", STEPS)
@pytest.mark.parametrize("lr", [LR, 3e-4])
def test_onecycle_matches_torch_one_cycle_lr(total: int, lr: float) -> None:
    table = lr_table(config("onecycle", lr=lr), total)
    reference = torch_lrs(
        total,
        lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=lr, total_steps=total, cycle_momentum=False),
        lr=lr,
    )
    assert table == pytest.approx(reference, rel=1e-12)


def test_onecycle_starts_low_peaks_at_the_lr_and_ends_far_below() -> None:
    total = 1000  # 0.3 T - 1 = 299: the peak lands on a step
    table = lr_table(config("onecycle"), total)
    assert table[0] == pytest.approx(LR / 25)
    assert max(table) == pytest.approx(LR) and table.index(max(table)) == 299
    assert table[-1] == pytest.approx(LR / 25 / 1e4)
    rising, falling = table[:300], table[299:]
    assert all(b > a for a, b in zip(rising, rising[1:])) and all(b < a for a, b in zip(falling, falling[1:]))


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_warmup_ramps_linearly_up_to_the_schedule(schedule: str) -> None:
    total, warmup = 200, 40
    plain, warmed = lr_table(config(schedule), total), lr_table(config(schedule, warmup), total)
    for t in range(total):
        factor = (t + 1) / warmup if t < warmup else 1.0
        assert warmed[t] == pytest.approx(plain[t] * factor, rel=1e-12)
    assert warmed[0] == pytest.approx(plain[0] / warmup) and warmed[warmup - 1] == plain[warmup - 1]
    if schedule == "constant":  # a straight line from lr/W to lr
        steps = [b - a for a, b in zip(warmed[:warmup], warmed[1:warmup])]
        assert steps == pytest.approx([LR / warmup] * (warmup - 1))


def test_warmup_may_span_the_whole_run() -> None:
    table = lr_table(config("constant", warmup=10), 10)
    assert table == pytest.approx([LR * (t + 1) / 10 for t in range(10)])


def test_a_table_can_be_built_one_epoch_at_a_time() -> None:
    cfg, total = config("onecycle", warmup=7), 90
    full = lr_table(cfg, total)
    assert lr_table(cfg, total, 0, 30) + lr_table(cfg, total, 30, 60) + lr_table(cfg, total, 60) == full
    assert [lr_at(cfg, t, total) for t in range(total)] == full


def test_steps_outside_the_run_and_unknown_schedules_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the run"):
        lr_at(config("cosine"), 10, 10)
    with pytest.raises(ValueError, match="outside the run"):
        lr_at(config("cosine"), -1, 10)
    with pytest.raises(ValueError, match="total_steps must be >= 1"):
        lr_at(config("cosine"), 0, 0)
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        lr_at(config("linear"), 0, 10)


def test_the_trace_holds_first_last_and_every_logged_step() -> None:
    table = lr_table(config("cosine"), 100)
    trace = lr_trace(table, [24, 49, 49, 74, 99, 150, -1])
    assert [s for s, _ in trace] == [0, 24, 49, 74, 99]
    assert all(lr == table[s] for s, lr in trace)
    assert lr_trace(table[:30], [24, 49]) == [[0, table[0]], [24, table[24]], [29, table[29]]]  # a run cut short
    assert lr_trace([], [1]) == []


def test_the_trace_of_a_run_follows_its_log_points() -> None:
    """A parsed config's real step count (train_limit 200, batch 10: 20 batches/epoch) and its BatchLog steps."""
    [cfg] = parse_configs(
        {"schedule": "step", "warmup": "5", "train_limit": "200", "epochs": "2", "log_every": "5"}, devices=("cpu",)
    )
    total = total_steps(cfg)
    assert total == 40
    per_epoch = total // cfg.epochs
    logged = [(epoch - 1) * per_epoch + batch - 1 for epoch in (1, 2) for batch in range(5, 21, 5)]
    trace = lr_trace(lr_table(cfg, total), logged)
    assert trace[0] == [0, pytest.approx(LR / 10 / 5)]  # default lr 0.01, first of 5 warmup steps
    assert [s for s, _ in trace] == [0, 4, 9, 14, 19, 24, 29, 34, 39]
    assert [lr for _, lr in trace][1:] == pytest.approx([0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.0001, 0.0001])


def test_the_device_table_holds_every_config_in_a_column() -> None:
    configs = [config("cosine"), config("onecycle", warmup=3, lr=0.5), config("constant", lr=0.01)]
    total = 20
    table = device_table(configs, total, "cpu")
    assert table.shape == (total, 3) and table.dtype == torch.float32
    for k, cfg in enumerate(configs):
        assert table[:, k].tolist() == pytest.approx(lr_table(cfg, total), rel=1e-6)
    block = device_table(configs, total, "cpu", 5, 12)
    assert torch.equal(block, table[5:12])
    assert device_table(configs, total, "cpu", 20, 20).shape == (0, 3)


def test_total_steps_is_the_number_of_steps_a_real_run_takes() -> None:
    """The schedule's T must be the trainer's: 100 samples at batch 32 is 4 batches (the last short), 2 epochs."""
    from lrtui.engine.events import EpochEnd
    from lrtui.engine.trainer import train

    [cfg] = parse_configs({"train_limit": "100", "batch_size": "32", "epochs": "2", "device": "cpu"}, devices=("cpu",))
    events: list[object] = []
    end = train(cfg, events.append)
    assert end.status == "finished"
    steps = sum(len(e.batch_losses) for e in events if isinstance(e, EpochEnd))
    assert total_steps(cfg) == steps == 8


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_the_trace_at_the_end_of_a_run_equals_the_trace_of_its_table(schedule: str) -> None:
    cfg, total, logged = config(schedule, warmup=4), 60, [9, 19, 29, 39, 49, 59]
    assert lr_trace_at(cfg, total, logged) == lr_trace(lr_table(cfg, total), logged)
    assert lr_trace_at(cfg, total, logged, steps_done=25) == lr_trace(lr_table(cfg, total)[:25], logged)
    assert lr_trace_at(cfg, total, logged, steps_done=0) == []
    assert is_scheduled(cfg) and not is_scheduled(config("constant"))
