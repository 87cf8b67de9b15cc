"""What the app does to its process: its event loop, torch threads, SIGHUP/SIGTERM (:mod:`lrtui.signals`),
training on headless, a quick exit.

Kept apart from the widgets because none of it is about the screen, and none of it
imports torch before it is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from typing import TYPE_CHECKING

from lrtui.printable import printable
from lrtui.signals import Signals, on_loop, wait_out

if TYPE_CHECKING:
    from lrtui.runner import Runner
    from lrtui.sessions.store import Session
    from lrtui.tui.app import LRTuiApp


def ui_torch_threads() -> int:
    """Torch threads while the UI runs: every core but one, so key presses are never starved."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


def limit_torch_threads() -> None:
    """Called by each worker before torch works (it imports torch: workers only)."""
    import torch

    torch.set_num_threads(ui_torch_threads())


def find_devices() -> tuple[tuple[str, ...], dict[str, str]]:
    """The devices torch can train on, and each GPU's name (``cuda:0`` → ``NVIDIA H200``). Imports torch:
    on a worker thread."""
    from lrtui.engine.config import detect_devices

    limit_torch_threads()
    devices = detect_devices()
    import torch

    return devices, {d: torch.cuda.get_device_name(int(d[5:])) for d in devices if d.startswith("cuda:")}


def preload_training() -> None:
    """Import what the first run would wait ~1 s for, while the user reads the form (on a worker thread)."""
    import sklearn.metrics  # noqa: F401

    import lrtui.engine.sweep  # noqa: F401


def _detach_stdio() -> None:
    """Point stdin/stdout/stderr at /dev/null: the terminal is gone, and a write to it would fail or block."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            os.dup2(null, fd)
    os.close(null)


def train_on_headless(runner: Runner) -> int:
    """After a hangup: finish the running and queued runs without a screen, saving as they go.

    SIGTERM or SIGINT now stop them (saved interrupted / cancelled) as they stop ``lrtui run``
    (:mod:`lrtui.signals`: a bounded wait, then interrupted); a second hangup is ignored.
    Returns the exit code: 0 when every run got to its end, 128 + the signal otherwise.
    """
    _detach_stdio()
    with Signals(runner.stop, keep_on_hangup=True) as stop:
        wait_out(runner, stop)
    runner.session.save()
    return stop.exit_code


def say_where(session: Session) -> None:
    """On the way out: where the session is and how to reopen it (nothing for a session never saved)."""
    if not any(r.status != "queued" for r in session.runs):
        return
    with contextlib.suppress(OSError):
        where = printable(session.path, newlines=False)
        print(f"lrtui: session saved in {where}\n       reopen it with: lrtui --open {where}")


def leave(code: int) -> None:
    """End the process without the interpreter's teardown.

    After training, that teardown (torch freeing its thread pools and caches) takes 1-2 s
    on 2 CPU cores, after the screen is already gone. Call this only when the session is
    saved (atomically, fsync'd) and the terminal restored: the app's quit has waited for
    the run to end, or saved it ``interrupted`` when it was slow to.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_app(app: LRTuiApp) -> int:
    """Run the app (``lrtui`` without a subcommand) in this process, and finish what it leaves.

    When the terminal goes away with runs left (SIGHUP), the screen closes and this process
    trains them to the end headless, saving as it goes; ``lrtui --open last`` watches it.
    On the way out it prints where the session is and how to reopen it.

    Returns the exit code, except once torch has been loaded: then the process ends here
    (see :func:`leave`), so that quitting takes well under the 2 s it must.
    """
    # our own loop: App.run() would use asyncio.run(), which joins the worker threads' executor
    # without a timeout, so a worker slow to stop (a first torch import, CUDA start-up, a
    # download) would hold the shell prompt after the screen is gone
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    with on_loop(hangup=app.hang_up, terminate=app.interrupt):
        try:
            app.run(loop=loop)
        except OSError:  # the terminal vanished while the screen was being restored
            app.detached = app.detached or app.runner.busy
    code = app.return_code or 0
    if app.detached:
        code = train_on_headless(app.runner)
    app.runner.close()  # the final save; this process no longer writes the session
    if not app.detached:
        say_where(app.session)
    if "torch" in sys.modules:
        leave(code)
    return code
