"""Helpers for the app tests: a tiny real training setup and ways to wait for it.

Every test trains the real engine on a few hundred of the embedded digits; nothing
is faked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from lrtui.engine.config import RunConfig
from lrtui.engine.events import RunState, Verdict, VerdictLabel
from lrtui.engine.records import EpochRecord, TestResult
from lrtui.sessions.store import Session
from lrtui.tui.app import LRTuiApp

#: Small enough for a second or two per run on 2 CPU cores.
TINY = {"train_limit": "200", "epochs": "1", "device": "cpu"}


def make_app(**initial: Any) -> LRTuiApp:
    """The app as ``lrtui --train-limit 200 --epochs 1 ...`` opens it, minus cursor blink and device probing."""
    return LRTuiApp(initial={**TINY, **initial}, detect_devices=False, cursor_blink=False)


async def until(pilot: Pilot[Any], condition: Callable[[], bool], what: str, limit: int = 600) -> None:
    """Let the app process messages until ``condition`` holds (at most ``limit`` short pauses)."""
    for _ in range(limit):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def settle(pilot: Pilot[Any]) -> None:
    """Wait until every queued run has trained and every event has been shown."""
    app = pilot.app
    assert isinstance(app, LRTuiApp)
    while app.runner.busy or not app.runner.wait(0):
        await pilot.pause(0.05)
    for _ in range(3):  # the last events and the runner's "done" are still on their way to the UI thread
        await pilot.pause()


def log_text(app: LRTuiApp) -> str:
    """The log's lines as shown (long lines are wrapped to the log's width)."""
    return "\n".join(line.text for line in app.main.log_view.lines)


def in_log(app: LRTuiApp, needle: str) -> bool:
    """Whether the log says ``needle``, wherever wrapping broke its lines (whitespace is ignored)."""
    return "".join(needle.split()) in "".join(log_text(app).split())


def hand_made_session(root: Path, runs: Sequence[Mapping[str, Any]]) -> Path:
    """A saved session of made-up runs (no training), for what real training rarely gives on cue.

    Each run: RunConfig settings, plus ``val`` (validation accuracy per finished epoch), and
    optionally ``status`` (default finished), ``test`` (accuracy), ``span`` ((started, ended) times)
    and ``duration`` (its clock, s). Returns the session file.
    """
    session = Session.create(root)
    special = {"val", "status", "test", "span", "duration"}
    for spec in runs:
        record = session.add(RunConfig(**{k: v for k, v in spec.items() if k not in special}))
        record.status = RunState(spec.get("status", "finished"))
        record.epochs = [
            EpochRecord(i + 1, val_acc=v, train_acc=v, val_loss=1 - v, train_loss=1 - v, seconds=1.0)
            for i, v in enumerate(spec["val"])
        ]
        record.batch_losses = [0.5] * (10 * len(spec["val"]))
        if "test" in spec:
            record.test = TestResult(spec["test"], 1 - spec["test"])
        if record.epochs:
            record.verdict = Verdict(VerdictLabel.CONVERGED, "made up", "none")
        record.duration_s = spec.get("duration", 2.0 * len(spec["val"]))
        record.started_at, record.ended_at = spec.get("span", (None, None))
    session.save()
    session.close()
    return session.file
