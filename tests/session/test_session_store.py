"""Session storage: saved at the right moments, atomically, read back exactly; bad files refused clearly."""

from __future__ import annotations

import json
import shutil

import pytest

from lrtui.engine.config import parse_configs
from lrtui.engine.events import Verdict, VerdictLabel
from lrtui.engine.records import EpochRecord
from lrtui.engine.step_trace import StepTrace
from lrtui.sessions.files import SCHEMA, write_json_atomic
from lrtui.sessions.listing import list_sessions, load_session
from lrtui.sessions.schema import SessionError
from lrtui.sessions.store import Session


def test_saved_at_every_run_start_epoch_end_and_run_end(trained):
    for run_id in ("r1", "r2", "r3"):
        seen = [(name, status, epochs) for name, rid, status, epochs in trained.on_disk if rid == run_id]
        assert seen[0] == ("RunStarted", "running", 0)
        epoch_ends = [epochs for name, _, epochs in seen if name == "EpochEnd"]
        assert epoch_ends == [1, 2], "each epoch is on disk as soon as it ends"
        assert seen[-1][0] == "RunEnd" and seen[-1][1] != "running"


def test_folder_holds_the_snapshot_one_file_per_run_and_no_temporary_files(trained):
    """Atomic writes leave no temporary files behind; each run has its own file, written by its process only."""
    names = {p.name for p in trained.path.iterdir() if not p.name.startswith("report")}
    assert names == {"session.json", "runs", "ids", "writers", ".lock"}
    assert list((trained.path / "writers").iterdir()) == [], "closed: no longer a writer"
    assert sorted(p.name for p in (trained.path / "runs").iterdir()) == ["r1.json", "r2.json", "r3.json"]
    assert sorted(p.name for p in (trained.path / "ids").iterdir()) == ["r1", "r2", "r3"]
    assert not [p for p in trained.path.rglob("*") if p.name.endswith(".tmp")]
    snapshot = json.loads(trained.path.joinpath("session.json").read_text())
    for run in snapshot["runs"]:
        filed = json.loads((trained.path / "runs" / f"{run['id']}.json").read_text())["run"]
        # the step trace: a list of points in the snapshot, columns in the run file; the same points either way
        assert StepTrace.from_json(filed.pop("step_trace")) == StepTrace.from_json(run.pop("step_trace"))
        assert filed == run


def test_round_trip_gives_identical_runs(trained, tmp_path):
    original = load_session(trained.path)
    copy = Session.create(tmp_path)
    copy.book = original.book
    copy.save()
    again = load_session(copy.file)
    assert [r.to_dict() for r in again.runs] == [r.to_dict() for r in original.runs]
    assert json.loads(trained.path.joinpath("session.json").read_text())["runs"] == [r.to_dict() for r in again.runs]
    assert len(again.runs) == 3 and all(r.test and r.verdict for r in again.runs)


def test_last_is_the_most_recent_session(trained, monkeypatch):
    monkeypatch.setenv("LRTUI_HOME", str(trained.root.parent))
    assert load_session("last").path == trained.path


def test_new_runs_continue_the_ids_and_are_saved(trained, home):
    from lrtui.engine.sweep import run_many

    folder = home / "sessions" / trained.path.name
    shutil.copytree(trained.path, folder)
    session = load_session(folder)
    config = parse_configs({"lr": "0.01", "train_limit": "100", "epochs": "1", "device": "cpu"})[0]
    record = session.add(config)
    assert record.id == "r4"
    run_many([config], [record.id], session.observe, batched=False)
    reloaded = load_session(folder)
    assert [r.id for r in reloaded.runs] == ["r1", "r2", "r3", "r4"]
    assert reloaded.runs[-1].status == "finished" and len(reloaded.runs[-1].epochs) == 1


def test_run_left_running_loads_as_interrupted(trained, tmp_path):
    doc = json.loads(trained.path.joinpath("session.json").read_text())
    doc["runs"][1]["status"] = "running"  # what a SIGKILLed process leaves behind
    (tmp_path / "session.json").write_text(json.dumps(doc))
    assert [r.status for r in load_session(tmp_path).runs][1] == "interrupted"


def test_interrupt_marks_the_running_run_and_saves(tmp_path):
    from lrtui.engine.events import RunStarted

    session = Session.create(tmp_path)
    config = parse_configs({"lr": "0.01", "device": "cpu"})[0]
    record = session.add(config)
    session.observe(RunStarted(record.id, config, "cpu", "test CPU", 3200, 800, 1000, 320, 80))
    assert [r.id for r in session.interrupt()] == ["r1"]
    assert json.loads(session.file.read_text())["runs"][0]["status"] == "interrupted"


def test_queued_runs_are_not_written(tmp_path):
    session = Session.create(tmp_path)
    session.add(parse_configs({"lr": "0.01", "device": "cpu"})[0])
    session.save()
    assert json.loads(session.file.read_text())["runs"] == []


def test_non_finite_numbers_become_null(tmp_path):
    path = tmp_path / "x.json"
    write_json_atomic(path, {"a": float("nan"), "b": [1.0, float("inf")], "c": {"d": -float("inf")}})
    assert json.loads(path.read_text()) == {"a": None, "b": [1.0, None], "c": {"d": None}}


def _corrupt(kind: str, good: str) -> str:
    doc = json.loads(good)
    return {
        "truncated": good[: len(good) // 2],
        "empty": "",
        "non-json": "this is not JSON at all\n",
        "no-schema": json.dumps({k: v for k, v in doc.items() if k != "schema"}),
        "string-schema": json.dumps({**doc, "schema": "one"}),
        "runs-not-list": json.dumps({**doc, "runs": {"r1": 1}}),
        "bad-run": json.dumps({**doc, "runs": [{"id": "r1"}]}),
        "future-schema": json.dumps({**doc, "schema": SCHEMA + 1}),
    }[kind]


BAD_FILES = {
    "truncated": "truncated",
    "empty": "empty",
    "non-json": "not valid JSON",
    "no-schema": "not an lrtui session",
    "string-schema": "wrong schema",
    "runs-not-list": "wrong schema",
    "bad-run": "run 1 is malformed",
    "future-schema": "newer than this lrtui understands",
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_file_is_refused_with_one_clear_line(kind, trained, tmp_path):
    file = tmp_path / "session.json"
    file.write_text(_corrupt(kind, trained.path.joinpath("session.json").read_text()))
    with pytest.raises(SessionError) as err:
        load_session(tmp_path)
    message = str(err.value)
    assert str(file) in message and BAD_FILES[kind] in message
    assert "\n" not in message


def test_missing_session_and_no_last(home):
    with pytest.raises(SessionError, match="no such session file"):
        load_session(home / "nowhere")
    with pytest.raises(SessionError, match="no saved sessions yet"):
        load_session("last")


def test_listing_keeps_good_sessions_next_to_bad_ones(trained, home):
    good = home / "sessions" / trained.path.name
    shutil.copytree(trained.path, good)
    bad = home / "sessions" / "20000101-000000-bad000"
    bad.mkdir()
    (bad / "session.json").write_text('{"schema": 1, "runs": [')
    entries = {e.path: e for e in list_sessions()}
    assert set(entries) == {good, bad}
    assert entries[good].session is not None and len(entries[good].session.runs) == 3
    assert entries[bad].session is None and "truncated" in (entries[bad].error or "")


def test_session_folder_is_made_only_when_saved(home):
    session = Session.create()
    assert session.path.parent == home / "sessions"
    assert not session.path.exists()
    session.save()
    assert load_session(session.path).runs == []


def test_a_failed_save_is_reported_not_raised_and_the_next_save_retries(tmp_path):
    from lrtui.engine.events import RunStarted

    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the sessions folder should be")
    session = Session.create(blocker / "sessions")
    config = parse_configs({"lr": "0.01", "device": "cpu"})[0]
    record = session.add(config)
    session.observe(RunStarted(record.id, config, "cpu", "test CPU", 3200, 800, 1000, 320, 80))
    assert session.save_error and str(session.file) in session.save_error
    assert session.runs[0].status == "running"  # kept in memory
    blocker.unlink()  # the disk is fine again: the next save writes everything
    session.save()
    assert session.save_error is None
    assert json.loads(session.file.read_text())["runs"][0]["status"] == "running"


def test_the_best_run_is_never_one_that_blew_up_while_another_is_left():
    from lrtui.sessions.record import RunBook, RunRecord

    def run(run_id, val_accs, label):
        config = parse_configs({"lr": "0.01", "device": "cpu"})[0]
        return RunRecord(
            id=run_id,
            config=config,
            epochs=[EpochRecord(i + 1, val_acc=a) for i, a in enumerate(val_accs)],
            verdict=Verdict(VerdictLabel(label), "", ""),
        )

    peaked = run("r1", [0.59, 0.11], "diverged")  # lr 0.5 on a small subset: a lucky first epoch
    steady = run("r2", [0.30, 0.41], "too slow")
    assert RunBook([peaked, steady]).best() is steady
    assert RunBook([peaked]).best() is peaked  # nothing better to name


def _start(session: Session) -> str:
    from lrtui.engine.events import RunStarted

    config = parse_configs({"lr": "0.01", "device": "cpu"})[0]
    record = session.add(config)
    session.observe(RunStarted(record.id, config, "cpu", "test CPU", 3200, 800, 1000, 320, 80))
    return record.id


def _epoch(session: Session, run_id: str, n: int) -> None:
    from lrtui.engine.events import EpochEnd

    session.observe(EpochEnd(run_id, n, 1.0, 0.5, 1.0, 0.5, 0.01))


def test_a_stuck_lock_costs_the_snapshot_not_the_run_file_and_is_said_once(tmp_path, monkeypatch):
    """A process holding ``.lock`` for ever (``flock S/.lock sleep 40``) made every save wait for it."""
    import fcntl
    import os
    import threading

    import lrtui.sessions.store

    monkeypatch.setattr(lrtui.sessions.store, "LOCK_WAIT_S", 0.3)
    monkeypatch.setattr(lrtui.sessions.store, "LOCK_RETRY_S", 0.05)
    session = Session.create(tmp_path)
    run_id = _start(session)
    holder = os.open(session.path / ".lock", os.O_RDWR)  # another open file: flock conflicts as another process's
    fcntl.flock(holder, fcntl.LOCK_EX)
    errors = []
    try:
        for n in (1, 2):
            saver = threading.Thread(target=_epoch, args=(session, run_id, n), daemon=True)
            saver.start()
            saver.join(30)
            assert not saver.is_alive(), "a save waited on the stuck lock"
            errors.append(session.save_error)
            assert session.snapshot_behind, "only the snapshot is behind: no run is unsaved"
            run_file = json.loads((session.path / "runs" / f"{run_id}.json").read_text())
            assert len(run_file["run"]["epochs"]) == n, "the run file, the truth, is saved all the same"
            assert json.loads(session.file.read_text())["runs"][0]["epochs"] == [], "the snapshot is skipped"
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    assert errors[0] == errors[1], "the same line each time: the runner says it once"
    assert "session.json not updated" in errors[0] and ".lock is held by another process" in errors[0]
    assert "\n" not in errors[0]
    _epoch(session, run_id, 3)  # the lock is free again: the next save writes the snapshot
    assert session.save_error is None and not session.snapshot_behind
    assert len(json.loads(session.file.read_text())["runs"][0]["epochs"]) == 3


def test_a_failed_first_save_leaves_no_folder_and_last_skips_folders_that_are_not_sessions(home, monkeypatch):
    """A run on a full home left an empty session folder, and ``report last`` then failed on it."""
    import errno

    import lrtui.sessions.store

    older = Session(home / "sessions" / "20240101-000000-aaaaaa", created=1_700_000_000.0)
    older.save()
    session = Session.create()
    real_write = lrtui.sessions.store.write_json_atomic

    def full(path, document, *, fsync=True):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(lrtui.sessions.store, "write_json_atomic", full)
    run_id = _start(session)
    assert session.save_error and "No space left on device" in session.save_error
    assert not session.path.exists(), "no empty folder left behind"
    assert load_session("last").path == older.path
    (home / "sessions" / "29991231-235959-empty0").mkdir()
    left = home / "sessions" / "29991231-235959-idsonly"  # what a failed first save left before
    for part in ("ids", "writers", "runs"):
        (left / part).mkdir(parents=True)
    (left / "ids" / "r1").touch()
    assert load_session("last").path == older.path, "a folder that holds no session is not 'last'"
    assert [e.path for e in list_sessions()] == [older.path]
    monkeypatch.setattr(lrtui.sessions.store, "write_json_atomic", real_write)
    session.close()  # space again: the final save makes the folder, the ids reserved anew
    assert session.save_error is None and (session.path / "ids" / run_id).exists()
    assert [r.id for r in load_session(session.path).runs] == [run_id]


def test_last_is_the_newest_session_created_whatever_was_written_since(home):
    """``report`` rewrites an old session's snapshot: ``run --open last`` then added runs to that old one."""
    from lrtui.reports.report import write_reports
    from lrtui.sessions.listing import newest_session

    old = Session(home / "sessions" / "20240101-000000-aaaaaa", created=1_700_000_000.0)
    _start(old)
    old.close()
    new = Session(home / "sessions" / "20240102-000000-bbbbbb", created=1_700_086_400.0)
    _start(new)
    new.close()
    write_reports(load_session(old.path), None, ("json",))  # rewrites the old one's session.json
    load_session(old.path).save()
    assert newest_session() == new.path == [e.path for e in list_sessions()][-1]
    assert load_session("last").path == new.path


def test_runs_on_other_data_joining_a_session_give_one_notice(trained, home, capsys):
    from lrtui.cli import main

    folder = home / "sessions" / trained.path.name
    shutil.copytree(trained.path, folder)
    session = load_session(folder)
    same = parse_configs({"lr": "0.1", "train_limit": "100", "device": "cpu"})
    assert session.dataset_notice(same) is None
    assert Session.create(home).dataset_notice(same) is None, "an empty session has nothing to differ from"
    other = parse_configs({"lr": "0.1", "dataset": "mnist", "data_dir": str(home / "data"), "device": "cpu"})
    notice = session.dataset_notice(same + other)
    assert notice == (
        f"session {folder.name} holds runs on mnist-5k, first 100 training samples; the new runs use "
        f"mnist in {home / 'data'}: their accuracies do not compare"
    )
    code = main(
        ["run", "--open", "last", "--lr", "0.01", "--train-limit", "50", "--epochs", "1", "--device", "cpu", "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 0
    assert err.count("lrtui: warning: ") == 1
    assert "holds runs on mnist-5k, first 100 training samples; the new runs use mnist-5k, first 50" in err
    assert [r.id for r in load_session(folder).runs] == ["r1", "r2", "r3", "r4"]
