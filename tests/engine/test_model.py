"""The reference CNN: its shape, its seeded init, and the channels-last layout being the same function."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lrtui.engine.model import ConvNet, build_model


def test_reference_architecture() -> None:
    model = build_model(0)
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes == {
        "conv1.weight": (16, 1, 3, 3),
        "conv1.bias": (16,),
        "conv2.weight": (32, 16, 3, 3),
        "conv2.bias": (32,),
        "fc1.weight": (128, 32 * 7 * 7),
        "fc1.bias": (128,),
        "fc2.weight": (10, 128),
        "fc2.bias": (10,),
    }
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_same_seed_same_weights_and_global_rng_untouched() -> None:
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b, c = build_model(5), build_model(5), build_model(6)
    assert torch.rand(1) == before  # building a model does not consume the caller's random stream
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.conv1.weight, c.conv1.weight)


def reference_forward(m: ConvNet, x: torch.Tensor) -> torch.Tensor:
    """The notebook's order: conv, relu, pool (the engine pools before its relu)."""
    x = F.max_pool2d(F.relu(m.conv1(x)), 2)
    x = F.max_pool2d(F.relu(m.conv2(x)), 2)
    return m.fc2(F.relu(m.fc1(x.reshape(-1, 32 * 7 * 7))))


def test_fast_model_is_the_reference_function_gradients_included() -> None:
    fast = build_model(0)
    plain = ConvNet()
    plain.load_state_dict(fast.state_dict())
    assert fast.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    x, y = torch.rand(10, 1, 28, 28), torch.arange(10)
    out_fast, out_ref = fast(x), reference_forward(plain, x)
    torch.testing.assert_close(out_fast, out_ref, rtol=1e-5, atol=1e-5)
    F.cross_entropy(out_fast, y).backward()
    F.cross_entropy(out_ref, y).backward()
    for (name, p), q in zip(fast.named_parameters(), plain.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=name)
