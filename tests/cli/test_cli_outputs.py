"""The CLI's outputs and data folders, driven as a user drives them: refused before training, never harmful.

``--json``, ``--report``, ``find-lr --json``, ``report --out``, ``export --out``: an output that cannot be
written, or that would land in a session's ``runs/``, ``ids/``, ``writers/``, session.json or .lock (any
session's, existing or not, through links too), is one ``lrtui: error:`` line and exit 2 before any
training; links, FIFOs and ``/dev/stdout`` are written through, never replaced, and a FIFO nobody reads
is given up on; a report never overwrites another session. A faulty ``--data-dir`` is one line naming
the file, exit 2, in ``run`` and ``find-lr``, and a missing one is not created.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from lrtui.engine.data import IDX_FILES, raw_folder
from lrtui.engine.idx import write_idx
from lrtui.sessions.listing import load_session

SMALL = ["--train-limit", "100", "--epochs", "1", "--device", "cpu", "--no-batched"]


def _sessions(home: Path) -> list[Path]:
    root = home / "sessions"
    return sorted(root.iterdir()) if root.is_dir() else []


def _refused_before_training(res, home: Path, line: str) -> None:
    assert res.code == 2, (res.code, res.err)
    assert res.err.strip() == f"lrtui: error: {line}"
    assert "epoch" not in res.out and _sessions(home) == [], "nothing trained, no session made"


@pytest.mark.parametrize(
    "make, flag, fault",
    [
        (lambda d: "", "--json", "empty path"),
        (lambda d: str(d / "no" / "x.json"), "--json", "folder does not exist"),
        (lambda d: str(d), "--json", "is a directory"),
        (lambda d: "", "--report", "empty path"),
    ],
    ids=["json-empty", "json-no-folder", "json-directory", "report-empty"],
)
def test_run_refuses_unwritable_outputs_before_training(cli, tmp_path, make, flag, fault) -> None:
    path = make(tmp_path)
    res = cli(["run", *SMALL, flag, path], tmp_path)
    _refused_before_training(res, tmp_path, f"{flag}: {path}: {fault}" if path else f"{flag}: {fault}")


def test_run_refuses_a_report_folder_that_is_a_file(cli, tmp_path) -> None:
    (tmp_path / "plain").write_text("x")
    res = cli(["run", *SMALL, "--report", str(tmp_path / "plain")], tmp_path)
    _refused_before_training(res, tmp_path, f"--report: {tmp_path / 'plain'}: not a folder")


def test_find_lr_refuses_a_directory_before_the_range_test(cli, tmp_path) -> None:
    res = cli(
        ["find-lr", "--train-limit", "100", "--steps", "10", "--device", "cpu", "--json", str(tmp_path)], tmp_path
    )
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
        done = subprocess.run(
            [sys.executable, "-m", "lrtui", "run", *SMALL, "--quiet", "--json", str(stdout)],
            stdout=f,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=300,
        )
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


# -- nothing lands in another session (or this one's store) ---------------------------------------------------------


@pytest.fixture
def other(sweep, tmp_path) -> Path:
    """A copy of a real saved session (runs/, ids/, .lock, session.json): what the commands must not touch."""
    source = sorted((sweep.home / "sessions").iterdir())[0]
    return Path(shutil.copytree(source, tmp_path / "elsewhere" / source.name, symlinks=True))


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def _still_whole(folder: Path, before: dict[str, bytes | None]) -> None:
    assert _tree(folder) == before
    assert [r.id for r in load_session(folder).runs] == ["r1", "r2"]


def _refused(res, flag: str, path: Path | str, home: Path) -> None:
    assert res.code == 2, (res.code, res.err)
    assert res.err.startswith(f"lrtui: error: {flag}: {path}: ") and res.err.count("\n") == 1, res.err
    assert "session" in res.err and "epoch" not in res.out and "suggested" not in res.out
    assert _sessions(home) == [], "nothing trained, no session made"


FIND = ["find-lr", "--train-limit", "100", "--steps", "10", "--device", "cpu"]


@pytest.mark.parametrize(
    "command, inside",
    [
        (["run", *SMALL], "runs/r1.json"),
        (["run", *SMALL], "session.json"),
        (["run", *SMALL], "ids/r1"),
        (["run", *SMALL], ".lock"),
        (FIND, "runs/r1.json"),
        (FIND, "session.json"),
    ],
    ids=["run-run-file", "run-session-json", "run-ids", "run-lock", "find-lr-run-file", "find-lr-session-json"],
)
def test_json_into_another_session_is_refused_before_training(cli, tmp_path, other, command, inside) -> None:
    before = _tree(other)
    home = tmp_path / "home"
    res = cli([*command, "--json", str(other / inside)], home)
    _refused(res, "--json", other / inside, home)
    _still_whole(other, before)


def test_json_through_a_link_or_into_the_opened_session_is_refused(cli, tmp_path, other) -> None:
    before = _tree(other)
    home = tmp_path / "home"
    link = tmp_path / "result.json"
    link.symlink_to(other / "runs" / "r2.json")
    _refused(cli(["run", *SMALL, "--json", str(link)], home), "--json", link, home)
    new_run = other / "runs" / "r3.json"  # the run's own session: not there yet, still its store
    _refused(cli(["run", *SMALL, "--open", str(other), "--json", str(new_run)], home), "--json", new_run, home)
    _still_whole(other, before)


def test_report_into_a_new_folder_inside_a_sessions_store_is_refused(cli, tmp_path, other) -> None:
    before = _tree(other)
    home = tmp_path / "home"
    new = other / "runs" / "new"
    res = cli(["report", str(other), "--out", str(new)], home)
    assert res.code == 2 and res.err.startswith(f"lrtui: error: --out: {new}: is inside the session folder {other}")
    _refused(cli(["run", *SMALL, "--report", str(new)], home), "--report", new, home)
    _refused(cli(["run", *SMALL, "--report", str(other / "ids")], home), "--report", other / "ids", home)
    assert not new.exists()
    _still_whole(other, before)


_SHORT_WAIT = (
    "import sys, lrtui.sessions.outputs as o; o.WAIT_S = 0.3; from lrtui.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.parametrize(
    "command, name, fault",
    [
        (["export"], "runs.csv", "no reader"),
        (["export"], "epochs.csv", "no reader"),
        (["report", "--format", "md"], "report.md", "no reader"),
        (["report", "--format", "html"], "report.html", "no reader"),
        (["report", "--format", "json"], "session.json", "holds a session.json that is not a report"),
    ],
)
def test_a_fifo_nobody_reads_ends_with_one_line(other, tmp_path, command, name, fault) -> None:
    """Every output name as a FIFO without a reader: given up on after a bounded wait, never a hang."""
    out = tmp_path / "out"
    out.mkdir()
    if name == "epochs.csv":
        (out / "runs.csv").write_text("old\n")
    os.mkfifo(out / name)
    env = {**os.environ, "LRTUI_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", _SHORT_WAIT, command[0], str(other), *command[1:], "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("lrtui: error: ") and str(out) in done.stderr, done.stderr
    assert fault in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and stat.S_ISFIFO((out / name).stat().st_mode)
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


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
    res = cli(
        [command, "--dataset", "mnist", "--data-dir", str(tmp_path / "data"), "--device", "cpu", *extra], tmp_path
    )
    assert res.code == 2, (res.code, res.err)
    assert res.err.strip() == (
        f"lrtui: error: mnist: {folder / IDX_FILES[0]} holds 100 images but {folder / IDX_FILES[1]} holds 4,000 labels"
    )
    assert _sessions(tmp_path) == []


@pytest.mark.parametrize("command", ["run", "find-lr"])
def test_missing_data_dir_is_not_created(cli, tmp_path, command) -> None:
    missing = tmp_path / "typo"
    res = cli([command, "--dataset", "kmnist", "--data-dir", str(missing), "--device", "cpu"], tmp_path)
    assert res.code == 2 and res.err.startswith(f"lrtui: error: kmnist: data folder {missing} does not exist")
    assert len(res.err.strip().splitlines()) == 1 and "mnist-5k" in res.err
    assert not missing.exists()
