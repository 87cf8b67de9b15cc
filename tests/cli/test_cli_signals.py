"""A real ``lrtui run`` process killed or signalled after its first epoch keeps that epoch on disk."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from lrtui.sessions.listing import load_session

#: Long enough that the run is still going when the test acts after epoch 1 (it never runs to the end).
ARGS = ["run", "--train-limit", "100", "--epochs", "200", "--device", "cpu"]


def wait_for_first_epoch(home: Path, proc, timeout: float = 120.0) -> Path:
    """Poll session.json until a run has a finished epoch; return the file. Fails if the process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"lrtui ended early: {proc.communicate()}"
        for file in (home / "sessions").glob("*/session.json"):
            try:
                runs = json.loads(file.read_text())["runs"]
            except (OSError, ValueError):  # pragma: no cover - atomic writes make this unreachable
                pytest.fail("a reader saw a half-written session.json")
            if runs and runs[0]["epochs"]:
                return file
        time.sleep(0.02)
    proc.kill()
    pytest.fail("no epoch reached session.json in time")


def test_sigkill_after_first_epoch_keeps_that_epoch(lrtui_process, tmp_path):
    proc = lrtui_process(ARGS, tmp_path)
    file = wait_for_first_epoch(tmp_path, proc)
    proc.kill()
    proc.wait(timeout=30)
    raw = json.loads(file.read_text())["runs"][0]
    assert raw["status"] == "running" and raw["epochs"][0]["epoch"] == 1
    run = load_session(file.parent).runs[0]
    assert run.status == "interrupted", "a run whose process died is shown as interrupted"
    assert run.epochs[0].val_acc is not None


@pytest.mark.parametrize(
    "sig, code, status",
    [
        (signal.SIGHUP, 129, "interrupted"),  # with LRTUI_ON_HANGUP=stop
        (signal.SIGTERM, 143, "interrupted"),
        (signal.SIGINT, 130, "cancelled"),
    ],
    ids=["SIGHUP", "SIGTERM", "SIGINT"],
)
def test_signal_stops_cleanly_and_saves(lrtui_process, tmp_path, monkeypatch, sig, code, status):
    monkeypatch.setenv("LRTUI_ON_HANGUP", "stop")
    proc = lrtui_process(ARGS, tmp_path)
    file = wait_for_first_epoch(tmp_path, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "Traceback" not in out
    run = load_session(file.parent).runs[0]
    assert run.status == status and 1 <= len(run.epochs) < 200
    assert json.loads(file.read_text())["runs"][0]["status"] == status
    if sig == signal.SIGINT:
        assert "best val acc" in out and f"session: {file.parent}" in out, "Ctrl-C prints what finished"


def test_a_hangup_stops_the_printing_not_the_training(lrtui_process, tmp_path):
    """A dropped SSH link under ``lrtui run``: the run goes on to its end, saved, exit 0."""
    proc = lrtui_process(["run", "--train-limit", "100", "--epochs", "3", "--device", "cpu"], tmp_path)
    file = wait_for_first_epoch(tmp_path, proc)
    proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    (run,) = load_session(file.parent).runs
    assert run.status == "finished" and len(run.epochs) == 3 and run.test is not None


def test_a_reader_that_leaves_early_stops_the_printing_not_the_training(lrtui_process, tmp_path):
    """``lrtui run | head -2``: the run trains on and is saved; exit 141 like a killed pipe writer."""
    proc = lrtui_process(
        ["run", "--train-limit", "200", "--epochs", "2", "--log-every", "1", "--device", "cpu"], tmp_path
    )
    assert proc.stdout is not None and proc.stdout.readline().startswith("r1:")
    proc.stdout.close()  # the reader goes away while the run is printing every batch
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGPIPE
    assert "Traceback" not in err and "error" not in err
    (folder,) = (tmp_path / "sessions").iterdir()  # the child's LRTUI_HOME, not this process's
    (run,) = load_session(folder).runs
    assert run.status == "finished" and len(run.epochs) == 2
