"""A tiny residual network: ``lrtui run --model examples/resnet.py:tiny_resnet``.

No normalisation layers (``examples/normed_cnn.py`` has them), so what lets it learn in one epoch
at batch 10 is its initialisation and its head; each trick below says why.
"""

import torch
from torch import nn


def _he(conv: nn.Conv2d) -> nn.Conv2d:
    """He init keeps the signal's size through each ReLU (PyTorch's default shrinks it ~2.5× a layer)."""
    nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
    nn.init.zeros_(conv.bias)
    return conv


class Block(nn.Module):
    """Two 3×3 convolutions whose output is added to the input (the skip connection).

    With ``stride=2`` it halves the picture and a 1×1 convolution matches the skip to the new shape.
    """

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _he(nn.Conv2d(cin, cout, 3, stride=stride, padding=1))
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        # Zero the branch's last conv ("fixup"): each block starts as its skip, so the net starts shallow.
        # Its bias keeps PyTorch's small default so the layer's weights never all vanish (‖Δw‖/‖w‖ stays finite).
        nn.init.zeros_(self.conv2.weight)
        same = stride == 1 and cin == cout
        self.skip = nn.Identity() if same else _he(nn.Conv2d(cin, cout, 1, stride=stride))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.skip(x) + self.conv2(torch.relu(self.conv1(x))))


class TinyResNet(nn.Module):
    """A stem (28→14), a block at 14×14, a downsampling block (14→7, twice the channels), a linear classifier."""

    def __init__(self, channels: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(_he(nn.Conv2d(1, channels, 3, padding=1)), nn.ReLU(), nn.MaxPool2d(2))
        self.blocks = nn.Sequential(Block(channels, channels), Block(channels, 2 * channels, stride=2))
        # Flatten, not global average pooling: averaging a map washes out where a stroke is, and without
        # normalisation the pooled features barely differ between digits (chance after an epoch).
        self.head = nn.Linear(2 * channels * 7 * 7, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)).flatten(1))


def tiny_resnet() -> nn.Module:
    return TinyResNet()
