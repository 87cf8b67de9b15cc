"""Your model, your data, in the app: a deep network's charts and story show the layers furthest from the
band (``a`` shows all), the runs table names the model only when runs differ in it, and a 3-class run is
judged and drawn at its own chance (1/3) and uniform loss (ln 3)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Static
from tui_helpers import make_app, settle, until

from lrtui.engine.config import RunConfig
from lrtui.engine.records import Diagnostics, EpochRecord
from lrtui.plots import terminal_charts as charts
from lrtui.sessions.store import Session
from lrtui.tui.app import LRTuiApp
from lrtui.tui.widgets.charts import RunChart
from lrtui.tui.widgets.runs_table import RunsTable
from lrtui.tui.widgets.story import Story

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: a deep network's layers by module path: four far outside the dead band, eleven healthy; one name is markup
DEEP = [f"layer{i // 3}.{i % 3}.conv" for i in range(14)] + ["head.[bold]fc[/]"]
DYING = {DEEP[2], DEEP[5], DEEP[9], DEEP[14]}
OWN = RunConfig(
    model="examples/resnet.py:tiny_resnet",
    model_name="tiny_resnet() → TinyResNet",
    model_params=12_345,
    classes=3,
    epochs=1,
)


def deep_session(root: Path, configs: list[RunConfig]) -> Path:
    """A saved session of made-up runs of one epoch, each with the deep network's diagnostics."""
    session = Session.create(root)
    for config in configs:
        record = session.add(config)
        record.status = "finished"  # type: ignore[assignment]
        diag = Diagnostics.of(
            {k: 1e-3 for k in DEEP},
            dead_fraction={k: 0.9 if k in DYING else 0.0 for k in DEEP},
            top_class_share=0.4,
            pred_entropy=1.0,
        )
        record.epochs = [EpochRecord.of(1, 1.0, 0.4, 1.0, 0.4, 1.0, diag)]
    session.save()
    session.close()
    return session.file


def open_app(session: Path) -> LRTuiApp:
    return LRTuiApp(
        initial={"device": "cpu", "train_limit": "200", "epochs": "1"},
        session=str(session),
        detect_devices=False,
        cursor_blink=False,
    )


def story_text(app: LRTuiApp) -> str:
    story = app.query_one(Story)
    return "\n".join(line.plain for line in story.lines(400, 3))


def test_a_deep_network_shows_its_four_layers_furthest_from_the_band_and_a_shows_all(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = open_app(deep_session(tmp_path, [OWN]))
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("escape", "5")  # the dead units chart
            await pilot.pause()
            chart = app.query_one("#chart-dead", RunChart)
            assert "+11 layers nearer the band (a: all)" in chart.legend().plain
            story = story_text(app)
            # the later layers first, the name with markup as the text it is
            assert "dead head.[bold]fc[/] 90% layer3.0.conv 90% layer1.2.conv 90% layer0.2.conv 90% (+11" in story
            assert "layer0.0.conv 0%" not in story and "entropy 1.00 of ln 3 = 1.10" in story
            await pilot.press("a")
            await pilot.pause()
            assert "all 15 layers (a: the 4 furthest from the band)" in chart.legend().plain
            assert "layer0.0.conv 0%" in story_text(app)
            await pilot.press("a")
            await pilot.pause()
            assert "+11 layers" in chart.legend().plain and "layer0.0.conv 0%" not in story_text(app)

    asyncio.run(scenario())


class Recorder:
    """A stand-in figure that counts the series drawn (and answers every other call)."""

    def __init__(self) -> None:
        self.series = 0

    def plot_size(self, *args: object) -> tuple[int, int]:
        return 100, 20

    def scatter(self, *args: object, **kwargs: object) -> None:
        self.series += 1

    plot = scatter

    def __getattr__(self, name: str) -> object:
        return lambda *args, **kwargs: None


def test_the_deep_networks_charts_draw_only_the_furthest_layers() -> None:
    from lrtui.plots import step_charts
    from lrtui.sessions.record import RunRecord

    record = RunRecord("r1", OWN)
    diag = Diagnostics.of({k: 1e-3 for k in DEEP}, dead_fraction={k: 0.9 if k in DYING else 0.0 for k in DEEP})
    record.epochs = [EpochRecord.of(1, 1.0, 0.4, 1.0, 0.4, 1.0, diag)]
    for draw in (charts.plot_dead_fraction, step_charts.plot_dead_fraction_steps):
        some, every = Recorder(), Recorder()
        draw(some, [record])
        draw(every, [record], all_layers=True)
        assert (some.series, every.series) == (4, 15)


def test_the_model_is_a_column_only_when_the_runs_differ_in_it(tmp_path: Path) -> None:
    async def columns(session: Path) -> list[str]:
        app = open_app(session)
        async with app.run_test(size=(160, 48)):
            table = app.query_one(RunsTable)
            return [str(key.value) for key in table.columns], str(table.border_subtitle or "")

    same, subtitle = asyncio.run(columns(deep_session(tmp_path / "a", [OWN, RunConfig(**{**OWN.__dict__, "lr": 0.1})])))
    assert "model" not in same and "tiny_resnet() → TinyResNet (12,345 parameters)" in subtitle
    mixed, _ = asyncio.run(columns(deep_session(tmp_path / "b", [OWN, RunConfig(epochs=1)])))
    assert "model" in mixed


def test_a_three_class_run_is_drawn_and_told_at_one_third_and_ln_3() -> None:
    """examples/blobs.py: 3 classes of 20 features. The form names the checked network; the accuracy chart's
    chance line is at 33%, the story's uniform guess ln 3."""
    data, model = f"{EXAMPLES / 'blobs.py:blobs'}", f"{EXAMPLES / 'blobs.py:classifier'}"

    async def scenario() -> None:
        app = make_app(data=data, model=model, lr="0.05")
        async with app.run_test(size=(160, 48)) as pilot:
            shows = app.query_one("#f-model", Static)
            await until(pilot, lambda: "params" in str(shows.render()), "the checked network")
            assert str(shows.render()) == "Sequential · 1,539 params\nblobs.py:classifier"  # a line each
            assert str(app.query_one("#f-data", Static).render()) == "3 classes\nblobs.py:blobs"
            await pilot.press("ctrl+r")
            await settle(pilot)
            run = app.session.runs[0]
            assert run.status == "finished" and run.config.classes == 3, run.error
            assert charts.chance_percents([run]) == [100 / 3]
            text = charts.render(charts.plot_accuracy, [run], width=100, height=20, legend=True)
            assert "chance 33%" in text and "chance 10%" not in text
            assert "of ln 3 = 1.10" in story_text(app)

    asyncio.run(scenario())
