"""Data folders of any shape: every fault is one DataUnavailable line naming the file; .gz-only sets load.

The corpus is generated here: a small valid set is written, then one file is broken per case.
"""

from __future__ import annotations

import gzip
import os
import shutil
import struct
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets as tvd
from hypothesis import given, settings
from hypothesis import strategies as st

from lrtui.engine.data import IDX_FILES, DataUnavailable, load_raw, raw_folder
from lrtui.engine.idx import IdxError, read_idx, write_idx

TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = IDX_FILES
FULL_MNIST = Path("/work/shared/data")


def _valid_set(root: Path, n_train: int = 20, n_test: int = 6, compress: bool = False) -> Path:
    """A small valid MNIST folder under ``root`` (random pixels, every label a digit)."""
    rng = np.random.default_rng(0)
    folder = raw_folder("mnist", root)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    for name, n in ((TRAIN_IMAGES, n_train), (TEST_IMAGES, n_test)):
        write_idx(folder / f"{name}{suffix}", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), compress=compress)
    for name, n in ((TRAIN_LABELS, n_train), (TEST_LABELS, n_test)):
        write_idx(folder / f"{name}{suffix}", np.arange(n) % 10, compress=compress)
    return folder


def _header(type_code: int, dims: tuple[int, ...]) -> bytes:
    return struct.pack(">BBBB", 0, 0, type_code, len(dims)) + struct.pack(f">{len(dims)}I", *dims)


def _replace(name: str, blob: bytes) -> Callable[[Path], str]:
    def apply(folder: Path) -> str:
        (folder / name).write_bytes(blob)
        return name

    return apply


def _cut(name: str, keep: int) -> Callable[[Path], str]:
    def apply(folder: Path) -> str:
        path = folder / name
        path.write_bytes(path.read_bytes()[:keep])
        return name

    return apply


def _gz_only(name: str, blob: bytes, raw_gzip: bool = False) -> Callable[[Path], str]:
    """Replace ``name`` by ``name.gz`` holding ``blob`` (gzipped unless ``raw_gzip``: then as is)."""

    def apply(folder: Path) -> str:
        (folder / name).unlink()
        (folder / f"{name}.gz").write_bytes(blob if raw_gzip else gzip.compress(blob))
        return f"{name}.gz"

    return apply


def _other(name: str, make: Callable[[Path], None]) -> Callable[[Path], str]:
    def apply(folder: Path) -> str:
        (folder / name).unlink()
        make(folder / name)
        return name

    return apply


def _half(blob: bytes) -> bytes:
    return blob[: len(blob) // 2]


_IMAGES_OK = _header(0x08, (20, 28, 28)) + bytes(20 * 28 * 28)

#: case id → (how to break the valid set, a word the message must hold)
CORPUS: dict[str, tuple[Callable[[Path], str], str]] = {
    "bad magic": (_replace(TRAIN_IMAGES, b"\x12\x34\x08\x03" + _IMAGES_OK[4:]), "bad magic"),
    "text file": (_replace(TRAIN_IMAGES, b"hello, this is not an IDX file\n" * 100), "bad magic"),
    "float data": (_replace(TRAIN_IMAGES, _header(0x0D, (20, 28, 28)) + bytes(20 * 28 * 28 * 4)), "wrong data type"),
    "int labels": (_replace(TRAIN_LABELS, _header(0x0C, (20,)) + bytes(80)), "wrong data type"),
    "2-d images": (_replace(TRAIN_IMAGES, _header(0x08, (20, 784)) + bytes(20 * 784)), "dimensions"),
    "3-d labels": (_replace(TEST_LABELS, _header(0x08, (6, 28, 28)) + bytes(6 * 784)), "dimensions"),
    "32x32 images": (_replace(TEST_IMAGES, _header(0x08, (6, 32, 32)) + bytes(6 * 1024)), "expected 28×28"),
    "empty file": (_replace(TRAIN_LABELS, b""), "empty"),
    "cut magic": (_replace(TRAIN_LABELS, b"\x00\x00"), "truncated"),
    "cut sizes": (_replace(TRAIN_IMAGES, _IMAGES_OK[:9]), "truncated"),
    "cut data": (_cut(TRAIN_IMAGES, 16 + 784 * 3 + 5), "truncated"),
    "cut labels": (_cut(TEST_LABELS, 10), "truncated"),
    "trailing data": (_replace(TRAIN_IMAGES, _IMAGES_OK + b"\x00" * 7), "too long"),
    "huge header": (_replace(TRAIN_IMAGES, _header(0x08, (2**31, 28, 28))), "too large"),
    "count mismatch": (_replace(TRAIN_LABELS, _header(0x08, (4000,)) + bytes(4000)), "4,000 labels"),
    "label 12": (_replace(TEST_LABELS, _header(0x08, (6,)) + bytes([1, 2, 12, 3, 4, 5])), "outside 0-9"),
    "label 255": (_replace(TRAIN_LABELS, _header(0x08, (20,)) + bytes([255] * 20)), "outside 0-9"),
    "no test images": (
        lambda f: (_replace(TEST_IMAGES, _header(0x08, (0, 28, 28)))(f), _replace(TEST_LABELS, _header(0x08, (0,)))(f))[
            0
        ],
        "at least 1",
    ),
    "one train image": (
        lambda f: (
            _replace(TRAIN_IMAGES, _header(0x08, (1, 28, 28)) + bytes(784))(f),
            _replace(TRAIN_LABELS, _header(0x08, (1,)) + b"\x03")(f),
        )[0],
        "at least 2",
    ),
    "gz not gzip": (_gz_only(TRAIN_IMAGES, _IMAGES_OK, raw_gzip=True), "not a valid gzip"),
    "gz cut": (_gz_only(TRAIN_IMAGES, _half(gzip.compress(_IMAGES_OK)), raw_gzip=True), "truncated"),
    "gz bad crc": (_gz_only(TRAIN_IMAGES, gzip.compress(_IMAGES_OK)[:-8] + b"\xff" * 8, raw_gzip=True), "gzip"),
    "gz bad magic": (_gz_only(TRAIN_IMAGES, b"\x01\x02\x03\x04" + _IMAGES_OK[4:]), "bad magic"),
    "gz cut data": (_gz_only(TEST_IMAGES, _header(0x08, (6, 28, 28)) + bytes(100)), "truncated"),
    "gz trailing": (_gz_only(TRAIN_IMAGES, _IMAGES_OK + b"\x00"), "too long"),
    "gz bomb": (_gz_only(TRAIN_LABELS, _header(0x08, (2**30 - 1,)) + bytes(1 << 20)), "truncated"),
    "gz huge header": (_gz_only(TRAIN_LABELS, _header(0x08, (2**31,))), "too large"),
    "directory": (_other(TRAIN_IMAGES, lambda p: p.mkdir()), "not a regular file"),
    "fifo": (_other(TRAIN_IMAGES, lambda p: os.mkfifo(p)), "not a regular file"),
    "dangling link": (_other(TEST_IMAGES, lambda p: p.symlink_to(p.parent / "gone")), "cannot read"),
    "link to /dev/zero": (_other(TRAIN_IMAGES, lambda p: p.symlink_to("/dev/zero")), "not a regular file"),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_broken_data_folder_is_one_line_naming_the_file(tmp_path: Path, case: str) -> None:
    folder = _valid_set(tmp_path)
    breaker, word = CORPUS[case]
    name = breaker(folder)
    result: list[BaseException | None] = []

    def load() -> None:  # a thread: a FIFO that blocked the reader would fail the test, not hang it
        try:
            load_raw("mnist", str(tmp_path))
            result.append(None)
        except BaseException as e:  # noqa: BLE001 — the test inspects whatever came
            result.append(e)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(60)
    assert result, "loading hung"
    error = result[0]
    assert isinstance(error, DataUnavailable), f"{case}: {type(error).__name__}: {error}"
    message = str(error)
    assert str(folder / name) in message and word in message, message
    assert "\n" not in message and message.startswith("mnist: ")


def test_valid_small_set_loads(tmp_path: Path) -> None:
    _valid_set(tmp_path)
    raw = load_raw("mnist", str(tmp_path))
    assert raw.train_x.shape == (20, 28, 28) and raw.train_y.tolist() == [i % 10 for i in range(20)]
    assert raw.train_x.dtype == torch.uint8 and raw.train_y.dtype == torch.int64 and raw.test_x.shape[0] == 6


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_named(tmp_path: Path) -> None:
    folder = _valid_set(tmp_path)
    (folder / TRAIN_LABELS).chmod(0)
    with pytest.raises(DataUnavailable, match=f"{TRAIN_LABELS}: cannot read it \\(Permission denied\\)"):
        load_raw("mnist", str(tmp_path))


def test_gz_only_set_loads_the_same_arrays_as_uncompressed(idx_data_dir: str, tmp_path: Path) -> None:
    plain = load_raw("mnist", idx_data_dir)
    gz_folder = raw_folder("mnist", tmp_path)
    gz_folder.mkdir(parents=True)
    for name in IDX_FILES:
        (gz_folder / f"{name}.gz").write_bytes(gzip.compress((raw_folder("mnist", idx_data_dir) / name).read_bytes()))
    assert sorted(p.name for p in gz_folder.iterdir()) == sorted(f"{n}.gz" for n in IDX_FILES)
    packed = load_raw("mnist", str(tmp_path))
    for a, b in zip(plain.tensors(), packed.tensors(), strict=True):
        assert torch.equal(a, b) and a.dtype == b.dtype
    # a mix (two files compressed, two not) is read too, and nothing was written next to the .gz files
    mixed = tmp_path / "mixed"
    shutil.copytree(raw_folder("mnist", idx_data_dir), raw_folder("mnist", mixed))
    for name in IDX_FILES[::2]:
        path = raw_folder("mnist", mixed) / name
        path.with_name(f"{name}.gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    assert torch.equal(load_raw("mnist", str(mixed)).test_x, plain.test_x)
    assert len(list(gz_folder.iterdir())) == 4


def test_missing_data_dir_is_refused_and_not_created(tmp_path: Path) -> None:
    named = tmp_path / "typo" / "data"
    with pytest.raises(DataUnavailable) as info:
        load_raw("kmnist", str(named))
    message = str(info.value)
    assert f"data folder {named} does not exist" in message and "mnist-5k" in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_data_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(DataUnavailable, match="is not a folder"):
        load_raw("mnist", str(tmp_path / "file"))


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """torchvision's mirrors point at a closed local port: a real download that fails at once."""
    for cls in (tvd.MNIST, tvd.FashionMNIST, tvd.KMNIST):
        monkeypatch.setattr(cls, "mirrors", ["http://127.0.0.1:9/"])


@pytest.mark.usefixtures("offline")
def test_failed_download_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable) as info:
        load_raw("mnist", str(tmp_path))
    assert str(raw_folder("mnist", tmp_path)) in str(info.value) and "mnist-5k" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # the MNIST/raw folders made for the download are gone again


@pytest.mark.usefixtures("offline")
def test_default_data_folder_may_be_created_but_is_cleaned_after_a_failed_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # platformdirs' user data dir on Linux
    monkeypatch.delenv("LRTUI_DATA", raising=False)
    from lrtui.engine.config import default_data_dir

    default = default_data_dir()
    assert default.startswith(str(tmp_path))
    with pytest.raises(DataUnavailable, match="could not be downloaded"):
        load_raw("mnist", default)  # the download was tried (the folder may be made), then failed
    assert not (tmp_path / "xdg").exists()


@pytest.mark.usefixtures("offline")
def test_one_missing_file_names_the_folder(tmp_path: Path) -> None:
    folder = _valid_set(tmp_path)
    (folder / TEST_LABELS).unlink()
    with pytest.raises(DataUnavailable, match="could not be downloaded") as info:
        load_raw("mnist", str(tmp_path))
    assert str(folder) in str(info.value)
    assert sorted(p.name for p in folder.iterdir()) == sorted(IDX_FILES[:3])  # the other files untouched


def test_legacy_processed_files_still_load(tmp_path: Path) -> None:
    """torchvision < 0.8 kept ``processed/{training,test}.pt``; torchvision still reads them, so do we."""
    processed = tmp_path / "MNIST" / "processed"
    processed.mkdir(parents=True)
    x = torch.randint(0, 256, (12, 28, 28), dtype=torch.uint8)
    y = torch.arange(12) % 10
    torch.save((x, y), processed / "training.pt")
    torch.save((x[:4], y[:4]), processed / "test.pt")
    raw = load_raw("mnist", str(tmp_path))
    assert torch.equal(raw.train_x, x) and torch.equal(raw.test_y, y[:4])
    torch.save((x, torch.full((12,), 40)), processed / "training.pt")
    load_raw.cache_clear()
    with pytest.raises(DataUnavailable, match="outside 0-9"):
        load_raw("mnist", str(tmp_path))


@pytest.mark.skipif(not (FULL_MNIST / "MNIST" / "raw").is_dir(), reason="full MNIST is not at /work/shared/data")
def test_full_mnist_gives_exactly_torchvisions_tensors() -> None:
    raw = load_raw("mnist", str(FULL_MNIST))
    assert raw.train_x.shape == (60000, 28, 28) and raw.test_x.shape == (10000, 28, 28)
    for train, x, y in ((True, raw.train_x, raw.train_y), (False, raw.test_x, raw.test_y)):
        ds = tvd.MNIST(str(FULL_MNIST), train=train, download=False)  # the reader used before
        assert torch.equal(x, ds.data) and torch.equal(y, ds.targets)
        assert x.dtype == torch.uint8 and y.dtype == torch.int64 and x.is_contiguous()


_VALID_LABELS = _header(0x08, (12,)) + bytes(range(10)) + b"\x01\x02"


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=64),
        st.tuples(st.integers(0, len(_VALID_LABELS) - 1), st.integers(0, 255)).map(
            lambda m: _VALID_LABELS[: m[0]] + bytes([m[1]]) + _VALID_LABELS[m[0] + 1 :]
        ),  # one byte changed
        st.integers(0, len(_VALID_LABELS)).map(lambda n: _VALID_LABELS[:n]),  # cut anywhere
    ),
    st.booleans(),
)
def test_any_bytes_give_an_array_or_one_idx_error(blob: bytes, compressed: bool) -> None:
    """Fuzz: whatever a labels file holds (plain or gzipped, or a .gz that is not gzip), the reader returns
    a (N,) uint8 array matching the header or raises IdxError naming the file, nothing else."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("labels.gz" if compressed else "labels")
        path.write_bytes(gzip.compress(blob) if compressed and blob[:1] != b"\x1f" else blob)
        try:
            array = read_idx(path, (), "labels")
        except IdxError as e:
            assert str(e).startswith(f"{path}: ") and "\n" not in str(e)
        else:
            assert array.dtype == np.uint8 and array.shape == struct.unpack(">I", blob[4:8])


def test_a_bad_download_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mirror that answers with the wrong bytes (a captive portal, a proxy's error page): torchvision keeps
    the bad .gz; read later it would say "not a valid gzip file" instead of downloading again. It is removed."""
    import http.server

    class Garbage(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 — the http.server API
            body = b"<html>please log in</html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Garbage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(tvd.MNIST, "mirrors", [f"http://127.0.0.1:{server.server_port}/"])
        folder = _valid_set(tmp_path)
        (folder / TRAIN_LABELS).unlink()
        with pytest.raises(DataUnavailable, match="could not be downloaded"):
            load_raw("mnist", str(tmp_path))
    finally:
        server.shutdown()
    assert sorted(p.name for p in folder.iterdir()) == sorted([TRAIN_IMAGES, TEST_IMAGES, TEST_LABELS])
