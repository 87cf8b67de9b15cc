"""The reference CNN of the classic MNIST learning-rate experiment, exactly."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lrtui.engine.rng import seeded_draws


class ConvNet(nn.Module):
    """conv(1→16,3,pad 1)-ReLU-maxpool 2, conv(16→32,3,pad 1)-ReLU-maxpool 2, fc(1568→128)-ReLU, fc(128→10).

    Returns logits; the loss is cross-entropy on them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # relu(maxpool(x)) == maxpool(relu(x)) exactly, gradients included (relu is monotonic),
        # so pooling first is the reference function with a 4x smaller relu; in place, it
        # allocates nothing. Measured ~10% faster per step at batch 10 on the CPU.
        x = F.relu(self.pool(self.conv1(x)), inplace=True)
        x = F.relu(self.pool(self.conv2(x)), inplace=True)
        x = F.relu(self.fc1(x.flatten(1)), inplace=True)
        return self.fc2(x)


def build_model(seed: int, device: torch.device | str = "cpu") -> ConvNet:
    """A freshly initialised model: same seed → same weights, on any device.

    On the CPU the weights are stored channels-last: oneDNN then runs the convolutions
    and their backward in its NHWC kernels, measured ~20% faster at batch 10 (the
    inputs need no conversion). Same function, same init; last-bit float differences only.
    """
    with seeded_draws(seed):
        model = ConvNet()
    model = model.to(device)
    if torch.device(device).type == "cpu":
        model = model.to(memory_format=torch.channels_last)
    return model


def seeded_model(factory: Callable[[], nn.Module], seed: int, device: torch.device | str = "cpu") -> nn.Module:
    """``factory()`` under ``seed`` (the global RNG left as it was), on ``device``: same seed, same weights."""
    with seeded_draws(seed):
        model = factory()
    return model.to(device)
