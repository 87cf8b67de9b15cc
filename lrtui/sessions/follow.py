"""Following a session that other processes write: their run files read when they change, their writers judged.

Following is a ``stat`` of each run file (:meth:`Follower.poll`); only files whose signature
changed are read. A run file that cannot be read (a link loop, no permission) keeps the run as
last read (at open: the snapshot's copy), so that the next snapshot does not lose it;
:attr:`Follower.error` names it. A run saved ``running`` is shown ``interrupted`` once its writer
is gone (see :mod:`lrtui.sessions.writers`), ``running`` while it lives; a reader never marks a file.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Set
from dataclasses import fields
from pathlib import Path
from typing import Any

from lrtui.engine.events import RunState
from lrtui.sessions import schema
from lrtui.sessions.files import RUNS, SCHEMA, WRITERS, run_file
from lrtui.sessions.record import RunBook, RunRecord, run_number
from lrtui.sessions.schema import SessionError
from lrtui.sessions.writers import WriterInfo, judge, writer_file, writer_key


def _signature(st: os.stat_result) -> tuple[int, int, int, int]:
    """Changes with every atomic replace (new inode) and every write."""
    return (st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)


def _assign(target: RunRecord, source: RunRecord) -> None:
    """Update a record in place, so that references the UI holds stay valid."""
    for f in fields(RunRecord):
        setattr(target, f.name, getattr(source, f.name))


class Follower:
    """What one Session knows of the run files it does not write, and of who writes them.

    Owned by its :class:`~lrtui.sessions.store.Session` and called only under the session's lock:
    it holds none of its own. It never writes a file.
    """

    def __init__(self, path: Path, key: str, me: Callable[[], WriterInfo], owns: Callable[[str], bool]) -> None:
        """``key`` and ``me``: the session's own writer key and its judgement of itself (its file may lag);
        ``owns``: whether a run is the session's own (its files are never read back)."""
        self.path = path
        self._key = key
        self._me = me
        self._owns = owns
        #: the last problem met while following other processes (a bad run file): shown, never raised
        self.error: str | None = None
        #: ids of runs other processes removed, found by the last :meth:`poll`
        self.removed: list[str] = []
        self._owners: dict[str, str | None] = {}  #: writer key of each run read from a run file (None: orphan)
        self._disk_status: dict[str, str] = {}  #: status in the run file of each run read from one
        self._seen: dict[str, tuple[int, int, int, int]] = {}  #: signature of each run file read
        self._changed: dict[str, None] = {}  #: ids changed by others since the last poll(), in order
        #: the newest state of other processes' runs, read by whichever thread saves or polls; the book
        #: itself changes only in poll() (the UI's thread), so a save on the training thread never
        #: reshapes the list the UI is drawing
        self._foreign: dict[str, RunRecord] = {}
        self._gone: set[str] = set()  #: runs whose files vanished, still to drop from the book
        #: run files that are there but cannot be read (a link loop, no permission): id → the one-line reason;
        #: their runs are kept as last read, never taken for removed
        self._unreadable: dict[str, str] = {}

    def open(self) -> list[RunRecord]:
        """Read every run file, for a session being opened: copies of their runs, for its book.

        Raises SessionError (one line) for a malformed run file; one that cannot be read is left
        out and named in :attr:`unreadable`. Nothing is left for :meth:`poll` to bring.
        """
        self.refresh(strict=True)
        self._changed.clear()
        self._gone.clear()
        return [copy.copy(r) for r in self._foreign.values()]

    @property
    def unreadable(self) -> Set[str]:
        """Ids of the run files that are there but cannot be read (their runs are kept as last read)."""
        return self._unreadable.keys()

    def poll(self, book: RunBook) -> list[RunRecord]:
        """See :meth:`lrtui.sessions.store.Session.poll`: what changed on disk, merged into ``book``."""
        try:
            self.refresh()
        except OSError as e:
            self.error = f"cannot follow {self.path}: {e.strerror or e}"
        return self._apply(book)

    def _apply(self, book: RunBook) -> list[RunRecord]:
        """Bring what :meth:`refresh` found into the book (on the thread that polls)."""
        self.removed = [i for i in sorted(self._gone, key=run_number) if book.get(i) is not None]
        for run_id in self.removed:
            book.remove(run_id)
        self._gone.clear()
        changed = []
        for run_id in self._changed:
            source = self._foreign.get(run_id)
            if source is None:
                continue
            record = book.get(run_id)
            if record is None:
                record = copy.copy(source)
                at = next((i for i, r in enumerate(book.runs) if run_number(r.id) > run_number(run_id)), len(book.runs))
                book.runs.insert(at, record)
            else:
                _assign(record, source)
            changed.append(record)
        self._changed.clear()
        return changed

    def refresh(self, *, strict: bool = False) -> None:
        """Read the run files that changed since last seen (not the session's own), and judge their writers.

        Fills what :meth:`poll` brings into the book; ``strict`` (opening a session) raises SessionError
        for a bad file.
        """
        runs_dir = self.path / RUNS
        present: dict[str, os.stat_result] = {}
        unreadable: dict[str, str] = {}
        if runs_dir.is_dir():
            with os.scandir(runs_dir) as it:
                for entry in it:
                    run_id = entry.name.removesuffix(".json")
                    if entry.name.endswith(".json") and schema.RUN_ID.fullmatch(run_id) and not self._owns(run_id):
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
            file = run_file(self.path, run_id)
            try:
                record, writer = schema.envelope(schema.read_json(file, "run file"), file, SCHEMA)
            except schema.Unreadable as e:
                unreadable[run_id] = str(e)  # not marked seen: read again as soon as it can be
                continue
            except SessionError as e:
                if strict:
                    raise
                self.error = str(e)
                self._seen[run_id] = sig
                continue
            self._seen[run_id] = sig
            self._merge(record, writer)
        self._unreadable = unreadable
        if unreadable:
            first = unreadable[min(unreadable, key=run_number)]
            more = f" (and {len(unreadable) - 1} more run files)" if len(unreadable) > 1 else ""
            self.error = f"{first}{more}; the run is kept as last read"
        for run_id in [i for i in self._seen if i not in present and i not in unreadable and not self._owns(i)]:
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
            return self._me()
        file = writer_file(self.path, key)
        try:
            fields_ = schema.writer_fields(schema.read_json(file, "writer file", 64 * 1024))
        except (SessionError, schema.Malformed):
            return None
        return judge(fields_)

    def owner(self, run_id: str) -> WriterInfo | None:
        """The writer of a run read from a run file, judged now; None for a run with no writer (or none known)."""
        owner = self._owners.get(run_id)
        return self._writer(owner) if owner else None

    def writers(self) -> list[WriterInfo]:
        """Every process that has written this session and not closed, judged now, oldest first."""
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

    # -- what the saving side tells and asks -----------------------------------------------
    def forget(self, run_id: str) -> None:
        """The session removed this run's file itself: nothing of it is left to follow."""
        self._unreadable.pop(run_id, None)
        self._seen.pop(run_id, None)
        self._owners.pop(run_id, None)
        self._disk_status.pop(run_id, None)
        self._foreign.pop(run_id, None)
        self._changed.pop(run_id, None)

    def knows(self, run_id: str) -> bool:
        """A run file was read for this run, has vanished since, or is there but cannot be read."""
        return run_id in self._seen or run_id in self._gone or run_id in self._unreadable

    def vanished(self, run_id: str) -> None:
        """A run in the book had a run file once and a process removed it: :meth:`poll` drops it."""
        self._gone.add(run_id)

    def adopted(self, record: RunRecord, file: Path) -> None:
        """The session just gave a run that had none a run file with no writer (``file``): it is read already."""
        self._seen[record.id] = _signature(file.stat())
        self._owners[record.id] = None
        self._disk_status[record.id] = str(record.status)

    def snapshot_runs(self, runs: list[RunRecord]) -> list[dict[str, Any]]:
        """Every run as the files say now: ``runs`` (the book's) as they are, the others' as last read."""
        by_id = {r.id: r for r in runs if r.status != "queued" and r.id not in self._gone}
        by_id.update(self._foreign)
        return [by_id[i].to_dict() for i in sorted(by_id, key=run_number)]
