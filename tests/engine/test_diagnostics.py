"""Diagnostics on real short runs: update ratios, dead units, one-class answers, and that measuring
them changes nothing. One module-scoped fixture trains the lrs of the lesson on 500 digits (~15 s)."""

from __future__ import annotations

import json
import math
import statistics

import pytest
import torch
from engine_helpers import TINY, Recorder, run_tiny

from lrtui.engine.config import RunConfig
from lrtui.engine.diagnostics import LAYERS, RELU_LAYERS, LayerGroups, Observer, StepStats, ValStats
from lrtui.engine.events import BatchLog, EpochEnd, ProbeResult, RunEnd, RunState
from lrtui.engine.model import build_model
from lrtui.engine.records import Diagnostics
from lrtui.engine.trainer import train
from lrtui.sessions.record import RunRecord

SMALL = RunConfig(epochs=3, batch_size=10, train_limit=500, device="cpu", seed=0)
LRS = (0.5, 0.01, 1e-4)


@pytest.fixture(scope="module")
def runs() -> dict[float, tuple[RunEnd, Recorder]]:
    out = {}
    for lr in LRS:
        rec = Recorder()
        out[lr] = (train(SMALL.with_lr(lr), rec), rec)
    return out


def diags(rec: Recorder) -> list[Diagnostics]:
    return [e.diagnostics for e in rec.of(EpochEnd)]


def median_ratio(diag: Diagnostics) -> float:
    return statistics.median(v for v in diag.update_ratio.values() if v is not None)


def test_every_epoch_carries_the_documented_keys(runs) -> None:
    for _, rec in runs.values():
        for d in diags(rec):
            assert set(d.to_dict()) == {
                "update_ratio",
                "update_ratio_max",
                "grad_norm",
                "dead_fraction",
                "top_class_share",
                "pred_entropy",
            }
            assert d.update_ratio_max is not None and set(d.update_ratio) == set(d.update_ratio_max) == set(LAYERS)
            assert set(d.dead_fraction) == set(RELU_LAYERS)
            assert all(f is not None and 0.0 <= f <= 1.0 for f in d.dead_fraction.values())
            assert d.top_class_share is not None and 0.1 <= d.top_class_share <= 1.0  # at least a tenth in the top
            assert d.pred_entropy is not None and 0.0 <= d.pred_entropy <= math.log(10) + 1e-4


def test_lr_05_kills_relus_and_answers_one_class(runs) -> None:
    last = diags(runs[0.5][1])[-1]
    assert max(v or 0.0 for v in last.dead_fraction.values()) >= 0.6
    assert (last.top_class_share or 0.0) >= 0.9
    healthy = diags(runs[0.01][1])[-1]
    assert max(v or 0.0 for v in healthy.dead_fraction.values()) < 0.4


def test_lr_1e4_steps_are_about_100x_smaller_than_lr_001(runs) -> None:
    slow, good = diags(runs[1e-4][1])[0], diags(runs[0.01][1])[0]
    ratio = median_ratio(good) / median_ratio(slow)
    assert 50 < ratio < 200
    assert 1e-4 < median_ratio(good) < 1e-2  # the healthy band
    assert median_ratio(slow) < 2e-5
    assert (slow.grad_norm or 0) > 0 and (good.grad_norm or 0) > 0


def test_verdicts_name_the_mechanism(runs) -> None:
    dead, good, slow = (runs[lr][0].verdict for lr in LRS)
    assert dead is not None and dead.label == "not learning" and "dying ReLUs" in dead.reason
    assert "smaller" in dead.hint
    assert slow is not None and slow.label == "too slow" and "steps too small" in slow.reason
    assert "larger" in slow.hint
    # lr 0.01 on 500 digits is still near chance after 3 epochs, but its steps are healthy
    assert good is not None and good.label == "still learning" and "smaller" not in good.hint


def test_batch_logs_carry_the_running_update_ratio(runs) -> None:
    logs = runs[0.01][1].of(BatchLog)
    assert logs and all(log.update_ratio is not None and set(log.update_ratio) == set(LAYERS) for log in logs)
    assert all(v > 0 for log in logs for v in log.update_ratio.values())


def test_diagnostics_change_nothing_in_the_run() -> None:
    _, on = run_tiny()
    _, off = run_tiny(diagnostics=False)
    strip = [(e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.batch_losses) for e in on.of(EpochEnd)]
    assert strip == [(e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.batch_losses) for e in off.of(EpochEnd)]
    assert all(e.diagnostics is None for e in off.of(EpochEnd))
    assert all(log.update_ratio is None for log in off.of(BatchLog))


def test_an_observed_forward_is_the_model_forward_and_names_the_reference_layers() -> None:
    model = build_model(0).eval()
    x = torch.rand(7, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    observer, stats = Observer.for_model(model), ValStats(torch.device("cpu"))
    with torch.inference_mode(), observer.observing(stats) as forward:
        assert torch.equal(forward(x), model(x))
    assert observer.groups.names == LAYERS
    assert [(name, f.shape[0]) for name, f in stats.units.fired.items()] == [("conv1", 16), ("conv2", 32), ("fc1", 128)]
    assert not model._forward_hooks and not model.conv1._forward_pre_hooks  # hooks only inside the block


def test_any_optimizer_measures_the_update_it_applied() -> None:
    """Adam: the ratio comes from the weights before and after the step (no SGD formula)."""
    _, rec = run_tiny(optimizer="adam", lr=1e-3, epochs=1)
    d = rec.of(EpochEnd)[0].diagnostics
    assert d is not None and all(r is not None and 1e-5 < r < 1 for r in d.update_ratio.values())


def test_stats_from_a_delta_match_the_sgd_formula() -> None:
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(3, 2, generator=gen) + 1 for _ in range(8)]
    grads = [torch.randn(3, 2, generator=gen) for _ in range(8)]
    groups = LayerGroups([f"{layer}.{p}" for layer in LAYERS for p in ("weight", "bias")])
    a, b = StepStats(torch.device("cpu"), groups), StepStats(torch.device("cpu"), groups)
    a.add_sgd(params, grads, grads, 0.1)
    b.add_delta(params, torch._foreach_add(params, grads, alpha=-0.1), grads)
    torch.testing.assert_close(a.ratio_sum, b.ratio_sum)
    torch.testing.assert_close(a.grad_sum, b.grad_sum)


def test_the_record_keeps_diagnostics_and_probes_as_json() -> None:
    _, rec = run_tiny(epochs=1)
    record = RunRecord("r1", TINY)
    for event in rec.events:
        record.apply(event)
    assert record.status == RunState.FINISHED and record.status == "finished"
    diag = record.epochs[0].diagnostics
    assert diag is not None and (diag.update_ratio["fc1"] or 0) > 0
    assert [p.epoch for p in record.probes] == [0, 1] and len(rec.of(ProbeResult)) == 2
    back = RunRecord.from_dict(json.loads(json.dumps(record.to_dict(), allow_nan=False)))
    assert back.epochs == record.epochs and back.probes == record.probes and back.status is RunState.FINISHED
    old = record.to_dict()
    del old["probes"]
    for e in old["epochs"]:
        del e["diagnostics"]
    assert RunRecord.from_dict(old).probes == []  # sessions saved before these fields still load


def test_non_finite_diagnostics_are_stored_as_null() -> None:
    record = RunRecord("r1", TINY)
    record.apply(
        EpochEnd(
            "r1",
            1,
            2.3,
            0.1,
            2.3,
            0.1,
            1.0,
            diagnostics=Diagnostics(grad_norm=math.nan, update_ratio={"fc1": math.inf}),
        )
    )
    assert record.epochs[0].diagnostics == Diagnostics(grad_norm=None, update_ratio={"fc1": None})
    json.dumps(record.to_dict(), allow_nan=False)


def test_a_run_without_diagnostics_is_judged_on_its_curves() -> None:
    end, rec = run_tiny(diagnostics=False, probes=False, epochs=1)
    assert end.verdict is not None and end.status == "finished" and end.verdict.label != "too slow"
    assert not rec.of(ProbeResult)
