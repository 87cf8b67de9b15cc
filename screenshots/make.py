"""Regenerate the README's screenshots of the app (SVG): ``python screenshots/make.py``.

Drives the real app headless (``run_test``) with real training on the embedded
5k digits, like a person would with the keyboard, and saves what the screen shows:

- ``idle-80x24.svg``, ``idle-160x48.svg``: the app as it opens.
- ``mid-run-160x48.svg``: lr 0.01 training, in its third epoch of four.
- ``comparison-160x48.svg`` (accuracy), ``comparison-loss-160x48.svg``, ``comparison-80x24.svg``:
  after the classic three-lr comparison ``0.5, 0.01, 0.0001`` (SGD, batch 10, 5 epochs,
  the full 3,200/800 split), the lr 0.01 run selected.
- ``details-80x24.svg``: that run's details dialog (verdict, digits, confusion matrix).
- ``story-steps-160x48.svg``, ``story-steps-80x24.svg``: the Steps tab (the update ratio of single steps
  against the healthy band, on a log step axis) with the lr 0.5 run selected: the story line says why it
  does not learn, and when and how, in numbers from its step trace.
- ``dead-steps-160x48.svg``, ``dead-steps-80x24.svg``: the Dead tab per step: lr 0.5 kills conv2 and fc1
  within its first few hundred steps (dead shares on the trace's fixed probe batch).
- ``probe-160x48.svg``: the step probe tab (loss after one step of size η, each run's lr marked).
- ``zoom-full-screen-160x48.svg``: the accuracy chart zoomed (``z``) and full screen (``f``).
- ``own-model-steps-160x48.svg``: your own network (``--model examples/resnet.py:tiny_resnet``, six layers
  named by module path) at lr 0.5 and 0.1, 3 epochs on 3,200 digits: the Steps tab shows its four layers furthest
  from the healthy band and says how many more ``a`` shows; the form names the checked network and its size,
  the story line the lr 0.5 run's layers in their own names.

Takes a few minutes on 2 CPU cores (the comparison trains 3 × 5 epochs).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable

from lrtui.tui.app import LRTuiApp
from lrtui.tui.widgets.charts import Charts

OUT = Path(__file__).resolve().parent
WIDE, NARROW = (160, 48), (80, 24)


def new_app(**initial: str) -> LRTuiApp:
    """No device probing and no cursor blink: the pictures do not depend on the machine or the moment."""
    return LRTuiApp(initial={"device": "cpu", **initial}, detect_devices=False, cursor_blink=False)


def save(app: LRTuiApp, name: str) -> None:
    app.save_screenshot(name, path=str(OUT))
    print(f"wrote {OUT / name}")


async def wait_for(pilot: Pilot[Any], condition: Any, step: float = 0.1) -> None:
    while not condition():
        await pilot.pause(step)


async def idle(size: tuple[int, int]) -> None:
    app = new_app()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        save(app, f"idle-{size[0]}x{size[1]}.svg")


async def mid_run() -> None:
    app = new_app(lr="0.01", epochs="4")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(app.session.runs[0].epochs) >= 2)
        await pilot.pause(1.0)  # into the third epoch
        save(app, "mid-run-160x48.svg")
        app.stop()


async def comparison() -> None:
    app = new_app(lr="0.5, 0.01, 0.0001", epochs="5")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("ctrl+r")
        while app.runner.busy or not app.runner.wait(0):
            await pilot.pause(0.05)
        await pilot.pause()
        for run in app.session.runs:
            print(f"  {run.id} {run.config.label}: best val {run.best_val_acc:.3f}, verdict {run.verdict_label}")
        table = app.query_one(DataTable)
        table.focus()
        table.move_cursor(row=1)  # lr 0.01
        await pilot.pause()
        save(app, "comparison-160x48.svg")
        app.query_one(Charts).active = "tab-loss"
        await pilot.pause()
        save(app, "comparison-loss-160x48.svg")
        app.query_one(Charts).active = "tab-accuracy"
        await pilot.resize_terminal(*NARROW)
        await pilot.pause()
        save(app, "comparison-80x24.svg")
        await pilot.press("enter")
        await pilot.pause()
        save(app, "details-80x24.svg")
        await pilot.press("escape")
        table.move_cursor(row=0)  # lr 0.5: the story line tells why it does not learn
        await pilot.press("4")
        await pilot.pause()
        save(app, "story-steps-80x24.svg")
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        save(app, "story-steps-160x48.svg")
        await pilot.press("5")  # lr 0.5 dying step by step
        await pilot.pause()
        save(app, "dead-steps-160x48.svg")
        await pilot.resize_terminal(*NARROW)
        await pilot.pause()
        save(app, "dead-steps-80x24.svg")
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        await pilot.press("6")
        await pilot.pause()
        save(app, "probe-160x48.svg")
        table.move_cursor(row=1)
        await pilot.press("1", "z", "f")
        await pilot.pause()
        save(app, "zoom-full-screen-160x48.svg")


async def own_model() -> None:
    resnet = Path(__file__).resolve().parents[1] / "examples" / "resnet.py"
    app = LRTuiApp(
        initial={"device": "cpu", "model": f"{resnet}:tiny_resnet", "lr": "0.5, 0.1", "epochs": "3"},
        detect_devices=False,
        cursor_blink=False,
    )
    async with app.run_test(size=WIDE) as pilot:
        await wait_for(pilot, lambda: "params" in str(app.query_one("#f-model").render()))  # the checked network
        await pilot.press("ctrl+r")
        while app.runner.busy or not app.runner.wait(0):
            await pilot.pause(0.05)
        await pilot.pause()
        for run in app.session.runs:
            print(f"  {run.id} {run.config.label}: best val {run.best_val_acc:.3f}, verdict {run.verdict_label}")
        table = app.query_one(DataTable)
        table.focus()
        table.move_cursor(row=0)  # lr 0.5
        await pilot.press("4")
        await pilot.pause()
        save(app, "own-model-steps-160x48.svg")


async def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        os.environ["LRTUI_HOME"] = home  # the sessions these pictures make are thrown away
        await idle(NARROW)
        await idle(WIDE)
        await mid_run()
        await comparison()
        await own_model()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
