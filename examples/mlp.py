"""A plain multilayer perceptron for the 28×28 digits: ``lrtui run --model examples/mlp.py:mlp``."""

from torch import nn


def mlp() -> nn.Module:
    """784 → 256 → 128 → 10 with ReLUs: no convolutions, no normalisation."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(28 * 28, 256),
        nn.ReLU(),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )
