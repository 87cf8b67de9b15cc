"""Who writes a session, and whether they still live.

Each process (each :class:`~lrtui.sessions.store.Session` object, in fact) that trains runs of a
session keeps a small file ``writers/<host>-<pid>-<token>.json`` with its host, pid, the
process's start time and a heartbeat time, refreshed at every save and by
:meth:`Session.heartbeat` (the runner calls it every few seconds). Readers judge a writer:

* its file is gone: it closed (or was never there) → *gone*;
* same host: its pid is gone, or now belongs to a younger process (pid reuse, told apart by
  the start time in ``/proc``) → *dead*, however fresh the heartbeat;
* another host (a folder shared over NFS): a heartbeat older than :data:`STALE_AFTER_S` →
  *stale*; on the same host a live pid wins over an old heartbeat (a long epoch is not death).
  A heartbeat more than :data:`FUTURE_TOLERANCE_S` ahead of the reader's clock is not believed
  either → *stale*: a clock that far off (or a hand-made file) would otherwise keep a dead
  writer's runs alive, and unremovable, forever. A writer on a host whose clock runs that far
  ahead is shown stale while it lives: its running run shows ``interrupted`` to readers here,
  and it writes the run's file again at its next save.

A run saved ``running`` by a writer that is not alive is shown ``interrupted``.
"""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: A writer on another host whose heartbeat is older than this is taken for dead.
STALE_AFTER_S = 30.0
#: How often a runner should call ``Session.heartbeat()``.
HEARTBEAT_EVERY_S = 5.0
#: How far ahead of this clock another host's heartbeat may be and still count (clocks of hosts differ a little).
FUTURE_TOLERANCE_S = 10.0
HOST = socket.gethostname() or "localhost"


def safe_name(text: str) -> str:
    """A host name fit for a file name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:64] or "host"


def proc_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid apart; else None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
        return int(data[data.rindex(b")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: int, start: int | None) -> bool:
    """Is ``pid`` (started at ``start``, if known) still running on this host?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    except OSError:
        return False
    if start is not None:
        now = proc_start(pid)
        if now is not None and now != start:
            return False  # the pid was given to another process since
    return True


@dataclass(frozen=True)
class WriterInfo:
    """One process writing a session, as its writer file says, judged now."""

    key: str  #: ``<host>-<pid>-<token>``: the file name under ``writers/`` and the owner of its runs
    host: str
    pid: int
    started: float  #: when it first saved into this session (seconds since the epoch)
    heartbeat: float  #: when it last said it lives
    #: ``alive`` | ``dead`` (pid gone on this host) | ``stale`` (elsewhere: no heartbeat for long, or one from the future)
    state: str
    is_self: bool = False  #: this Session object

    @property
    def alive(self) -> bool:
        return self.state == "alive"

    @property
    def stale(self) -> bool:
        return not self.alive

    @property
    def label(self) -> str:
        """``pid 4711 on gpu-box`` for a status line."""
        return f"pid {self.pid} on {self.host}" + (" (this window)" if self.is_self else "")


def writer_key(host: str, pid: int, token: str) -> str:
    return f"{safe_name(host)}-{pid}-{token}"


def judge(fields: dict[str, Any], *, is_self: bool = False, now: float | None = None) -> WriterInfo:
    """A WriterInfo from a checked writer document (see ``session_schema.writer_fields``)."""
    host, pid, token = str(fields["host"]), int(fields["pid"]), str(fields["token"])
    heartbeat = float(fields.get("heartbeat") or 0.0)
    if is_self:
        state = "alive"
    elif host == HOST:
        state = "alive" if pid_alive(pid, fields.get("proc_start")) else "dead"
    else:
        age = (now if now is not None else time.time()) - heartbeat
        state = "alive" if -FUTURE_TOLERANCE_S <= age <= STALE_AFTER_S else "stale"
    return WriterInfo(
        writer_key(host, pid, token), host, pid, float(fields.get("started") or 0.0), heartbeat, state, is_self
    )


def writer_file(folder: Path, key: str) -> Path:
    return folder / "writers" / f"{key}.json"
