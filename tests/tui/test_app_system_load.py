"""The status line says what the machine is doing while runs train: CPU and threads, or the GPU; gone when idle."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from tui_helpers import make_app, settle, until

from lrtui.engine.events import Progress
from lrtui.system_load import SystemSample, SystemSampler
from lrtui.tui.widgets.status import IDLE, RunStatus, load_line

PROGRESS = Progress(
    "r1",
    epoch=1,
    epochs=3,
    batch=50,
    batches_per_epoch=400,
    batches_done=50,
    batches_total=1200,
    samples_per_s=2345.0,
    eta_s=75.0,
)
CPU = SystemSample(cpu_percent=187.4, rss_mb=1228.0, load1=1.94)
GPU = SystemSample(cpu_percent=99.0, rss_mb=3000.0, load1=0.5, gpu_util=93.0, gpu_mem_mb=4198.0, gpu_temp_c=61.0)


class StatusApp(App[None]):
    CSS = "RunStatus { height: 3; width: 40; }"  # as the app's stylesheet sets it

    def compose(self) -> ComposeResult:
        yield RunStatus(id="status")


def shown(status: RunStatus) -> str:
    return status.render().plain  # type: ignore[union-attr]


def test_the_line_says_cpu_threads_memory_and_load_or_the_gpu_and_drops_what_does_not_fit() -> None:
    assert str(load_line(CPU, 2, 60)) == "CPU 187% · 2 threads · 1.2 GB · load 1.9"
    assert str(load_line(CPU, 2, 30)) == "CPU 187% · 2 threads · 1.2 GB"
    assert str(load_line(GPU, 15, 60)) == "GPU 93% · 4.1 GB · 61°C · CPU 99%"
    assert str(load_line(SystemSample(rss_mb=512.0), None, 60)) == "512 MB"
    assert load_line(SystemSample(), 2, 60) is None and load_line(None, 2, 60) is None


def test_the_status_grows_a_row_for_the_machine_while_training_and_gives_it_back_when_idle() -> None:
    async def go() -> None:
        app = StatusApp()
        async with app.run_test(size=(60, 10)) as pilot:
            status = app.query_one(RunStatus)
            assert status.size.height == 3 and shown(status).startswith(IDLE)
            status.progress(PROGRESS, "r1")  # no sample yet: no row for it
            await pilot.pause()
            assert status.size.height == 3 and "CPU" not in shown(status)
            status.progress(PROGRESS, "r1", CPU, 2)
            await pilot.pause()
            lines = shown(status).splitlines()
            assert status.size.height == 4 and len(lines) == 4
            assert [line.rstrip() for line in lines[:2]] == ["r1 epoch 1/3 · 2,345 samples/s · ETA", "1:15"]
            assert lines[2] == "CPU 187% · 2 threads · 1.2 GB · load 1.9" and lines[3].endswith("4%")
            status.progress(PROGRESS, "r1", GPU, 2)
            await pilot.pause()
            assert shown(status).splitlines()[2] == "GPU 93% · 4.1 GB · 61°C · CPU 99%"
            status.idle("r1 finished")
            await pilot.pause()
            assert status.size.height == 3 and "GPU" not in shown(status) and shown(status).startswith("r1 finished")

    asyncio.run(go())


def test_the_app_shows_the_machine_while_a_run_trains() -> None:
    async def go() -> None:
        app = make_app(train_limit="3000")  # long enough to be seen training on a loaded machine
        app.runner.sampler = SystemSampler(0.02)  # the app's is once a second: too slow for a tiny run
        seen: list[str] = []
        async with app.run_test(size=(120, 40)) as pilot:
            status = app.main.query_one(RunStatus)
            await pilot.press("ctrl+r")

            def shows_cpu() -> bool:
                seen.append(shown(status))
                return "CPU " in seen[-1] and " thread" in seen[-1]

            await until(pilot, shows_cpu, "the machine's line in the status")
            await settle(pilot)
            await pilot.pause()
            assert "CPU" not in shown(status) and status.size.height == 3

    asyncio.run(go())
