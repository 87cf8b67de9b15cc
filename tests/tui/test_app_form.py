"""The form: inline validation with the engine's own messages, and keys that move focus."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable, Input, OptionList, Select, Static
from tui_helpers import TINY, make_app, until

from lrtui.tui.app import LRTuiApp
from lrtui.tui.screens.help import HelpScreen


def test_invalid_lr_is_marked_inline_and_nothing_starts() -> None:
    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            lr = app.query_one("#f-lr", Input)
            lr.value = ""
            await pilot.click("#f-lr")
            await pilot.press(*"abc")
            await pilot.pause()
            assert app.query_one("#row-lr").has_class("invalid")
            assert "'abc' is not a number" in str(app.query_one("#e-lr", Static).render())
            await pilot.press("ctrl+r")
            await pilot.press("enter")
            await pilot.pause()
            assert app.session.runs == [] and not app.training
            assert app.query_one(DataTable).row_count == 0
            assert app.focused is lr  # the cursor is put on the field to fix

            lr.value = "0.5, 0"  # a list with one bad item: the engine's range message
            await pilot.pause()
            assert "out of range" in str(app.query_one("#e-lr", Static).render())
            lr.value = "0.01"
            await pilot.pause()
            assert not app.query_one("#row-lr").has_class("invalid")
            assert str(app.query_one("#e-lr", Static).render()) == ""

    asyncio.run(scenario())


def test_every_invalid_field_is_marked_at_once() -> None:
    async def scenario() -> None:
        app = make_app(epochs="0", batch_size="5000", momentum="2")
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            marked = {row.id for row in app.query(".field.invalid")}
            assert marked == {"row-epochs", "row-batch_size", "row-momentum"}
            assert "larger than the training set" in str(app.query_one("#e-batch_size", Static).render())

    asyncio.run(scenario())


def test_settings_without_a_field_are_checked_too() -> None:
    """``--val-fraction 2`` from the command line has no field: its error still shows, and blocks runs."""

    async def scenario() -> None:
        app = make_app(val_fraction="2")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert "val_fraction" in str(app.query_one("#e-other", Static).render())
            await pilot.press("ctrl+r")
            await pilot.pause()
            assert app.session.runs == []

    asyncio.run(scenario())


def test_escape_leaves_a_field_and_f1_opens_help() -> None:
    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            assert isinstance(app.focused, Input)
            await pilot.press("escape")
            assert isinstance(app.focused, DataTable)
            await pilot.press("f1")
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            assert not isinstance(app.screen, HelpScreen)
            await pilot.press("minus")  # outside a text field, with no run yet: rerun of the form's lr ÷ 10
            await pilot.pause()
            assert app.query_one("#f-lr", Input).value == "0.01"  # the form is left as typed
            assert [r.config.lr for r in app.session.runs] == [0.001]
            app.stop()

    asyncio.run(scenario())


def test_plus_and_minus_type_into_a_text_field() -> None:
    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            lr = app.query_one("#f-lr", Input)
            lr.value = "1e"
            lr.cursor_position = 2
            await pilot.press("minus", "4")
            assert lr.value == "1e-4"
            assert app.session.runs == []

    asyncio.run(scenario())


def test_the_command_palette_offers_the_actions() -> None:
    async def scenario() -> None:
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+p", *"Train", "enter")
            await pilot.pause()
            assert [r.config.lr for r in app.session.runs] == [0.01]
            app.stop()

    asyncio.run(scenario())


def test_the_device_list_comes_from_torch_after_the_first_frame() -> None:
    async def scenario() -> None:
        app = LRTuiApp(initial=TINY, cursor_blink=False)  # probing on, as `lrtui` starts
        async with app.run_test(size=(80, 24)) as pilot:
            assert app.main.form.devices is None  # the first frame does not wait for torch
            await until(pilot, lambda: app.main.form.devices is not None, "the device probe")
            devices = app.main.form.devices
            assert devices is not None and devices[0] == "cpu"
            menu = app.query_one("#f-device", Select).query_one(OptionList)  # the drop-down's choices
            offered = [str(menu.get_option_at_index(i).prompt).split(" · ")[0] for i in range(menu.option_count)]
            assert offered == ["auto", *devices]  # GPUs would show as "cuda:0 · <name>"
            assert app.query_one("#f-device", Select).value == "cpu"  # the choice is kept

    asyncio.run(scenario())


def test_ctrl_x_while_idle_keeps_the_field_text() -> None:
    """ctrl+x is Cancel everywhere: idle, it must not fall through to the Input's cut (focus selects all)."""

    async def scenario() -> None:
        app = make_app(lr="0.5, 0.01")
        async with app.run_test(size=(80, 24)) as pilot:
            app.query_one("#f-lr", Input).focus()  # as after a run: focus selects the whole value
            await pilot.pause()
            await pilot.press("ctrl+x")
            await pilot.pause()
            assert app.query_one("#f-lr", Input).value == "0.5, 0.01"
            assert not app.query_one("#row-lr").has_class("invalid")
            assert not app.training

    asyncio.run(scenario())


def test_cuda_is_accepted_before_torch_has_listed_the_devices() -> None:
    """``lrtui --device cuda`` on a GPU box: until the probe answers, the form takes it (as cuda:0)."""

    async def scenario() -> None:
        app = make_app(device="cuda")  # no probe: the form never learns the real devices
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert not app.query_one("#row-device").has_class("invalid")
            assert app.main.form.configs()[0].device == "cuda"

    asyncio.run(scenario())
