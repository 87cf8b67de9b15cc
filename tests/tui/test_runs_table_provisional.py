"""While a run trains, the runs table shows its latest provisional verdict, marked provisional; the run's end
replaces it with the final verdict. The events are a real tiny run's, fed to the table as the app feeds them."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import App, ComposeResult

from lrtui.engine.config import parse_configs
from lrtui.engine.events import Event, ProvisionalVerdict, RunEnd
from lrtui.sessions.record import RunRecord
from lrtui.tui.redraw import Redraw
from lrtui.tui.widgets.runs_table import PROVISIONAL_MARK, RunsTable


def tiny_run_events() -> tuple[RunRecord, list[Event]]:
    from lrtui.engine.sweep import run_many

    configs = parse_configs({"lr": "0.5", "train_limit": "200", "epochs": "1", "device": "cpu"})
    events: list[Event] = []
    run_many(configs, ["r1"], events.append)
    return RunRecord(id="r1", config=configs[0]), events


class TableApp(App[None]):
    def __init__(self, run: RunRecord) -> None:
        super().__init__()
        self.run = run

    def compose(self) -> ComposeResult:
        yield RunsTable(runs=lambda: [self.run], id="runs")


def test_the_verdict_column_shows_the_provisional_verdict_until_the_final_one() -> None:
    run, events = tiny_run_events()
    assert any(isinstance(e, ProvisionalVerdict) for e in events)

    async def scenario() -> list[tuple[str, str, Text]]:
        app = TableApp(run)
        seen: list[tuple[str, str, Text]] = []
        async with app.run_test(size=(120, 20)) as pilot:
            table = app.query_one(RunsTable)
            redraw = Redraw(screen=None)  # type: ignore[arg-type]
            for ev in events:
                run.apply(ev)
                redraw.note(ev)
                if run.id in redraw.rows:  # what the app's next frame redraws
                    table.show_run(run)
                    redraw.rows.clear()
                    await pilot.pause()
                    seen.append((type(ev).__name__, run.status, table.get_cell("r1", "verdict")))
        return seen

    seen = asyncio.run(scenario())
    provisional = [cell for name, _, cell in seen if name == "ProvisionalVerdict"]
    assert provisional, "a provisional verdict redraws the run's row"
    label = next(str(e.verdict.label) for e in events if isinstance(e, ProvisionalVerdict))
    assert provisional[0].plain == f"{label}{PROVISIONAL_MARK}" and "italic" in str(provisional[0].style)
    end = next(e for e in events if isinstance(e, RunEnd))
    final = seen[-1][2]
    assert seen[-1][0] == "RunEnd" and final.plain == str(end.verdict.label) and "italic" not in str(final.style)
