"""The form and --model/--data: shown from the command line, and the only factory files the app ever loads."""

from __future__ import annotations

from lrtui.engine.config import RunConfig
from lrtui.tui.widgets.params import ParamsForm


def test_the_app_loads_only_the_factory_files_of_its_command_line():
    form = ParamsForm({"model": "examples/mlp.py:mlp", "lr": "0.1"})
    assert form.extra["model"] == "examples/mlp.py:mlp"  # rides along into every config of the form
    assert form.loads(RunConfig(model="examples/mlp.py:mlp"))
    assert form.loads(RunConfig())  # the reference CNN loads no file
    assert not form.loads(RunConfig(model="/tmp/evil.py:f"))  # a saved run's own file: never on a session's word
    assert not form.loads(RunConfig(data="/tmp/evil.py:f"))
    assert not ParamsForm({}).loads(RunConfig(model="examples/mlp.py:mlp"))


def test_the_form_shows_the_data_factory_and_a_bad_network_is_one_log_line(tmp_path) -> None:
    """``lrtui --data F --model G``: both shown, the dataset off; a network that does not fit the data fails its
    run with one line and the app stays up."""
    import asyncio
    from pathlib import Path

    from textual.widgets import Select, Static
    from tui_helpers import make_app, until

    examples = Path(__file__).resolve().parents[2] / "examples"
    data, model = f"{examples / 'blobs.py:blobs'}", f"{examples / 'mlp.py:mlp'}"  # 20 features into a 784 MLP

    async def scenario() -> None:
        app = make_app(data=data, model=model)
        async with app.run_test(size=(100, 40)) as pilot:
            assert data in str(app.query_one("#f-data", Static).render())
            assert model in str(app.query_one("#f-model", Static).render())
            assert app.query_one("#f-dataset", Select).disabled
            await pilot.press("ctrl+r")
            await until(pilot, lambda: bool(app.session.runs) and app.session.runs[0].status == "failed", "failed run")
            error = app.session.runs[0].error or ""
            assert error.startswith("model: mlp.py:mlp does not take the data's inputs of shape (20,)"), error
            assert "\n" not in error and app.is_running

    asyncio.run(scenario())
