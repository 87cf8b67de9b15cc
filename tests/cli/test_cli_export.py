"""``lrtui export``: a real saved session out as CSV that the csv module reads back; bad input is one line."""

from __future__ import annotations

import csv


def test_export_csv_of_a_real_session(cli, sweep, tmp_path):
    (folder,) = (sweep.home / "sessions").iterdir()
    result = cli(["export", str(folder), "--out", str(tmp_path / "x")], sweep.home)
    assert result.code == 0, result.err
    assert result.out.split() == [str(tmp_path / "x" / "runs.csv"), str(tmp_path / "x" / "epochs.csv")]
    with open(tmp_path / "x" / "runs.csv", newline="") as f:
        runs = list(csv.DictReader(f))
    assert [(r["run"], float(r["lr"])) for r in runs] == [("r1", 0.5), ("r2", 0.01)]
    with open(tmp_path / "x" / "epochs.csv", newline="") as f:
        epochs = list(csv.DictReader(f))
    assert [(e["run"], int(e["epoch"])) for e in epochs] == [
        ("r1", 1), ("r1", 2), ("r2", 1), ("r2", 2)]


def test_export_refuses_bad_input_in_one_line(cli, sweep, tmp_path):
    for args in (["export", "no-such-folder"], ["export", "last", "--out", ""]):
        result = cli(args, sweep.home)
        assert result.code == 2 and result.err.startswith("lrtui: error:") and result.err.count("\n") == 1
