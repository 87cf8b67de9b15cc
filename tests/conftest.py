"""Fixtures shared by every test folder.

One torch thread per test process: the suite runs on small machines, often with
pytest-xdist workers side by side, and at batch 10 two processes with two OpenMP
threads each on two cores were measured 10-30x slower than with one thread each.
Set before torch is imported; a CI that knows better can set OMP_NUM_THREADS itself.
"""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
# sessions of tests that do not set their own home never land in (or read from) the user's
os.environ["LRTUI_HOME"] = tempfile.mkdtemp(prefix="lrtui-test-home-")
# the decoded mnist-5k cache: shared by the xdist workers and the CLI subprocesses, never the user's own
os.environ.setdefault("LRTUI_CACHE", os.path.join(tempfile.gettempdir(), f"lrtui-test-cache-{os.getuid()}"))

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
