"""The command line against a hostile machine: a closed stdout, a broken torch, a tiny data folder, huge numbers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from lrtui.engine.data import IDX_FILES, raw_folder
from lrtui.engine.idx import write_idx

TINY_RUN = ["run", "--lr", "0.01", "--epochs", "1", "--train-limit", "60", "--device", "cpu"]


def _lrtui(args: list[str], home: Path, *, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lrtui", *args],
        capture_output=kw.pop("capture_output", True),
        text=True,
        timeout=180,
        env={**os.environ, "LRTUI_HOME": str(home), **(env or {})},
        **kw,
    )


def test_a_closed_stdout_trains_and_saves_without_a_traceback(tmp_path):
    """``lrtui run … >&-`` (also ``sessions`` and ``find-lr``): Python's sys.stdout is None there."""
    for args in (TINY_RUN, ["sessions"], ["find-lr", "--train-limit", "60", "--steps", "20", "--device", "cpu"]):
        proc = subprocess.run(
            [sys.executable, "-m", "lrtui", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=180,
            env={**os.environ, "LRTUI_HOME": str(tmp_path)},
            preexec_fn=lambda: os.close(1),
        )
        assert "Traceback" not in proc.stderr and "NoneType" not in proc.stderr, (args, proc.stderr)
        assert proc.returncode == 0, (args, proc.stderr)
    (folder,) = (tmp_path / "sessions").iterdir()
    assert '"finished"' in (folder / "session.json").read_text()


def test_a_broken_torch_is_one_line_and_no_session(tmp_path):
    """A CUDA build of torch whose libraries are missing: ``import torch`` raises ImportError."""
    fake = tmp_path / "fake" / "torch"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        'raise ImportError("libcudnn.so.9: cannot open shared object file: No such file or directory")\n'
    )
    env = {"PYTHONPATH": os.pathsep.join([str(fake.parent), *sys.path])}
    for args in (TINY_RUN, ["find-lr", "--device", "cpu"]):
        proc = _lrtui(args, tmp_path / "home", env=env)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("lrtui: error: PyTorch cannot be loaded (libcudnn.so.9")
    assert not (tmp_path / "home" / "sessions").exists() or not any((tmp_path / "home" / "sessions").iterdir())


def _tiny_mnist(root: Path, n_train: int) -> None:
    folder = raw_folder("mnist", root)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train_images, train_labels, test_images, test_labels = IDX_FILES
    write_idx(folder / train_images, rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8))
    write_idx(folder / train_labels, np.arange(n_train) % 10)
    write_idx(folder / test_images, rng.integers(0, 256, (4, 28, 28), dtype=np.uint8))
    write_idx(folder / test_labels, np.arange(4) % 10)


def test_a_data_folder_too_small_for_the_batch_is_refused_before_a_session_is_made(cli, tmp_path):
    _tiny_mnist(tmp_path / "data", 2)
    result = cli(
        ["run", "--dataset", "mnist", "--data-dir", str(tmp_path / "data"), "--epochs", "1", "--device", "cpu"],
        tmp_path / "home",
    )
    assert result.code == 2, result.err
    assert result.err.startswith("lrtui: error: batch size 10 is larger than the training set (1 samples of mnist")
    assert result.err.count("\n") == 1
    assert not (tmp_path / "home" / "sessions").exists() or not any((tmp_path / "home" / "sessions").iterdir())
    found = cli(
        ["find-lr", "--dataset", "mnist", "--data-dir", str(tmp_path / "data"), "--device", "cpu"], tmp_path / "home"
    )
    assert found.code == 2 and found.err.startswith("lrtui: error: batch size 10 is larger than the training set")


def test_a_100000_digit_seed_is_named_in_a_short_line(cli, tmp_path):
    result = cli(["run", "--seed", "9" * 100_000], tmp_path)
    assert result.code == 2
    assert result.err.startswith("lrtui: error: seed: ") and result.err.count("\n") == 1
    assert (
        len(result.err) < 300 and "characters left out" in result.err and "is too large (100,000 digits)" in result.err
    )


def test_report_paths_are_printed_with_control_characters_spelled_out(cli, tmp_path):
    home = tmp_path / "home\x1b[2J"
    assert cli([*TINY_RUN], home).code == 0
    result = cli(["report", "last", "--format", "md"], home)
    assert result.code == 0, result.err
    assert "\x1b" not in result.out and "\\x1b[2J" in result.out


def _catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler of its own for ``signum`` (Linux: SigCgt in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def test_sigterm_ends_the_process_even_when_the_engine_never_answers(tmp_path):
    """An engine stuck in a call that never checks its cancel flag: SIGTERM still ends the process, run saved."""
    import json
    import signal
    import time

    code = (
        "import time, lrtui.engine.sweep as sweep\n"
        "sweep.run_many = lambda *a, **k: time.sleep(3600)\n"
        "from lrtui.cli import main\n"
        f"raise SystemExit(main({TINY_RUN!r}))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LRTUI_HOME": str(tmp_path)},
    )
    # wait until the CLI has its SIGTERM handler (set once torch is imported and the run queued)
    for _ in range(1200):
        assert proc.poll() is None, proc.communicate(timeout=5)
        if _catches(proc.pid, signal.SIGTERM):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the CLI never set its SIGTERM handler")
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    for session_file in tmp_path.glob("sessions/*/session.json"):  # the run never started: nothing left "running"
        assert not {r["status"] for r in json.loads(session_file.read_text())["runs"]} & {"running", "queued"}


def test_a_stuck_lock_leaves_the_runs_saved_and_says_the_snapshot_is_behind(cli, tmp_path, monkeypatch):
    """``flock S/.lock sleep 40`` while ``lrtui run --open S`` trains: the run files are saved, exit 0, one note."""
    import fcntl

    import lrtui.sessions.store

    assert cli([*TINY_RUN], tmp_path).code == 0
    (folder,) = (tmp_path / "sessions").iterdir()
    monkeypatch.setattr(lrtui.sessions.store, "LOCK_WAIT_S", 0.2)
    monkeypatch.setattr(lrtui.sessions.store, "LOCK_RETRY_S", 0.05)
    holder = os.open(folder / ".lock", os.O_RDWR)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        result = cli([*TINY_RUN, "--open", str(folder)], tmp_path)
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    assert result.code == 0, result.err
    assert "runs saved; " in result.out and "session.json not updated" in result.out
    assert "NOT saved" not in result.out
    assert (folder / "runs" / "r2.json").exists()


def test_error_lines_and_the_sessions_listing_spell_out_control_characters_in_paths(cli, tmp_path):
    """``LRTUI_HOME=$'…\\x1b[2J'``: ``lrtui sessions`` and every ``lrtui: error:`` line named the path raw."""
    home = tmp_path / "x\x1b[2J"
    assert cli([*TINY_RUN], home).code == 0
    listing = cli(["sessions"], home)
    assert listing.code == 0 and "\x1b" not in listing.out and "\\x1b[2J" in "".join(listing.out.split())
    for args in ([*TINY_RUN, "--json", str(home)], ["report", str(tmp_path / "nope\x1b[2J")]):
        result = cli(args, home)
        assert result.code == 2 and result.err.startswith("lrtui: error: ")
        assert "\x1b" not in result.err and "\\x1b[2J" in result.err and result.err.count("\n") == 1
