"""The storage package's modules stay small enough to read: none over 600 lines."""

from __future__ import annotations

from pathlib import Path

import lrtui.sessions

SESSIONS = Path(lrtui.sessions.__file__).parent
MAX_LINES = 600


def test_no_sessions_module_is_over_600_lines() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in SESSIONS.glob("*.py")}
    assert "store.py" in sizes, "the package is where this test looks"
    assert not {name: n for name, n in sizes.items() if n > MAX_LINES}
