"""The real ``lrtui`` process in a pseudo-terminal: a dropped SSH link (SIGHUP) during a run.

The app must mark the run ``interrupted``, save the session and exit cleanly (code 129,
no traceback), as issue 4 asks of every front end.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


class Terminal:
    """``python -m lrtui ARGS`` on a pty of 80x24; ``wait_for`` reads its screen output."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        import fcntl
        import struct
        import termios

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.proc = subprocess.Popen([sys.executable, "-m", "lrtui", *args], stdin=slave, stdout=slave,
                                     stderr=slave, env={**env, "TERM": "xterm-256color"}, start_new_session=True)
        os.close(slave)
        self.output = b""

    def read(self, seconds: float) -> None:
        ready, _, _ = select.select([self.master], [], [], seconds)
        if ready:
            try:
                self.output += os.read(self.master, 1 << 16)
            except OSError:  # the process has closed the terminal
                pass

    def wait_until(self, condition: Callable[[], bool], what: str, limit_s: float = 60) -> None:
        """Keep reading the screen output (so the app never blocks writing it) until ``condition``."""
        end = time.monotonic() + limit_s
        while not condition():
            if time.monotonic() > end or self.proc.poll() is not None:
                raise AssertionError(f"timed out waiting for {what}")
            self.read(0.05)

    def wait_for(self, needle: bytes) -> None:
        self.wait_until(lambda: needle in self.output, repr(needle))

    def wait_exit(self, limit_s: float = 30) -> int:
        try:
            return self.proc.wait(limit_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("the app did not exit") from None


def running(home: Path) -> bool:
    """The session file says a run has started (saved at every run start)."""
    for f in home.glob("sessions/*/session.json"):
        try:
            if any(r["status"] == "running" for r in json.loads(f.read_text())["runs"]):
                return True
        except (OSError, ValueError):  # replaced while being read: look again
            pass
    return False


def test_sighup_during_a_run_saves_it_interrupted_and_exits_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "LRTUI_HOME": str(tmp_path)}
    term = Terminal(["--train-limit", "400", "--epochs", "50", "--device", "cpu"], env)
    try:
        term.wait_for(b"parameters")
        os.write(term.master, b"\x12")  # ctrl+r
        term.wait_until(lambda: running(tmp_path), "the run to start")
        term.proc.send_signal(signal.SIGHUP)
        code = term.wait_exit()
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
        os.close(term.master)
    assert code == 128 + signal.SIGHUP
    assert b"Traceback" not in term.output
    (saved,) = tmp_path.glob("sessions/*/session.json")
    runs = json.loads(saved.read_text())["runs"]
    assert [(r["id"], r["status"]) for r in runs] == [("r1", "interrupted")]
