"""The CUDA graph path: only where CUDA is (``-m cuda`` on a GPU machine); skipped elsewhere."""

from __future__ import annotations

import pytest
import torch

from lrtui.engine.config import RunConfig
from lrtui.engine.events import EpochEnd, Event
from lrtui.engine.model import build_model
from lrtui.engine.stacked_model import StackedNet
from lrtui.engine.steps import GRAPH_WARMUP, StackedSGD, StackedStep
from lrtui.engine.sweep import run_many

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _step(graphs: bool) -> StackedStep:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(95, 1, 28, 28, generator=gen).cuda()
    y = torch.randint(0, 10, (95,), generator=gen).cuda()
    net = StackedNet(build_model(0, "cuda"), 3)
    config = RunConfig(optimizer="sgd-momentum", momentum=0.9)
    opt = StackedSGD(net.params, torch.tensor([0.1, 0.01, 100.0], device="cuda"), config)
    return StackedStep(net, opt, x, y, 10, 10, graphs=graphs)


def test_graph_replay_equals_the_eager_step() -> None:
    steps = {graphs: _step(graphs) for graphs in (True, False)}
    for step in steps.values():
        step.new_epoch()
        for b in range(10):  # 9 full batches, then a short one (eager in both)
            step(torch.arange(b * 10, min(95, b * 10 + 10), device="cuda"))
    torch.cuda.synchronize()
    graphed, eager = steps[True], steps[False]
    assert graphed.graph is not None and graphed.warm == GRAPH_WARMUP and eager.graph is None
    assert int(graphed.counter) == int(eager.counter) == 10
    assert torch.equal(graphed.alive, eager.alive) and torch.equal(graphed.first_bad, eager.first_bad)
    live = graphed.alive
    torch.testing.assert_close(graphed.batch_losses[:, live], eager.batch_losses[:, live], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(graphed.correct, eager.correct, rtol=0, atol=2)
    for p, q in zip(graphed.net.params, eager.net.params):
        torch.testing.assert_close(p[live], q[live], rtol=1e-4, atol=1e-5)
    # the diagnostics' sums are captured in the graph too, and agree with the eager ones
    assert graphed.stats is not None and eager.stats is not None
    torch.testing.assert_close(graphed.stats.ratio_sum[:, live], eager.stats.ratio_sum[:, live], rtol=1e-3, atol=1e-9)
    torch.testing.assert_close(graphed.stats.grad_sum[live], eager.stats.grad_sum[live], rtol=1e-3, atol=1e-6)
    assert bool((graphed.stats.ratio_sum[:, live] > 0).all())


@pytest.fixture
def no_tf32():
    """Full fp32 convolutions: grouped (stacked) and plain ones may pick different TF32 kernels."""
    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32 = before


def test_stacked_sweep_on_cuda_matches_sequential_runs(no_tf32) -> None:
    configs = [RunConfig(lr=lr, epochs=2, train_limit=500, device="cuda", seed=1) for lr in (0.3, 0.05, 0.01)]
    results = {}
    for batched in (False, True):
        events: list[Event] = []
        ends = run_many(configs, ["a", "b", "c"], events.append, batched=batched)
        assert [e.status for e in ends] == ["finished"] * 3
        results[batched] = {(e.run_id, e.epoch): e for e in events if isinstance(e, EpochEnd)}
    assert results[True].keys() == results[False].keys()
    for key, seq in results[False].items():
        stacked = results[True][key]
        assert stacked.val_acc == pytest.approx(seq.val_acc, abs=0.01), key  # cuDNN kernels differ in the last bits
        assert stacked.train_loss == pytest.approx(seq.train_loss, abs=1e-2), key


def test_a_single_run_on_cuda_takes_the_graph_path_and_learns(no_tf32) -> None:
    """Auto mode stacks even one CUDA run (for the graph); it must train like the plain trainer."""
    config = RunConfig(lr=0.05, epochs=2, train_limit=600, device="cuda", seed=3)
    seen = {}
    for batched in (None, False):
        events: list[Event] = []
        (end,) = run_many([config], ["r1"], events.append, batched=batched)
        assert end.status == "finished"
        seen[batched] = [e for e in events if isinstance(e, EpochEnd)]
    assert len(seen[None]) == len(seen[False]) == 2
    for graphed, plain in zip(seen[None], seen[False]):
        assert graphed.train_loss == pytest.approx(plain.train_loss, abs=1e-2)
        assert graphed.val_acc == pytest.approx(plain.val_acc, abs=0.02)
    assert seen[None][-1].val_acc > 0.5


def test_a_refused_capture_falls_back_to_eager_and_restores_the_stream(monkeypatch) -> None:
    step = _step(True)
    eager = _step(False)
    real = StackedStep._step

    def syncing_step(self, idx):  # .item() inside a capture: CUDA refuses it
        real(self, idx)
        if torch.cuda.is_current_stream_capturing():
            float(self.loss_sum.sum().item())

    monkeypatch.setattr(StackedStep, "_step", syncing_step)
    default = torch.cuda.current_stream()
    for s in (step, eager):
        s.new_epoch()
        for b in range(9):
            s(torch.arange(b * 10, b * 10 + 10, device="cuda"))
    torch.cuda.synchronize()
    assert step.graph is None and not step.use_graphs
    assert torch.cuda.current_stream() == default
    assert int(step.counter) == int(eager.counter) == 9
    torch.testing.assert_close(step.batch_losses[:9], eager.batch_losses[:9], rtol=1e-4, atol=1e-5)
