"""Output files that cannot hurt: checked before training, written without replacing what they point at.

Rules (``--json``, ``--report DIR``, ``find-lr --json``, ``report --out``, ``export --out``):

* **Checked first.** :func:`check_writable` / :func:`check_writable_dir` run before any training:
  an empty path, a missing folder, a directory where a file is wanted, a block device, a socket or
  a permission problem is one :class:`OutputError` line (``--json: /x/y.json: folder does not exist``),
  not a traceback after an hour of training.
* **Regular files are replaced atomically** (temp file in the same folder, fsync, ``os.replace``):
  a reader sees the old or the new whole file, never half of one; an existing file keeps its mode.
* **Links are followed**: the link's target is replaced atomically and the link stays a link.
* **Devices, FIFOs and ``/dev/stdout`` are written in place**, never replaced by a regular file
  (as root, ``os.replace`` onto ``/dev/stdout`` would turn it into a file): a plain write without
  create or truncate. A FIFO is opened without blocking and waited for at most ``wait_s`` seconds
  ("no reader"), so a FIFO nobody reads never hangs the process. ``/dev/stdout``, ``/dev/fd/N``,
  ``/proc/self/fd/N`` are written to this process's own descriptor N (sharing the shell's offset
  when stdout is redirected to a file, so printed lines and the JSON follow each other); another
  process's ``/proc/<pid>/fd/N`` on a file is appended to.
* **Nothing lands in a session's store** (:func:`guard_outside_sessions`, the one place this rule is
  enforced; :func:`check_writable`, :func:`check_writable_dir` and :func:`guard_report_dir` run it first,
  so every caller checks before training or writing). An output is refused, whether it exists yet or
  not, when it would land

  - inside any session folder's ``runs/``, ``ids/`` or ``writers/`` (at any depth, a new sub-folder too),
  - on any session folder's ``session.json`` or ``.lock``,
  - directly in the sessions folder (``$LRTUI_HOME/sessions``), which holds session folders only: a new
    folder there would be listed as a broken session, a file there is no session at all.

  The run's own session is no exception. A *session folder* is a folder holding ``session.json``,
  ``.lock``, ``ids/``, ``writers/`` or a ``runs/`` with run files in it (not any ``runs/``: TensorBoard
  logs to one), or any folder directly in the sessions folder (even an empty one: it is listed as a
  session). Links are resolved first, and both the place the name sits and the file a write through
  it would replace are checked, so a link into another session's ``runs/`` is refused too.
  Allowed: a folder of its own, or a session folder's top level under any other name
  (``export --out SESSION`` writes ``SESSION/runs.csv`` and ``SESSION/epochs.csv``, which never
  collide with ``runs/``; ``--json SESSION/result.json``). The one session.json that may be replaced
  is the one a report vouches for (:func:`guard_report_dir`): the reported session's own
  (``lrtui report S``, the default, refreshes the snapshot of ``S`` with the same document) or an
  earlier report's copy.
* **Reports never overwrite another session** (:func:`guard_report_dir`): not even its top level.

Nothing here imports torch, textual or rich: the CLI checks outputs before it loads torch.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import select
import stat
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "OutputError",
    "check_writable",
    "check_writable_dir",
    "guard_outside_sessions",
    "guard_report_dir",
    "write_json_safely",
    "write_text_safely",
]

#: How long a FIFO may go without a reader, or a reader without reading, before the write gives up
#: (read at each write, so a test may shorten it).
WAIT_S = 10.0
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
#: A session's folders (see :mod:`lrtui.sessions.files`) no output may land in, at any depth.
SESSION_STORE = ("runs", "ids", "writers")
#: A session's own files at its top level, never replaced by an output.
SESSION_FILES = ("session.json", ".lock")
#: Whole session.json files up to this size are parsed to find ``created``; larger ones only have their head read.
_PARSE_LIMIT = 16 << 20


class OutputError(ValueError):
    """An output path that cannot (or must not) be written; the message is one line naming flag and path."""


Kind = Literal["file", "inplace", "device", "fifo", "append", "fd"]


@dataclass(frozen=True)
class _Target:
    """How to write one output path: ``where`` is the file actually opened (a link's target for files)."""

    kind: Kind
    where: str
    mode: int | None = None  #: permission bits to keep when a regular file is replaced
    fd: int | None = None  #: for kind "fd": the descriptor to write to


def _fail(flag: str, path: str, fault: str) -> OutputError:
    return OutputError(f"{flag}: {path}: {fault}" if flag else f"{path}: {fault}")


def _expand(path: str | os.PathLike[str], flag: str) -> str:
    text = os.fspath(path)
    if not text.strip():
        raise OutputError(f"{flag}: empty path" if flag else "empty output path")
    if "\0" in text:
        raise _fail(flag, text.replace("\0", "\\0"), "contains a NUL byte")
    return os.path.expanduser(text)


def check_writable(
    path: str | os.PathLike[str] | None, flag: str, *, sessions_root: str | os.PathLike[str] | None = None
) -> None:
    """Refuse an output file that cannot or must not be written, before any work (None: the flag was not given)."""
    if path is None:
        return
    text = _expand(path, flag)
    guard_outside_sessions(text, flag, sessions_root=sessions_root)
    _target(text, flag)


def check_writable_dir(
    path: str | os.PathLike[str] | None,
    flag: str,
    files: Iterable[str] = (),
    *,
    sessions_root: str | os.PathLike[str] | None = None,
    replaceable: str | None = None,
) -> None:
    """Refuse an output folder that cannot or must not be written (it may be missing: it is made, with its parents).

    ``files``: the names to be written inside it (``report.md`` ...); each must stay outside every session's
    store, and each one already there is checked too. ``replaceable``: see :func:`guard_outside_sessions`.
    """
    if path is None:
        return
    text = _expand(path, flag)
    guard_outside_sessions(text, flag, sessions_root=sessions_root)
    for name in files:
        guard_outside_sessions(os.path.join(text, name), flag, sessions_root=sessions_root, replaceable=replaceable)
    probe = os.path.abspath(text)
    while not os.path.lexists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)  # the nearest existing ancestor is where the folders get made
    try:
        st = os.stat(probe)
    except OSError as e:
        raise _fail(flag, text, _reason(e)) from None
    if not stat.S_ISDIR(st.st_mode):
        where = "" if probe == os.path.abspath(text) else f" ({probe} is not a folder)"
        raise _fail(flag, text, f"not a folder{where}")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise _fail(
            flag, text, "permission denied" if probe == os.path.abspath(text) else f"{probe}: permission denied"
        )
    if probe == os.path.abspath(text):
        for name in files:
            inside = os.path.join(text, name)
            if os.path.lexists(inside):
                _target(inside, flag)


def guard_outside_sessions(
    path: str | os.PathLike[str],
    flag: str,
    *,
    sessions_root: str | os.PathLike[str] | None = None,
    replaceable: str | os.PathLike[str] | None = None,
) -> None:
    """Refuse an output (a file, or a folder to write into) that would land in a session's store.

    The rule is the module's (see its docstring): never in any session folder's ``runs/``, ``ids/``,
    ``writers/``, never on its ``session.json`` or ``.lock``, never a new entry of ``sessions_root``;
    existing or not, links resolved. ``replaceable``: the one session.json the caller has found may be
    replaced (a report's own session, an earlier report's copy).
    """
    text = os.fspath(path)
    where = os.path.abspath(os.path.expanduser(text))
    # the place the name sits (its folder's links resolved) and the file a write through a link replaces
    places = dict.fromkeys(
        [os.path.join(os.path.realpath(os.path.dirname(where)), os.path.basename(where)), os.path.realpath(where)]
    )
    root = os.path.realpath(os.fspath(sessions_root)) if sessions_root is not None else None
    allowed = os.path.realpath(os.fspath(replaceable)) if replaceable is not None else None
    for place in places:
        fault = _store_fault(place, root, allowed)
        if fault:
            raise _fail(flag, text, fault)


def _store_fault(place: str, root: str | None, allowed: str | None) -> str | None:
    """Why ``place`` (an absolute path, links resolved) is inside a session's store, or None."""
    child = place
    while True:
        folder = os.path.dirname(child)
        if folder == child:
            return None
        name = os.path.basename(child)
        if root is not None and folder == root and not os.path.isdir(child):
            return f"is in the sessions folder {root}, which holds session folders only"
        if _is_session_folder(folder, root):
            if name in SESSION_STORE:
                return f"is inside the session folder {folder} (its {name}/ belongs to that session)"
            if child == place and name in SESSION_FILES and os.path.realpath(child) != allowed:
                return (
                    f"would replace the {'session file' if name == 'session.json' else 'lock file'} "
                    f"of the session folder {folder}"
                )
        child = folder


def _is_session_folder(folder: str, root: str | None) -> bool:
    """A folder holding a session's document or store, or any folder directly in the sessions folder."""
    return os.path.lexists(os.path.join(folder, "session.json")) or _store_marker(folder, root) is not None


def _store_marker(folder: str, root: str | None) -> str | None:
    """What makes ``folder`` a session's store (``it holds ids``), or None; a session.json alone is not asked.

    ``runs/`` counts only holding a run file (``r<N>.json``): a real session's ``runs/`` always comes with
    ``ids/`` anyway, and TensorBoard's default log folder is also called ``runs/``, so a project folder
    with one (``export --format tensorboard --out runs/lrtui``) is not taken for a session.
    """
    if root is not None and os.path.dirname(folder) == root and folder != root:
        return "it is in the sessions folder"
    for name in (".lock", "ids", "writers"):
        if os.path.lexists(os.path.join(folder, name)):
            return f"it holds {name}"
    try:
        with os.scandir(os.path.join(folder, "runs")) as entries:
            if any(_RUN_FILE.fullmatch(e.name) for e in entries):
                return "it holds runs"
    except OSError:
        pass
    return None


_RUN_FILE = re.compile(r"r[1-9][0-9]{0,8}\.json")


def _target(path: str, flag: str) -> _Target:
    """Decide how ``path`` will be written, refusing what cannot or must not be."""
    try:
        st = os.stat(path)  # follows links: what the write will meet
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise _fail(flag, path, _reason(e)) from None
    if st is None:  # a new file, or a dangling link (the file is created at its target)
        return _Target("file", _new_file(path, flag))
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise _fail(flag, path, "is a directory")
    if stat.S_ISBLK(mode):
        raise _fail(flag, path, "is a block device (refused: it would be overwritten)")
    fd, through_proc = _fd_link(path)
    if fd is not None:  # /dev/stdout, /dev/fd/N: this process's own descriptor (a file, a pipe, a socket...)
        return _Target("fd", path, fd=fd)
    if stat.S_ISSOCK(mode):
        raise _fail(flag, path, "is a socket, not a file")
    if not os.access(path, os.W_OK):
        raise _fail(flag, path, "permission denied")
    if stat.S_ISFIFO(mode):
        return _Target("fifo", path)
    if stat.S_ISCHR(mode):
        return _Target("device", path)
    if through_proc:  # another process's descriptor on a file: add to it, never replace or truncate it
        return _Target("append", path)
    real = os.path.realpath(path)
    folder = os.path.dirname(real)
    if not os.access(folder, os.W_OK | os.X_OK):  # a writable file in a read-only folder: written in place
        return _Target("inplace", real)
    return _Target("file", real, stat.S_IMODE(mode))


def _new_file(path: str, flag: str) -> str:
    """The file a new output will be created as (a dangling link's target); its folder must exist and be writable."""
    real = os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)
    folder = os.path.dirname(real)
    try:
        st = os.stat(folder)
    except FileNotFoundError:
        raise _fail(flag, path, "folder does not exist") from None
    except OSError as e:
        raise _fail(flag, path, _reason(e)) from None
    if not stat.S_ISDIR(st.st_mode):
        raise _fail(flag, path, f"{folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _fail(flag, path, "permission denied")
    return real


_FD_LINK = re.compile(r"^/(?:proc/(self|thread-self|\d+)|dev)/fd/(\d+)$")


def _fd_link(path: str) -> tuple[int | None, bool]:
    """(fd, through_proc): whether ``path``'s links pass through ``/proc/<pid>/fd/N`` or ``/dev/fd/N``.

    ``fd`` is N when it is one of this process's own descriptors (``/dev/stdout`` → 1): writing to it
    shares the shell's file offset, where a fresh ``open`` would start at 0 and be overwritten by the
    next ``print``. ``through_proc`` alone: another process's descriptor (appended to, never replaced).
    """
    current = os.path.abspath(path)
    for _ in range(40):
        found = _FD_LINK.match(current)
        if found:
            pid = found.group(1)
            own = pid is None or pid in ("self", "thread-self") or int(pid) == os.getpid()
            return (int(found.group(2)) if own else None), True
        if not os.path.islink(current):
            return None, False
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return None, False


def _reason(error: OSError) -> str:
    """An OSError as the short words a user knows (``permission denied``), without the errno noise."""
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if error.errno == errno.ENOTDIR:
        return "a part of the path is not a folder"
    if error.errno == errno.ENOENT:
        return "does not exist"
    return (error.strerror or type(error).__name__).lower()


def write_text_safely(
    path: str | os.PathLike[str], text: str, *, flag: str = "", wait_s: float | None = None, fsync: bool = True
) -> None:
    """Write ``text`` to ``path`` by the rules of this module; any failure is one :class:`OutputError` line.

    ``wait_s``: how long a FIFO may wait for its reader (default :data:`WAIT_S`).
    """
    shown = os.fspath(path)
    wait_s = WAIT_S if wait_s is None else wait_s
    target = _target(_expand(path, flag), flag)
    data = text.encode("utf-8")
    try:
        if target.kind == "file":
            _replace(target.where, data, target.mode, fsync)
        elif target.kind == "fd" and target.fd is not None:
            _flush_std(target.fd)
            _write_all(target.fd, data)
        elif target.kind == "fifo":
            _write_fifo(target.where, data, wait_s, flag, shown)
        else:
            flags = os.O_WRONLY | _CLOEXEC | getattr(os, "O_NOCTTY", 0)
            if target.kind == "append":
                flags |= os.O_APPEND
            elif target.kind == "inplace":
                flags |= os.O_TRUNC
            fd = os.open(target.where, flags)  # never O_CREAT: a device that vanished is not made a file
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
    except OutputError:
        raise
    except OSError as e:
        raise _fail(flag, shown, _reason(e)) from None


def write_json_safely(
    path: str | os.PathLike[str],
    document: Mapping[str, Any] | list[Any],
    *,
    flag: str = "",
    wait_s: float | None = None,
    fsync: bool = True,
) -> None:
    """Compact JSON (NaN/inf → null, like the session files) plus a newline, written by :func:`write_text_safely`."""
    text = json.dumps(json_safe(document), separators=(",", ":"), allow_nan=False) + "\n"
    write_text_safely(path, text, flag=flag, wait_s=wait_s, fsync=fsync)


def json_safe(value: Any) -> Any:
    """JSON has no NaN/inf: turn them into null anywhere in the document."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _replace(real: str, data: bytes, mode: int | None, fsync: bool) -> None:
    """Atomic: the folder holds the old or the new whole file at every instant."""
    folder, name = os.path.split(real)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode if mode is not None else 0o644)  # mkstemp makes 0600
        try:
            _write_all(fd, data)
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if fsync:  # the rename itself survives a power cut only once the folder is synced; best effort
        try:
            dir_fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass


def _write_fifo(path: str, data: bytes, wait_s: float, flag: str, shown: str) -> None:
    """Open without blocking (ENXIO = no reader yet: retry until ``wait_s``), then write with a stall limit."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | _CLOEXEC)
            break
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            if time.monotonic() >= deadline:
                raise _fail(
                    flag, shown, f"no reader (nothing opened the FIFO for reading within {wait_s:g} s)"
                ) from None
            time.sleep(0.05)
    try:
        view, done = memoryview(data), 0
        while done < len(data):
            try:
                done += os.write(fd, view[done:])
            except BlockingIOError:
                _, ready, _ = select.select([], [fd], [], wait_s)
                if not ready:
                    raise _fail(flag, shown, f"the reader stopped reading (nothing read for {wait_s:g} s)") from None
            except BrokenPipeError:
                raise _fail(flag, shown, "the reader went away") from None
    finally:
        os.close(fd)


def _flush_std(fd: int) -> None:
    """What Python has buffered for stdout/stderr goes out first, so the order on the screen is the order written."""
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.fileno() == fd:
                stream.flush()
        except (OSError, ValueError, AttributeError):
            pass


def _write_all(fd: int, data: bytes) -> None:
    view, done = memoryview(data), 0
    while done < len(data):
        done += os.write(fd, view[done:])


#: The files lrtui writes next to a report's session.json: a folder holding one of them is a report folder.
REPORT_NAMES = ("report.md", "report.html")


def guard_report_dir(
    out_dir: str | os.PathLike[str] | None,
    session_dir: str | os.PathLike[str],
    created: float | None,
    *,
    flag: str = "--out",
    sessions_root: str | os.PathLike[str] | None = None,
) -> str | None:
    """Refuse a report folder whose files would overwrite another session's data; return the session.json
    the report may replace there (None: none is there, or no folder was given).

    Allowed: the reported session's own folder (the default), a new or empty folder, and a folder of
    earlier reports (its session.json is a copy, of this session or another). Refused:

    * any place :func:`guard_outside_sessions` refuses (inside a session's ``runs/``, ``ids/``,
      ``writers/``, this session's too, existing or not; a new folder in ``sessions_root``);
    * another session's folder, even its top level: it holds ``ids/``, ``writers/``, ``.lock`` or run
      files, or it is a folder directly inside ``sessions_root`` (a stored session, even a schema-1 one
      with only its session.json);
    * a folder holding a ``session.json`` that is neither this session's (same ``created``, the
      reported session's ``Session.created``) nor next to a ``report.md``/``report.html``: a session
      document of unknown origin (a moved schema-1 session) is never written over. A session.json
      that is a FIFO, a device or unreadable counts as unknown (it is not read past a regular file).
    """
    if out_dir is None:
        return None
    text = _expand(out_dir, flag)
    guard_outside_sessions(text, flag, sessions_root=sessions_root)
    if not os.path.lexists(text):
        return None
    real, own = os.path.realpath(text), os.path.realpath(os.fspath(session_dir))
    document = os.path.join(real, "session.json")
    if real == own:
        return document
    root = os.path.realpath(os.fspath(sessions_root)) if sessions_root is not None else None
    marker = _store_marker(real, root)
    if marker:
        raise _fail(flag, text, f"is another session's folder ({marker}); write the report into a folder of its own")
    if not os.path.lexists(document):
        return None
    if os.path.islink(document) and os.path.dirname(os.path.realpath(document)) not in (real, own):
        raise _fail(flag, text, "its session.json links to another folder's (writing the report would follow it)")
    there = _created_of(document)
    if there is not None and created is not None and math.isclose(there, created, rel_tol=0, abs_tol=1e-6):
        return document  # an earlier export of this very session
    if there is not None and any(os.path.isfile(os.path.join(real, n)) for n in REPORT_NAMES):
        return document  # an earlier report folder: its session.json is a copy, as the new one will be
    raise _fail(
        flag,
        text,
        "holds a session.json that is not a report of this session (it would be overwritten); "
        "write the report into a folder of its own",
    )


def _created_of(path: str) -> float | None:
    """``created`` of a session document, read safely (regular files only, bounded reads); None when unknown."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):  # a FIFO would block, /dev/zero would never end
            return None
        with open(path, "rb") as f:
            head = f.read(_PARSE_LIMIT + 1)
    except OSError:
        return None
    if len(head) <= _PARSE_LIMIT:
        try:
            doc = json.loads(head)
        except (ValueError, RecursionError):
            return None
        value = doc.get("created") if isinstance(doc, dict) else None
    else:
        found = re.search(rb'"created"\s*:\s*(-?[0-9][0-9.eE+-]*)', head[: 1 << 20])
        value = found.group(1).decode() if found else None
    try:
        number = float(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None
