"""A failure in any of the app's threads is one line in the log; the app stays up."""

from __future__ import annotations

import asyncio

from tui_helpers import TINY, in_log, log_text, settle, until

from lrtui.tui.app import LRTuiApp


def test_a_device_probe_that_cannot_load_torch_is_one_line_in_the_log(monkeypatch):
    import lrtui.engine.config as config

    def broken() -> list[str]:
        raise ImportError("libcudnn.so.9: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(config, "detect_devices", broken)

    async def scenario() -> None:
        app = LRTuiApp(initial=dict(TINY), detect_devices=True, cursor_blink=False)
        async with app.run_test(size=(120, 36)) as pilot:

            def logged() -> list[str]:
                return [line.text for line in app.main.log_view.lines if "PyTorch could not be loaded" in line.text]

            await until(pilot, lambda: bool(logged()), "the probe's failure in the log")
            (line,) = logged()
            assert "ImportError: libcudnn.so.9" in line and "\n" not in line
            assert app.is_running

    asyncio.run(scenario())


def test_runs_on_other_data_joining_the_session_are_said_once_in_the_log():
    async def scenario() -> None:
        app = LRTuiApp(initial=dict(TINY), detect_devices=False, cursor_blink=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("ctrl+r")
            await settle(pilot)
            app.main.enqueue(app.main.form.configs())  # the same data: nothing to say
            await settle(pilot)
            from dataclasses import replace

            app.main.enqueue([replace(app.main.form.configs()[0], train_limit=150)])
            await settle(pilot)
            assert "".join(log_text(app).split()).count("theiraccuraciesdonotcompare") == 1
            assert in_log(app, "the new runs use mnist-5k, first 150 training samples")

    asyncio.run(scenario())


def test_an_event_that_arrives_while_the_app_takes_its_screen_down_is_dropped():
    """A run stopped as the app closes may still report: its batch log must not raise (NoMatches) on a screen
    whose widgets are gone — found by the screenshot script, which leaves the app while a run stops."""
    from lrtui.engine.config import RunConfig
    from lrtui.engine.events import BatchLog
    from lrtui.tui.messages import RunnerUpdate
    from lrtui.tui.widgets.runlog import RunLog

    async def scenario() -> None:
        app = LRTuiApp(initial=dict(TINY), cursor_blink=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await settle(pilot)
            record = app.session.add(RunConfig(epochs=1, train_limit=300))
            log = BatchLog(record.id, 1, 10, 100, 300, 2.3, 12, 0.12)
            app.on_runner_update(RunnerUpdate(log))  # the screen whole: the batch is logged
            app.main.log_view.settle()  # written now, not at the next redraw
            assert in_log(app, "loss: 2.3000")
            await app.main.query(RunLog).remove()
            app.on_runner_update(RunnerUpdate(log))  # gone: dropped, no exception

    asyncio.run(scenario())
