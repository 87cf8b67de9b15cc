"""The real ``lrtui`` process in a pseudo-terminal: a dropped SSH link (SIGHUP) or SIGTERM during a run.

A hangup leaves the runs training to their end without a screen (unless LRTUI_ON_HANGUP=stop);
SIGTERM stops them, saved ``interrupted``, and the app exits cleanly (128 + signal, no traceback).
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
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lrtui", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "TERM": "xterm-256color"},
            start_new_session=True,
        )
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


def saved_runs(home: Path) -> list[dict]:
    (saved,) = home.glob("sessions/*/session.json")
    return json.loads(saved.read_text())["runs"]


def start_a_run(home: Path, *flags: str, env: dict[str, str] | None = None) -> Terminal:
    term = Terminal(
        ["--train-limit", "400", "--device", "cpu", *flags], {**os.environ, "LRTUI_HOME": str(home), **(env or {})}
    )
    term.wait_for(b"parameters")
    os.write(term.master, b"\x12")  # ctrl+r
    term.wait_until(lambda: running(home), "the run to start")
    return term


def test_a_dropped_terminal_leaves_the_run_training_to_its_end(tmp_path: Path) -> None:
    """SIGHUP with the terminal really gone: the process finishes the run headless and saves it."""
    term = start_a_run(tmp_path, "--epochs", "2")
    term.proc.send_signal(signal.SIGHUP)
    os.close(term.master)  # the SSH link is gone: nobody reads the screen any more
    try:
        code = term.proc.wait(120)
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
    assert code == 0
    (run,) = saved_runs(tmp_path)
    assert (run["id"], run["status"], len(run["epochs"])) == ("r1", "finished", 2)
    assert run["test"] is not None and run["verdict"] is not None


def signal_and_wait(term: Terminal, signum: int) -> int:
    """Send a signal to the app and wait for it to exit (killed if it does not); returns its exit code."""
    try:
        term.proc.send_signal(signum)
        return term.wait_exit()
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
        os.close(term.master)


def test_with_the_opt_out_a_hangup_stops_the_run_as_interrupted(tmp_path: Path) -> None:
    term = start_a_run(tmp_path, "--epochs", "50", env={"LRTUI_ON_HANGUP": "stop"})
    assert signal_and_wait(term, signal.SIGHUP) == 128 + signal.SIGHUP
    assert b"Traceback" not in term.output
    assert [(r["id"], r["status"]) for r in saved_runs(tmp_path)] == [("r1", "interrupted")]


def test_sigterm_stops_the_run_as_interrupted_and_exits_cleanly(tmp_path: Path) -> None:
    term = start_a_run(tmp_path, "--epochs", "50")
    assert signal_and_wait(term, signal.SIGTERM) == 128 + signal.SIGTERM
    assert b"Traceback" not in term.output
    assert [(r["id"], r["status"]) for r in saved_runs(tmp_path)] == [("r1", "interrupted")]


def test_sigint_from_outside_saves_the_run_interrupted_and_restores_the_terminal(tmp_path: Path) -> None:
    """``kill -INT <pid>`` (the app reads ctrl+c as a key, so this comes from outside): exit 130, the terminal
    leaves the alternate screen with mouse tracking off and the cursor shown, and the run is saved."""
    term = start_a_run(tmp_path, "--epochs", "50")
    before = len(term.output)
    try:
        term.proc.send_signal(signal.SIGINT)
        term.wait_until(lambda: term.proc.poll() is not None, "the app to exit", limit_s=30)
    except AssertionError:
        if term.proc.poll() is None:
            raise
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
    for _ in range(5):
        term.read(0.1)
    os.close(term.master)
    assert term.proc.returncode == 128 + signal.SIGINT
    after = term.output[before:]
    assert b"\x1b[?1049l" in after, "still in the alternate screen"
    assert b"\x1b[?1000l" in after, "mouse tracking left on"
    assert b"\x1b[?25h" in after, "cursor left hidden"
    assert b"Traceback" not in term.output
    assert [(r["id"], r["status"]) for r in saved_runs(tmp_path)] == [("r1", "interrupted")]
