"""The report says which steps an epoch's mean update ratio is over: every 4th, or the interval a network chose."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

from lrtui.engine.config import RunConfig, varying_fields
from lrtui.plots.grouping import group_key
from lrtui.reports.report import sampled_note


def test_the_note_names_each_interval_and_its_runs() -> None:
    runs = [SimpleNamespace(id=f"r{i}", config=RunConfig(sample_every=n)) for i, n in enumerate((4, 16, 16), 1)]
    assert sampled_note(runs[:1]) == " Each epoch's means are over every 4th step."
    assert sampled_note(runs) == " Each epoch's means are over every Nth step: N = 4 (r1); N = 16 (r2, r3)."


def test_how_a_run_was_measured_is_no_setting_and_splits_no_repeats() -> None:
    a = RunConfig(model="x.py:f")
    b = replace(a, seed=1, sample_every=16, range_test_lr=3e-3)
    assert varying_fields([a, b]) == ("seed",)
    assert group_key(a) == group_key(b)
