"""A real three-lr session (lr 0.5, 0.01, 1e-4; 100 training digits, 2 epochs), trained once per worker.

While it trains, the file on disk is read back after every event that must save it,
so the tests can check what a killed process would have left behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from lrtui.engine.config import parse_configs
from lrtui.engine.events import EpochEnd, Event, RunEnd, RunStarted
from lrtui.sessions.store import Session

LRS = "0.5, 0.01, 1e-4"


@dataclass(frozen=True)
class Trained:
    root: Path  #: the ``sessions`` folder (``$LRTUI_HOME/sessions``)
    path: Path  #: the session folder
    #: (event name, run id, status on disk, epochs on disk) read right after each saving event
    on_disk: list[tuple[str, str, str, int]]


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    from lrtui.engine.sweep import run_many

    root = tmp_path_factory.mktemp("home") / "sessions"
    session = Session.create(root)
    configs = parse_configs({"lr": LRS, "train_limit": "100", "epochs": "2", "device": "cpu"})
    ids = [session.add(c).id for c in configs]
    on_disk: list[tuple[str, str, str, int]] = []

    def emit(ev: Event) -> None:
        session.observe(ev)
        if isinstance(ev, (RunStarted, EpochEnd, RunEnd)):
            doc = json.loads(session.file.read_text())
            run = next(r for r in doc["runs"] if r["id"] == ev.run_id)
            on_disk.append((type(ev).__name__, ev.run_id, run["status"], len(run["epochs"])))

    run_many(configs, ids, emit, batched=False)
    session.close()  # done writing: copies of this folder must not look live
    return Trained(root, session.path, on_disk)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ``$LRTUI_HOME`` for this test."""
    monkeypatch.setenv("LRTUI_HOME", str(tmp_path))
    return tmp_path
