"""Outputs that cannot hurt: real symlinks, FIFOs, devices, read-only folders and missing folders."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lrtui.sessions.outputs import (
    OutputError,
    check_writable,
    check_writable_dir,
    guard_outside_sessions,
    guard_report_dir,
    write_json_safely,
    write_text_safely,
)

ROOT = os.geteuid() == 0
no_root = pytest.mark.skipif(ROOT, reason="root ignores permission bits")


def _reader(path: Path, out: list[bytes], delay: float = 0.0) -> threading.Thread:
    """A thread that opens the FIFO for reading (after ``delay``) and keeps everything written to it."""

    def run() -> None:
        time.sleep(delay)
        with open(path, "rb") as f:
            out.append(f.read())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _device(folder: Path, name: str, kind: int, major: int, minor: int) -> str:
    """A device node of our own: as root, tests never write /dev's nodes (a regression would replace them for the
    whole machine). Without root (no mknod) the /dev node is used: a non-root process cannot replace it."""
    path = folder / name
    try:
        os.mknod(path, kind | 0o666, os.makedev(major, minor))
    except (PermissionError, OSError):
        if ROOT:
            pytest.skip("cannot make device nodes here")
        fallback = {(1, 3): "/dev/null", (1, 7): "/dev/full"}.get((major, minor))
        if fallback is None or not os.path.exists(fallback):
            pytest.skip("no such device")
        return fallback
    return str(path)


# -- check_writable: refused before any work, one line ------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, fault",
    [
        ("", "--json: empty path"),
        ("   ", "--json: empty path"),
    ],
)
def test_empty_paths_are_refused(bad: str, fault: str) -> None:
    with pytest.raises(OutputError) as info:
        check_writable(bad, "--json")
    assert str(info.value) == fault


def test_missing_folder_is_named(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "x.json"
    with pytest.raises(OutputError) as info:
        check_writable(str(target), "--json")
    assert str(info.value) == f"--json: {target}: folder does not exist"
    assert not (tmp_path / "nope").exists()


def test_directory_and_file_as_folder_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"^--json: .*: is a directory$"):
        check_writable(str(tmp_path), "--json")
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        check_writable(str(tmp_path / "plain" / "x.json"), "--json")


def test_block_devices_and_sockets_are_refused(tmp_path: Path) -> None:
    import socket

    sock_path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(sock_path))
        with pytest.raises(OutputError, match="is a socket"):
            check_writable(str(sock_path), "--json")
    block = _device(tmp_path, "blk", stat.S_IFBLK, 7, 200)  # a loop device number nothing uses; only checked
    with pytest.raises(OutputError, match="block device"):
        check_writable(block, "--json")


@no_root
def test_read_only_folder_is_refused_before_work(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError) as info:
            check_writable(str(folder / "x.json"), "--json")
        assert str(info.value) == f"--json: {folder / 'x.json'}: permission denied"
        with pytest.raises(OutputError, match="permission denied"):
            check_writable_dir(str(folder / "reports"), "--report")
    finally:
        folder.chmod(0o700)


@no_root
def test_read_only_file_is_refused_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "keep.json"
    target.write_text("old")
    target.chmod(0o444)
    with pytest.raises(OutputError, match="permission denied"):
        write_text_safely(target, "new", flag="--json")
    assert target.read_text() == "old"


def test_check_writable_dir(tmp_path: Path) -> None:
    check_writable_dir(str(tmp_path / "new" / "deeper"), "--report")  # made with its parents, like today
    assert not (tmp_path / "new").exists()  # checking creates nothing
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=r"^--report: .*file: not a folder$"):
        check_writable_dir(str(tmp_path / "file"), "--report")
    with pytest.raises(OutputError, match="not a folder"):
        check_writable_dir(str(tmp_path / "file" / "sub"), "--report")
    with pytest.raises(OutputError, match="--out: empty path"):
        check_writable_dir("", "--out")
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "report.md").mkdir()  # a folder where a report file goes
    with pytest.raises(OutputError, match="report.md: is a directory"):
        check_writable_dir(str(tmp_path / "r"), "--report", files=("report.md", "report.html"))


# -- writing: regular files atomically, links followed, devices and FIFOs in place -----------------------------------


def test_regular_file_is_replaced_atomically_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    target.chmod(0o640)
    inode = target.stat().st_ino
    write_json_safely(target, {"lr": 0.01, "loss": float("nan"), "runs": [float("inf")]})
    assert json.loads(target.read_text()) == {"lr": 0.01, "loss": None, "runs": [None]}
    assert target.stat().st_ino != inode  # a new file renamed over the old one, not rewritten in place
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temp file left


def test_new_file_is_created(tmp_path: Path) -> None:
    write_text_safely(tmp_path / "new.txt", "hello")
    assert (tmp_path / "new.txt").read_text() == "hello"


def test_symlink_stays_a_link_and_its_target_is_written(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "result.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    chain = tmp_path / "chain.json"
    chain.symlink_to(link)  # a link to a link
    write_json_safely(chain, {"a": 1}, flag="--json")
    assert link.is_symlink() and chain.is_symlink()
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["result.json"]


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "later.json")
    write_text_safely(link, "x")
    assert link.is_symlink() and (tmp_path / "later.json").read_text() == "x"
    gone = tmp_path / "gone.json"
    gone.symlink_to(tmp_path / "no" / "such.json")
    with pytest.raises(OutputError, match="folder does not exist"):
        check_writable(gone, "--json")


def test_null_device_stays_a_device(tmp_path: Path) -> None:
    null = _device(tmp_path, "null", stat.S_IFCHR, 1, 3)
    write_json_safely(null, {"a": 1}, flag="--json")
    check_writable(null, "--json")
    assert stat.S_ISCHR(os.stat(null).st_mode)


def test_link_to_null_device_is_written_in_place(tmp_path: Path) -> None:
    null = _device(tmp_path, "null", stat.S_IFCHR, 1, 3)
    link = tmp_path / "out.json"
    link.symlink_to(null)
    write_text_safely(link, "x" * 100_000)
    assert link.is_symlink() and stat.S_ISCHR(os.stat(null).st_mode)


def test_fifo_is_written_to_its_reader_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _reader(fifo, got, delay=0.3)  # attaches after the write began waiting for it
    document = {"runs": list(range(50_000))}  # larger than a pipe's buffer: the write must wait for reads
    write_json_safely(fifo, document, flag="--json")
    reader.join(5)
    assert json.loads(got[0]) == document
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_fifo_without_reader_gives_up_with_one_line(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    check_writable(fifo, "--json")  # a reader may come later: not refused up front
    with pytest.raises(OutputError) as info:
        write_text_safely(fifo, "x", flag="--json", wait_s=0.3)
    assert str(info.value).startswith(f"--json: {fifo}: no reader") and "\n" not in str(info.value)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_symlink_to_fifo_is_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "out.json"
    link.symlink_to(fifo)
    got: list[bytes] = []
    reader = _reader(fifo, got)
    write_text_safely(link, "through the link")
    reader.join(5)
    assert got == [b"through the link"] and link.is_symlink() and stat.S_ISFIFO(fifo.stat().st_mode)


_WRITE_TO_STDOUT = """
import sys
from lrtui.sessions.outputs import write_json_safely
print("printed before", flush=False)
write_json_safely(sys.argv[1], {"a": 1}, flag="--json")
print("printed after")
"""


def _stdout_link(folder: Path) -> str:
    """A link shaped like ``/dev/stdout`` (→ /proc/self/fd/1). The real /dev/stdout is never written by these
    tests: code with the old bug would, as root, replace it with a regular file for the whole machine."""
    link = folder / "stdout"
    link.symlink_to("/proc/self/fd/1")
    return str(link)


@pytest.mark.parametrize("spec", ["stdout-link", "/dev/fd/1", "/proc/self/fd/1"])
def test_stdout_redirected_to_a_file_keeps_the_file_and_the_order(tmp_path: Path, spec: str) -> None:
    path = _stdout_link(tmp_path) if spec == "stdout-link" else spec  # /dev/fd, /proc cannot be renamed over
    out = tmp_path / "out.txt"
    with open(out, "w") as f:
        subprocess.run([sys.executable, "-c", _WRITE_TO_STDOUT, path], stdout=f, check=True, timeout=60)
    assert out.read_text() == 'printed before\n{"a":1}\nprinted after\n'
    assert os.path.islink(path) or not spec.startswith("stdout")


def test_stdout_into_a_pipe(tmp_path: Path) -> None:
    link = _stdout_link(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _WRITE_TO_STDOUT, link], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout == 'printed before\n{"a":1}\nprinted after\n'
    assert os.path.islink(link)


@no_root
def test_write_failure_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match=r"^--json: .*: permission denied$"):
            write_text_safely(folder / "x.json", "x", flag="--json")
    finally:
        folder.chmod(0o700)


def test_full_device_is_one_line(tmp_path: Path) -> None:
    full = _device(tmp_path, "full", stat.S_IFCHR, 1, 7)
    with pytest.raises(OutputError) as info:
        write_text_safely(full, "x", flag="--json")
    assert str(info.value) == f"--json: {full}: no space left on device"


# -- report folders never overwrite another session --------------------------------------------------------------------


def _session_folder(path: Path, created: float, store: bool = True) -> Path:
    """A session folder as :mod:`lrtui.sessions.store` leaves it (``store``: schema 2, else schema 1: session.json only)."""
    path.mkdir(parents=True)
    (path / "session.json").write_text(json.dumps({"schema": 2, "created": created, "runs": []}))
    if store:
        for folder in ("runs", "ids", "writers"):
            (path / folder).mkdir()
        (path / "runs" / "r1.json").write_text('{"schema": 2}')
        (path / "ids" / "r1").write_text("")
        (path / "writers" / "host-1-ab.json").write_text("{}")
        (path / ".lock").write_text("")
    return path


def test_reports_may_go_to_own_folder_new_folder_or_earlier_export(tmp_path: Path) -> None:
    own = _session_folder(tmp_path / "A", 1000.5)
    guard_report_dir(own, own, 1000.5)  # the default: the session's own folder
    guard_report_dir(tmp_path / "new", own, 1000.5)
    (tmp_path / "empty").mkdir()
    guard_report_dir(tmp_path / "empty", own, 1000.5)
    export = _session_folder(tmp_path / "export", 1000.5, store=False)  # an earlier report of the same session
    guard_report_dir(export, own, 1000.5)
    link = tmp_path / "link-to-A"
    link.symlink_to(own)
    guard_report_dir(link, own, 1000.5)


def test_another_sessions_folder_is_refused(tmp_path: Path) -> None:
    own = _session_folder(tmp_path / "A", 1000.5)
    other = _session_folder(tmp_path / "B", 2000.25)
    before = (other / "session.json").read_bytes()
    with pytest.raises(OutputError) as info:
        guard_report_dir(other, own, 1000.5)
    assert str(info.value).startswith(f"--out: {other}: is another session's folder")
    link = tmp_path / "link-to-B"
    link.symlink_to(other)
    with pytest.raises(OutputError, match="another session's folder"):
        guard_report_dir(link, own, 1000.5)
    assert (other / "session.json").read_bytes() == before


def test_schema1_folder_and_foreign_session_json_are_refused(tmp_path: Path) -> None:
    own = _session_folder(tmp_path / "A", 1000.5)
    legacy = _session_folder(tmp_path / "legacy", 3000.0, store=False)  # schema 1: only a session.json
    with pytest.raises(OutputError, match="holds a session.json that is not a report of this session"):
        guard_report_dir(legacy, own, 1000.5)
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "session.json").write_text("not json at all")
    with pytest.raises(OutputError, match="not a report of this session"):
        guard_report_dir(odd, own, 1000.5)
    fifo_dir = tmp_path / "fifo"
    fifo_dir.mkdir()
    os.mkfifo(fifo_dir / "session.json")  # must not hang reading it
    (fifo_dir / "report.md").write_text("")
    with pytest.raises(OutputError, match="not a report of this session"):
        guard_report_dir(fifo_dir, own, 1000.5)
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "session.json").symlink_to(legacy / "session.json")  # a link into another session
    (linked / "report.md").write_text("# an old report")
    with pytest.raises(OutputError, match="links to another folder"):
        guard_report_dir(linked, own, 1000.5)
    assert json.loads((legacy / "session.json").read_text())["created"] == 3000.0


def test_inside_a_session_folder_is_refused(tmp_path: Path) -> None:
    own = _session_folder(tmp_path / "A", 1000.5)
    with pytest.raises(OutputError, match="inside the session folder"):
        guard_report_dir(own / "runs", own, 1000.5)


def test_earlier_report_folder_of_another_session_may_be_rewritten(tmp_path: Path) -> None:
    """``lrtui run --report reports/`` twice: the folder holds the first session's copy and its reports."""
    own = _session_folder(tmp_path / "A", 1000.5)
    reports = _session_folder(tmp_path / "reports", 5.0, store=False)
    (reports / "report.html").write_text("<html></html>")
    guard_report_dir(reports, own, 1000.5, flag="--report")


def test_a_stored_schema1_session_is_refused_even_with_reports(tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    own = _session_folder(root / "A", 1000.5)
    old = _session_folder(root / "B", 7.0, store=False)  # schema 1: session.json, plus its own reports
    (old / "report.md").write_text("# B")
    with pytest.raises(OutputError, match="in the sessions folder"):
        guard_report_dir(old, own, 1000.5, sessions_root=root)
    guard_report_dir(own, own, 1000.5, sessions_root=root)


# -- nothing lands in a session's store: runs/, ids/, writers/, session.json, .lock; existing or not, links resolved --


@pytest.mark.parametrize(
    "inside",
    [
        "runs/r1.json",
        "runs/r9.json",
        "runs/new/x.json",
        "ids/r1",
        "ids/r2",
        "writers/host-1-ab.json",
        "writers/x.json",
        "session.json",
        ".lock",
    ],
)
def test_a_file_in_a_sessions_store_is_refused(tmp_path: Path, inside: str) -> None:
    other = _session_folder(tmp_path / "B", 2000.25)
    before = _tree(other)
    with pytest.raises(OutputError) as info:
        check_writable(other / inside, "--json")
    assert str(info.value).startswith(f"--json: {other / inside}: ") and f"session folder {other}" in str(info.value)
    assert "\n" not in str(info.value) and _tree(other) == before


def test_a_schema1_sessions_document_is_refused_and_its_top_level_is_not(tmp_path: Path) -> None:
    legacy = _session_folder(tmp_path / "legacy", 3000.0, store=False)
    with pytest.raises(OutputError, match="would replace the session file of the session folder"):
        check_writable(legacy / "session.json", "--json")
    check_writable(legacy / "result.json", "--json")  # a session's top level, under another name
    check_writable(_session_folder(tmp_path / "B", 1.0) / "result.json", "--json")


@pytest.mark.parametrize("out", ["B/runs", "B/ids", "B/writers", "B/runs/new", "B/runs/new/deeper", "B/ids/x"])
def test_a_folder_in_a_sessions_store_is_refused_existing_or_not(tmp_path: Path, out: str) -> None:
    other = _session_folder(tmp_path / "B", 2000.25)
    before = _tree(other)
    with pytest.raises(OutputError, match="is inside the session folder"):
        check_writable_dir(tmp_path / out, "--out", ("runs.csv", "epochs.csv"))
    with pytest.raises(OutputError, match="is inside the session folder"):
        guard_report_dir(tmp_path / out, tmp_path / "A", 1000.5)
    assert _tree(other) == before and not (tmp_path / "B" / "runs" / "new").exists()


def test_a_sessions_top_level_takes_files_of_other_names(tmp_path: Path) -> None:
    other = _session_folder(tmp_path / "B", 2000.25)
    check_writable_dir(other, "--out", ("runs.csv", "epochs.csv"))
    check_writable_dir(other / "export", "--out", ("runs.csv", "epochs.csv"))
    with pytest.raises(OutputError, match="session file"):
        check_writable_dir(other, "--out", ("report.md", "session.json"))


def test_links_into_a_sessions_store_are_refused(tmp_path: Path) -> None:
    other = _session_folder(tmp_path / "B", 2000.25)
    to_run = tmp_path / "to-run.json"
    to_run.symlink_to(other / "runs" / "r1.json")
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(other / "runs" / "r7.json")  # not there yet: the write would create it
    to_runs = tmp_path / "to-runs"
    to_runs.symlink_to(other / "runs")
    to_doc = tmp_path / "doc.json"
    to_doc.symlink_to(other / "session.json")
    for path in (to_run, dangling, to_runs / "x.json", to_doc):
        with pytest.raises(OutputError, match="session"):
            check_writable(path, "--json")
    with pytest.raises(OutputError, match="is inside the session folder"):
        check_writable_dir(to_runs / "new", "--out", ("runs.csv",))
    in_store = other / "runs" / "link.json"  # a name inside runs/, even one pointing elsewhere
    in_store.symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(OutputError, match="is inside the session folder"):
        check_writable(in_store, "--json")
    assert not (tmp_path / "elsewhere.json").exists()


def test_the_sessions_folder_takes_no_new_entries(tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    stored = _session_folder(root / "S", 1.0)
    empty = root / "empty"  # listed as a (broken) session: its folders are a session's
    empty.mkdir()
    for bad in (root / "new", root / "new" / "deeper", root):
        with pytest.raises(OutputError, match="sessions folder"):
            check_writable_dir(bad, "--out", ("runs.csv",), sessions_root=root)
    with pytest.raises(OutputError, match="sessions folder"):
        check_writable(root / "x.json", "--json", sessions_root=root)
    with pytest.raises(OutputError, match="is inside the session folder"):
        check_writable(empty / "runs" / "x.json", "--json", sessions_root=root)
    check_writable_dir(stored, "--out", ("runs.csv",), sessions_root=root)
    check_writable_dir(stored / "export", "--out", ("runs.csv",), sessions_root=root)
    assert sorted(p.name for p in root.iterdir()) == ["S", "empty"]


def test_a_tensorboard_runs_folder_is_no_session(tmp_path: Path) -> None:
    """TensorBoard logs to ``runs/`` by default: a project holding one is not taken for a session."""
    project = tmp_path / "project"
    (project / "runs" / "Jan01_exp").mkdir(parents=True)
    check_writable_dir(project / "runs" / "lrtui", "--out")
    check_writable(project / "runs" / "result.json", "--json")
    guard_outside_sessions(project / "runs" / "lrtui" / "r1", "--out")


def test_reports_may_replace_only_the_session_json_they_vouch_for(tmp_path: Path) -> None:
    own = _session_folder(tmp_path / "A", 1000.5)
    allowed = guard_report_dir(own, own, 1000.5)
    assert allowed is not None
    check_writable_dir(own, "--out", ("report.md", "session.json"), replaceable=allowed)
    reports = _session_folder(tmp_path / "reports", 5.0, store=False)
    (reports / "report.md").write_text("# old")
    assert guard_report_dir(reports, own, 1000.5) == str(reports / "session.json")
    with pytest.raises(OutputError, match="session file"):  # not with another folder's allowance
        check_writable_dir(reports, "--out", ("session.json",), replaceable=allowed)
    assert guard_report_dir(tmp_path / "new", own, 1000.5) is None


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def test_a_report_folders_link_to_its_own_sessions_document_may_be_followed(tmp_path: Path) -> None:
    own = _session_folder(tmp_path / "A", 1000.5)
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "session.json").symlink_to(own / "session.json")
    allowed = guard_report_dir(linked, own, 1000.5)
    check_writable_dir(linked, "--out", ("report.md", "session.json"), replaceable=allowed)
