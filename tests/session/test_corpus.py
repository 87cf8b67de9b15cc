"""Session files of any shape: one SessionError line or a clean load that every reader can use.

The corpus is generated here from a real saved session (the ``trained`` fixture): wrong types,
out-of-range and non-finite numbers, huge integers and timestamps, deep nesting, special files
(a FIFO, a link to /dev/zero, a folder), a huge sparse file, bad UTF-8, bad run files; and a
hypothesis fuzz test that mutates the real document anywhere.
"""

from __future__ import annotations

import copy
import io
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lrtui.sessions.listing import list_sessions, load_session
from lrtui.sessions.schema import MAX_BYTES, SessionError
from lrtui.sessions.store import Session

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def good(trained) -> Doc:
    return json.loads((trained.path / "session.json").read_text())


def _put(doc: Any, path: str, value: Any) -> None:
    """Set ``a.b.0.c`` to ``value``; a number is a list index where the node is a list (report rows are keys)."""
    *head, last = path.split(".")
    node = doc
    for key in head:
        node = node[int(key) if isinstance(node, list) else key]
    node[int(last) if isinstance(node, list) else last] = value


def _set(path: str, value: Any) -> Callable[[Doc], Any]:
    """A mutation: set ``a.b.0.c`` (list indexes as numbers) to ``value``."""

    def apply(doc: Doc) -> Any:
        _put(doc, path, value)
        return doc

    return apply


MUST_FAIL: dict[str, Callable[[Doc], Any]] = {
    "lr as a string": _set("runs.0.config.lr", "0.5"),
    "lr negative": _set("runs.0.config.lr", -1e-3),
    "lr zero": _set("runs.0.config.lr", 0),
    "lr a list": _set("runs.0.config.lr", [0.1, 0.2]),
    "epochs as a float": _set("runs.0.config.epochs", 2.5),
    "epochs as true": _set("runs.0.config.epochs", True),
    "optimizer unknown": _set("runs.0.config.optimizer", "sgd, adam"),
    "device shapeless": _set("runs.0.config.device", "[red]gpu"),
    "config a list": _set("runs.0.config", []),
    "runs as a string": _set("runs", "r1 r2"),
    "runs holding a number": _set("runs", [3]),
    "epochs not a list": _set("runs.0.epochs", {"1": 2}),
    "epoch a string": _set("runs.0.epochs.0", "epoch 1"),
    "val_acc a string": _set("runs.0.epochs.0.val_acc", "90%"),
    "val_acc above 1": _set("runs.0.epochs.0.val_acc", 1.5),
    "epoch number missing": _set("runs.0.epochs.0.epoch", None),
    "huge loss": _set("runs.0.epochs.0.train_loss", 10**30),
    "negative seconds": _set("runs.0.epochs.0.seconds", -1),
    "batch loss text": _set("runs.0.batch_losses", ["x"]),
    "status unknown": _set("runs.0.status", "exploded"),
    "status a number": _set("runs.0.status", 1),
    "id a path": _set("runs.0.id", "../../etc/passwd"),
    "id a number": _set("runs.0.id", 7),
    "repeated id": lambda d: d["runs"].append(copy.deepcopy(d["runs"][0])),
    "test accuracy text": _set("runs.0.test.accuracy", "high"),
    "test matrix ragged": _set("runs.0.test.confusion_matrix", [[1, 2], [3]]),
    "test matrix text": _set("runs.0.test.confusion_matrix", "10x10"),
    "test report row text": _set("runs.0.test.report.0", "good"),
    "test sample short": _set("runs.0.test.samples.images", [[0, 1, 2]]),
    "test labels differ": _set("runs.0.test.samples.true", [1]),
    "class names text": _set("runs.0.test.class_names", "T-shirt, Trouser"),
    "class name a number": _set("runs.0.test.class_names", ["T-shirt", 3]),
    "verdict label unknown": _set("runs.0.verdict.label", "[bold]great"),
    "verdict a string": _set("runs.0.verdict", "converged"),
    "diverged_at text": _set("runs.0.diverged_at", "epoch 2"),
    "diverged_at short": _set("runs.0.diverged_at", [2]),
    "error a list": _set("runs.0.error", ["boom"]),
    "sizes text": _set("runs.0.sizes", "big"),
    "huge timestamp": _set("created", 1e300),
    "negative timestamp": _set("updated", -5),
    "run time huge": _set("runs.0.started_at", 9e18),
    "created text": _set("created", "yesterday"),
    "environment a list": _set("environment", ["cpu"]),
    "environment nested": _set("environment.device", {"a": {"b": 1}}),
    "schema text": _set("schema", "two"),
    "schema future": _set("schema", 99),
    "schema true": _set("schema", True),
    "top level a list": lambda d: [d],
    "long reason": _set("runs.0.verdict.reason", "x" * 20_000),
    "diagnostics text": _set("runs.0.epochs.0.diagnostics", "healthy"),
    "dead fraction above 1": _set("runs.0.epochs.0.diagnostics", {"dead_fraction": {"fc1": 3.0}}),
    "grad norm text": _set("runs.0.epochs.0.diagnostics", {"grad_norm": "big"}),
    "diagnostics nested deeper": _set("runs.0.epochs.0.diagnostics", {"update_ratio": {"fc1": {"a": 1}}}),
    "probes text": _set("runs.0.probes", "none"),
    "probe sizes negative": _set("runs.0.probes", [{"epoch": 0, "lrs": [-1.0], "losses": [2.3], "current_lr": 0.1}]),
    "probe lengths differ": _set(
        "runs.0.probes", [{"epoch": 0, "lrs": [0.1, 1.0], "losses": [2.3], "current_lr": 0.1}]
    ),
    "probe epoch text": _set("runs.0.probes", [{"epoch": "0", "lrs": [], "losses": [], "current_lr": 0.1}]),
    # Unicode digits: str.isdigit() takes every one of them, int() refuses some and reads others as ASCII ones
    "id r²": _set("runs.0.id", "r²"),
    "id r٣ (Arabic-Indic)": _set("runs.0.id", "r٣"),
    "id r１ (fullwidth)": _set("runs.0.id", "r１"),
    "id r⑤ (circled)": _set("runs.0.id", "r⑤"),
    "id r1²": _set("runs.0.id", "r1²"),
    "epochs a superscript": _set("runs.0.config.epochs", "²"),
    "seed Arabic-Indic": _set("runs.0.config.seed", "٣"),
    "size fullwidth": _set("runs.0.sizes.train", "１００"),
    "epoch number circled": _set("runs.0.epochs.0.epoch", "⑤"),
    "device cuda superscript": _set("runs.0.config.device", "cuda:²"),
    "device cuda Arabic-Indic": _set("runs.0.config.device", "cuda:٣"),
    "duration -1e308": _set("runs.0.duration_s", -1e308),
    "step trace text": _set("runs.0.step_trace", "dense"),
    "trace point text": _set("runs.0.step_trace.0", "step 0"),
    "trace step negative": _set("runs.0.step_trace.0.step", -1),
    "trace step a float": _set("runs.0.step_trace.0.step", 0.5),
    "trace loss negative": _set("runs.0.step_trace.0.loss", -2.3),
    "trace ratio text": _set("runs.0.step_trace.0.update_ratio", {"fc1": "big"}),
    "trace ratio nested": _set("runs.0.step_trace.0.update_ratio", {"fc1": {"a": 1}}),
    "trace dead above 1": _set("runs.0.step_trace.0.dead_fraction", {"fc1": 3.0}),
    "trace dead_on zero": _set("runs.0.step_trace.0.dead_on", 0),
    "trace columns of unequal length": _set(
        "runs.0.step_trace", {"step": [0, 4], "loss": [2.3], "update_ratio": {}, "dead_fraction": {}, "dead_on": 64}
    ),
    "trace column of unequal length": _set(
        "runs.0.step_trace", {"step": [0], "loss": [2.3], "dead_on": 64, "update_ratio": {"fc1": [0.1, 0.2]}}
    ),
    "trace too many points": _set("runs.0.step_trace", {"step": [0] * 100_001, "loss": [None] * 100_001}),
    "provisional verdict label unknown": _set(
        "runs.0.provisional_verdict", {"step": 5, "label": "[bold]great", "reason": "", "hint": ""}
    ),
    "provisional verdict without a step": _set(
        "runs.0.provisional_verdict", {"label": "too early", "reason": "", "hint": ""}
    ),
}

MAY_LOAD: dict[str, Callable[[Doc], Any]] = {
    "unknown keys": _set("runs.0.from_the_future", {"a": [1, 2]}),
    "unknown config key": _set("runs.0.config.new_setting", "x"),
    "null losses": _set("runs.0.epochs.0.train_loss", None),
    "no environment": _set("environment", None),
    "no runs": _set("runs", []),
    "no diagnostics": _set("runs.0.epochs.0.diagnostics", None),
    "no probes": _set("runs.0.probes", []),
    "a diverged probe": _set(
        "runs.0.probes", [{"epoch": 0, "lrs": [0.1, 10.0], "losses": [2.3, None], "current_lr": 0.1, "base_loss": None}]
    ),
    # the ends of the finite floats: every reader copes with them (see tests/hostile_values.py)
    "loss 1e308": _set("runs.0.epochs.0.train_loss", 1e308),
    "batch loss 1e308": _set("runs.0.batch_losses.0", 1e308),
    "probe lr subnormal": _set("runs.0.probes.0.lrs.0", 5e-324),
    "environment 1e308": _set("environment.device", 1e308),
    "no step trace (saved before it)": _set("runs.0.step_trace", None),
    "a step trace as columns": _set(
        "runs.0.step_trace",
        {
            "step": [0, 4],
            "loss": [2.3, None],
            "dead_on": 64,
            "update_ratio": {"fc1": [0.5, None]},
            "dead_fraction": {"fc1": [1.0, None]},
        },
    ),
    "a provisional verdict (a run killed while training)": _set(
        "runs.0.provisional_verdict",
        {"step": 40, "label": "not learning", "reason": "dying ReLUs", "hint": "try a 10x smaller learning rate"},
    ),
}


def _write(folder: Path, data: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "session.json"
    file.write_text(data if isinstance(data, str) else json.dumps(data))
    return file


def _check_clean(session: Session, formats: tuple[str, ...] = ("md",)) -> None:
    """Everything a reader does with a loaded session works: the document, the best run, the listing, a report."""
    from rich.console import Console

    from lrtui.plots.printout import sessions_table
    from lrtui.reports.report import write_reports
    from lrtui.sessions.listing import SessionEntry

    json.dumps(session.to_dict(), allow_nan=False)
    assert session.date
    _ = session.best
    Console(file=io.StringIO(), width=120).print(sessions_table([SessionEntry(session.path, session)]))
    write_reports(session, session.path / "out", formats)


def _refused(file: Path) -> str:
    with pytest.raises(SessionError) as err:
        load_session(file.parent)
    message = str(err.value)
    assert "\n" not in message and str(file) in message
    return message


@pytest.mark.parametrize("name", sorted(MUST_FAIL))
def test_malformed_values_are_refused_in_one_line(name, good, tmp_path):
    _refused(_write(tmp_path / "s", MUST_FAIL[name](copy.deepcopy(good))))


@pytest.mark.parametrize("name", sorted(MAY_LOAD))
def test_harmless_variations_load_cleanly(name, good, tmp_path):
    _write(tmp_path / "s", MAY_LOAD[name](copy.deepcopy(good)))
    _check_clean(load_session(tmp_path / "s"))


RAW: dict[str, str] = {
    "NaN token": '{"schema": 1, "created": NaN, "runs": []}',
    "Infinity token": '{"schema": 1, "runs": [], "updated": -Infinity}',
    "1e999": '{"schema": 1, "runs": [], "created": 1e999}',
    "5000-digit integer": '{"schema": 1, "runs": [], "created": ' + "9" * 5000 + "}",
    "5000-digit schema": '{"schema": ' + "1" * 5000 + ', "runs": []}',
    "deep nesting": '{"schema": 1, "runs": [], "environment": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "deep nesting in a run": '{"schema": 1, "runs": [' + '{"a":' * 50_000 + "1" + "}" * 50_000 + "]}",
    "truncated": '{"schema": 1, "runs": [',
    "empty": "",
    "blank": "   \n",
    "just a number": "42",
    "null": "null",
    "superscript digit": '{"schema": 1, "runs": [], "created": 1²}',
    "Arabic-Indic digit": '{"schema": ١, "runs": []}',
    "fullwidth digit": '{"schema": 1, "runs": [], "created": １}',
    "1e308 as a time": '{"schema": 1, "runs": [], "created": 1e308}',
}


@pytest.mark.parametrize("name", sorted(RAW))
def test_broken_json_is_refused_in_one_line(name, tmp_path):
    _refused(_write(tmp_path / "s", RAW[name]))


def test_unicode_digits_are_no_numbers_even_to_the_pure_python_json_scanner(tmp_path, monkeypatch):
    """json's C scanner takes ASCII digits only; its Python fallback matches ``\\d``: ``1٣`` would read as 13."""
    import json.decoder
    import json.scanner

    monkeypatch.setattr(json.decoder.scanner, "make_scanner", json.scanner.py_make_scanner)
    assert "not a number" in _refused(_write(tmp_path / "s", '{"schema": 1, "runs": [], "created": 1٣}'))
    assert "not a number" in _refused(_write(tmp_path / "t", '{"schema": 1, "runs": [], "created": 1.5e٣}'))


def test_invalid_utf8_is_refused(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "session.json").write_bytes(b'{"schema": 1, "runs": [], "x": "\xff\xfe"}')
    assert "UTF-8" in _refused(folder / "session.json")


def _load_in_thread(folder: Path) -> list[BaseException | object]:
    """Load on a daemon thread: a load that hangs fails the test instead of hanging it."""
    result: list[BaseException | object] = []

    def load() -> None:
        try:
            result.append(load_session(folder))
        except BaseException as e:  # noqa: BLE001 - inspected by the caller
            result.append(e)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(30)
    assert result, "loading hung"
    return result


def test_a_fifo_named_session_json_does_not_hang(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    os.mkfifo(folder / "session.json")
    [outcome] = _load_in_thread(folder)
    assert isinstance(outcome, SessionError) and "FIFO" in str(outcome)


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_a_link_to_a_device_is_refused_without_reading_it(target, tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "session.json").symlink_to(target)
    [outcome] = _load_in_thread(folder)
    assert isinstance(outcome, SessionError) and "not a regular file" in str(outcome)


def test_a_folder_named_session_json_and_a_dangling_link_are_refused(tmp_path):
    (tmp_path / "a" / "session.json").mkdir(parents=True)
    _refused(tmp_path / "a" / "session.json")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "session.json").symlink_to(tmp_path / "nowhere")
    assert "no such session file" in _refused(tmp_path / "b" / "session.json")


def test_a_huge_file_is_refused_without_reading_it(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    with open(folder / "session.json", "wb") as f:
        f.truncate(MAX_BYTES + 1)  # sparse: no disk used
    assert "too large" in _refused(folder / "session.json")


def test_a_bad_run_file_is_refused_on_open_and_skipped_while_following(trained, tmp_path):
    import shutil

    folder = tmp_path / "s"
    shutil.copytree(trained.path, folder)
    follower = load_session(folder)
    bad = folder / "runs" / "r7.json"
    bad.write_text(json.dumps({"schema": 2, "writer": None, "run": {"id": "r7", "status": "finished", "config": 5}}))
    assert follower.poll() == [] and "r7" in (follower.follow_error or "")
    assert len(follower.runs) == 3
    message = str(pytest.raises(SessionError, load_session, folder).value)
    assert message.startswith(str(bad)) and "config must be an object" in message and "\n" not in message
    bad.write_text(
        json.dumps(
            {"schema": 2, "writer": None, "run": dict(json.loads((folder / "runs" / "r1.json").read_text())["run"])}
        )
    )
    assert "not the run its name says" in str(pytest.raises(SessionError, load_session, folder).value)


#: Every number field of a run file (of a list: its first item). ``diverged_at`` is null in a good run: set whole.
RUN_NUMBER_FIELDS = (
    "schema",
    "writer.pid",
    "writer.proc_start",
    "writer.started",
    "writer.heartbeat",
    *(
        f"run.config.{k}"
        for k in (
            "lr",
            "momentum",
            "weight_decay",
            "warmup",
            "epochs",
            "batch_size",
            "val_fraction",
            "seed",
            "log_every",
            "train_limit",
        )
    ),
    "run.sizes.train",
    "run.sizes.val",
    "run.sizes.test",
    *(f"run.epochs.0.{k}" for k in ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")),
    *(
        f"run.epochs.0.diagnostics.{k}"
        for k in ("update_ratio.conv1", "grad_norm", "dead_fraction.conv1", "top_class_share", "pred_entropy")
    ),
    "run.batch_losses.0",
    *(f"run.probes.0.{k}" for k in ("epoch", "lrs.0", "losses.0", "current_lr", "base_loss")),
    *(
        f"run.test.{k}"
        for k in (
            "accuracy",
            "loss",
            "confusion_matrix.0.0",
            "report.0.precision",
            "report.0.support",
            "report.accuracy",
            "samples.images.0.0",
            "samples.true.0",
            "samples.pred.0",
        )
    ),
    "run.duration_s",
    "run.samples_per_s",
    "run.diverged_at",
    "run.lr_trace.0.0",
    "run.lr_trace.0.1",
    *(f"run.step_trace.{k}" for k in ("step.0", "loss.0", "update_ratio.conv1.0", "dead_fraction.fc1.0", "dead_on")),
    "run.started_at",
    "run.ended_at",
)
HOSTILE_NUMBERS: dict[str, Any] = {
    "1e308": 1e308,
    "-1e308": -1e308,
    "huge int": 10**19,
    "-huge int": -(10**19),
    "subnormal": 5e-324,
    "NaN text": "NaN",
    "Infinity text": "Infinity",
    "1e308 text": "1e308",
    "superscript text": "²",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_NUMBERS))
def test_every_number_field_of_a_run_file_loads_bounded_or_is_refused_in_one_line(name, trained, tmp_path):
    """A loaded value is one every reader can compute with (reports with charts, the listing, the document)."""
    import shutil

    folder = tmp_path / "s"
    (folder / "runs").mkdir(parents=True)  # this run alone: a session folder without a snapshot loads from it
    file = folder / "runs" / "r1.json"
    shutil.copy(trained.path / "runs" / "r1.json", file)
    original = json.loads(file.read_text())
    value = HOSTILE_NUMBERS[name]
    for field in RUN_NUMBER_FIELDS:
        doc = copy.deepcopy(original)
        _put(doc, field, [value, 1] if field == "run.diverged_at" else value)
        file.write_text(json.dumps(doc))
        try:
            session = load_session(folder)
        except SessionError as e:
            assert "\n" not in str(e) and str(file) in str(e), field
            continue
        assert session.book.get("r1") is not None, field
        _check_clean(session, ("md", "html"))


def test_a_run_file_of_a_newer_schema_is_refused(trained, tmp_path):
    import shutil

    folder = tmp_path / "s"
    shutil.copytree(trained.path, folder)
    file = folder / "runs" / "r2.json"
    file.write_text(json.dumps({**json.loads(file.read_text()), "schema": 99}))
    message = str(pytest.raises(SessionError, load_session, folder).value)
    assert message.startswith(str(file)) and "newer than this lrtui" in message and "\n" not in message


def test_unicode_digit_names_in_ids_and_runs_never_raise(trained, tmp_path):
    """``str.isdigit()`` takes ``²``: a stray ``ids/r²`` made every add raise ValueError. Only ASCII digits count."""
    import shutil

    from lrtui.engine.config import parse_configs

    config = parse_configs({"lr": "0.01", "device": "cpu"})[0]
    folder = tmp_path / "s"
    shutil.copytree(trained.path, folder)
    for name in ("r²", "r٣", "r１", "r⑤", "r1²", "²", "٣", "１", "r9" + "٣" * 30):
        (folder / "ids" / name).touch()
    follower = load_session(folder)
    assert follower.add(config).id == "r4"
    for name in ("r².json", "r٣.json", "r１.json"):
        (folder / "runs" / name).write_text("{}")
    assert follower.poll() == [] and len(follower.runs) == 4
    assert follower.add(config).id == "r5"
    message = str(pytest.raises(SessionError, load_session, folder).value)
    assert "not a run file name" in message and "\n" not in message


def test_the_listing_keeps_good_sessions_and_flags_every_bad_one(trained, home, good):
    import shutil

    root = home / "sessions"
    shutil.copytree(trained.path, root / "20260101-000000-good00")
    _write(root / "20260101-000001-badlr0", MUST_FAIL["lr as a string"](copy.deepcopy(good)))
    _write(root / "20260101-000002-deep00", RAW["deep nesting"])
    (root / "20260101-000003-fifo00").mkdir()
    os.mkfifo(root / "20260101-000003-fifo00" / "session.json")
    (root / "20260101-000004-zero00").mkdir()
    (root / "20260101-000004-zero00" / "session.json").symlink_to("/dev/zero")
    entries = {e.path.name: e for e in list_sessions()}
    assert entries["20260101-000000-good00"].session is not None
    assert len(entries["20260101-000000-good00"].session.runs) == 3
    bad = {name: e.error for name, e in entries.items() if e.session is None}
    assert set(bad) == {
        "20260101-000001-badlr0",
        "20260101-000002-deep00",
        "20260101-000003-fifo00",
        "20260101-000004-zero00",
    }
    assert all(error and "\n" not in error for error in bad.values())


# -- fuzz: the real document mutated anywhere -----------------------------------------------------
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["r1", "r2", "running", "finished", "converged", "sgd", "cpu", "", "[bold]x[/]", "0.01"]),
)
_value = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8,
)


def _mutate(doc: Any, data: st.DataObject) -> Any:
    """Walk down a random path of the document and replace or delete what is there."""
    if not isinstance(doc, (dict, list)) or not doc or data.draw(st.integers(0, 5)) == 0:
        return data.draw(_value)
    keys = list(doc) if isinstance(doc, dict) else list(range(len(doc)))
    key = data.draw(st.sampled_from(keys))
    if data.draw(st.integers(0, 9)) == 0:
        del doc[key]
    else:
        doc[key] = _mutate(doc[key], data)
    return doc


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_fuzz_mutated_documents_load_cleanly_or_give_one_line(good, tmp_path, data):
    doc = copy.deepcopy(good)
    for _ in range(data.draw(st.integers(1, 3))):
        doc = _mutate(doc, data)
    folder = tmp_path / f"f{abs(hash(json.dumps(doc, default=str))) % 10**12}"
    file = _write(folder, json.dumps(doc, allow_nan=True))
    try:
        session = load_session(folder)
    except SessionError as e:
        assert "\n" not in str(e) and str(file) in str(e)
        return
    _check_clean(session)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_fuzz_a_followed_run_file_never_breaks_the_follower(trained, tmp_path_factory, data):
    import shutil

    folder = tmp_path_factory.mktemp("follow") / "s"
    shutil.copytree(trained.path, folder)
    follower = load_session(folder)
    file = folder / "runs" / "r2.json"
    doc = _mutate(json.loads(file.read_text()), data)
    file.write_text(json.dumps(doc, allow_nan=True))
    changed = follower.poll()  # never raises
    assert len(follower.runs) == 3 and all(r.id == "r2" for r in changed)
    if not changed:  # refused: named in one line, the follower's copy of r2 untouched
        assert follower.follow_error and str(file) in follower.follow_error and "\n" not in follower.follow_error
    try:
        session = load_session(folder)
    except SessionError as e:
        assert "\n" not in str(e) and str(file) in str(e)
        return
    _check_clean(session)
