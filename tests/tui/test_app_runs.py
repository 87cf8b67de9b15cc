"""Training from the app, end to end on the real engine: log, charts, table, details, keys."""

from __future__ import annotations

import asyncio
import json

from textual.widgets import DataTable, Input
from tui_helpers import in_log, make_app, settle, until

from lrtui.engine.config import format_lr
from lrtui.plots.palette import VERDICT_COLORS
from lrtui.tui.screens.find_lr import FindLRScreen
from lrtui.tui.widgets.charts import RunChart
from lrtui.tui.widgets.details import RunDetails
from lrtui.tui.widgets.digits import DigitStrip


def cell(app, run_id: str, column: str):  # type: ignore[no-untyped-def]
    return app.query_one(DataTable).get_cell(run_id, column)


def test_a_run_shows_log_lines_charts_table_row_and_details() -> None:
    async def scenario() -> None:
        app = make_app(lr="0.01", epochs="2")
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("ctrl+r")
            await settle(pilot)
            run = app.session.book.get("r1")
            assert run is not None and run.status == "finished" and len(run.epochs) == 2

            for line in (
                "epoch:  1 | batch:",
                "| instances: [",
                "| loss: ",
                "✅",
                "| accuracy: ",
                "epoch:  2 done",
                "r1 finished",
            ):
                assert in_log(app, line), line

            verdict = cell(app, "r1", "verdict")
            assert verdict.plain == run.verdict_label and verdict.style == VERDICT_COLORS[verdict.plain]
            assert cell(app, "r1", "status").plain == "done"
            assert cell(app, "r1", "best val acc").plain == f"{100 * run.best_val_acc:.1f}%"

            accuracy = app.query_one("#chart-accuracy", RunChart)
            assert accuracy.runs == [run]
            picture = accuracy.picture().plain
            assert picture.splitlines()[0].startswith("■ r1 lr=0.01 sgd")  # the legend, on its own line
            assert any(0x2800 < ord(c) <= 0x28FF for c in picture)  # the curve, in braille
            batch = app.query_one("#chart-batch-loss", RunChart)
            assert len(batch.runs[0].batch_losses) == 2 * 20  # 200 digits / batch 10, two epochs

            app.query_one(DataTable).focus()
            await pilot.pause()
            details = app.query_one("#details", RunDetails)
            assert details.run_id == "r1"
            shown = str(details.query_one("#details-verdict").render())
            assert run.verdict is not None and run.verdict.reason in shown
            digits = details.query_one(DigitStrip)
            assert digits.images and len(digits.images) == len(digits.true) == len(digits.pred)

            saved = json.loads(app.session.file.read_text())
            assert [(r["id"], r["status"], len(r["epochs"])) for r in saved["runs"]] == [("r1", "finished", 2)]

    asyncio.run(scenario())


def test_plus_and_minus_rerun_the_selected_run_at_ten_times_and_a_tenth_its_lr() -> None:
    async def scenario() -> None:
        app = make_app(lr="0.02")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("enter")  # in the lr field, where the app opens: same as ctrl+r
            await settle(pilot)
            assert isinstance(app.focused, DataTable)  # a run started: focus left the form, + is a key
            app.main.form.set_value("epochs", "3")  # the form changes; a rerun is of the run, not of the form
            await pilot.press("plus")
            await settle(pilot)
            assert [r.config.lr for r in app.session.runs] == [0.02, 0.2]
            assert app.session.runs[1].config.epochs == app.session.runs[0].config.epochs == 1
            assert app.query_one("#f-lr", Input).value == "0.02"  # the form is left as typed
            assert app.query_one("#f-epochs", Input).value == "3"
            assert in_log(app, "r2: rerun of r1 with lr ×10 = 0.2")
            app.main.runs_table.move_cursor(row=1)  # r2 selected: - reruns r2, twice
            await pilot.press("minus", "minus")
            await settle(pilot)
            assert [r.config.lr for r in app.session.runs] == [0.02, 0.2, 0.02, 0.02]
            assert all(r.status == "finished" for r in app.session.runs)

    asyncio.run(scenario())


def test_a_comma_list_queues_one_run_per_lr_and_later_runs_wait_their_turn() -> None:
    async def scenario() -> None:
        app = make_app(lr="0.05, 0.01")
        async with app.run_test(size=(80, 24)) as pilot:
            app.main.action_run()  # what ctrl+r does; called directly to look at the table before any event arrives
            assert [r.id for r in app.session.runs] == ["r1", "r2"]
            assert cell(app, "r2", "status").plain == "queued"
            app.query_one("#f-lr", Input).value = "0.03"
            app.main.action_run()  # while training: queued behind the list
            assert cell(app, "r3", "status").plain == "queued"
            await settle(pilot)
            runs = app.session.runs
            assert [(r.config.lr, r.status) for r in runs] == [
                (0.05, "finished"),
                (0.01, "finished"),
                (0.03, "finished"),
            ]
            # the list is the engine's (one by one, or stacked as one sweep); r3 waited for all of it
            r1, r2, r3 = runs
            assert r3.started_at is not None and r1.ended_at is not None and r2.ended_at is not None
            assert r3.started_at >= max(r1.ended_at, r2.ended_at)
            assert {r.id for r in app.query_one("#chart-accuracy", RunChart).runs} == {"r1", "r2", "r3"}
            assert in_log(app, "[r1] epoch:  1 | batch:")  # several runs in one go: lines name their run

    asyncio.run(scenario())


def test_ctrl_x_cancels_within_an_epoch_keeping_finished_epochs_and_drops_the_queue() -> None:
    async def scenario() -> None:
        # far more epochs than a cancel lets run (pilot key presses wait up to 2 s for the busy process)
        app = make_app(lr="0.01", epochs="300", train_limit="400")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+r")
            app.query_one("#f-lr", Input).value = "0.02"
            await pilot.press("ctrl+r")  # queued behind the first
            await until(pilot, lambda: len(app.session.runs[0].epochs) >= 1, "the first epoch")
            await pilot.press("ctrl+x")
            await settle(pilot)
            first, second = app.session.runs
            assert first.status == "cancelled" and 1 <= len(first.epochs) < 300
            assert second.status == "cancelled" and second.epochs == [] and second.started_at is None
            assert cell(app, "r1", "status").plain == "cancelled"
            assert cell(app, "r2", "status").plain == "cancelled"
            assert not app.training

    asyncio.run(scenario())


def test_quit_during_a_run_stops_it_and_saves_it_cancelled() -> None:
    async def scenario() -> tuple[int | None, str, int]:
        app = make_app(lr="0.01", epochs="300", train_limit="400")
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+r")
            await until(pilot, lambda: app.session.runs[0].status == "running", "the run to start")
            await pilot.press("ctrl+q")
            await until(pilot, lambda: not app.is_running, "the app to exit", limit=100)
        saved = json.loads(app.session.file.read_text())["runs"][0]
        return app.return_code, saved["status"], len(saved["epochs"])

    code, status, epochs = asyncio.run(scenario())  # returns only once the training thread has ended
    assert code == 0 and status == "cancelled" and epochs < 300


def test_a_diverging_run_is_marked_and_the_app_stays_up() -> None:
    async def scenario() -> None:
        app = make_app(lr="100", optimizer="sgd", momentum="0.99", weight_decay="1", epochs="2")  # NaN by batch 4
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+r")
            await settle(pilot)
            run = app.session.runs[0]
            assert run.status == "diverged" and run.diverged_at is not None
            assert cell(app, "r1", "status").plain == "diverged"
            assert in_log(app, "non-finite loss at epoch")
            app.query_one("#f-lr", Input).value = "0.01"
            app.query_one("#f-weight_decay", Input).value = "0"
            await pilot.press("ctrl+r")  # and it trains on
            await settle(pilot)
            assert app.session.runs[1].status == "finished"

    asyncio.run(scenario())


def test_ctrl_f_runs_the_range_test_and_enter_puts_its_suggestion_in_the_lr_field() -> None:
    async def scenario() -> None:
        app = make_app(train_limit="")  # one epoch of the 5k digits: enough steps for a clear valley
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("ctrl+f")
            dialog = app.screen
            assert isinstance(dialog, FindLRScreen) and dialog.config == app.main.form.configs()[0]
            await until(pilot, lambda: dialog.finished, "the range test")
            assert dialog.result is not None and dialog.result.lr is not None
            await pilot.press("enter")
            assert app.screen is not dialog
            assert app.query_one("#f-lr", Input).value == format_lr(dialog.result.lr)
            assert app.session.runs == []  # the finder trains no run of the session

    asyncio.run(scenario())


def test_a_removed_queued_run_leaves_the_queue_and_its_id_is_not_reused() -> None:
    async def scenario() -> None:
        app = make_app(lr="0.01", epochs="300", train_limit="400")
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("ctrl+r")  # r1 trains (long), focus goes to the runs table
            await until(pilot, lambda: app.session.runs[0].status == "running", "r1 to start")
            await pilot.press("plus", "plus")  # r2, r3 queued
            app.main.runs_table.move_cursor(row=2)
            await pilot.press("delete")  # r3 goes, from the table and from the queue
            await pilot.press("minus")  # a new run: r4, never a second "r3"
            await pilot.pause()
            assert [r.id for r in app.session.runs] == ["r1", "r2", "r4"]
            assert app.runner.queued == ["r2", "r4"]
            await pilot.press("ctrl+x")
            await settle(pilot)

    asyncio.run(scenario())


def test_a_sequential_sweep_names_only_the_running_run() -> None:
    """adam cannot be stacked: its runs go one by one, and the status line says so."""

    async def scenario() -> None:
        app = make_app(lr="0.01, 0.001", optimizer="adam", epochs="300", train_limit="400")
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("ctrl+r")
            await until(pilot, lambda: len(app.session.runs[0].epochs) >= 1, "r1's first epoch")
            assert app.runner.batch_label() == "r1" and app.session.runs[1].status == "queued"
            await pilot.press("ctrl+x")
            await settle(pilot)

    asyncio.run(scenario())
