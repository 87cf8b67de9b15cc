"""lrtui/signals.py: handlers put back, exit codes, the bounded wait; and the app's headless training using them.

The real processes under signals are tests/cli/test_cli_signals.py and tests/tui/test_app_process.py; these
drive the same code in this process with real signals sent to itself and a runner that never stops by itself.
"""

from __future__ import annotations

import os
import signal

import pytest

from lrtui import signals
from lrtui.signals import Signals, handled, wait_out
from lrtui.tui import process


class StuckRunner:
    """A runner whose engine never answers a stop; ``wait`` raises a signal at its ``at``-th call."""

    def __init__(self, raise_at: dict[int, int] | None = None, stops: bool = False) -> None:
        self.calls, self.raise_at, self.stops = 0, raise_at or {}, stops
        self.stopped: list[str] = []
        self.interrupted = False
        self.saved = 0
        self.session = self

    def wait(self, timeout: float | None = None) -> bool:
        self.calls += 1
        assert self.calls < 500, "the wait never ended"
        if self.calls in self.raise_at:
            os.kill(os.getpid(), self.raise_at[self.calls])  # its handler runs on this thread, right after
        return self.interrupted or bool(self.stops and self.stopped)

    def stop(self, status: str = "cancelled") -> list:
        self.stopped.append(status)
        return []

    def interrupt(self) -> list:
        self.interrupted = True
        return []

    def save(self) -> None:
        self.saved += 1


def test_handlers_are_put_back_as_they_were() -> None:
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    with Signals():
        assert all(signal.getsignal(s) != h for s, h in before.items())
    with handled({signal.SIGTERM: signal.SIG_IGN}):
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    assert {s: signal.getsignal(s) for s in before} == before


@pytest.mark.parametrize(
    "sig, code, status",
    [
        (signal.SIGTERM, 143, "interrupted"),
        (signal.SIGINT, 130, "cancelled"),
        (signal.SIGHUP, 129, "interrupted"),
    ],
)
def test_a_signal_stops_the_runs_and_sets_the_exit_code(sig, code, status) -> None:
    runner = StuckRunner({2: sig}, stops=True)
    with Signals(runner.stop) as stop:
        wait_out(runner, stop)
    assert (stop.exit_code, runner.stopped, runner.interrupted) == (code, [status], False)
    assert stop.cancel.is_set()


def test_an_engine_that_never_stops_is_left_after_the_grace_its_runs_interrupted() -> None:
    runner = StuckRunner({2: signal.SIGTERM})
    with Signals(runner.stop) as stop:
        wait_out(runner, stop, grace=0.0)
    assert (stop.exit_code, runner.stopped, runner.interrupted) == (143, ["interrupted"], True)


def test_a_second_ctrl_c_stops_at_once() -> None:
    runner = StuckRunner({2: signal.SIGINT, 3: signal.SIGINT})
    with Signals(runner.stop) as stop:
        wait_out(runner, stop)  # the default grace (10 s) never comes into it
    assert (stop.exit_code, runner.stopped, runner.interrupted) == (130, ["cancelled"], True)


def test_a_kept_hangup_only_stops_the_printing() -> None:
    runner = StuckRunner({2: signal.SIGHUP, 4: signal.SIGTERM}, stops=True)
    with Signals(runner.stop, keep_on_hangup=True) as stop:
        wait_out(runner, stop)
    assert (stop.hangup, stop.exit_code, runner.stopped) == (True, 143, ["interrupted"])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_headless_training_ends_within_the_grace_even_when_the_engine_never_answers(monkeypatch, sig) -> None:
    """After a hangup the app trains on without a screen; a SIGINT used to wait for the engine forever."""
    monkeypatch.setattr(process, "_detach_stdio", lambda: None)
    monkeypatch.setattr(signals, "STOP_GRACE_S", 0.0)
    runner = StuckRunner({2: sig})
    before = signal.getsignal(signal.SIGTERM)
    assert process.train_on_headless(runner) == 128 + sig  # type: ignore[arg-type]
    assert runner.interrupted and runner.saved == 1
    assert signal.getsignal(signal.SIGTERM) == before
