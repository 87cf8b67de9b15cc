"""The reference CNN: its shape, its seeded init, and the channels-last layout being the same function."""

from __future__ import annotations

import torch

from lrtui.engine.model import ConvNet, build_model


def test_reference_architecture() -> None:
    model = build_model(0)
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes == {
        "conv1.weight": (16, 1, 3, 3), "conv1.bias": (16,),
        "conv2.weight": (32, 16, 3, 3), "conv2.bias": (32,),
        "fc1.weight": (128, 32 * 7 * 7), "fc1.bias": (128,),
        "fc2.weight": (10, 128), "fc2.bias": (10,),
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


def test_channels_last_model_computes_the_same_function() -> None:
    fast = build_model(0)
    plain = ConvNet()
    plain.load_state_dict(fast.state_dict())
    assert fast.conv2.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(10, 1, 28, 28)
    torch.testing.assert_close(fast(x), plain(x), rtol=1e-5, atol=1e-5)
