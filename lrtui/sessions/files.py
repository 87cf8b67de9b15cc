"""Where sessions live and how their files are written: the folder layout, atomic JSON, the folder lock.

A session is a folder ``<home>/sessions/<YYYYmmdd-HHMMSS>-<short id>/`` (``<home>`` is
``$LRTUI_HOME`` or ``platformdirs.user_data_dir("lrtui")``) holding:

``runs/<id>.json``
    one file per run, ``{"schema": 2, "writer": {host, pid, token, ...}, "run": <RunRecord.to_dict(compact=True)>}``
    (its step trace stored as columns),
    written ONLY by the process that trains the run, atomically (temp file in the same folder,
    fsync, ``os.replace``) at run start, every epoch end and run end: a ``kill -9`` at any instant
    loses at most the epoch in progress and every file always parses. This folder is the truth.
``ids/<id>``
    empty files that reserve run ids across processes: ``os.open(O_CREAT | O_EXCL)`` succeeds for
    exactly one process, so two windows adding runs at once get ``r4`` and ``r5``, never two ``r4``.
    They are never deleted, so a removed run's id is never given again.
``writers/<host>-<pid>-<token>.json``
    one per writing process, with a heartbeat (see :mod:`lrtui.sessions.writers`): a run saved
    ``running`` whose writer is dead (pid gone on this host) or stale (no heartbeat for 30 s from
    another host) is shown ``interrupted``; a live one is shown running, never marked by a reader.
``session.json``
    the schema-2 snapshot of the whole session (the document ``lrtui run --json`` writes), derived
    from the run files and rewritten atomically by whoever saves, under a ``flock`` on ``.lock`` so
    the last one written is built from the newest run files (see :mod:`lrtui.sessions.store`).

Nothing here imports torch, textual or rich.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lrtui.sessions.outputs import json_safe

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: snapshots are still atomic, only not serialized
    fcntl = None  # type: ignore[assignment]

SCHEMA = 2
FILENAME = "session.json"
RUNS, IDS, WRITERS, LOCK = "runs", "ids", "writers", ".lock"


def home() -> Path:
    """``$LRTUI_HOME`` or the platform's user data folder for lrtui."""
    env = os.environ.get("LRTUI_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("lrtui"))


def sessions_root() -> Path:
    return home() / "sessions"


def run_file(folder: Path, run_id: str) -> Path:
    """Where the run ``run_id`` of the session in ``folder`` is saved."""
    return folder / RUNS / f"{run_id}.json"


def write_json_atomic(path: Path, document: Mapping[str, Any], *, fsync: bool = True) -> None:
    """Write JSON so that ``path`` always holds either the old or the new whole file.

    ``fsync=False`` for files that only say "still alive" (heartbeats): losing one to a power cut is harmless.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # compact: json's C encoder (indent= falls back to the pure-Python one, 4x slower, on the UI thread)
    text = json.dumps(json_safe(document), separators=(",", ":"), allow_nan=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; a session is an ordinary user file
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def folder_lock(folder: Path, wait: float) -> Iterator[bool]:
    """Serialize snapshot rebuilds and orphan adoption between processes (and Session objects).

    Yields False when another holder kept the lock for ``wait`` seconds: a stuck process must not
    stop every writer of the session (the caller skips what needs the lock).
    """
    try:
        fd = os.open(folder / LOCK, os.O_CREAT | os.O_RDWR, 0o644)
    except OSError:
        yield True  # a read-only folder: nothing will be written anyway
        return
    try:
        yield _flock(fd, wait)
    finally:
        os.close(fd)


def _flock(fd: int, wait: float) -> bool:
    """Take an exclusive flock on ``fd`` within ``wait`` seconds (polling: flock itself has no timeout)."""
    if fcntl is None:
        return True
    deadline = time.monotonic() + wait
    pause = 0.002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.05)
        except OSError:
            return True  # a file system without locks: snapshots stay atomic, the newest may be a little behind
