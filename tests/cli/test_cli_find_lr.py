"""``lrtui find-lr``: wired to the engine's range test; its own options fail like every other bad input."""

from __future__ import annotations

import json
import re

import pytest


def test_find_lr_prints_suggestions_chart_and_json(cli, tmp_path):
    out_json = tmp_path / "find.json"
    res = cli(
        ["find-lr", "--train-limit", "100", "--steps", "10", "--device", "cpu", "--json", str(out_json)], tmp_path
    )
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert re.match(r"^(suggested lr: \S+ \(\w+\): |no suggestion: )", lines[0])
    for label in ("valley", "steepest", "max stable ÷ 10"):
        assert any(re.match(rf"^  {re.escape(label)} +\S+$", line) for line in lines)
    assert "learning rate" in res.out and "┤" in res.out, "the chart is printed"
    doc = json.loads(out_json.read_text())
    assert {"suggestion", "suggestions", "lrs", "losses", "smoothed"} <= set(doc)
    assert {"lr", "method", "why"} <= set(doc["suggestion"]) and doc["suggestion"]["why"] in res.out
    assert len(doc["lrs"]) == len(doc["losses"]) and 0 < len(doc["lrs"]) <= 10


@pytest.mark.parametrize(
    "args, message",
    [
        (["--start", "abc"], "start: 'abc' is not a number"),
        (["--start", "1", "--end", "0.1"], "start: 1 must be smaller than end (0.1)"),
        (["--steps", "1"], "steps: 1 is out of range: must be >= 2"),
        (["--steps", "2.5"], "steps: '2.5' is not a whole number"),
        (["--lr", "x"], "lr: 'x' is not a number"),
    ],
)
def test_find_lr_bad_input(cli, tmp_path, args, message):
    res = cli(["find-lr", *args], tmp_path)
    assert (res.code, res.out, res.err) == (2, "", f"lrtui: error: {message}\n")
