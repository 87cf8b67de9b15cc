"""Input at the command line that must get one line and a clear exit code, never a traceback."""

from __future__ import annotations

import signal
import time

import pytest


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "--lr", "-1e-3"], "lr: -0.001 is out of range: must be > 0"),
        (["run", "--lr", "0.01,-5", "--epochs", "1"], "must be > 0"),
        (["run", "--open", ""], "--open: give a session folder"),
        (["--open", " "], "--open: give a session folder"),
        (["run", "--open", "no-such-session-folder"], "no such session"),
    ],
)
def test_bad_values_are_one_line_and_exit_2(cli, tmp_path, args, needle):
    result = cli(args, tmp_path)
    assert result.code == 2
    assert needle in result.err and result.err.count("\n") == 1 and result.err.startswith("lrtui: error: ")


@pytest.mark.parametrize("delay", [0.2, 0.8, 2.0])
def test_ctrl_c_at_any_moment_of_start_up_ends_with_one_line(lrtui_process, tmp_path, delay):
    proc = lrtui_process(["run", "--train-limit", "100", "--epochs", "50", "--device", "cpu"], tmp_path)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "Traceback" not in out
    assert len(err.strip().splitlines()) <= 1


def test_stdout_on_a_full_disk_stops_the_printing_not_the_training(tmp_path):
    """``lrtui run > /dev/full``: every run trains to its end and is saved; one warning, exit 1."""
    import os
    import subprocess
    import sys

    from lrtui.sessions.listing import load_session

    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "lrtui",
                "run",
                "--lr",
                "0.01,0.1",
                "--epochs",
                "1",
                "--train-limit",
                "100",
                "--no-batched",
                "--device",
                "cpu",
            ],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "LRTUI_HOME": str(tmp_path)},
            timeout=120,
        )
    assert proc.returncode == 1
    assert "printing stops, training goes on" in proc.stderr and "Traceback" not in proc.stderr
    (folder,) = (tmp_path / "sessions").iterdir()
    assert [(r.id, r.status) for r in load_session(folder).runs] == [("r1", "finished"), ("r2", "finished")]
