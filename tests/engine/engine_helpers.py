"""Helpers for engine tests: run ``train`` on a tiny CPU subset and keep every event."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from lrtui.engine.config import RunConfig
from lrtui.engine.events import Event, RunEnd
from lrtui.engine.trainer import train

#: A quick run: 300 training samples (30 batches of 10), 75 for validation, 2 epochs, on the CPU.
TINY = RunConfig(lr=0.01, epochs=2, batch_size=10, train_limit=300, device="cpu", seed=0)


class Recorder:
    """An ``emit`` callback that keeps every event and can run a hook on each one."""

    def __init__(self, hook: Callable[[Event], Any] | None = None) -> None:
        self.events: list[Event] = []
        self.hook = hook

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if self.hook is not None:
            self.hook(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def run_tiny(
    hook: Callable[[Event], Any] | None = None,
    cancel: threading.Event | None = None,
    *,
    diagnostics: bool = True,
    probes: bool = True,
    **changes: Any,
) -> tuple[RunEnd, Recorder]:
    """Train ``TINY`` with ``changes``; returns the RunEnd and the recorder holding all events."""
    recorder = Recorder(hook)
    end = train(replace(TINY, **changes), recorder, cancel, diagnostics=diagnostics, probes=probes)
    return end, recorder
