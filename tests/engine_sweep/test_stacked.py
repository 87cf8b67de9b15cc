"""The stacked pieces against their plain counterparts: ConvNet's forward, torch.optim.SGD's update."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from lrtui.engine.config import RunConfig
from lrtui.engine.model import build_model
from lrtui.engine.stacked_model import StackedNet
from lrtui.engine.steps import StackedSGD, StackedStep, make_optimizer
from lrtui.engine.sweep import batchable, use_batched

BASE = RunConfig(device="cpu", train_limit=300)


def test_stacked_forward_is_k_convnets() -> None:
    models = [build_model(s) for s in (0, 1, 2)]
    net = StackedNet(models[0], 3)
    for i, m in enumerate(models):  # give every slot its own weights
        with torch.no_grad():
            for name, p in zip(net.names, net.params):
                p[i].copy_(m.get_parameter(name))
    x = torch.rand(7, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    out = net(x)
    assert out.shape == (3, 7, 10)
    with torch.no_grad():
        for i, m in enumerate(models):
            torch.testing.assert_close(out[i], m(x), rtol=1e-5, atol=1e-5)
    plain = build_model(9)
    net.copy_into(2, plain)
    for name, p in plain.named_parameters():
        assert torch.equal(p, models[2].get_parameter(name))


@pytest.mark.parametrize(
    "optimizer,momentum,weight_decay",
    [("sgd", 0.0, 0.0), ("sgd", 0.5, 0.01), ("sgd-momentum", 0.9, 0.0), ("nesterov", 0.9, 0.001)],
)
def test_stacked_sgd_is_torch_sgd_per_model(optimizer: str, momentum: float, weight_decay: float) -> None:
    config = replace(BASE, optimizer=optimizer, momentum=momentum, weight_decay=weight_decay)
    lrs = [0.3, 0.01, 1e-4]
    gen = torch.Generator().manual_seed(1)
    start = [torch.randn(4, 3, generator=gen), torch.randn(5, generator=gen)]
    stacked = [p.unsqueeze(0).repeat(3, *[1] * p.dim()) for p in start]
    opt = StackedSGD(stacked, torch.tensor(lrs), config)
    plain = [[p.clone().requires_grad_() for p in start] for _ in lrs]
    torch_opts = [make_optimizer(config.with_lr(lr), ps) for lr, ps in zip(lrs, plain)]
    alive = torch.ones(3, dtype=torch.bool)
    for _ in range(5):
        grads = [torch.randn(3, *p.shape, generator=gen) for p in start]
        opt.step(grads, alive)
        for k, (ps, o) in enumerate(zip(plain, torch_opts)):
            for p, g in zip(ps, grads):
                p.grad = g[k].clone()
            o.step()
    for k, ps in enumerate(plain):
        for p, s in zip(ps, stacked):
            torch.testing.assert_close(s[k], p.detach(), rtol=1e-6, atol=1e-7)


def test_a_masked_model_keeps_its_weights_and_the_others_move() -> None:
    params = [torch.ones(3, 2)]
    opt = StackedSGD(params, torch.tensor([0.1, 0.1, 0.1]), replace(BASE, optimizer="sgd-momentum", momentum=0.9))
    grad = torch.tensor([[1.0, 1.0], [float("nan"), float("inf")], [2.0, 2.0]])
    opt.step([grad], torch.tensor([True, False, True]))
    assert torch.equal(params[0][1], torch.ones(2))
    torch.testing.assert_close(params[0][0], torch.full((2,), 0.9))
    torch.testing.assert_close(params[0][2], torch.full((2,), 0.8))
    assert torch.isfinite(opt.buffers[0]).all()


def test_which_configs_batch() -> None:
    three = [BASE.with_lr(lr) for lr in (0.5, 0.01, 1e-4)]
    assert batchable(three)
    assert not batchable([replace(BASE, optimizer="adam").with_lr(lr) for lr in (0.1, 0.01)])
    assert not batchable([BASE, replace(BASE, lr=0.1, batch_size=20)])
    # schedules and warmups may differ too: the stack takes a per-model lr table
    assert batchable([replace(BASE, schedule="cosine"), replace(BASE, lr=0.1, schedule="onecycle", warmup=5), BASE])
    assert not batchable([replace(BASE, optimizer="adam", schedule="cosine"), replace(BASE, optimizer="adam")])
    faster, slower = (lambda c, k, d: True), (lambda c, k, d: False)  # what a calibration measured
    assert use_batched(three, None, "cuda:0", choice=faster) and use_batched(three, None, "cpu", choice=faster)
    assert not use_batched(three, None, "cpu", choice=slower) and not use_batched(three, None, "cuda:0", choice=slower)
    assert not use_batched(three, False, "cuda:0") and not use_batched(three, False, "cpu")
    assert use_batched([BASE], None, "cuda:0")  # one run on CUDA: the stack of one, for the CUDA graph
    assert not use_batched([BASE], None, "cpu") and use_batched([BASE], True, "cpu")
    assert not use_batched([replace(BASE, optimizer="adam")] * 2, True, "cuda:0")


def test_graph_path_is_skipped_cleanly_without_cuda() -> None:
    model = build_model(0)
    net = StackedNet(model, 2)
    x = torch.rand(40, 1, 28, 28)
    y = torch.randint(0, 10, (40,))
    step = StackedStep(net, StackedSGD(net.params, torch.tensor([0.1, 0.01]), BASE), x, y, 10, 4, graphs=True)
    assert not step.use_graphs
    for b in range(4):
        step(torch.arange(b * 10, b * 10 + 10))
    assert step.graph is None and int(step.counter) == 4
    assert torch.isfinite(step.batch_losses).all() and step.correct.shape == (2,)
