"""One key table: the main screen's bindings, the F1 help and README's table are the same keys, and they reach
the screen from a text field (ctrl keys) but never from under a dialog; app.py stays thin."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from textual.widgets import Input
from tui_helpers import make_app

import lrtui.tui
from lrtui.tui.keys import KEYS, ROWS, markdown_table
from lrtui.tui.screens.help import HELP, HelpScreen
from lrtui.tui.screens.main import MainScreen

README = Path(__file__).resolve().parents[2] / "README.md"
TUI = Path(lrtui.tui.__file__).parent


def documented_keys(table: str) -> set[str]:
    """The keys a Markdown key table names in its first column (``1`` … ``7`` is seven keys)."""
    keys: set[str] = set()
    for line in table.splitlines()[2:]:
        cell = line.split(" | ")[0]
        for first, last in re.findall(r"`(\d)` … `(\d)`", cell):
            keys |= {str(n) for n in range(int(first), int(last) + 1)}
        keys |= set(re.findall(r"`([^`]+)`", cell))
    return keys


def key_section(text: str) -> str:
    start = text.index("| key | does |")
    end = text.find("\n\n", start)
    return text[start : end if end != -1 else None].strip() + "\n"


def test_readme_holds_the_generated_key_table() -> None:
    """Regenerate it with ``python -m lrtui.tui.keys`` after changing lrtui/tui/keys.py."""
    assert key_section(README.read_text(encoding="utf-8")) == markdown_table()


def test_the_help_names_every_key_the_main_screen_binds() -> None:
    assert key_section(HELP) == markdown_table()
    bound = {b.key_display or b.key for b in MainScreen.BINDINGS if not isinstance(b, tuple)}
    assert bound and bound <= documented_keys(key_section(HELP))
    assert {k.group for k in KEYS} == {group for group, _ in ROWS}  # every key explained, no row without a key


def test_ctrl_keys_work_in_a_field_and_no_screen_key_works_under_a_dialog() -> None:
    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            field = app.query_one("#f-lr", Input)
            assert app.focused is field
            await pilot.press("ctrl+x", "ctrl+s")
            assert [n.message for n in app._notifications] == [
                "Nothing is running",
                "Nothing to report yet: train a run first (ctrl+r)",
            ]
            assert field.value == "0.01"  # not cut
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("ctrl+r", "ctrl+s", "ctrl+x", "2")
            await pilot.pause()
            assert app.session.runs == [] and len(app._notifications) == 2 and isinstance(app.screen, HelpScreen)
            await pilot.press("ctrl+q")  # the app's own key: it quits from any screen
            await pilot.pause()
            assert not app.is_running

    asyncio.run(scenario())


def test_app_py_is_thin_and_no_tui_module_is_over_600_lines() -> None:
    sizes = {str(p.relative_to(TUI)): len(p.read_text(encoding="utf-8").splitlines()) for p in TUI.rglob("*.py")}
    assert sizes["app.py"] <= 400
    assert not {name: n for name, n in sizes.items() if n > 600}
