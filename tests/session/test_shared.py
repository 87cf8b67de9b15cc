"""One session, many processes: real OS processes add, train and die while this one reads and follows."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import lrtui.sessions.writers
from lrtui.engine.config import parse_configs
from lrtui.engine.events import EpochEnd, RunEnd, RunStarted, Verdict
from lrtui.sessions.listing import list_sessions, load_session
from lrtui.sessions.schema import SessionError
from lrtui.sessions.store import Session

CHILD = str(Path(__file__).with_name("session_child.py"))
CONFIG = parse_configs({"lr": "0.01", "epochs": "3", "train_limit": "100", "device": "cpu"})[0]


class Child:
    """A writer process driven line by line over stdin/stdout (no sleeps: each step waits for its answer)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, CHILD, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )

    def line(self) -> str:
        assert self.proc.stdout is not None
        text = self.proc.stdout.readline()
        assert text, f"the child ended (exit {self.proc.wait()})"
        return text.strip()

    def say(self, word: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()
        assert self.line() == f"done {word}"

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def finish(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def _start_own(session: Session, epochs: int = 0) -> str:
    record = session.add(CONFIG)
    session.observe(RunStarted(record.id, CONFIG, "cpu", "test CPU", 100, 25, 1000, 10, 10))
    for n in range(1, epochs + 1):
        session.observe(EpochEnd(record.id, n, 1.0, 0.5, 1.0, 0.5, 0.01))
    return record.id


def _finish_own(session: Session, run_id: str, epochs: int) -> None:
    session.observe(RunEnd(run_id, "finished", Verdict("converged", "r", "h"), None, 0.1, 10.0, epochs))


@pytest.fixture
def shared(home: Path) -> Path:
    """A session folder on disk with one finished run of this process."""
    session = Session.create()
    _finish_own(session, _start_own(session, 1), 1)
    session.close()
    return session.path


def test_two_processes_adding_runs_at_once_keep_every_run_with_unique_ids(shared, tmp_path):
    go = tmp_path / "go"
    children = [
        subprocess.Popen([sys.executable, CHILD, "add", str(shared), "12", str(go)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    here = load_session(shared)  # and this process adds runs at the same time
    go.touch()
    mine = [_start_own(here) for _ in range(4)]
    for run_id in mine:
        _finish_own(here, run_id, 0)
    printed = [c.communicate(timeout=120)[0].split() for c in children]
    assert all(c.returncode == 0 for c in children)
    ids = [i for out in printed for i in out] + mine + ["r1"]
    assert len(ids) == len(set(ids)) == 29, "every process got its own ids"
    reloaded = load_session(shared)
    assert sorted(r.id for r in reloaded.runs) == sorted(ids)
    assert all(r.status == "finished" for r in reloaded.runs)
    snapshot = json.loads((shared / "session.json").read_text())
    assert snapshot["schema"] == 2 and len(snapshot["runs"]) >= len(mine) + 1


def test_a_live_writers_run_is_followed_never_marked_interrupted(shared):
    child = Child("slow", str(shared))
    try:
        run_id = child.line().split()[1]
        viewer = load_session(shared)
        watched = viewer.book.get(run_id)
        assert watched is not None and watched.status == "running", "a reader never interrupts a live run"
        assert [w.pid for w in viewer.writers() if w.alive] == [child.proc.pid]
        assert viewer.poll() == []
        child.say("epoch")
        assert [r.id for r in viewer.poll()] == [run_id] and len(watched.epochs) == 1
        mine = _start_own(viewer, 1)  # the viewer adds a run of its own alongside
        child.say("epoch")
        viewer.poll()
        assert len(watched.epochs) == 2 and watched.status == "running"
        on_disk = json.loads((shared / "session.json").read_text())["runs"]
        assert {r["id"]: r["status"] for r in on_disk}[run_id] == "running", "the viewer's snapshot keeps it running"
        child.say("end")
        assert [r.id for r in viewer.poll()] == [run_id] and watched.status == "finished"
        assert viewer.book.get(mine).status == "running"
    finally:
        child.finish()


def test_a_killed_writers_run_shows_interrupted_and_its_file_parses(shared):
    child = Child("slow", str(shared))
    run_id = child.line().split()[1]
    child.say("epoch")
    viewer = load_session(shared)
    assert viewer.book.get(run_id).status == "running"
    child.kill()
    changed = viewer.poll()
    assert [(r.id, r.status) for r in changed] == [(run_id, "interrupted")]
    assert [w.state for w in viewer.writers()] == ["dead"]
    again = load_session(shared)
    assert again.book.get(run_id).status == "interrupted" and len(again.book.get(run_id).epochs) == 1
    raw = json.loads((shared / "runs" / f"{run_id}.json").read_text())
    assert raw["run"]["status"] == "running", "a reader never rewrites another process's run"


def test_a_writer_on_another_host_is_stale_once_its_heartbeat_stops(shared, monkeypatch):
    child = Child("--host", "gpu-box-elsewhere", "slow", str(shared))
    try:
        run_id = child.line().split()[1]
        monkeypatch.setattr(lrtui.sessions.writers, "STALE_AFTER_S", 3600.0)
        viewer = load_session(shared)
        assert viewer.book.get(run_id).status == "running"
        assert [(w.host, w.state) for w in viewer.writers()] == [("gpu-box-elsewhere", "alive")]
        monkeypatch.setattr(lrtui.sessions.writers, "STALE_AFTER_S", -1.0)  # any heartbeat is now too old
        assert [(r.id, r.status) for r in viewer.poll()] == [(run_id, "interrupted")]
        assert [w.state for w in viewer.writers()] == ["stale"]
        monkeypatch.setattr(lrtui.sessions.writers, "STALE_AFTER_S", 3600.0)
        child.say("beat")  # it was only slow: alive again
        assert [(r.id, r.status) for r in viewer.poll()] == [(run_id, "running")]
    finally:
        child.finish()


def test_kill_9_at_any_moment_loses_at_most_the_epoch_in_progress(shared):
    rng = random.Random(7)
    for _ in range(6):
        child = Child("spin", str(shared))
        run_id = child.line().split()[1]
        target = rng.randint(1, 40)
        printed = 0
        while printed < target:
            printed = int(child.line())
        child.kill()
        session = load_session(shared)  # every file parses
        run = session.book.get(run_id)
        assert run is not None and run.status == "interrupted"
        assert len(run.epochs) >= printed, "every epoch the writer finished saving is on disk"
    leftovers = [p for p in shared.rglob("*.tmp")]
    assert len(leftovers) <= 6, "a killed write leaves at most its own temp file"


def test_close_takes_the_writer_off_and_the_listing_marks_live_sessions(home, shared):
    other = Session.create()
    _finish_own(other, _start_own(other), 0)
    other.close()
    child = Child("slow", str(shared))
    try:
        child.line()
        live = {e.path: e.live for e in list_sessions()}
        assert live == {shared: True, other.path: False}
        child.say("end")
        child.say("close")
        assert {e.path: e.live for e in list_sessions()} == {shared: False, other.path: False}
    finally:
        child.finish()


def test_remove_own_run_but_not_a_live_writers_run(shared):
    child = Child("slow", str(shared))
    try:
        theirs = child.line().split()[1]
        child.say("end")
        here = load_session(shared)
        mine = _start_own(here, 1)
        with pytest.raises(SessionError, match=f"{mine} is running"):
            here.remove(mine)
        _finish_own(here, mine, 1)
        here.remove(mine)
        assert not (shared / "runs" / f"{mine}.json").exists() and here.book.get(mine) is None
        with pytest.raises(SessionError, match=f"{theirs} belongs to another lrtui .*pid {child.proc.pid}"):
            here.remove(theirs)
        child.say("close")  # its writer is gone: its finished run may go now
        here.remove(theirs)
        assert sorted(r.id for r in load_session(shared).runs) == ["r1"]
        assert here.add(CONFIG).id not in (mine, theirs), "a removed run's id is never given again"
    finally:
        child.finish()


def test_a_run_removed_by_another_process_leaves_the_followers(shared):
    viewer = load_session(shared)
    owner = load_session(shared)
    run_id = _start_own(owner, 1)
    assert [r.id for r in viewer.poll()] == [run_id]
    _finish_own(owner, run_id, 1)
    owner.remove(run_id)
    assert viewer.poll() == [] and viewer.poll_removed == [run_id]
    assert [r.id for r in viewer.runs] == ["r1"]
    viewer.save()  # and the follower's next save does not bring it back
    assert [r.id for r in load_session(shared).runs] == ["r1"]


def test_a_schema_1_session_opens_and_takes_new_runs_from_two_processes(trained, home, tmp_path):
    doc = json.loads((trained.path / "session.json").read_text())
    doc["schema"] = 1
    doc["runs"][2]["status"] = "running"  # left by an old lrtui that was killed
    folder = home / "sessions" / "20240101-120000-abcdef"
    folder.mkdir(parents=True)
    (folder / "session.json").write_text(json.dumps(doc))
    first, second = load_session(folder), load_session(folder)
    assert [r.status for r in first.runs][2] == "interrupted"
    a, b = _start_own(first, 1), _start_own(second, 1)
    assert {a, b} == {"r4", "r5"}
    _finish_own(first, a, 1)
    _finish_own(second, b, 1)
    again = load_session(folder)
    assert [r.id for r in again.runs] == ["r1", "r2", "r3", "r4", "r5"]
    assert [r.to_dict() for r in again.runs[:2]] == doc["runs"][:2], "old runs are kept exactly"
    assert json.loads((folder / "session.json").read_text())["schema"] == 2


def test_a_training_thread_observes_while_the_ui_thread_adds_and_polls(shared):
    session = load_session(shared)
    other = load_session(shared)
    run_id = _start_own(session)
    errors: list[BaseException] = []

    def train() -> None:
        try:
            for n in range(1, 60):
                session.observe(EpochEnd(run_id, n, 1.0, 0.5, 1.0, 0.5, 0.01))
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    thread = threading.Thread(target=train)
    thread.start()
    added = []
    while thread.is_alive():
        added.append(session.add(CONFIG).id)
        session.poll()
        other.poll()
        _ = [r.to_dict() for r in list(session.runs)]
    thread.join()
    assert not errors
    assert len(session.book.get(run_id).epochs) == 59
    assert len(set(added)) == len(added)
    other.poll()
    assert len(other.book.get(run_id).epochs) == 59


def test_a_session_killed_before_its_first_snapshot_still_opens(home):
    session = Session.create()
    run_id = _start_own(session, 1)
    session.file.unlink()  # what a kill between the first run file and the first snapshot leaves
    reopened = load_session("last")
    assert reopened.path == session.path and [r.id for r in reopened.runs] == [run_id]
    assert reopened.runs[0].status == "running", "its writer (this process) is alive"
    session.close()
    assert load_session(session.path).runs[0].status == "interrupted"


def test_heartbeat_and_close_keep_the_writer_file_honest(shared):
    session = load_session(shared)
    session.heartbeat()  # nothing written yet: not a writer
    assert [w for w in session.writers() if w.is_self] == []
    run_id = _start_own(session)
    [me] = [w for w in session.writers() if w.is_self]
    assert me.alive and me.pid == os.getpid()
    before = json.loads(next((shared / "writers").glob("*.json")).read_text())["heartbeat"]
    session.heartbeat()
    after = json.loads(next((shared / "writers").glob("*.json")).read_text())["heartbeat"]
    assert after >= before
    _finish_own(session, run_id, 0)
    session.close()
    assert list((shared / "writers").glob("*.json")) == []
    assert not load_session(shared).writers()


def test_an_unreadable_run_file_keeps_its_run_in_the_snapshot_and_is_named_once(shared):
    """A run file that is a link loop was skipped: ``sessions`` listed 1 run of 2, and the next writer's
    snapshot dropped the run for good."""
    other = load_session(shared)
    theirs = _start_own(other, 1)
    _finish_own(other, theirs, 1)
    other.close()
    follower = load_session(shared)  # read it while it was fine
    loop = shared / "runs" / f"{theirs}.json"
    loop.unlink()
    loop.symlink_to(loop.name)  # a link to itself: ELOOP
    [entry] = list_sessions()
    assert entry.session is not None and sorted(r.id for r in entry.session.runs) == ["r1", theirs]
    writer = load_session(shared)
    assert writer.follow_error and writer.follow_error.startswith(str(loop)) and "\n" not in writer.follow_error
    assert writer.book.get(theirs).status == "finished" and len(writer.book.get(theirs).epochs) == 1
    mine = _start_own(writer, 1)
    _finish_own(writer, mine, 1)
    writer.close()
    snapshot = json.loads((shared / "session.json").read_text())
    assert [r["id"] for r in snapshot["runs"]] == ["r1", theirs, mine], "the next writer's snapshot keeps it"
    assert [r.id for r in follower.poll()] == [mine]
    assert follower.poll_removed == [] and follower.book.get(theirs) is not None, "not taken for removed"
    assert follower.follow_error and str(loop) in follower.follow_error
    follower.save()
    assert theirs in [r["id"] for r in json.loads((shared / "session.json").read_text())["runs"]]
    assert loop.is_symlink(), "an unreadable file is left as it is"


def test_a_heartbeat_from_the_future_is_not_believed(shared):
    """A writer elsewhere whose heartbeat is far ahead of this clock counted as alive for ever: its run
    could never be removed."""
    import time

    from lrtui.sessions.writers import FUTURE_TOLERANCE_S, judge

    now = time.time()
    fields = {"host": "gpu-box-elsewhere", "pid": 4711, "token": "ab12", "started": now - 60}
    assert judge({**fields, "heartbeat": now + FUTURE_TOLERANCE_S / 2}, now=now).alive, "clocks differ a little"
    assert judge({**fields, "heartbeat": now + 3600}, now=now).state == "stale"
    child = Child("--host", "gpu-box-elsewhere", "slow", str(shared))
    run_id = child.line().split()[1]
    child.kill()
    [file] = (shared / "writers").glob("*.json")
    file.write_text(json.dumps({**json.loads(file.read_text()), "heartbeat": time.time() + 10 * 365 * 86400}))
    viewer = load_session(shared)
    assert viewer.book.get(run_id).status == "interrupted"
    viewer.remove(run_id)
    assert [r.id for r in load_session(shared).runs] == ["r1"]
