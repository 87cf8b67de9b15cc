"""Sessions: every run of one sitting, saved so that nothing is lost, shared by any number of processes.

A session is a folder ``<home>/sessions/<YYYYmmdd-HHMMSS>-<short id>/`` (``<home>`` is
``$LRTUI_HOME`` or ``platformdirs.user_data_dir("lrtui")``) holding:

``runs/<id>.json``
    one file per run, ``{"schema": 2, "writer": {host, pid, token, ...}, "run": <RunRecord.to_dict(compact=True)>}``,
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
    the last one written is built from the newest run files. Reports and other readers of one
    file keep working; a folder without ``runs/`` (schema 1, or an exported document) is read from
    this file alone, and its runs become run files (with no writer) the first time a process saves.
    A save waits for the lock at most :data:`LOCK_WAIT_S`: a lock held longer (a stuck process)
    costs that save its snapshot, never its run file, and is reported through ``save_error``.
    A run file that cannot be read (a link loop, no permission) keeps the run as last read (at
    open: the snapshot's copy), so that the next snapshot does not lose it; ``follow_error`` names it.

A folder is a session once it holds ``session.json`` or a run file: a first save that fails (a
full disk) removes the folder it made rather than leave an empty one behind, and listings skip
folders that are not sessions. :func:`newest_session` decides what ``last`` means for every
command: the newest session in the order :func:`list_sessions` lists them (by creation).

Why files per run rather than one file or an append-only log: each run has exactly one writer,
so no two processes ever write the same file and no merge or lock is needed on the hot path
(one atomic write per epoch); following another process is a ``stat`` of each run file
(:meth:`Session.poll`); a removed run is a deleted file.

Removing a run (:meth:`Session.remove`): this process's own runs (not while running), and runs
whose writer is gone (legacy runs, a crashed or closed process's runs); another live process's
run is refused with a one-line :class:`SessionError` — it can be removed in the window that
trains it. Everything read from disk is validated (:mod:`lrtui.sessions.schema`): a file of any
shape gives a one-line :class:`SessionError` or a clean load. Nothing here imports torch,
textual or rich.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from lrtui import __version__
from lrtui.engine.config import RunConfig
from lrtui.engine.events import EpochEnd, Event, ProbeResult, RunEnd, RunStarted, RunState
from lrtui.printable import printable
from lrtui.sessions import schema
from lrtui.sessions import writers as _writers
from lrtui.sessions.outputs import json_safe
from lrtui.sessions.record import RunBook, RunRecord, run_number
from lrtui.sessions.schema import SessionError
from lrtui.sessions.writers import (
    HEARTBEAT_EVERY_S,
    STALE_AFTER_S,
    WriterInfo,
    judge,
    proc_start,
    writer_file,
    writer_key,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: snapshots are still atomic, only not serialized
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "FILENAME", "HEARTBEAT_EVERY_S", "LOCK_WAIT_S", "SCHEMA", "STALE_AFTER_S", "Session", "SessionEntry",
    "SessionError", "WriterInfo", "environment", "home", "list_sessions", "load_session", "newest_session",
    "sessions_root", "write_json_atomic",
]

SCHEMA = 2
FILENAME = "session.json"
RUNS, IDS, WRITERS, LOCK = "runs", "ids", "writers", ".lock"
_SAVE_ON = (RunStarted, EpochEnd, ProbeResult, RunEnd)  #: a probe too: the epoch-0 one comes before any epoch
_MAX_RUN = 10**8  #: run numbers stay well inside what session_schema.RUN_ID accepts
#: How long a save waits for the folder lock; past it the run files are saved and the snapshot is skipped.
#: A rebuild holds it well under a second, and the app's thread may be waiting on this object meanwhile.
LOCK_WAIT_S = 2.0
#: How long the saves after such a skip wait: a stuck lock must not slow every epoch by LOCK_WAIT_S.
LOCK_RETRY_S = 0.2
#: Datasets shipped inside lrtui: their runs never read ``data_dir``.
_EMBEDDED = frozenset({"mnist-5k"})
#: Session folder names begin with their creation time (see :meth:`Session.create`).
_DATED = re.compile(r"[0-9]{8}-[0-9]{6}-")


def home() -> Path:
    """``$LRTUI_HOME`` or the platform's user data folder for lrtui."""
    env = os.environ.get("LRTUI_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("lrtui"))


def sessions_root() -> Path:
    return home() / "sessions"




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


def environment(device: str = "", device_name: str = "") -> dict[str, Any]:
    """Versions and device. Reads torch only if it is already imported: never imports it."""
    torch = sys.modules.get("torch")
    return {
        "lrtui": __version__,
        "python": sys.version.split()[0],
        "platform": sys.platform,
        "torch": getattr(torch, "__version__", None),
        "cuda": getattr(getattr(torch, "version", None), "cuda", None),
        "device": device,
        "device_name": device_name,
    }


@contextmanager
def _folder_lock(folder: Path, wait: float) -> Iterator[bool]:
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


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    """Changes with every atomic replace (new inode) and every write."""
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


def _fingerprint(r: RunRecord) -> tuple[Any, ...]:
    """Cheap "has this run changed since it was written" check for changes made outside ``observe``."""
    return (str(r.status), len(r.epochs), len(r.batch_losses), r.test is None, r.verdict is None, r.error,
            r.started_at, r.ended_at)


def _assign(target: RunRecord, source: RunRecord) -> None:
    """Update a record in place, so that references the UI holds stay valid."""
    for f in fields(RunRecord):
        setattr(target, f.name, getattr(source, f.name))



class SnapshotBehind(SessionError):
    """session.json could not be updated (its lock is held too long); the run files, the truth, are saved."""

class Session:
    """A RunBook plus where it lives, its environment and its times; saves itself as events arrive.

    Thread-safe within a process: the training thread calls :meth:`observe`, the UI thread reads
    :attr:`runs` and calls :meth:`add`, :meth:`poll`, :meth:`remove`; every method takes one lock.
    """

    def __init__(
        self,
        path: Path,
        book: RunBook | None = None,
        env: dict[str, Any] | None = None,
        created: float | None = None,
        updated: float | None = None,
    ) -> None:
        self.path = Path(path)
        self.book = book or RunBook()
        self.environment = env or environment()
        self.created = created if created is not None else time.time()
        self.updated = updated if updated is not None else self.created
        self._lock = threading.RLock()  # the app observes from its UI thread, the CLI from the training loop
        #: why the last save failed, or None: the runs stay in memory, the next save tries again,
        #: and the front ends tell the user (a full disk must not stop training)
        self.save_error: str | None = None
        #: the save_error is only that session.json could not be updated (a stuck lock): every run file is saved
        self.snapshot_behind = False
        #: the last problem met while following other processes (a bad run file): shown, never raised
        self.follow_error: str | None = None
        #: ids of runs other processes removed, found by the last :meth:`poll`
        self.poll_removed: list[str] = []
        self._token = secrets.token_hex(4)
        self._host = _writers.HOST  # read at creation: tests play another machine by setting it first
        self._key = writer_key(self._host, os.getpid(), self._token)
        self._started: float | None = None  #: when this object first registered as a writer
        self._proc_start = proc_start(os.getpid())
        self._own: set[str] = set()  #: ids this object reserved: only it writes their files
        self._pending: set[str] = set()  #: own ids not yet reserved on disk (the folder did not exist)
        self._owners: dict[str, str | None] = {}  #: writer key of each run read from a run file (None: orphan)
        self._disk_status: dict[str, str] = {}  #: status in the run file of each run read from one
        self._seen: dict[str, tuple[int, int, int, int]] = {}  #: signature of each run file read
        self._written: dict[str, tuple[Any, ...]] = {}  #: fingerprint of each own run as last written
        self._dirty: set[str] = set()
        self._changed: dict[str, None] = {}  #: ids changed by others since the last poll(), in order
        #: the newest state of other processes' runs, read by whichever thread saves or polls; the book
        #: itself changes only in poll() (the UI's thread), so a save on the training thread never
        #: reshapes the list the UI is drawing
        self._foreign: dict[str, RunRecord] = {}
        self._gone: set[str] = set()  #: runs whose files vanished, still to drop from the book
        self._flocked = False  #: this object holds the folder lock (a signal handler re-entering must not wait on it)
        self._lock_stuck = False  #: the last save could not get the folder lock: the next ones wait less
        #: run files that are there but cannot be read (a link loop, no permission): id → the one-line reason;
        #: their runs are kept as last read, never taken for removed
        self._unreadable: dict[str, str] = {}

    @contextmanager
    def _folder_locked(self) -> Iterator[bool]:
        """The folder's flock, re-entrant for this object (always called under ``self._lock``).

        Yields False when it could not be had in time (see :data:`LOCK_WAIT_S`).
        """
        if self._flocked:
            yield True
            return
        with _folder_lock(self.path, LOCK_RETRY_S if self._lock_stuck else LOCK_WAIT_S) as locked:
            self._lock_stuck = not locked
            self._flocked = locked
            try:
                yield locked
            finally:
                self._flocked = False

    @classmethod
    def create(cls, root: Path | None = None) -> Session:
        """A new, empty session. Its folder is made at the first save, so idle sessions leave nothing behind."""
        now = time.time()
        name = f"{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}-{secrets.token_hex(3)}"
        return cls((root or sessions_root()) / name, created=now)

    @property
    def file(self) -> Path:
        return self.path / FILENAME

    @property
    def runs(self) -> list[RunRecord]:
        return self.book.runs

    @property
    def writer_key(self) -> str:
        """This object's name in ``writers/`` and in the run files it writes."""
        return self._key

    def owns(self, run_id: str) -> bool:
        """True for the runs this object added (and so trains and writes)."""
        return run_id in self._own

    # -- adding and training runs ----------------------------------------------------------
    def add(self, config: RunConfig) -> RunRecord:
        """Queue a run under an id no other process can take (reserved in ``ids/``); not written until it starts."""
        with self._lock:
            run_id = self._reserve()
            self._own.add(run_id)
            return self.book.add(config, run_id)

    def dataset_notice(self, configs: Iterable[RunConfig]) -> str | None:
        """One line to show when runs on other data are about to join this session's runs (call it before
        :meth:`add`): their accuracies do not compare with the others'. None when the session holds no run
        yet or every new run trains on data its runs already use.

        The data of a run: its dataset, the folder it is read from (not for a set shipped with lrtui)
        and its training limit.
        """
        with self._lock:
            held = {_data_key(r.config): None for r in self.runs}
        new = {key: None for key in map(_data_key, configs) if key not in held}
        if not held or not new:
            return None
        line = (f"session {self.path.name} holds runs on {_data_label(held)}; the new runs use {_data_label(new)}: "
                "their accuracies do not compare")
        return printable(line, newlines=False)  # a folder name or a data_dir may hold control characters

    def _reserve(self) -> str:
        floor = max((run_number(r.id) for r in self.runs), default=0)
        floor = max(floor, max((run_number(i) for i in self._own), default=0))
        ids = self.path / IDS
        if not self.path.is_dir():
            run_id = f"r{floor + 1}"
            self._pending.add(run_id)  # nobody can know this folder yet: reserved when it is made
            return run_id
        try:
            ids.mkdir(exist_ok=True)
            taken = [run_number(n) for n in os.listdir(ids)]
            if (self.path / RUNS).is_dir():
                taken += [run_number(n.removesuffix(".json")) for n in os.listdir(self.path / RUNS)]
            n = max([floor, *(t for t in taken if t < _MAX_RUN)]) + 1  # a forged r999999999 cannot end the ids
            while True:
                try:
                    os.close(os.open(ids / f"r{n}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
                    return f"r{n}"
                except FileExistsError:
                    n += 1
        except OSError:
            run_id = f"r{floor + 1}"
            self._pending.add(run_id)  # read-only or full: try again at the next save
            return run_id

    def observe(self, event: Event) -> RunRecord | None:
        """Apply an engine event to this object's run; save at run start, epoch end, each step probe and run end."""
        with self._lock:
            record = self.book.get(event.run_id)
            if record is None or event.run_id not in self._own:
                return None  # another process's run: only its own process writes it
            record.apply(event)
            if isinstance(event, RunStarted) and not self.environment.get("device"):
                self.environment = environment(event.device, event.device_name)
            if isinstance(event, _SAVE_ON):
                self._dirty.add(record.id)
                self._save()
        return record

    def interrupt(self) -> list[RunRecord]:
        """Mark this object's running runs ``interrupted`` and save: the SIGHUP/SIGTERM path. Returns those runs."""
        with self._lock:
            hit = [r for r in self.runs if r.status == "running" and r.id in self._own]
            for r in hit:
                r.status = RunState.INTERRUPTED
            self._save()
        return hit

    def remove(self, run_id: str) -> None:
        """Delete a run from the session (its file too). Raises SessionError (one line) when it may not go:

        a run this object is training (cancel it first), or a run of another live process (remove it
        in that window). Runs whose writer is gone (closed, killed, legacy) may be removed by anyone.
        """
        with self._lock:
            record = self.book.get(run_id)
            if record is None:
                return
            if run_id in self._own:
                if record.status == "running":
                    raise SessionError(f"{run_id} is running: cancel it first")
            else:
                owner = self._owners.get(run_id)
                writer = self._writer(owner) if owner else None
                if writer is not None and writer.alive:
                    raise SessionError(f"{run_id} belongs to another lrtui ({writer.label}): remove it there")
            self.book.remove(run_id)
            self._pending.discard(run_id)
            if record.status == "queued" and run_id in self._own:
                return  # never written: nothing on disk to delete
            try:
                if self.path.is_dir():
                    with self._folder_locked():  # had or not: the file goes; the snapshot follows at the next save
                        (self.path / RUNS / f"{run_id}.json").unlink(missing_ok=True)
                        self._unreadable.pop(run_id, None)
                        self._seen.pop(run_id, None)
                        self._owners.pop(run_id, None)
                        self._disk_status.pop(run_id, None)
                        self._foreign.pop(run_id, None)
                        self._changed.pop(run_id, None)
            except OSError as e:
                self.save_error = f"cannot remove {run_id} from {self.path}: {e.strerror or e}"
                return
            self._save()

    # -- saving ------------------------------------------------------------------------------
    def save(self) -> None:
        with self._lock:
            self._save()

    def _save(self) -> None:
        self.updated = time.time()
        fresh = not self.path.is_dir()
        try:
            self._write_all()
        except OSError as e:
            self.save_error = f"cannot save the session to {self.file}: {e.strerror or e}"
            self.snapshot_behind = False
        except SessionError as e:
            self.save_error = str(e)
            self.snapshot_behind = isinstance(e, SnapshotBehind)
        else:
            self.save_error = None
            self.snapshot_behind = False
            return
        if fresh:
            self._unmake_folder()

    def _unmake_folder(self) -> None:
        """A first save that failed (a full disk) leaves no folder that looks like a session but holds none.

        Removes what that save made unless a run file or a snapshot got written; the ids it reserved
        are reserved again at the next save.
        """
        runs = self.path / RUNS
        try:
            if os.path.lexists(self.file) or (runs.is_dir() and any(not n.startswith(".") for n in os.listdir(runs))):
                return  # a session after all: its run files are the truth
        except OSError:
            return
        reserved = [i for i in self._own if i not in self._pending and os.path.lexists(self.path / IDS / i)]
        for run_id in reserved:
            with contextlib.suppress(OSError):
                (self.path / IDS / run_id).unlink()
                self._pending.add(run_id)
        with contextlib.suppress(OSError):
            writer_file(self.path, self._key).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            (self.path / LOCK).unlink(missing_ok=True)
        for folder in (self.path / IDS, self.path / WRITERS, runs, self.path):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: anything else put there stays

    def _write_all(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self._reserve_pending()
        if self._own:  # first: a reader must never find a running run whose writer file is not there yet
            self._write_writer(fsync=False)
        own = [r for r in self.runs if r.id in self._own and r.status != "queued"]
        for r in own:
            if r.id in self._dirty or self._written.get(r.id) != _fingerprint(r):
                self._write_run(r, self._writer_fields())
                self._written[r.id] = _fingerprint(r)
                self._dirty.discard(r.id)
        with self._folder_locked() as locked:
            if not locked:
                raise SnapshotBehind(f"{self.file} not updated: {self.path / LOCK} is held by another process for over "
                                   f"{LOCK_WAIT_S:g} s; the runs are saved in {self.path / RUNS}, the next save "
                                   f"tries again")
            self._refresh()
            self._adopt_orphans()
            write_json_atomic(self.file, {**self.to_dict(), "runs": self._snapshot_runs()})

    def _reserve_pending(self) -> None:
        if not self._pending:
            return
        ids = self.path / IDS
        ids.mkdir(exist_ok=True)
        for run_id in sorted(self._pending, key=run_number):
            try:
                os.close(os.open(ids / run_id, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                raise SessionError(f"{self.path}: run id {run_id} was taken by another process; "
                                   f"its run is kept in memory only") from None
            self._pending.discard(run_id)

    def _write_run(self, record: RunRecord, writer: dict[str, Any] | None) -> None:
        doc = {"schema": SCHEMA, "writer": writer, "run": record.to_dict(compact=True)}
        write_json_atomic(self.path / RUNS / f"{record.id}.json", doc)

    def _writer_fields(self) -> dict[str, Any]:
        if self._started is None:
            self._started = time.time()
        return {"host": self._host, "pid": os.getpid(), "token": self._token, "proc_start": self._proc_start,
                "started": self._started, "heartbeat": time.time()}

    def _write_writer(self, *, fsync: bool) -> None:
        doc = {**self._writer_fields(), "argv": " ".join(sys.argv)[:500], "runs": sorted(self._own, key=run_number)}
        write_json_atomic(writer_file(self.path, self._key), doc, fsync=fsync)

    def _adopt_orphans(self) -> None:
        """Runs held in memory with no file and no live owner (a schema-1 session's, a loaded export's):
        give them a run file with no writer, so that the run files stay the whole truth."""
        runs_dir = self.path / RUNS
        for r in list(self.runs):
            if (r.status == "queued" or r.id in self._own or r.id in self._seen or r.id in self._gone
                    or r.id in self._unreadable):
                continue  # an unreadable file is not replaced with an older copy: its writer may still own it
            if not schema.RUN_ID.fullmatch(r.id):
                continue
            file = runs_dir / f"{r.id}.json"
            reserved = self.path / IDS / r.id
            if not file.exists():
                if reserved.exists():  # it had a file once, and a process removed it since
                    self._gone.add(r.id)
                    continue
                self._write_run(r, None)
            reserved.parent.mkdir(exist_ok=True)
            os.close(os.open(reserved, os.O_CREAT | os.O_WRONLY, 0o644))
            self._seen[r.id] = _signature(file.stat())
            self._owners[r.id] = None
            self._disk_status[r.id] = str(r.status)

    def heartbeat(self) -> None:
        """Say "still alive" (the runner calls this every :data:`HEARTBEAT_EVERY_S` s); no-op before the first save."""
        with self._lock:
            if self._started is None or not self.path.is_dir():
                return
            try:
                self._write_writer(fsync=False)
            except OSError:
                pass  # the next save reports the problem

    def close(self) -> None:
        """Save what is unsaved and take this object off the session's writers (its runs are done)."""
        with self._lock:
            if self._own and (self.path.is_dir() or self.save_error is not None):  # a failed first save: once more
                self._save()
            if self._started is not None:
                writer_file(self.path, self._key).unlink(missing_ok=True)
                self._started = None

    # -- following other processes -------------------------------------------------------
    def poll(self) -> list[RunRecord]:
        """Runs that other processes added or changed since the last poll (merged into :attr:`runs`).

        Cheap: one ``stat`` per run file; only changed files are read. A running run whose writer
        died since is returned too, now ``interrupted``. Runs another process removed are dropped
        from :attr:`runs`; their ids are in :attr:`poll_removed`. Never raises: a bad file is skipped
        and named in :attr:`follow_error`.
        """
        with self._lock:
            try:
                self._refresh()
            except OSError as e:
                self.follow_error = f"cannot follow {self.path}: {e.strerror or e}"
            return self._apply()

    def _apply(self) -> list[RunRecord]:
        """Bring what :meth:`_refresh` found into the book (on the thread that polls)."""
        self.poll_removed = [i for i in sorted(self._gone, key=run_number) if self.book.get(i) is not None]
        for run_id in self.poll_removed:
            self.book.remove(run_id)
        self._gone.clear()
        changed = []
        for run_id in self._changed:
            source = self._foreign.get(run_id)
            if source is None:
                continue
            record = self.book.get(run_id)
            if record is None:
                record = copy.copy(source)
                at = next((i for i, r in enumerate(self.runs) if run_number(r.id) > run_number(run_id)),
                          len(self.runs))
                self.runs.insert(at, record)
            else:
                _assign(record, source)
            changed.append(record)
        self._changed.clear()
        return changed

    def _refresh(self, *, strict: bool = False) -> None:
        """Read the run files that changed since last seen (not this object's), and judge their writers.

        Fills :attr:`_foreign` only; ``strict`` (opening a session) raises SessionError for a bad file.
        """
        runs_dir = self.path / RUNS
        present: dict[str, os.stat_result] = {}
        unreadable: dict[str, str] = {}
        if runs_dir.is_dir():
            with os.scandir(runs_dir) as it:
                for entry in it:
                    run_id = entry.name.removesuffix(".json")
                    if entry.name.endswith(".json") and schema.RUN_ID.fullmatch(run_id) and run_id not in self._own:
                        try:
                            present[run_id] = entry.stat()
                        except FileNotFoundError:
                            if os.path.lexists(entry.path):  # a link to nothing; else removed since the listing
                                unreadable[run_id] = f"{entry.path}: cannot be read (a link to nothing)"
                        except OSError as e:  # a link loop, no permission
                            unreadable[run_id] = f"{entry.path}: cannot be read ({e.strerror or e})"
        for run_id, st in present.items():
            sig = _signature(st)
            if self._seen.get(run_id) == sig:
                continue
            file = runs_dir / entry_name(run_id)
            try:
                record, writer = schema.envelope(schema.read_json(file, "run file"), file, SCHEMA)
            except schema.Unreadable as e:
                unreadable[run_id] = str(e)  # not marked seen: read again as soon as it can be
                continue
            except SessionError as e:
                if strict:
                    raise
                self.follow_error = str(e)
                self._seen[run_id] = sig
                continue
            self._seen[run_id] = sig
            self._merge(record, writer)
        self._unreadable = unreadable
        if unreadable:
            first = unreadable[min(unreadable, key=run_number)]
            more = f" (and {len(unreadable) - 1} more run files)" if len(unreadable) > 1 else ""
            self.follow_error = f"{first}{more}; the run is kept as last read"
        for run_id in [i for i in self._seen if i not in present and i not in unreadable and i not in self._own]:
            del self._seen[run_id]
            self._owners.pop(run_id, None)
            self._disk_status.pop(run_id, None)
            self._foreign.pop(run_id, None)
            self._changed.pop(run_id, None)
            self._gone.add(run_id)
        self._judge_running()

    def _merge(self, record: RunRecord, writer: Mapping[str, Any] | None) -> None:
        self._owners[record.id] = writer_key(writer["host"], writer["pid"], writer["token"]) if writer else None
        self._disk_status[record.id] = str(record.status)
        self._foreign[record.id] = record
        self._changed[record.id] = None

    def _judge_running(self) -> None:
        """A run its file says is running shows ``interrupted`` once its writer is gone, ``running`` while it lives."""
        cache: dict[str | None, bool] = {}
        for run_id, status in self._disk_status.items():
            if status != "running":
                continue
            owner = self._owners.get(run_id)
            if owner not in cache:
                writer = self._writer(owner) if owner else None
                cache[owner] = writer is not None and writer.alive
            shown = RunState.RUNNING if cache[owner] else RunState.INTERRUPTED
            record = self._foreign.get(run_id)
            if record is not None and str(record.status) != shown:
                record.status = shown
                self._changed[run_id] = None

    def _writer(self, key: str | None) -> WriterInfo | None:
        if key is None:
            return None
        if key == self._key:
            return judge(self._writer_fields(), is_self=True)
        file = writer_file(self.path, key)
        try:
            fields_ = schema.writer_fields(schema.read_json(file, "writer file", 64 * 1024))
        except (SessionError, schema.Malformed):
            return None
        return judge(fields_)

    def writers(self) -> list[WriterInfo]:
        """Every process that has written this session and not closed, judged now, oldest first."""
        with self._lock:
            found: list[WriterInfo] = []
            folder = self.path / WRITERS
            try:
                names = sorted(os.listdir(folder)) if folder.is_dir() else []
            except OSError:
                names = []
            for name in names:
                if name.startswith(".") or not name.endswith(".json"):
                    continue
                info = self._writer(name.removesuffix(".json"))
                if info is not None:
                    found.append(info)
            return sorted(found, key=lambda w: w.started)

    @property
    def live(self) -> bool:
        """Another process (or this one) is writing this session now."""
        return any(w.alive for w in self.writers())

    def _snapshot_runs(self) -> list[dict[str, Any]]:
        """Every run as the files say now: this object's from memory, the others' as last read."""
        by_id = {r.id: r for r in self.runs if r.status != "queued" and r.id not in self._gone}
        by_id.update(self._foreign)
        return [by_id[i].to_dict() for i in sorted(by_id, key=run_number)]

    # -- the document ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The schema-2 document. Queued runs are left out: the file records what happened."""
        with self._lock:
            return {
                "schema": SCHEMA,
                "created": self.created,
                "updated": self.updated,
                "environment": self.environment,
                "runs": [r.to_dict() for r in self.runs if r.status != "queued"],
            }

    # -- summaries for listings -----------------------------------------------------------
    @property
    def best(self) -> RunRecord | None:
        """The run with the best validation accuracy (test accuracy is not used to choose)."""
        return self.book.best()

    @property
    def date(self) -> str:
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created))


def _data_key(config: RunConfig) -> tuple[str, str, int | None]:
    folder = "" if config.dataset in _EMBEDDED else os.path.normpath(config.data_dir)
    return config.dataset, folder, config.train_limit


def _data_label(keys: Iterable[tuple[str, str, int | None]]) -> str:
    """``mnist-5k`` / ``mnist in /data, first 500 training samples``, joined with "and"."""
    labels = []
    for dataset, folder, limit in keys:
        parts = [dataset + (f" in {folder}" if folder else "")]
        if limit:
            parts.append(f"first {limit:,} training samples")
        labels.append(", ".join(parts))
    return " and ".join(labels)


def entry_name(run_id: str) -> str:
    return f"{run_id}.json"


def _resolve(spec: str | os.PathLike[str]) -> Path:
    """``last``, a session folder, or a session.json path → the session.json path."""
    if str(spec) == "last":
        newest = newest_session()
        if newest is None:
            raise SessionError(f"no saved sessions yet in {sessions_root()}")
        return newest / FILENAME
    if not str(spec).strip():
        raise SessionError("no session given (an empty name)")
    path = Path(spec).expanduser()
    return path / FILENAME if path.is_dir() else path


def newest_session() -> Path | None:
    """What ``last`` names, for every command: the newest session in the order :func:`list_sessions` gives.

    That is the order of creation (the folder names begin with it), not of the last write: a report
    rewrites an old session's snapshot, and ``run --open last`` must not then add runs to that one.
    """
    folders = _session_dirs()
    return folders[-1] if folders else None


def load_session(spec: str | os.PathLike[str]) -> Session:
    """Load a session from a folder, a session.json path or ``last``. Raises SessionError (one line).

    Runs another live process is writing stay ``running`` (follow them with :meth:`Session.poll`);
    a run saved ``running`` whose writer is gone is shown ``interrupted`` (the file is not changed).
    """
    file = _resolve(spec)
    folder = file.parent
    runs_dir = folder / RUNS
    has_runs = file.name == FILENAME and runs_dir.is_dir()
    try:
        if has_runs and not os.path.lexists(file):  # killed before its first snapshot: the run files suffice
            data: dict[str, Any] = {"schema": SCHEMA, "runs": []}
        else:
            data = schema.document(schema.read_json(file), file, SCHEMA)
        doc_runs = schema.rows(data.get("runs", []), file)
        env = data.get("environment")
        created = data.get("created")
        if created is None:
            created = _stat_time(file if os.path.lexists(file) else folder)
        updated = data.get("updated") or created
        session = Session(folder, RunBook([]), dict(env) if isinstance(env, dict) else None, created, updated)
        if has_runs:
            _check_run_names(runs_dir)
            session._refresh(strict=True)
            session.runs.extend(copy.copy(r) for r in session._foreign.values())
            known = {r.id for r in session.runs}
            if data["schema"] < 2:
                legacy = [r for r in doc_runs if r.id not in known]
            else:  # a run whose file cannot be read: the snapshot's copy, so that no save drops it
                legacy = [r for r in doc_runs if r.id in session._unreadable]
        else:
            legacy = doc_runs
        for run in legacy:
            if run.status == "running":
                run.status = RunState.INTERRUPTED  # no writer is known for it: its process is gone
            session.runs.append(run)
        session.runs.sort(key=lambda r: run_number(r.id))
        session.book = RunBook(session.runs)
        session._changed.clear()
        session._gone.clear()
    except (RecursionError, ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as e:
        raise SessionError(f"{file}: cannot be read ({e.__class__.__name__}: {schema._one_line(e)})") from None
    return session


def _stat_time(path: Path) -> float:
    try:
        return max(0.0, min(path.stat().st_mtime, schema.MAX_TIME))
    except OSError:
        return time.time()


def _check_run_names(runs_dir: Path) -> None:
    """A file in ``runs/`` that is no run file of ours: refuse the session rather than ignore it."""
    try:
        names = os.listdir(runs_dir)
    except OSError as e:
        raise SessionError(f"{runs_dir}: cannot be read ({e.strerror or e})") from None
    for name in names:
        if name.startswith("."):
            continue  # a temporary file of a write in progress (or of a killed one)
        if not (name.endswith(".json") and schema.RUN_ID.fullmatch(name.removesuffix(".json"))):
            raise SessionError(f"{runs_dir / name}: not a run file name (runs/r<N>.json)")


@dataclass(frozen=True)
class SessionEntry:
    """One saved session in a listing: loaded, or unreadable with the reason; ``live`` while a writer is alive."""

    path: Path
    session: Session | None
    error: str | None = None
    live: bool = False
    writers: tuple[WriterInfo, ...] = ()


def _session_dirs() -> list[Path]:
    """The session folders, oldest first: by the creation time their names begin with; other names first."""
    root = sessions_root()
    try:
        found = [p for p in root.iterdir() if not p.name.startswith(".") and _is_session(p)]
    except OSError:
        return []
    return sorted(found, key=lambda p: (bool(_DATED.match(p.name)), p.name))


def _is_session(folder: Path) -> bool:
    """A folder with a snapshot (any, even a broken one: it is listed with its error) or a run file."""
    try:
        if not folder.is_dir():
            return False
        if os.path.lexists(folder / FILENAME):
            return True
        runs = folder / RUNS
        return runs.is_dir() and any(not n.startswith(".") for n in os.listdir(runs))
    except OSError:
        return False


def list_sessions() -> Iterator[SessionEntry]:
    """Every session folder, oldest first; a bad one is listed with its error, the rest still load."""
    for folder in _session_dirs():
        try:
            session = load_session(folder)
        except SessionError as e:
            yield SessionEntry(folder, None, str(e))
            continue
        writers = tuple(w for w in session.writers() if w.alive)
        yield SessionEntry(folder, session, None, bool(writers), writers)
