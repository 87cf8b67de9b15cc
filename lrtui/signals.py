"""SIGINT, SIGTERM and SIGHUP, in one place for ``lrtui run``, ``find-lr`` and the app.

The rules (the shell's conventions, and the product's: a signal ends the process within
seconds, with the runs saved):

* SIGINT (Ctrl-C) stops the work after the current batch: the running runs end *cancelled*;
  a second Ctrl-C stops at once.
* SIGTERM, and SIGHUP unless the work should outlive the terminal, stop it as *interrupted*.
* The runs get :data:`STOP_GRACE_S` to stop at a batch's end (:func:`wait_out`); an engine that
  does not answer by then is left, its runs saved *interrupted*.
* The exit code is 128 + the first signal (130 Ctrl-C, 129 SIGHUP, 143 SIGTERM).
* Every handler installed here is put back as it was on the way out (:func:`handled`).

The CLI waits on its main thread, where Python runs the handlers (:class:`Signals`); the app's
handlers hand the signal to its event loop (:func:`on_loop`). Standard library only: the CLI
installs these before torch is imported.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lrtui.runner import Runner

#: after Ctrl-C or SIGTERM, how long the runs get to stop at a batch's end before they are saved interrupted
STOP_GRACE_S = 10.0
#: how often a wait looks at the runner (Python runs signal handlers on the main thread in between)
POLL_S = 0.2

Handler = Callable[[int, "FrameType | None"], Any]


def exit_code(signum: int | None) -> int:
    """128 + the signal's number, the shell's convention; 0 for none."""
    return 128 + signum if signum else 0


def hangup_signal() -> int | None:
    """SIGHUP where the platform has it (not on Windows)."""
    return getattr(signal, "SIGHUP", None)


@contextmanager
def handled(handlers: Mapping[int, Handler | int]) -> Iterator[None]:
    """Install ``handlers`` (signal → handler, or ``signal.SIG_IGN``) for the block, then restore the previous ones."""
    previous = {num: signal.signal(num, handler) for num, handler in handlers.items()}
    try:
        yield
    finally:
        for num, old in previous.items():
            signal.signal(num, old)


class Signals:
    """Ctrl-C and SIGTERM stop the work after the current batch; a second Ctrl-C stops at once.

    SIGHUP (the terminal gone) stops it too when ``keep_on_hangup`` is false; when true, the work
    goes on with printing switched off (``hung_up``), as a job on a remote box should.
    ``on_stop(status)`` is told how a stopped run should end: ``cancelled`` or ``interrupted``.
    """

    def __init__(self, on_stop: Callable[[str], object] | None = None, *, keep_on_hangup: bool = False) -> None:
        self.cancel = threading.Event()
        self.received: int | None = None
        self.hung_up = False
        self.on_stop = on_stop
        self.keep_on_hangup = keep_on_hangup
        self._restore = ExitStack()

    def __enter__(self) -> Signals:
        nums = [signal.SIGINT, signal.SIGTERM] + ([hup] if (hup := hangup_signal()) is not None else [])
        self._restore.enter_context(handled(dict.fromkeys(nums, self._handle)))
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore.close()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and self.received == signal.SIGINT:
            raise KeyboardInterrupt
        if signum == hangup_signal():
            self.hung_up = True
            if self.keep_on_hangup:
                return
        if self.received is None:
            self.received = signum
        self.cancel.set()
        if self.on_stop is not None:
            self.on_stop("interrupted" if self.interrupted else "cancelled")

    @property
    def interrupted(self) -> bool:
        """SIGHUP or SIGTERM: the run was ``interrupted`` from outside, not cancelled by choice."""
        return self.received in (hangup_signal(), signal.SIGTERM)

    @property
    def hangup(self) -> bool:
        """SIGHUP: the terminal is gone (a dropped SSH link), so printing is pointless and may fail."""
        return self.hung_up

    @property
    def exit_code(self) -> int:
        """128 + signal number, the shell's convention (130 Ctrl-C, 129 SIGHUP, 143 SIGTERM); 0 if none."""
        return exit_code(self.received)


def wait_out(runner: Runner, stop: Signals, grace: float | None = None) -> None:
    """Wait on the main thread until the runner is idle; once a signal stopped it, at most ``grace`` seconds.

    An engine that has not stopped by then, or a second Ctrl-C, leaves its runs saved *interrupted*
    (:meth:`lrtui.runner.Runner.interrupt`), so the process can end within seconds. ``grace``: default
    :data:`STOP_GRACE_S`.
    """
    grace = STOP_GRACE_S if grace is None else grace
    try:
        stopped_at: float | None = None
        while not runner.wait(POLL_S):  # a timed wait: signal handlers run on this thread in between
            if stop.received is None:
                continue
            stopped_at = stopped_at or time.monotonic()
            if time.monotonic() - stopped_at > grace:  # the engine does not answer: leave anyway
                runner.interrupt()
                return
    except KeyboardInterrupt:  # a second Ctrl-C: stop now, keep what finished
        stop.received = signal.SIGINT
        runner.interrupt()


@contextmanager
def on_loop(*, hangup: Callable[[int], None], terminate: Callable[[int], None]) -> Iterator[None]:
    """Route SIGHUP (a dropped SSH link) to ``hangup``, SIGTERM and SIGINT to ``terminate``, on the running loop.

    For the app: Textual's event loop owns the terminal, so the handler only schedules the call there.
    """
    import asyncio  # here: ``lrtui run`` never needs it

    def route(handle: Callable[[int], None]) -> Handler:
        def handler(signum: int, frame: FrameType | None) -> None:
            try:
                asyncio.get_running_loop().call_soon_threadsafe(handle, signum)
            except RuntimeError:  # no loop: the app is not running (yet, or any more)
                raise SystemExit(exit_code(signum)) from None

        return handler

    # SIGINT too: the app reads ctrl+c as a key, so a SIGINT comes from outside (``kill -INT``); left to
    # Python it would raise KeyboardInterrupt in the event loop and leave the terminal in the app's modes
    wanted: dict[int, Handler | int] = {signal.SIGTERM: route(terminate), signal.SIGINT: route(terminate)}
    if (hup := hangup_signal()) is not None:
        wanted[hup] = route(hangup)
    with handled(wanted):
        yield
