"""``lrtui run`` of a sweep stops its provably dead run early (``--keep-dead`` opts out); a single run trains on.

lr 1.0 on 2,000 of the 5k digits: fc1 100% dead on the fixed batch from step ~64, at chance, loss ≈ ln 10.
"""

from __future__ import annotations

import pytest

from lrtui.sessions.listing import load_session

RUN = ["run", "--train-limit", "2000", "--epochs", "2", "--device", "cpu", "--no-batched", "--quiet"]


def runs_of(home):
    (session,) = (home / "sessions").iterdir()
    return {r.config.lr: r for r in load_session(str(session)).runs}


def test_a_sweep_stops_its_dead_run_at_the_epoch_end_and_trains_the_other(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("LRTUI_KEEP_DEAD", raising=False)
    res = cli([*RUN, "--lr", "1.0,0.01"], tmp_path)
    assert res.code == 0, res.err
    runs = runs_of(tmp_path)
    dead, alive = runs[1.0], runs[0.01]
    assert (dead.status, len(dead.epochs)) == ("finished", 1)
    assert dead.verdict is not None and "stopped early at epoch 1 of 2: fc1 100% dead" in dead.verdict.reason
    assert (alive.status, len(alive.epochs)) == ("finished", 2)
    assert "stopped early" not in alive.verdict.reason


@pytest.mark.parametrize(
    "lrs, flags, env",
    [
        ("1.0,0.01", ["--keep-dead"], None),
        ("1.0,0.01", [], "1"),  # the app's way: LRTUI_KEEP_DEAD=1
        ("1.0", [], None),  # a single run trains on
    ],
    ids=["--keep-dead", "LRTUI_KEEP_DEAD", "single run"],
)
def test_kept_dead_runs_and_a_single_run_train_every_epoch(cli, tmp_path, monkeypatch, lrs, flags, env):
    if env is None:
        monkeypatch.delenv("LRTUI_KEEP_DEAD", raising=False)
    else:
        monkeypatch.setenv("LRTUI_KEEP_DEAD", env)
    res = cli([*RUN, "--lr", lrs, *flags], tmp_path)
    assert res.code == 0, res.err
    runs = runs_of(tmp_path)
    assert [(r.status, len(r.epochs)) for r in runs.values()] == [("finished", 2)] * len(lrs.split(","))
    assert "stopped early" not in runs[1.0].verdict.reason
    assert "fc1" in runs[1.0].verdict.reason, "it did die: the opt-out, not the rule, kept it training"
