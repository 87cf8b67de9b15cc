"""Your own data: three noisy clusters in 20 dimensions, no images.

``lrtui run --data examples/blobs.py:blobs --model examples/blobs.py:classifier``

A data factory returns ``(train_x, train_y, test_x, test_y)`` tensors (or two datasets of
``(input, label)`` items); labels are class numbers 0..C-1, and the model gives C scores.
lrtui seeds the generators before calling it, so the same data come out every time.
"""

import torch
from torch import nn

CLASSES, FEATURES = 3, 20


def blobs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """2,400 training and 600 test points around three random centres."""
    centres = torch.randn(CLASSES, FEATURES) * 2

    def sample(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, CLASSES, (n,))
        return centres[y] + torch.randn(n, FEATURES) * 2.5, y

    return (*sample(2400), *sample(600))


def blob_datasets() -> tuple[torch.utils.data.Dataset, torch.utils.data.Dataset]:
    """The same points as two datasets (read once through a DataLoader)."""
    train_x, train_y, test_x, test_y = blobs()
    return torch.utils.data.TensorDataset(train_x, train_y), torch.utils.data.TensorDataset(test_x, test_y)


def classifier() -> nn.Module:
    """A small MLP for the 20 features and 3 classes."""
    return nn.Sequential(nn.Linear(FEATURES, 64), nn.ReLU(), nn.Linear(64, CLASSES))
