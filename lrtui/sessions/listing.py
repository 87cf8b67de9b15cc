"""Finding, opening and listing saved sessions.

A folder is a session once it holds ``session.json`` or a run file (a first save that fails
removes the folder it made), and listings skip folders that are not sessions.
:func:`newest_session` decides what ``last`` means for every command: the newest session in the
order :func:`list_sessions` lists them (by creation). Opening reads every run file; a folder
without ``runs/`` (schema 1, or an exported document) is read from its ``session.json`` alone.
Everything read is validated (:mod:`lrtui.sessions.schema`): a file of any shape gives a
one-line :class:`SessionError` or a clean load.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrtui.engine.events import RunState
from lrtui.sessions import file_format, schema
from lrtui.sessions.files import FILENAME, RUNS, SCHEMA, sessions_root
from lrtui.sessions.record import RunBook, run_number
from lrtui.sessions.schema import SessionError
from lrtui.sessions.store import Session
from lrtui.sessions.writers import WriterInfo

#: Session folder names begin with their creation time (see :meth:`Session.create`).
_DATED = re.compile(r"[0-9]{8}-[0-9]{6}-")


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
            session.runs.extend(session.follower.open())
            known = {r.id for r in session.runs}
            if data["schema"] < 2:
                legacy = [r for r in doc_runs if r.id not in known]
            else:  # a run whose file cannot be read: the snapshot's copy, so that no save drops it
                legacy = [r for r in doc_runs if r.id in session.follower.unreadable]
        else:
            legacy = doc_runs
        for run in legacy:
            if run.status == "running":
                run.status = RunState.INTERRUPTED  # no writer is known for it: its process is gone
            session.runs.append(run)
        session.runs.sort(key=lambda r: run_number(r.id))
        session.book = RunBook(session.runs)
    except (RecursionError, ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError) as e:
        raise SessionError(f"{file}: cannot be read ({e.__class__.__name__}: {schema._one_line(e)})") from None
    return session


def _stat_time(path: Path) -> float:
    try:
        return max(0.0, min(path.stat().st_mtime, file_format.MAX_TIME))
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
