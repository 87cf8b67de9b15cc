"""Sessions: every run of one sitting, saved so that nothing is lost.

A session is a folder ``<home>/sessions/<YYYYmmdd-HHMMSS>-<short id>/`` holding
``session.json`` (the same document as ``lrtui run --json``). ``<home>`` is
``$LRTUI_HOME`` or ``platformdirs.user_data_dir("lrtui")``.

The file is rewritten atomically (temp file in the same folder, fsync, ``os.replace``)
at every run start, epoch end and run end, so a SIGKILL or a dropped SSH link loses
at most the epoch in progress and a reader never sees half a file. Front ends feed
every engine event to :meth:`Session.observe`; nothing here imports torch, textual or rich.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lrtui import __version__
from lrtui.engine.config import RunConfig
from lrtui.engine.events import EpochEnd, Event, RunEnd, RunStarted
from lrtui.record import RunBook, RunRecord

SCHEMA = 1
FILENAME = "session.json"
_SAVE_ON = (RunStarted, EpochEnd, RunEnd)


class SessionError(Exception):
    """A session that cannot be read. The message is one line: which file, what is wrong."""


def home() -> Path:
    """``$LRTUI_HOME`` or the platform's user data folder for lrtui."""
    env = os.environ.get("LRTUI_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("lrtui"))


def sessions_root() -> Path:
    return home() / "sessions"


def _json_safe(value: Any) -> Any:
    """JSON has no NaN/inf: turn them into null anywhere in the document."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def write_json_atomic(path: Path, document: Mapping[str, Any]) -> None:
    """Write JSON so that ``path`` always holds either the old or the new whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # compact: json's C encoder (indent= falls back to the pure-Python one, 4x slower, on the UI thread)
    text = json.dumps(_json_safe(document), separators=(",", ":"), allow_nan=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; a session is an ordinary user file
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
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


class Session:
    """A RunBook plus where it lives, its environment and its times; saves itself as events arrive."""

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
        self._lock = threading.Lock()  # the app observes from its UI thread, the CLI from the training loop
        #: why the last save failed, or None: the runs stay in memory, the next save tries again,
        #: and the front ends tell the user (a full disk must not stop training)
        self.save_error: str | None = None

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

    def add(self, config: RunConfig) -> RunRecord:
        """Queue a run under the next free id (ids continue after a loaded session's runs)."""
        return self.book.add(config)

    def observe(self, event: Event) -> RunRecord | None:
        """Apply an engine event; save at run start, epoch end and run end."""
        with self._lock:
            record = self.book.apply(event)
            if isinstance(event, RunStarted) and not self.environment.get("device"):
                self.environment = environment(event.device, event.device_name)
            if isinstance(event, _SAVE_ON):
                self._save()
        return record

    def interrupt(self) -> list[RunRecord]:
        """Mark running runs ``interrupted`` and save: the SIGHUP/SIGTERM path. Returns those runs."""
        with self._lock:
            hit = [r for r in self.runs if r.status == "running"]
            for r in hit:
                r.status = "interrupted"
            self._save()
        return hit

    def save(self) -> None:
        with self._lock:
            self._save()

    def _save(self) -> None:
        self.updated = time.time()
        try:
            write_json_atomic(self.file, self.to_dict())
        except OSError as e:
            self.save_error = f"cannot save the session to {self.file}: {e.strerror or e}"
        else:
            self.save_error = None

    def to_dict(self) -> dict[str, Any]:
        """The schema-1 document. Queued runs are left out: the file records what happened."""
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


def _resolve(spec: str | os.PathLike[str]) -> Path:
    """``last``, a session folder, or a session.json path → the session.json path."""
    if str(spec) == "last":
        newest = max(_session_dirs(), key=_mtime, default=None)
        if newest is None:
            raise SessionError(f"no saved sessions yet in {sessions_root()}")
        return newest / FILENAME
    path = Path(spec).expanduser()
    return path / FILENAME if path.is_dir() else path


def _mtime(folder: Path) -> tuple[float, str]:
    """Sort key for ``last``: the most recently saved session (name breaks ties)."""
    try:
        return (folder.joinpath(FILENAME).stat().st_mtime, folder.name)
    except OSError:
        return (0.0, folder.name)


def _read_document(file: Path) -> dict[str, Any]:
    """Read and check session.json, raising SessionError with the reason in one line."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SessionError(f"{file}: no such session file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SessionError(f"{file}: cannot be read ({e.__class__.__name__}: {e})") from None
    if not text.strip():
        raise SessionError(f"{file}: the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if e.pos >= len(text.rstrip()):
            raise SessionError(f"{file}: the file is truncated (JSON ends early at line {e.lineno})") from None
        raise SessionError(f"{file}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(data, dict) or "schema" not in data:
        raise SessionError(f"{file}: not an lrtui session (no \"schema\" field)")
    schema = data["schema"]
    if not isinstance(schema, int) or isinstance(schema, bool) or schema < 1:
        raise SessionError(f"{file}: wrong schema {schema!r} (this lrtui reads schema {SCHEMA})")
    if schema > SCHEMA:
        raise SessionError(
            f"{file}: schema {schema} is newer than this lrtui understands ({SCHEMA}); upgrade lrtui to open it"
        )
    if not isinstance(data.get("runs"), list):
        raise SessionError(f"{file}: wrong schema (\"runs\" must be a list)")
    return data


def load_session(spec: str | os.PathLike[str]) -> Session:
    """Load a session from a folder, a session.json path or ``last``. Raises SessionError.

    A run saved as ``running`` belongs to a process that is gone: it is shown as ``interrupted``.
    """
    file = _resolve(spec)
    data = _read_document(file)
    runs = []
    for i, raw in enumerate(data["runs"], 1):
        try:
            run = RunRecord.from_dict(raw)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise SessionError(f"{file}: run {i} is malformed ({e.__class__.__name__}: {e})") from None
        if run.status == "running":
            run.status = "interrupted"
        runs.append(run)
    env = data.get("environment")
    try:
        created = float(data.get("created") or file.stat().st_mtime)
        updated = float(data.get("updated") or created)
    except (TypeError, ValueError):
        raise SessionError(f"{file}: wrong schema (\"created\"/\"updated\" must be times)") from None
    return Session(file.parent, RunBook(runs), dict(env) if isinstance(env, dict) else None, created, updated)


@dataclass(frozen=True)
class SessionEntry:
    """One saved session in a listing: loaded, or unreadable with the reason."""

    path: Path
    session: Session | None
    error: str | None = None


def _session_dirs() -> list[Path]:
    root = sessions_root()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def list_sessions() -> Iterator[SessionEntry]:
    """Every session folder, oldest first; a bad one is listed with its error, the rest still load."""
    for folder in _session_dirs():
        try:
            yield SessionEntry(folder, load_session(folder))
        except SessionError as e:
            yield SessionEntry(folder, None, str(e))
