"""What the app does to its process: torch threads, SIGHUP/SIGTERM, and a quick exit.

Kept apart from the widgets because none of it is about the screen, and none of it
imports torch before it is needed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


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


@contextmanager
def on_hangup(handle: Callable[[int], None]) -> Iterator[None]:
    """Route SIGHUP (a dropped SSH link) and SIGTERM to ``handle(signum)`` on the running event loop."""

    def handler(signum: int, frame: object) -> None:
        try:
            asyncio.get_running_loop().call_soon_threadsafe(handle, signum)
        except RuntimeError:  # no loop: the app is not running (yet, or any more)
            raise SystemExit(128 + signum) from None

    wanted = [s for s in (getattr(signal, "SIGHUP", None), signal.SIGTERM) if s is not None]
    previous = {s: signal.signal(s, handler) for s in wanted}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)


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
