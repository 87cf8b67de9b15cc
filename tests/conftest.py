"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest

#: Datasets read by torchvision from IDX files (``idx_data_dir`` holds all three).
IDX_DATASETS = ("mnist", "fashion-mnist", "kmnist")


@pytest.fixture(scope="session")
def idx_data_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A ``data_dir`` holding the real 5k digits as uncompressed IDX files, in torchvision's layout.

    Use it with ``dataset="mnist"`` (or ``fashion-mnist`` / ``kmnist``: the same digits in
    those datasets' folders), so the torchvision path is tested offline on real images.
    """
    from lrtui.engine.data import export_mnist_5k

    root = tmp_path_factory.mktemp("idx")
    for dataset in IDX_DATASETS:
        export_mnist_5k(root, dataset)
    return str(root)
