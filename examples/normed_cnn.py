"""A small CNN with batch normalisation: ``lrtui run --model examples/normed_cnn.py:normed_cnn``.

Normalisation layers make the network far less sensitive to the learning rate than the
reference CNN: compare a sweep of both.
"""

from torch import nn


def normed_cnn() -> nn.Module:
    """conv-BN-ReLU-pool twice, then a linear classifier over the 32×7×7 features."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 10),
    )
