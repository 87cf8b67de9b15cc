"""IDX files (the MNIST format) read with numpy: every fault is one line that names the file.

Why not torchvision's reader: it fails with bare ``AssertionError``/``KeyError`` lines that name
no file, it reads only uncompressed files, and it trusts the header's counts. This reader checks
what the header promises against what the file holds before decoding a byte, reads ``.gz``
files the same way (streamed, never more than the header announces, so a gzip bomb cannot eat
memory), and decodes with one copy into a writable buffer (as fast as torchvision's reader).

Layout: magic ``00 00 <type> <ndim>``, then ``ndim`` big-endian uint32 sizes, then the data
(type ``0x08`` = unsigned byte, the only one MNIST-style sets use).
"""

from __future__ import annotations

import gzip
import io
import os
import stat
import struct
import zlib
from pathlib import Path

import numpy as np

#: The IDX type code of unsigned bytes, and the names of the others (for the error line).
UBYTE = 0x08
_TYPES = {0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "short", 0x0C: "int", 0x0D: "float", 0x0E: "double"}
#: Larger than any MNIST-style file (full MNIST train images: 47 MB); a header claiming more is not one of them.
MAX_DATA_BYTES = 1 << 30


class IdxError(ValueError):
    """An IDX file that cannot be used; the message is ``<path>: <fault>`` on one line."""


def write_idx(path: str | os.PathLike[str], array: np.ndarray, *, compress: bool = False) -> None:
    """Write an unsigned-byte IDX file (``compress``: gzip it, as the files are distributed)."""
    data = np.ascontiguousarray(array, dtype=np.uint8)
    blob = struct.pack(">BBBB", 0, 0, UBYTE, data.ndim) + struct.pack(f">{data.ndim}I", *data.shape) + data.tobytes()
    Path(path).write_bytes(gzip.compress(blob, compresslevel=1, mtime=0) if compress else blob)


def read_idx(path: Path, shape_tail: tuple[int, ...], what: str) -> np.ndarray:
    """The uint8 array of an IDX file whose shape must be ``(N, *shape_tail)``; :class:`IdxError` otherwise.

    ``what`` names the items in messages ("images", "labels").
    """
    try:
        st = os.stat(path)  # follows links: the target is what gets read
    except OSError as e:
        raise IdxError(f"{path}: cannot read it ({e.strerror or type(e).__name__})") from None
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block, a device could be endless
        raise IdxError(f"{path}: not a regular file")
    compressed = path.name.endswith(".gz")
    try:
        with open(path, "rb") as raw:
            f: io.BufferedIOBase = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
            return _decode(path, f, st.st_size, compressed, shape_tail, what)
    except IdxError:
        raise
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        if compressed and not isinstance(e, PermissionError):
            fault = "truncated gzip data" if isinstance(e, EOFError) else f"not a valid gzip file ({_short(e)})"
            raise IdxError(f"{path}: {fault}") from None
        raise IdxError(f"{path}: cannot read it ({getattr(e, 'strerror', None) or _short(e)})") from None


def _decode(
    path: Path, f: io.BufferedIOBase, size: int, compressed: bool, shape_tail: tuple[int, ...], what: str
) -> np.ndarray:
    ndim = 1 + len(shape_tail)
    magic = _read(f, 4)
    if len(magic) < 4:
        raise IdxError(f"{path}: {'empty' if not magic else 'truncated'}: no IDX header")
    if magic[0] or magic[1] or magic[2] not in _TYPES:
        raise IdxError(f"{path}: bad magic number 0x{magic.hex().upper()} (not an IDX file)")
    if magic[2] != UBYTE:
        raise IdxError(
            f"{path}: wrong data type 0x{magic[2]:02X} ({_TYPES[magic[2]]}); expected 0x{UBYTE:02X} ({_TYPES[UBYTE]})"
        )
    if magic[3] != ndim:
        raise IdxError(f"{path}: has {magic[3]} dimension{'s' * (magic[3] != 1)}, expected {ndim} for {what}")
    head = _read(f, 4 * ndim)
    if len(head) < 4 * ndim:
        raise IdxError(f"{path}: truncated: the header's sizes are cut off")
    dims = struct.unpack(f">{ndim}I", head)
    if dims[1:] != shape_tail:
        want = "×".join(map(str, shape_tail))
        raise IdxError(f"{path}: {what} are {'×'.join(map(str, dims[1:]))}, expected {want}")
    expected = int(np.prod(dims, dtype=np.int64))
    if expected > MAX_DATA_BYTES:
        raise IdxError(f"{path}: header claims {dims[0]:,} {what} ({expected:,} bytes): too large")
    if not compressed:  # the size is known before reading: say exactly what is wrong
        have = size - 4 - 4 * ndim
        if have != expected:
            fault = "truncated" if have < expected else "too long"
            raise IdxError(
                f"{path}: {fault}: header says {dims[0]:,} {what} ({expected:,} bytes), "
                f"the file holds {have:,} bytes after the header"
            )
    buffer = _read_gz(f, expected) if compressed else bytearray(expected)
    got = len(buffer) if compressed else _read_into(f, buffer)
    if got < expected:
        raise IdxError(
            f"{path}: truncated: header says {dims[0]:,} {what} ({expected:,} bytes), the data holds {got:,}"
        )
    if compressed and f.read(1):
        raise IdxError(f"{path}: too long: more data than the header's {dims[0]:,} {what}")
    return np.frombuffer(buffer, dtype=np.uint8).reshape(dims)


def _read(f: io.BufferedIOBase, n: int) -> bytes:
    """Exactly ``n`` bytes, or fewer only at the end of the data."""
    out = b""
    while len(out) < n:
        chunk = f.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def _read_gz(f: io.BufferedIOBase, limit: int, chunk: int = 1 << 22) -> bytearray:
    """Up to ``limit`` bytes, grown as they come: a header that lies about its size costs no memory up front."""
    out = bytearray()
    while len(out) < limit:
        block = f.read(min(chunk, limit - len(out)))
        if not block:
            break
        out += block
    return out


def _read_into(f: io.BufferedIOBase, buffer: bytearray) -> int:
    """Fill ``buffer`` (one copy, no intermediate bytes object); returns how many bytes came."""
    view, got = memoryview(buffer), 0
    while got < len(buffer):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def _short(error: BaseException) -> str:
    return " ".join(str(error).split())[:100] or type(error).__name__
