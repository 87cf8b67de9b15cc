"""A foreign network's verdict hint: the range test kept in its session comes first, else the hint proposes one."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from lrtui.engine.config import format_lr

MLP = f"{Path(__file__).resolve().parents[2] / 'examples' / 'mlp.py'}:mlp"
TINY = ["--epochs", "1", "--train-limit", "200", "--device", "cpu", "--quiet"]


def _runs(home: Path) -> list[dict]:
    [folder] = (home / "sessions").iterdir()
    return json.loads((folder / "session.json").read_text())["runs"]


def test_without_a_range_test_the_hint_proposes_one_kept_in_the_session(cli, tmp_path) -> None:
    result = cli(["run", "--model", MLP, "--lr", "0.05", *TINY], tmp_path)
    assert result.code == 0, result.err
    [run] = _runs(tmp_path)
    hint = run["verdict"]["hint"]
    assert "range test in this session" not in hint
    [folder] = (tmp_path / "sessions").iterdir()
    command = (
        f"lrtui find-lr --model {shlex.quote(MLP)} --optimizer sgd --batch-size 10 --open {shlex.quote(str(folder))}"
    )
    assert hint.endswith(command)  # the session filled in: the command runs as given
    assert run["config"]["range_test_lr"] is None
    args = shlex.split(command)[1:]
    found = cli([*args, "--train-limit", "400", "--steps", "60", "--device", "cpu"], tmp_path)
    assert found.code == 0, found.err
    assert f"kept in session: {folder}" in found.out


def test_the_sessions_range_test_for_the_network_optimizer_and_batch_comes_first(cli, tmp_path) -> None:
    first = cli(["run", "--model", MLP, "--lr", "0.05", *TINY], tmp_path)
    assert first.code == 0, first.err
    [folder] = (tmp_path / "sessions").iterdir()
    found = cli(
        [
            "find-lr",
            "--model",
            MLP,
            "--train-limit",
            "1000",
            "--steps",
            "100",
            "--device",
            "cpu",
            "--open",
            str(folder),
        ],
        tmp_path,
    )
    assert found.code == 0, found.err
    assert f"kept in session: {folder}" in found.out
    suggested = re.search(r"suggested lr: (\S+)", found.out)
    assert suggested, found.out
    [kept] = (json.loads(next((folder / "range_tests").iterdir()).read_text())["result"]["suggestion"]["lr"],)
    assert format_lr(kept) == suggested.group(1)

    again = cli(
        ["run", "--model", MLP, "--lr", "0.05", "--batch-size", "10,20", "--open", str(folder), *TINY], tmp_path
    )
    assert again.code == 0, again.err
    runs = {r["id"]: r for r in _runs(tmp_path)}
    same, other_batch = runs["r2"], runs["r3"]
    assert same["config"]["batch_size"] == 10 and same["config"]["range_test_lr"] == kept
    assert same["verdict"]["hint"].startswith(
        f"the range test in this session suggests lr {format_lr(kept)} for this network (sgd, batch 10); "
    )
    assert "lrtui find-lr" not in same["verdict"]["hint"]
    assert other_batch["config"]["range_test_lr"] is None  # tested at batch 10, not 20: proposed instead
    assert "lrtui find-lr --model" in other_batch["verdict"]["hint"]
    assert runs["r1"]["config"]["range_test_lr"] is None  # the run before the test keeps its hint


def test_find_lr_open_names_a_session_before_it_trains(cli, tmp_path) -> None:
    result = cli(
        [
            "find-lr",
            "--model",
            MLP,
            "--train-limit",
            "200",
            "--steps",
            "20",
            "--device",
            "cpu",
            "--open",
            str(tmp_path / "nowhere"),
        ],
        tmp_path,
    )
    assert result.code == 2 and result.err.count("\n") == 1 and "suggested lr" not in result.out
