"""The CLI's outputs and data folders, driven as a user drives them: refused before training, never harmful.

``--json``, ``--report``, ``find-lr --json``, ``report --out``: an output that cannot be written is one
``lrtui: error:`` line and exit 2 before any training; links, FIFOs and ``/dev/stdout`` are written
through, never replaced; a report never overwrites another session. A faulty ``--data-dir`` is one
line naming the file, exit 2, in ``run`` and ``find-lr``, and a missing one is not created.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from lrtui.engine.data import IDX_FILES, raw_folder
from lrtui.engine.idx import write_idx

SMALL = ["--train-limit", "100", "--epochs", "1", "--device", "cpu", "--no-batched"]


def _sessions(home: Path) -> list[Path]:
    root = home / "sessions"
    return sorted(root.iterdir()) if root.is_dir() else []


def _refused_before_training(res, home: Path, line: str) -> None:
    assert res.code == 2, (res.code, res.err)
    assert res.err.strip() == f"lrtui: error: {line}"
    assert "epoch" not in res.out and _sessions(home) == [], "nothing trained, no session made"


@pytest.mark.parametrize("make, flag, fault", [
    (lambda d: "", "--json", "empty path"),
    (lambda d: str(d / "no" / "x.json"), "--json", "folder does not exist"),
    (lambda d: str(d), "--json", "is a directory"),
    (lambda d: "", "--report", "empty path"),
], ids=["json-empty", "json-no-folder", "json-directory", "report-empty"])
def test_run_refuses_unwritable_outputs_before_training(cli, tmp_path, make, flag, fault) -> None:
    path = make(tmp_path)
    res = cli(["run", *SMALL, flag, path], tmp_path)
    _refused_before_training(res, tmp_path, f"{flag}: {path}: {fault}" if path else f"{flag}: {fault}")


def test_run_refuses_a_report_folder_that_is_a_file(cli, tmp_path) -> None:
    (tmp_path / "plain").write_text("x")
    res = cli(["run", *SMALL, "--report", str(tmp_path / "plain")], tmp_path)
    _refused_before_training(res, tmp_path, f"--report: {tmp_path / 'plain'}: not a folder")


def test_find_lr_refuses_a_directory_before_the_range_test(cli, tmp_path) -> None:
    res = cli(["find-lr", "--train-limit", "100", "--steps", "10", "--device", "cpu", "--json", str(tmp_path)], tmp_path)
    assert res.code == 2 and res.err.strip() == f"lrtui: error: --json: {tmp_path}: is a directory"
    assert "suggested" not in res.out


def test_run_writes_json_through_a_link_and_into_a_fifo(cli, tmp_path) -> None:
    target = tmp_path / "kept" / "result.json"
    target.parent.mkdir()
    link = tmp_path / "result.json"
    link.symlink_to(target)
    res = cli(["run", *SMALL, "--json", str(link)], tmp_path)
    assert res.code == 0, res.err
    assert link.is_symlink() and json.loads(target.read_text())["runs"][0]["status"] == "finished"

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    res = cli(["find-lr", "--train-limit", "100", "--steps", "10", "--device", "cpu", "--json", str(fifo)], tmp_path)
    reader.join(30)
    assert res.code == 0, res.err
    assert "suggestions" in json.loads(got[0]) and stat.S_ISFIFO(fifo.stat().st_mode)


def test_run_json_to_stdout_prints_it_and_keeps_the_link(tmp_path) -> None:
    """``--json /dev/stdout``, through a link of the same shape (→ /proc/self/fd/1): today's code, as root,
    turns the link into a regular file; with the real /dev/stdout that breaks the whole machine, so the
    test never names it."""
    stdout = tmp_path / "stdout"
    stdout.symlink_to("/proc/self/fd/1")
    out = tmp_path / "out.txt"
    env = {**os.environ, "LRTUI_HOME": str(tmp_path / "home")}
    with open(out, "w") as f:
        done = subprocess.run([sys.executable, "-m", "lrtui", "run", *SMALL, "--quiet", "--json", str(stdout)],
                              stdout=f, stderr=subprocess.PIPE, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    docs = [json.loads(line) for line in out.read_text().splitlines() if line.startswith("{")]
    assert len(docs) == 1 and docs[0]["runs"][0]["status"] == "finished"
    assert stdout.is_symlink()


def _make_sessions(home: Path, cli) -> tuple[Path, Path]:
    for _ in range(2):
        res = cli(["run", *SMALL], home)
        assert res.code == 0, res.err
    a, b = _sessions(home)
    return a, b


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_report_out_never_overwrites_another_session(cli, tmp_path) -> None:
    a, b = _make_sessions(tmp_path, cli)
    before = _snapshot(b)
    res = cli(["report", str(a), "--out", str(b)], tmp_path)
    assert res.code == 2 and res.err.startswith(f"lrtui: error: --out: {b}: is another session's folder")
    assert _snapshot(b) == before and not (b / "report.md").exists()
    link = tmp_path / "to-b"
    link.symlink_to(b)
    assert cli(["report", str(a), "--out", str(link)], tmp_path).code == 2
    assert cli(["report", str(a), "--out", str(b / "runs")], tmp_path).code == 2
    assert _snapshot(b) == before
    # allowed: the default (A's own folder), a new folder, and that folder again (an earlier report)
    assert cli(["report", str(a)], tmp_path).code == 0 and (a / "report.md").is_file()
    for _ in range(2):
        res = cli(["report", str(a), "--out", str(tmp_path / "reports")], tmp_path)
        assert res.code == 0, res.err
    assert json.loads((tmp_path / "reports" / "session.json").read_text())["runs"]
    assert cli(["report", str(b), "--out", str(tmp_path / "reports")], tmp_path).code == 0  # a report folder
    assert cli(["report", str(a), "--out", ""], tmp_path).err.strip() == "lrtui: error: --out: empty path"


# -- data folders ---------------------------------------------------------------------------------------------------

def _corrupt_set(root: Path) -> Path:
    """A MNIST folder whose train labels file holds 4,000 labels for 100 images."""
    folder = raw_folder("mnist", root)
    folder.mkdir(parents=True)
    write_idx(folder / IDX_FILES[0], np.zeros((100, 28, 28)))
    write_idx(folder / IDX_FILES[1], np.zeros(4000))
    write_idx(folder / IDX_FILES[2], np.zeros((10, 28, 28)))
    write_idx(folder / IDX_FILES[3], np.zeros(10))
    return folder


@pytest.mark.parametrize("command", ["run", "find-lr"])
def test_faulty_data_folder_is_one_line_exit_2(cli, tmp_path, command) -> None:
    folder = _corrupt_set(tmp_path / "data")
    extra = ["--steps", "10"] if command == "find-lr" else ["--epochs", "1", "--no-batched"]
    res = cli([command, "--dataset", "mnist", "--data-dir", str(tmp_path / "data"), "--device", "cpu", *extra], tmp_path)
    assert res.code == 2, (res.code, res.err)
    assert res.err.strip() == (f"lrtui: error: mnist: {folder / IDX_FILES[0]} holds 100 images but "
                               f"{folder / IDX_FILES[1]} holds 4,000 labels")
    assert _sessions(tmp_path) == []


@pytest.mark.parametrize("command", ["run", "find-lr"])
def test_missing_data_dir_is_not_created(cli, tmp_path, command) -> None:
    missing = tmp_path / "typo"
    res = cli([command, "--dataset", "kmnist", "--data-dir", str(missing), "--device", "cpu"], tmp_path)
    assert res.code == 2 and res.err.startswith(f"lrtui: error: kmnist: data folder {missing} does not exist")
    assert len(res.err.strip().splitlines()) == 1 and "mnist-5k" in res.err
    assert not missing.exists()
