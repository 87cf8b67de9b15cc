"""Your own data as datasets with random transforms: the embedded digits, shifted and turned a little.

``lrtui run --data examples/shifted_digits.py:shifted_digits``

A data factory may return ``(train_dataset, test_dataset)`` of ``(input, label)`` items instead
of tensors. lrtui reads the training dataset again at every epoch, so each epoch sees a new
draw of its transforms (seeded by the run's seed: the runs of a sweep see the same draws); the
validation images (taken from the training dataset) and the test dataset are read once.
"""

import torch
from torch.utils.data import Dataset
from torchvision.transforms import v2

from lrtui.engine.data import load_raw


class Digits(Dataset):
    """28×28 uint8 digits as float images in [0, 1] with a channel, through an optional transform."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: v2.Transform | None = None) -> None:
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = self.images[i].unsqueeze(0).float() / 255.0
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.labels[i])


def shifted_digits() -> tuple[Dataset, Dataset]:
    """The 5,000 embedded MNIST digits: training images shifted by up to 2 pixels and turned by up to 10°."""
    raw = load_raw("mnist-5k", "")
    jitter = v2.RandomAffine(degrees=10, translate=(2 / 28, 2 / 28))
    return Digits(raw.train_x, raw.train_y, jitter), Digits(raw.test_x, raw.test_y)
