"""Every app test gets its own temporary ``$LRTUI_HOME``, so sessions never touch the real one."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def lrtui_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("LRTUI_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def saved_session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real session on disk, as ``lrtui run --lr 0.01 --epochs 2 --train-limit 200`` leaves it."""
    from lrtui.engine.config import parse_configs
    from lrtui.engine.sweep import run_many
    from lrtui.sessions.store import Session

    session = Session.create(tmp_path_factory.mktemp("saved") / "sessions")
    configs = parse_configs({"lr": "0.01", "epochs": "2", "train_limit": "200", "device": "cpu"})
    run_many(configs, [session.add(c).id for c in configs], session.observe)
    session.close()  # its writer is done, as when `lrtui run` ends
    return session.file


@pytest.fixture
def session_copy(saved_session: Path, tmp_path: Path) -> Path:
    """A copy of the saved session that a test may change (new runs append to it)."""
    import shutil

    folder = tmp_path / "copy" / saved_session.parent.name
    shutil.copytree(saved_session.parent, folder)
    return folder
