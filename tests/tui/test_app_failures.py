"""A failure in any of the app's threads is one line in the log; the app stays up."""

from __future__ import annotations

import asyncio

from tui_helpers import TINY, until

from lrtui.tui.app import LRTuiApp


def test_a_device_probe_that_cannot_load_torch_is_one_line_in_the_log(monkeypatch):
    import lrtui.engine.config as config

    def broken() -> list[str]:
        raise ImportError("libcudnn.so.9: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(config, "probe_devices", broken)

    async def scenario() -> None:
        app = LRTuiApp(initial=dict(TINY), probe_devices=True, cursor_blink=False)
        async with app.run_test(size=(120, 36)) as pilot:
            def logged() -> list[str]:
                return [line.text for line in app.log_view.lines if "PyTorch could not be loaded" in line.text]

            await until(pilot, lambda: bool(logged()), "the probe's failure in the log")
            (line,) = logged()
            assert "ImportError: libcudnn.so.9" in line and "\n" not in line
            assert app.is_running

    asyncio.run(scenario())
