"""Several ``lrtui run --open`` processes adding runs to one session at once: every run kept, ids unique."""

from __future__ import annotations

from lrtui.sessions.listing import load_session


def test_two_processes_append_to_one_session_without_losing_a_run(cli, lrtui_process, tmp_path):
    first = cli(
        ["run", "--lr", "0.01", "--train-limit", "100", "--epochs", "1", "--device", "cpu", "--quiet"], tmp_path
    )
    assert first.code == 0, first.err
    (folder,) = (tmp_path / "sessions").iterdir()
    args = [
        "run",
        "--open",
        str(folder),
        "--lr",
        "0.01,0.1",
        "--train-limit",
        "100",
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--quiet",
    ]
    procs = [lrtui_process(args, tmp_path), lrtui_process(args, tmp_path)]
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    runs = load_session(folder).runs
    assert sorted(r.id for r in runs) == ["r1", "r2", "r3", "r4", "r5"]
    assert all(r.status == "finished" for r in runs)
    assert sorted(len(r.epochs) for r in runs) == [1, 2, 2, 2, 2]


def test_sessions_marks_a_live_session(cli, lrtui_process, tmp_path):
    proc = lrtui_process(["run", "--train-limit", "400", "--epochs", "1000", "--device", "cpu", "--quiet"], tmp_path)
    try:
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            listing = cli(["sessions"], tmp_path)
            if f"pid {proc.pid}" in listing.out:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the live writer never showed: {listing.out}")
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    assert f"pid {proc.pid}" not in cli(["sessions"], tmp_path).out
