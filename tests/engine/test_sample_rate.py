"""How often a run measures its step: every 4th for the reference CNN and short runs, less often where the timing
at setup says a measured step costs the network more; the interval is recorded and followed by the trace."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from engine_helpers import Recorder
from torch import nn

import lrtui.engine.sample_rate as sample_rate
from lrtui.engine.config import RunConfig
from lrtui.engine.diagnostics import SAMPLE_EVERY, layer_groups
from lrtui.engine.events import EpochEnd, RunStarted, TracePoints
from lrtui.engine.model import build_model
from lrtui.engine.sample_rate import INTERVALS, MEASURED_SHARE, interval_for, sample_interval, step_times
from lrtui.engine.trainer import train

MLP = RunConfig(
    model=str(Path(__file__).resolve().parents[2] / "examples" / "mlp.py") + ":mlp",
    epochs=1,
    batch_size=10,
    train_limit=200,
    device="cpu",
)


def test_the_interval_is_the_smallest_whose_measured_steps_stay_within_the_share() -> None:
    assert interval_for(1.0, 1.0) == SAMPLE_EVERY == INTERVALS[0]  # measuring costs nothing: every 4th
    assert interval_for(1.0, 1 + 4 * MEASURED_SHARE * 0.99) == 4  # just within the share at 4
    assert interval_for(1.0, 1 + 4 * MEASURED_SHARE * 1.01) == 8
    assert interval_for(1.0, 1.2) == 16  # the deep MLP's measured step adds ~20%
    assert interval_for(1.0, 9.0) == INTERVALS[-1]  # never less often than the last
    assert interval_for(1.0, 0.5) == 4  # a faster measured step (noise) is no cost


def _batch_norm_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10)
    )


@pytest.mark.parametrize("optimizer", ["sgd", "sgd-momentum", "adam"])
def test_timing_changes_neither_the_network_nor_the_random_stream(optimizer: str) -> None:
    net = _batch_norm_net().eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = torch.rand(10, 1, 28, 28), torch.randint(0, 10, (10,))
    rng = torch.get_rng_state()
    plain, measured = step_times(net, RunConfig(optimizer=optimizer, lr=0.5), x, y, layer_groups(net), traced=True)
    assert 0 < plain <= measured
    assert torch.equal(torch.get_rng_state(), rng)
    assert not net.training  # its mode is back too
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and the running statistics


def test_the_reference_cnn_and_short_runs_keep_every_4th_without_timing(monkeypatch) -> None:
    def no_timing(*args: object, **kwargs: object) -> tuple[float, float]:
        raise AssertionError("timed")

    monkeypatch.setattr(sample_rate, "step_times", no_timing)
    x, y = torch.rand(10, 1, 28, 28), torch.randint(0, 10, (10,))
    assert sample_interval(build_model(0), RunConfig(), x, y, total_steps=10**6) == SAMPLE_EVERY
    assert sample_interval(_batch_norm_net(), MLP, x, y, total_steps=sample_rate.TIME_FROM_STEPS - 1) == SAMPLE_EVERY


def test_a_foreign_network_is_timed_once_per_process_for_its_setting(monkeypatch) -> None:
    calls: list[int] = []

    def timed(*args: object, **kwargs: object) -> tuple[float, float]:
        calls.append(1)
        return 1.0, 1.2

    monkeypatch.setattr(sample_rate, "step_times", timed)
    sample_rate.forget()
    x, y = torch.rand(10, 1, 28, 28), torch.randint(0, 10, (10,))
    net = _batch_norm_net()
    assert sample_interval(net, MLP, x, y, total_steps=10**4) == 16
    assert sample_interval(net, MLP.with_lr(0.5), x, y, total_steps=10**4) == 16  # another lr of the sweep
    assert len(calls) == 1
    sample_interval(net, RunConfig(model=MLP.model, batch_size=32), x, y, total_steps=10**4)
    assert len(calls) == 2  # another batch size is timed again
    sample_rate.forget()


def test_a_run_records_its_interval_and_measures_those_steps(monkeypatch) -> None:
    monkeypatch.setattr("lrtui.engine.run.sample_interval", lambda *args, **kwargs: 8)
    rec = Recorder()
    end = train(MLP, rec)
    assert end.status == "finished", end.error
    (started,) = rec.of(RunStarted)
    assert started.config.sample_every == 8
    measured = [p.step for ev in rec.of(TracePoints) for p in ev.points if p.update_ratio is not None]
    assert measured == list(range(0, 20, 8))  # 20 steps: 0, 8, 16
    (epoch,) = rec.of(EpochEnd)
    assert epoch.diagnostics is not None and all(v and v > 0 for v in epoch.diagnostics.update_ratio.values())


def test_a_reference_run_measures_every_4th_step() -> None:
    rec = Recorder()
    train(RunConfig(epochs=1, batch_size=10, train_limit=200, device="cpu"), rec)
    (started,) = rec.of(RunStarted)
    assert started.config.sample_every == SAMPLE_EVERY
    measured = [p.step for ev in rec.of(TracePoints) for p in ev.points if p.update_ratio is not None]
    assert measured == list(range(0, 20, SAMPLE_EVERY))
