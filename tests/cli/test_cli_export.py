"""``lrtui export``: a real saved session out as CSV that the csv module reads back; bad input is one line.

Where it writes follows :mod:`lrtui.sessions.outputs`: never into any session's ``runs/``, ``ids/``, ``writers/``
(existing or not, through links too); a session's top level is fine. Files are replaced whole (a full
disk keeps the old one), a FIFO is written to its reader, and every output problem is one line, exit 2.
"""

from __future__ import annotations

import csv
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lrtui.sessions.listing import load_session


def _saved(sweep) -> Path:
    return sorted((sweep.home / "sessions").iterdir())[0]


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
    assert [(e["run"], int(e["epoch"])) for e in epochs] == [("r1", 1), ("r1", 2), ("r2", 1), ("r2", 2)]


def test_export_refuses_bad_input_in_one_line(cli, sweep, tmp_path):
    for args in (["export", "no-such-folder"], ["export", "last", "--out", ""]):
        result = cli(args, sweep.home)
        assert result.code == 2 and result.err.startswith("lrtui: error:") and result.err.count("\n") == 1


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("inside", ["runs", "ids", "runs/new", "ids/x/y", "link"])
def test_export_never_writes_into_a_sessions_store(cli, sweep, tmp_path, inside):
    other = Path(shutil.copytree(_saved(sweep), tmp_path / "other", symlinks=True))
    (tmp_path / "link").symlink_to(other / "runs")
    out = tmp_path / "link" if inside == "link" else other / inside
    before = _tree(other)
    result = cli(["export", str(_saved(sweep)), "--out", str(out)], tmp_path / "home")
    assert result.code == 2, result.err
    assert result.err.startswith(f"lrtui: error: --out: {out}") and result.err.count("\n") == 1
    assert f"is inside the session folder {other}" in result.err
    assert _tree(other) == before and [r.id for r in load_session(other).runs] == ["r1", "r2"]


def test_export_into_a_sessions_top_level_or_its_own_folder(cli, sweep, tmp_path):
    """``runs.csv`` is not ``runs/``: another session's top level takes it and that session still loads whole."""
    other = Path(shutil.copytree(_saved(sweep), tmp_path / "other", symlinks=True))
    result = cli(["export", str(_saved(sweep)), "--out", str(other)], tmp_path / "home")
    assert result.code == 0, result.err
    assert (other / "runs.csv").is_file() and [r.id for r in load_session(other).runs] == ["r1", "r2"]
    result = cli(["export", str(other)], tmp_path / "home")  # the default: <session>/export/
    assert result.code == 0 and (other / "export" / "epochs.csv").is_file(), result.err


def test_export_writes_a_fifo_to_its_reader(cli, sweep, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "runs.csv")
    got: list[bytes] = []

    def read() -> None:
        with open(out / "runs.csv", "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    result = cli(["export", str(_saved(sweep)), "--out", str(out)], tmp_path / "home")
    reader.join(30)
    assert result.code == 0, result.err
    assert [row["run"] for row in csv.DictReader(got[0].decode().splitlines())] == ["r1", "r2"]


def _small_file_limit() -> None:
    """In the child: files may grow to 64 bytes (EFBIG past that), a disk that is full for the export."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))


def test_export_on_a_full_disk_keeps_the_old_files_and_says_so_in_one_line(sweep, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "runs.csv").write_text("old runs\n")
    (out / "epochs.csv").write_text("old epochs\n")
    env = {**os.environ, "LRTUI_HOME": str(tmp_path / "home"), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "lrtui", "export", str(_saved(sweep)), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        preexec_fn=_small_file_limit,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"lrtui: error: --out: {out / 'runs.csv'}: file too large\n"
    assert (out / "runs.csv").read_text() == "old runs\n" and (out / "epochs.csv").read_text() == "old epochs\n"
    assert sorted(p.name for p in out.iterdir()) == ["epochs.csv", "runs.csv"], "no temp file left behind"
