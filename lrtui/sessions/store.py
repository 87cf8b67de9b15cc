"""Sessions: every run of one sitting, saved so that nothing is lost, shared by any number of processes.

A :class:`Session` is a RunBook plus the folder it is saved in (its layout: :mod:`lrtui.sessions.files`).
It writes its own runs' files (``runs/<id>.json``) at run start, every epoch end and run end,
reserves run ids in ``ids/``, keeps its writer file (``writers/``) alive, and rebuilds
``session.json`` from the run files under the folder's lock. Reports and other readers of one
file keep working; a folder without ``runs/`` (schema 1, or an exported document) is read from
that file alone, and its runs become run files (with no writer) the first time a process saves.
A save waits for the lock at most :data:`LOCK_WAIT_S`: a lock held longer (a stuck process)
costs that save its snapshot, never its run file, and is reported through ``save_error``.
A first save that fails (a full disk) removes the folder it made rather than leave an empty
one behind. Other processes' run files are read by the session's
:class:`~lrtui.sessions.follow.Follower`; opening and listing saved sessions is
:mod:`lrtui.sessions.listing`.

Why files per run rather than one file or an append-only log: each run has exactly one writer,
so no two processes ever write the same file and no merge or lock is needed on the hot path
(one atomic write per epoch); following another process is a ``stat`` of each run file
(:meth:`Session.poll`); a removed run is a deleted file.

Removing a run (:meth:`Session.remove`): this process's own runs (not while running), and runs
whose writer is gone (legacy runs, a crashed or closed process's runs); another live process's
run is refused with a one-line :class:`SessionError` — it can be removed in the window that
trains it. Nothing here imports torch, textual or rich.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lrtui import __version__
from lrtui.engine.config import RunConfig
from lrtui.engine.events import EpochEnd, Event, ProbeResult, RunEnd, RunStarted, RunState
from lrtui.printable import printable
from lrtui.sessions import schema
from lrtui.sessions import writers as _writers
from lrtui.sessions.files import (
    FILENAME,
    IDS,
    LOCK,
    RUNS,
    SCHEMA,
    WRITERS,
    folder_lock,
    run_file,
    sessions_root,
    write_json_atomic,
)
from lrtui.sessions.follow import Follower
from lrtui.sessions.record import RunBook, RunRecord, run_number
from lrtui.sessions.schema import SessionError
from lrtui.sessions.writers import (
    WriterInfo,
    judge,
    proc_start,
    writer_file,
    writer_key,
)

_SAVE_ON = (RunStarted, EpochEnd, ProbeResult, RunEnd)  #: a probe too: the epoch-0 one comes before any epoch
_MAX_RUN = 10**8  #: run numbers stay well inside what session_schema.RUN_ID accepts
#: How long a save waits for the folder lock; past it the run files are saved and the snapshot is skipped.
#: A rebuild holds it well under a second, and the app's thread may be waiting on this object meanwhile.
LOCK_WAIT_S = 2.0
#: How long the saves after such a skip wait: a stuck lock must not slow every epoch by LOCK_WAIT_S.
LOCK_RETRY_S = 0.2
#: Datasets shipped inside lrtui: their runs never read ``data_dir``.
_EMBEDDED = frozenset({"mnist-5k"})


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


def _fingerprint(r: RunRecord) -> tuple[Any, ...]:
    """Cheap "has this run changed since it was written" check for changes made outside ``observe``."""
    return (
        str(r.status),
        len(r.epochs),
        len(r.batch_losses),
        r.test is None,
        r.verdict is None,
        r.error,
        r.started_at,
        r.ended_at,
    )


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
        self._token = secrets.token_hex(4)
        self._host = _writers.HOST  # read at creation: tests play another machine by setting it first
        self._key = writer_key(self._host, os.getpid(), self._token)
        self._started: float | None = None  #: when this object first registered as a writer
        self._proc_start = proc_start(os.getpid())
        self._own: set[str] = set()  #: ids this object reserved: only it writes their files
        self._pending: set[str] = set()  #: own ids not yet reserved on disk (the folder did not exist)
        self._written: dict[str, tuple[Any, ...]] = {}  #: fingerprint of each own run as last written
        self._dirty: set[str] = set()
        self._flocked = False  #: this object holds the folder lock (a signal handler re-entering must not wait on it)
        self._lock_stuck = False  #: the last save could not get the folder lock: the next ones wait less
        #: reads the run files this object does not write (other processes'), always under ``self._lock``
        self.follower = Follower(self.path, self._key, self._judge_self, self.owns)

    @contextmanager
    def _folder_locked(self) -> Iterator[bool]:
        """The folder's flock, re-entrant for this object (always called under ``self._lock``).

        Yields False when it could not be had in time (see :data:`LOCK_WAIT_S`).
        """
        if self._flocked:
            yield True
            return
        with folder_lock(self.path, LOCK_RETRY_S if self._lock_stuck else LOCK_WAIT_S) as locked:
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
        line = (
            f"session {self.path.name} holds runs on {_data_label(held)}; the new runs use {_data_label(new)}: "
            "their accuracies do not compare"
        )
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
                writer = self.follower.owner(run_id)
                if writer is not None and writer.alive:
                    raise SessionError(f"{run_id} belongs to another lrtui ({writer.label}): remove it there")
            self.book.remove(run_id)
            self._pending.discard(run_id)
            if record.status == "queued" and run_id in self._own:
                return  # never written: nothing on disk to delete
            try:
                if self.path.is_dir():
                    with self._folder_locked():  # had or not: the file goes; the snapshot follows at the next save
                        run_file(self.path, run_id).unlink(missing_ok=True)
                        self.follower.forget(run_id)
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
                raise SnapshotBehind(
                    f"{self.file} not updated: {self.path / LOCK} is held by another process for over "
                    f"{LOCK_WAIT_S:g} s; the runs are saved in {self.path / RUNS}, the next save "
                    f"tries again"
                )
            self.follower.refresh()
            self._adopt_orphans()
            write_json_atomic(self.file, {**self.to_dict(), "runs": self.follower.snapshot_runs(self.runs)})

    def _reserve_pending(self) -> None:
        if not self._pending:
            return
        ids = self.path / IDS
        ids.mkdir(exist_ok=True)
        for run_id in sorted(self._pending, key=run_number):
            try:
                os.close(os.open(ids / run_id, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            except FileExistsError:
                raise SessionError(
                    f"{self.path}: run id {run_id} was taken by another process; its run is kept in memory only"
                ) from None
            self._pending.discard(run_id)

    def _write_run(self, record: RunRecord, writer: dict[str, Any] | None) -> None:
        doc = {"schema": SCHEMA, "writer": writer, "run": record.to_dict(compact=True)}  # its step trace as columns
        write_json_atomic(run_file(self.path, record.id), doc)

    def _writer_fields(self) -> dict[str, Any]:
        if self._started is None:
            self._started = time.time()
        return {
            "host": self._host,
            "pid": os.getpid(),
            "token": self._token,
            "proc_start": self._proc_start,
            "started": self._started,
            "heartbeat": time.time(),
        }

    def _judge_self(self) -> WriterInfo:
        """This object as a writer, judged as any other is (its file may be a heartbeat behind)."""
        return judge(self._writer_fields(), is_self=True)

    def _write_writer(self, *, fsync: bool) -> None:
        doc = {**self._writer_fields(), "argv": " ".join(sys.argv)[:500], "runs": sorted(self._own, key=run_number)}
        write_json_atomic(writer_file(self.path, self._key), doc, fsync=fsync)

    def _adopt_orphans(self) -> None:
        """Runs held in memory with no file and no live owner (a schema-1 session's, a loaded export's):
        give them a run file with no writer, so that the run files stay the whole truth."""
        for r in list(self.runs):
            if r.status == "queued" or r.id in self._own or self.follower.knows(r.id):
                continue  # an unreadable file is not replaced with an older copy: its writer may still own it
            if not schema.RUN_ID.fullmatch(r.id):
                continue
            file = run_file(self.path, r.id)
            reserved = self.path / IDS / r.id
            if not file.exists():
                if reserved.exists():  # it had a file once, and a process removed it since
                    self.follower.vanished(r.id)
                    continue
                self._write_run(r, None)
            reserved.parent.mkdir(exist_ok=True)
            os.close(os.open(reserved, os.O_CREAT | os.O_WRONLY, 0o644))
            self.follower.adopted(r, file)

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
            return self.follower.poll(self.book)

    def writers(self) -> list[WriterInfo]:
        """Every process that has written this session and not closed, judged now, oldest first."""
        with self._lock:
            return self.follower.writers()

    @property
    def live(self) -> bool:
        """Another process (or this one) is writing this session now."""
        return any(w.alive for w in self.writers())

    @property
    def follow_error(self) -> str | None:
        """The last problem met while following other processes (a bad run file): shown, never raised."""
        return self.follower.error

    @property
    def poll_removed(self) -> list[str]:
        """Ids of runs other processes removed, found by the last :meth:`poll`."""
        return self.follower.removed

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
