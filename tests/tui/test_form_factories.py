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
