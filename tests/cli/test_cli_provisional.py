"""``lrtui run`` says a provisional verdict while a run trains: marked provisional, one line per change of label."""

from __future__ import annotations

import json
import re


def test_provisional_verdicts_are_printed_marked_and_only_when_the_label_changes(cli, tmp_path):
    """lr 0.5 on 500 digits (seed 2): too early at steps 10-30, dying at 40 and 50, then the final verdict."""
    out = tmp_path / "result.json"
    res = cli(
        [
            "run",
            "--lr",
            "0.5",
            "--train-limit",
            "500",
            "--epochs",
            "1",
            "--seed",
            "2",
            "--device",
            "cpu",
            "--json",
            str(out),
        ],
        tmp_path,
    )
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    provisional = [line for line in lines if line.startswith("provisional")]
    assert not [line for line in lines if "provisional at" in line and not line.startswith("provisional")]
    assert len(provisional) == 2, provisional
    assert provisional[0].startswith("provisional at step 10: too early: training accuracy")
    assert re.match(
        r"provisional at step \d\d: not learning: dying ReLUs: \d+% of conv2(, \d+% of fc1)? never fire on a fixed "
        r"batch of 32 validation images",
        provisional[1],
    )
    final = next(i for i, line in enumerate(lines) if line.startswith("r1 finished"))
    assert lines.index(provisional[1]) < final and lines[final + 1].startswith("  not learning: dying ReLUs")
    run = json.loads(out.read_text())["runs"][0]
    assert run["provisional_verdict"] is None, "the final verdict replaced it"
    assert run["step_trace"][0]["step"] == 0 and run["step_trace"][0]["dead_on"] == 32
    assert set(run["step_trace"][0]) == {"step", "loss", "update_ratio", "dead_fraction", "dead_on"}
