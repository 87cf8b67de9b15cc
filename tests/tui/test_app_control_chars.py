"""Paths and messages from outside never reach the terminal as control sequences (F12).

``LRTUI_HOME=$'…\\x1b[2J'`` put an escape sequence into every line naming the session folder:
the "Report written" toast, the log and the quit message cleared the screen.
"""

from __future__ import annotations

import asyncio

from tui_helpers import make_app, settle

from lrtui.printable import printable
from lrtui.sessions.store import Session
from lrtui.tui.process import say_where

ESC_HOME = "home\x1b[2J\x07\x9b31m"


def test_printable_spells_out_every_control_character_and_keeps_the_rest():
    assert printable("a\x1b[2Jb\x07c\x9bd\x7fe") == "a\\x1b[2Jb\\x07c\\x9bd\\x7fe"
    assert printable("line\nnext\ttab") == "line\nnext\ttab"
    assert printable("line\nnext", newlines=False) == "line\\x0anext"
    assert printable("ünï ✓ 0.5") == "ünï ✓ 0.5"


def test_the_report_toast_and_the_log_show_an_escape_in_the_session_path_as_text(tmp_path, monkeypatch):
    monkeypatch.setenv("LRTUI_HOME", str(tmp_path / ESC_HOME))
    asyncio.run(_report_with_escape_in_path())


async def _report_with_escape_in_path() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("ctrl+r")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        shown = [n.message + n.title for n in app._notifications]
        assert any("Report written" in text or "report" in text.lower() for text in shown), shown
        assert not any(ch in text for text in shown for ch in "\x1b\x07\x9b")
        assert any("\\x1b[2J" in text for text in shown)
        logged = "".join(line.text for line in app.main.log_view.lines)  # wrapping may cut a path anywhere
        assert "\x1b" not in logged and "\\x1b[2J" in logged


def test_the_quit_message_spells_out_an_escape_in_the_session_path(tmp_path, capsys):
    session = Session.create(tmp_path / ESC_HOME / "sessions")
    session.add(__import__("lrtui.engine.config", fromlist=["RunConfig"]).RunConfig()).status = "finished"
    say_where(session)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2J" in out and "lrtui --open" in out
