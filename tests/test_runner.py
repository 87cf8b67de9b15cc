"""The runner, without any front end: real tiny training, queued batches, cancel, stop, interrupt, save problems."""

from __future__ import annotations

import gc
import json
import threading
from pathlib import Path

import pytest

from lrtui.engine.config import parse_configs
from lrtui.engine.events import BatchLog, EpochEnd, RunEnd, RunStarted
from lrtui.runner import (
    FULL_COLLECTION_WHILE_TRAINING,
    Runner,
    RunsDone,
    SaveProblem,
    hangup_keeps_training,
    quiet_collector,
)
from lrtui.sessions.store import Session

TINY = {"train_limit": "200", "epochs": "1", "device": "cpu"}


def configs(**fields: str):
    return parse_configs({**TINY, **fields})


class Heard:
    """What a runner told its listener, in order, from the training thread."""

    def __init__(self) -> None:
        self.items: list[object] = []
        self.lock = threading.Lock()

    def __call__(self, item: object) -> None:
        with self.lock:
            self.items.append(item)

    def of(self, kind: type) -> list:
        with self.lock:
            return [i for i in self.items if isinstance(i, kind)]


def until_first_log(runner: Runner, heard: Heard) -> None:
    """Wait until the first run is training (its first BatchLog arrived); the runner must not go idle first."""
    while not heard.of(BatchLog):
        assert not runner.wait(0.02)


@pytest.fixture
def session(tmp_path: Path) -> Session:
    return Session.create(tmp_path / "sessions")


def test_batches_train_in_order_and_every_event_is_in_the_session_before_the_listener_hears_it(session):
    seen_saved: list[bool] = []

    def listener(item: object) -> None:
        heard(item)
        if isinstance(item, EpochEnd):  # already folded in and saved when the listener hears it
            saved = json.loads(session.file.read_text())
            seen_saved.append(any(len(r["epochs"]) == item.epoch for r in saved["runs"] if r["id"] == item.run_id))

    heard = Heard()
    runner = Runner(session, listener)
    first = runner.enqueue(configs(lr="0.01"))
    second = runner.enqueue(configs(lr="0.1, 0.001"))
    assert [r.id for r in first + second] == ["r1", "r2", "r3"]
    assert runner.wait(120)
    assert [r.status for r in session.runs] == ["finished"] * 3
    assert all(seen_saved) and len(seen_saved) == 3
    done = heard.of(RunsDone)
    assert [d.run_ids for d in done] == [("r1",), ("r2", "r3")]
    assert [d.idle for d in done] == [False, True] and not runner.busy
    starts = [e.run_id for e in heard.of(RunStarted)]
    assert starts.index("r1") < starts.index("r2")


def test_cancel_stops_the_training_run_and_drops_the_queue(session):
    heard = Heard()
    runner = Runner(session, heard)
    runner.enqueue(configs(lr="0.01", epochs="200"))
    runner.enqueue(configs(lr="0.1"))
    until_first_log(runner, heard)
    dropped = runner.cancel()
    assert [r.id for r in dropped] == ["r2"]
    assert runner.wait(60)
    assert [(r.id, r.status) for r in session.runs] == [("r1", "cancelled"), ("r2", "cancelled")]
    saved = {r["id"]: r["status"] for r in json.loads(session.file.read_text())["runs"]}
    assert saved == {"r1": "cancelled", "r2": "cancelled"}


def test_stop_as_interrupted_ends_the_run_interrupted_and_starts_nothing_new(session):
    heard = Heard()
    runner = Runner(session, heard)
    runner.enqueue(configs(lr="0.01", epochs="200"))
    until_first_log(runner, heard)
    runner.stop("interrupted")
    assert runner.wait(60)
    (end,) = heard.of(RunEnd)
    assert end.status == "interrupted" and session.runs[0].status == "interrupted"
    runner.enqueue(configs(lr="0.1"))  # a stopped runner trains nothing more
    assert runner.wait(1) and session.runs[1].status == "queued"


def test_a_queued_run_can_be_removed_a_training_one_cannot(session):
    heard = Heard()
    runner = Runner(session, heard)
    runner.enqueue(configs(lr="0.01", epochs="200"))
    runner.enqueue(configs(lr="0.1"))
    until_first_log(runner, heard)
    assert "cancel it first" in (runner.remove("r1") or "")
    assert runner.remove("r2") is None and runner.queued == []
    runner.cancel()
    assert runner.wait(60)
    assert [r.id for r in session.runs] == ["r1"]


def test_a_session_that_cannot_be_saved_is_said_once_and_training_goes_on(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the sessions folder should be: no save can work, even as root")
    session = Session.create(blocker / "sessions")
    heard = Heard()
    runner = Runner(session, heard)
    runner.enqueue(configs(lr="0.01, 0.1"))
    assert runner.wait(120)
    problems = heard.of(SaveProblem)
    assert len(problems) == 1 and problems[0].error and "not-a-folder" in problems[0].error
    assert [r.status for r in session.runs] == ["finished", "finished"]


def test_hangup_keeps_training_unless_opted_out(monkeypatch):
    monkeypatch.delenv("LRTUI_ON_HANGUP", raising=False)
    assert hangup_keeps_training()
    monkeypatch.setenv("LRTUI_ON_HANGUP", "stop")
    assert not hangup_keeps_training()


def test_a_grid_trains_each_lr_sweep_as_one_batch_in_grid_order(session):
    heard = Heard()
    runner = Runner(session, heard)
    records = runner.enqueue(configs(lr="0.01, 0.1", seed="0, 1"))
    assert [(r.id, r.config.seed, r.config.lr) for r in records] == [
        ("r1", 0, 0.01),
        ("r2", 1, 0.01),
        ("r3", 0, 0.1),
        ("r4", 1, 0.1),
    ]
    assert runner.wait(120)
    assert [d.run_ids for d in heard.of(RunsDone)] == [("r1", "r3"), ("r2", "r4")]
    assert all(r.status == "finished" for r in session.runs)


def test_no_full_garbage_collection_while_training_and_the_usual_ones_once_idle(session):
    """A full collection walks torch's ~365,000 objects with the GIL held (a pause of the screen):
    held off while the runner trains, the interpreter's own setting again once it is idle."""
    before = gc.get_threshold()
    during: list[tuple[int, int, int]] = []

    def listener(item: object) -> None:
        if isinstance(item, EpochEnd):
            during.append(gc.get_threshold())

    runner = Runner(session, listener)
    runner.enqueue(configs(lr="0.01"))
    assert runner.wait(120)
    assert during and all(t[2] == FULL_COLLECTION_WHILE_TRAINING and t[:2] == before[:2] for t in during)
    assert gc.get_threshold() == before and gc.isenabled()


def test_quiet_collector_turns_collection_off_inside_and_on_after_the_outermost():
    assert gc.isenabled()
    with quiet_collector():
        assert not gc.isenabled()
        with quiet_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer block is still importing
    assert gc.isenabled()
    with pytest.raises(ValueError), quiet_collector():
        raise ValueError("an import failed")
    assert gc.isenabled()


def test_a_thread_that_cannot_start_ends_every_queued_run_failed_with_one_line_and_goes_idle(session, monkeypatch):
    """A broken torch (or any import error) on the training thread: the runs fail, ``wait()`` returns."""
    monkeypatch.setitem(__import__("sys").modules, "lrtui.engine.sweep", None)  # ``import`` now raises ImportError
    heard = Heard()
    runner = Runner(session, heard)
    records = runner.enqueue(configs(lr="0.01,0.1")) + runner.enqueue(configs(lr="0.01", batch_size="20"))
    assert runner.wait(10), "the runner never went idle"
    assert [r.status for r in records] == ["failed"] * 3
    assert all("lrtui.engine.sweep" in (r.error or "") and "\n" not in r.error for r in records)
    done = heard.of(RunsDone)
    assert len(done) == 2 and done[-1].idle and all(d.error for d in done)
    on_disk = json.loads(session.file.read_text())
    assert [r["status"] for r in on_disk["runs"]] == ["failed"] * 3


def test_thread_setup_that_raises_fails_the_runs_instead_of_hanging(session):
    def broken() -> None:
        raise RuntimeError("CUDA initialisation failed\nsecond line " + "x" * 5000)

    runner = Runner(session, Heard(), thread_setup=broken)
    records = runner.enqueue(configs())
    assert runner.wait(10)
    assert records[0].status == "failed"
    assert records[0].error.startswith("RuntimeError: CUDA initialisation failed second line")
    assert len(records[0].error) <= 300


def test_a_listener_that_raises_at_the_end_still_leaves_the_runner_idle(session):
    def listener(item: object) -> None:
        if isinstance(item, RunsDone):
            raise ValueError("a front end's bug")

    runner = Runner(session, listener)
    runner.enqueue(configs())
    assert runner.wait(60)
