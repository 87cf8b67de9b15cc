"""Reading session files of any shape: a clean load or one :class:`SessionError` line, nothing else.

Everything a reader later uses (reports, the sessions listing, the app's tables and
charts) is checked here once, so those never meet a malformed value: types (a bool is no
number), finite numbers, ranges (accuracies in [0, 1], lr > 0, whole epochs), times a clock
can show, and each run's config is validated again by :func:`lrtui.engine.config.parse_configs`.
A run is validated by msgspec into the shape below (``RunDoc``: chosen over pydantic by
``benchmarks/session_load.py``, twice as fast at the same checks) and built into the typed
records of :mod:`lrtui.engine.records`; the first wrong field is named in one line.

The file itself is opened defensively: only regular files (a FIFO, a device or a link
to one is refused before it is read, and the open is non-blocking in case the file is
swapped in between), at most :data:`MAX_BYTES`, strict UTF-8, strict JSON (no NaN or
Infinity, no integers longer than :data:`MAX_INT_DIGITS` digits) and no nesting deeper
than the parser's recursion limit. Numbers are ASCII digits only, and finite: every finite
float may reach a reader (±1.8e308, 5e-324), and the readers are built for the whole range
(``tests/hostile_values.py``; ``test_corpus`` walks every number field of a run file).

An OS-level failure to read a file (a link loop, no permission, an I/O error, not a regular
file) is an :class:`Unreadable` error: a run file that cannot be read keeps its run as last
read, where a malformed one is refused.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType, ValidationError

from lrtui.engine.config import ConfigError, RunConfig, parse_configs
from lrtui.engine.events import RunState, Verdict, VerdictLabel
from lrtui.engine.records import ClassScores, Diagnostics, EpochRecord, ProbeRecord, Provisional, Samples, TestResult
from lrtui.engine.step_trace import StepTrace
from lrtui.sessions.file_format import (
    RUN_ID,
    ColumnsDoc,
    DiagnosticsDoc,
    Number,
    PointDoc,
    ProbeDoc,
    ProvisionalDoc,
    RunDoc,
    SamplesDoc,
    ScoresDoc,
    SizesDoc,
    TestDoc,
    TopDoc,
    VerdictDoc,
    WriterDoc,
)
from lrtui.sessions.record import RunRecord
from lrtui.system_load import SystemSample

#: Largest session or run file read; a bigger one is refused, not loaded into memory.
MAX_BYTES = 256 * 1024 * 1024
#: Longest integer literal accepted (a 5,000-digit number would otherwise stop Python's int()).
MAX_INT_DIGITS = 20
#: A saved run's device: ASCII only (any well-formed one: the session may come from another machine).
DEVICE = re.compile(r"auto|cpu|mps|cuda(:[0-9]{1,4})?")


class SessionError(Exception):
    """A session that cannot be read. The message is one line: which file, what is wrong."""


class Unreadable(SessionError):
    """The file is there but cannot be read (a link loop, no permission, an I/O error, a FIFO): not its content's fault."""


class Malformed(ValueError):
    """A value of the wrong shape; the message names where (``run r2: epochs[3].val_acc ...``)."""


# -- reading a file ------------------------------------------------------------------------
def _reject_constant(name: str) -> Any:
    raise Malformed(f"not valid JSON ({name} is not a number JSON allows)")


def _parse_int(text: str) -> int:
    if not text.isascii():  # json's pure-Python scanner takes any Unicode digit (\d); int() would read "٣" as 3
        raise Malformed(f"not valid JSON ({text[:40]!r} is not a number)")
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise Malformed(f"not valid JSON (an integer of {len(text)} digits)")
    return int(text)


def _parse_float(text: str) -> float:
    if not text.isascii():
        raise Malformed(f"not valid JSON ({text[:40]!r} is not a number)")
    value = float(text)
    if not math.isfinite(value):
        raise Malformed(f"not valid JSON ({text[:40]} is too large a number)")
    return value


def read_json(file: Path, what: str = "session file", limit: int = MAX_BYTES) -> Any:
    """Parse one JSON file safely, raising SessionError (one line, naming ``file``) for any fault.

    ``limit``: the most bytes read (a writer file is small: it is read at every poll).
    """
    try:
        info = os.stat(file)  # follows links: a link to /dev/zero is judged by what it points to
    except FileNotFoundError:
        raise SessionError(f"{file}: no such {what}") from None
    except OSError as e:
        raise Unreadable(f"{file}: cannot be read ({e.strerror or e})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = (
            "a folder"
            if stat.S_ISDIR(info.st_mode)
            else "a FIFO"
            if stat.S_ISFIFO(info.st_mode)
            else "a device or special file"
        )
        raise Unreadable(f"{file}: not a regular file ({kind})")
    if info.st_size > limit:
        raise SessionError(f"{file}: too large ({info.st_size:,} bytes; at most {limit:,})")
    try:
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        raise Unreadable(f"{file}: cannot be read ({e.strerror or e})") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for something else since the stat
            raise Unreadable(f"{file}: not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read(limit + 1)
    except OSError as e:
        raise Unreadable(f"{file}: cannot be read ({e.strerror or e})") from None
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise SessionError(f"{file}: too large (more than {limit:,} bytes)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SessionError(f"{file}: not UTF-8 text (byte {e.start})") from None
    if not text.strip():
        raise SessionError(f"{file}: the file is empty")
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int, parse_float=_parse_float)
    except json.JSONDecodeError as e:
        if e.pos >= len(text.rstrip()):
            raise SessionError(f"{file}: the file is truncated (JSON ends early at line {e.lineno})") from None
        raise SessionError(f"{file}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except Malformed as e:
        raise SessionError(f"{file}: {e}") from None
    except RecursionError:
        raise SessionError(f"{file}: not valid JSON (nested too deeply)") from None
    except (ValueError, OverflowError) as e:
        raise SessionError(f"{file}: not valid JSON ({_one_line(e)})") from None


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:300] or e.__class__.__name__


# -- messages ----------------------------------------------------------------------------------------
_KINDS = {
    "object": "an object",
    "array": "a list",
    "float": "a number",
    "int": "a whole number",
    "str": "text",
    "bool": "true or false",
    "null": "null",
}
_EXPECTED = re.compile(r"Expected `([^`]+)`, got `([^`]+)`")
_RANGE = re.compile(r"Expected `(\w+)` ([<>]=?) (\S+)")
_LENGTH = re.compile(r"Expected `(\w+)` of length ([<>]=?) (\d+)")


def _said(message: str) -> str:
    """msgspec's message in the words the readers have always printed (``must be a number, not text``)."""
    if m := _EXPECTED.fullmatch(message):
        wanted = " or ".join(dict.fromkeys(_KINDS.get(k, k) for k in m.group(1).split(" | ")))
        return f"must be {wanted}, not {_KINDS.get(m.group(2), m.group(2))}"
    if m := _LENGTH.fullmatch(message):
        return f"is too long (at most {m.group(3)} {'characters' if m.group(1) == 'str' else 'items'})"
    if m := _RANGE.fullmatch(message):
        return f"is out of range (must be {m.group(2)} {m.group(3)})"
    if message.startswith("Object missing required field"):
        return f"lacks {message.removeprefix('Object missing required field ')}"
    if message.startswith("Expected `str` matching regex"):
        return "must be a run id like r3"
    if message.startswith("Invalid enum value"):
        return f"is unknown ({message.removeprefix('Invalid enum value ')[:60]})"
    return message[:1].lower() + message[1:]


def _where(e: ValidationError, prefix: str) -> Malformed:
    """One line: where in the object (``epochs[3].val_acc``) and what is wrong there."""
    message, _, path = str(e).partition(" - at `$")
    path = path.rstrip("`").lstrip(".")
    return Malformed(" ".join(p for p in (f"{prefix}{path}" if path else prefix.rstrip(": ."), _said(message)) if p))


def _convert(raw: Any, kind: Any, where: str) -> Any:
    try:
        return msgspec.convert(raw, kind)
    except ValidationError as e:
        raise _where(e, where) from None


# -- config, whose fields RunConfig defines ----------------------------------------------------------
_CONFIG: list[Any] = []


def _config_type() -> Any:
    """A struct of RunConfig's fields, typed from their annotations (new settings need no edit here); a field
    absent from the file stays UNSET, so RunConfig's own default applies."""
    if not _CONFIG:
        kinds: dict[str, Any] = {
            "bool": bool,
            "float": Number,
            "int": Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)],
            "str": Annotated[str, Meta(max_length=4096)],
        }
        specs = []
        for f in fields(RunConfig):
            words = set(re.findall(r"[A-Za-z_]+", str(f.type)))
            kind = next((kinds[k] for k in ("bool", "float", "int", "str") if k in words), Any)
            if "None" in words or "Optional" in words:
                kind = kind | None
            specs.append((f.name, kind | UnsetType, UNSET))
        _CONFIG.append(msgspec.defstruct("RunConfigFields", specs))
    return _CONFIG[0]


def config(raw: Any, where: str) -> RunConfig:
    """A saved config, type-checked field by field and validated as the form and the CLI validate it."""
    checked = _convert(raw, _config_type(), f"{where}.")
    known = {k: v for k, v in msgspec.structs.asdict(checked).items() if v is not UNSET}
    device = str(known.get("device", "auto")).strip().lower() or "auto"
    if not DEVICE.fullmatch(device):  # the engine's own check takes "cuda:²" (str.isdigit), which torch refuses
        raise Malformed(f"{where}.device {device[:40]!r} is not a device (auto, cpu, cuda, cuda:N or mps)")
    devices = ("cpu", "mps", "cuda:0", device)  # any well-formed device: a session may come from another machine
    try:
        parsed = parse_configs({k: v for k, v in known.items() if k != "data_dir"}, devices=devices)
    except ConfigError as e:
        raise Malformed(f"{where}: {_one_line(e)}") from None
    if len(parsed) != 1:
        raise Malformed(f"{where} describes {len(parsed)} runs, not one")
    return RunConfig.from_dict(known)


# -- the records -------------------------------------------------------------------------------------
def _diagnostics(d: DiagnosticsDoc | None) -> Diagnostics | None:
    if d is None:
        return None
    return Diagnostics(
        d.update_ratio or {},
        d.update_ratio_max,
        d.grad_norm,
        d.dead_fraction or {},
        d.top_class_share,
        d.pred_entropy,
        d.dead_na,
    )


def _probe(p: ProbeDoc, where: str) -> ProbeRecord:
    if len(p.lrs) != len(p.losses):
        raise Malformed(f"{where}: lrs and losses differ in length")
    for name in ("raised_fraction", "dead_after"):
        values = getattr(p, name)
        if values is not None and len(values) != len(p.lrs):
            raise Malformed(f"{where}: {name} has {len(values):,} values for {len(p.lrs):,} step sizes")
    return ProbeRecord(
        p.epoch,
        tuple(p.lrs),
        tuple(p.losses),
        p.current_lr,
        p.base_loss,
        None if p.raised_fraction is None else tuple(p.raised_fraction),
        None if p.dead_after is None else tuple(p.dead_after),
        p.minibatches,
    )


def _test(t: TestDoc | None, where: str) -> TestResult | None:
    if t is None:
        return None
    matrix = t.confusion_matrix or []
    if any(len(row) != len(matrix) for row in matrix):
        raise Malformed(f"{where}.confusion_matrix is not square")
    samples = t.samples or SamplesDoc()
    if not len(samples.images) == len(samples.true) == len(samples.pred):
        raise Malformed(f"{where}.samples: images, true and pred differ in length")
    images: list[tuple[float, ...]] = []
    for i, image in enumerate(samples.images):  # 784 pixels, or 28 rows of 28
        flat = [v for row in image for v in (row if isinstance(row, list) else [row])]
        if len(flat) != 784 or len(image) not in (28, 784):
            raise Malformed(f"{where}.samples.images[{i}] must be 784 pixels from 0 to 255")
        images.append(tuple(flat))
    report = t.report or {}
    accuracy = report.get("accuracy")
    scores = {
        name: ClassScores(row.precision, row.recall, row.f1, row.support)
        for name, row in report.items()
        if isinstance(row, ScoresDoc)
    }
    return TestResult(
        t.accuracy,
        t.loss,
        tuple(tuple(row) for row in matrix),
        scores,
        accuracy if isinstance(accuracy, float) else None,
        Samples(tuple(images), tuple(samples.true), tuple(samples.pred)),
        tuple(t.class_names or ()),
    )


def _verdict(v: VerdictDoc | ProvisionalDoc) -> Verdict:
    return Verdict(VerdictLabel(v.label), v.reason, v.hint)


def _step_trace(trace: list[PointDoc] | ColumnsDoc | None, raw: Any, where: str) -> StepTrace | None:
    """A run's step trace (optional: older files lack it), from its points (documents) or columns (run files)."""
    if trace is None:
        return None
    if isinstance(trace, ColumnsDoc):
        n = len(trace.step)
        if len(trace.loss) != n:
            raise Malformed(f"{where}: step and loss differ in length")
        for key in ("update_ratio", "dead_fraction"):
            for layer, column in (getattr(trace, key) or {}).items():
                if len(column) != n:
                    raise Malformed(f"{where}.{key}.{layer[:40]} has {len(column):,} values for {n:,} steps")
    return StepTrace.from_json(raw)


def run_record(raw: Any, where: str = "the run") -> RunRecord:
    """One run as the session file holds it (:meth:`RunRecord.to_dict`), checked and rebuilt; Malformed names
    the first wrong field in one line (``run r2: epochs[3].val_acc must be a number, not text``)."""
    if isinstance(raw, dict) and isinstance(raw.get("id"), str) and RUN_ID.fullmatch(raw["id"]):
        where = f"run {raw['id']}"
    run: RunDoc = _convert(raw, RunDoc, f"{where}: ")
    cfg = config(run.config, f"{where}: config")
    sizes = run.sizes or SizesDoc()
    provisional = run.provisional_verdict
    return RunRecord(
        id=run.id,
        config=cfg,
        status=RunState(run.status),
        device=run.device,
        device_name=run.device_name,
        n_train=sizes.train,
        n_val=sizes.val,
        n_test=sizes.test,
        epochs=[
            EpochRecord(
                e.epoch, e.train_loss, e.train_acc, e.val_loss, e.val_acc, e.seconds, _diagnostics(e.diagnostics)
            )
            for e in run.epochs
        ],
        batch_losses=run.batch_losses,
        probes=[_probe(p, f"{where}: probes[{i}]") for i, p in enumerate(run.probes or [])],
        test=_test(run.test, f"{where}: test"),
        verdict=None if run.verdict is None else _verdict(run.verdict),
        duration_s=run.duration_s or 0.0,
        samples_per_s=run.samples_per_s or 0.0,
        diverged_at=None if run.diverged_at is None else list(run.diverged_at),
        error=run.error,
        lr_trace=None if not run.lr_trace else [[s, lr] for s, lr in run.lr_trace],
        step_trace=_step_trace(run.step_trace, raw.get("step_trace"), f"{where}: step_trace"),
        provisional=None if provisional is None else Provisional(provisional.step, _verdict(provisional)),
        started_at=run.started_at,
        ended_at=run.ended_at,
        system={
            s.epoch: SystemSample(s.cpu_percent, s.rss_mb, s.load1, s.gpu_util, s.gpu_mem_mb, s.gpu_temp_c)
            for s in run.system or []
        },
    )


# -- documents and files -----------------------------------------------------------------------------
def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _shown(x: Any) -> str:
    if x is None:
        return "null"
    kind = {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(type(x))
    return kind or f"{type(x).__name__}"


def document(data: Any, file: Path, schema_max: int) -> dict[str, Any]:
    """The checked top level of a session document (``runs`` still raw: see :func:`rows`)."""
    if not isinstance(data, dict) or "schema" not in data:
        raise SessionError(f'{file}: not an lrtui session (no "schema" field)')
    schema = data["schema"]
    if not _is_int(schema) or schema < 1:
        raise SessionError(
            f"{file}: wrong schema {_shown(schema) if not _is_int(schema) else schema} "
            f"(this lrtui reads schema {schema_max})"
        )
    if schema > schema_max:
        raise SessionError(
            f"{file}: schema {schema} is newer than this lrtui understands ({schema_max}); upgrade lrtui to open it"
        )
    if not isinstance(data.get("runs", []), list):
        raise SessionError(f'{file}: wrong schema ("runs" must be a list)')
    try:
        _convert({k: data[k] for k in ("created", "updated", "environment") if k in data}, TopDoc, "")
    except Malformed as e:
        raise SessionError(f"{file}: wrong schema ({e})") from None
    return data


def rows(raws: list[Any], file: Path) -> list[RunRecord]:
    """Every run of a document, or SessionError naming the first malformed one."""
    runs: list[RunRecord] = []
    seen: set[str] = set()
    for i, raw in enumerate(raws, 1):
        runs.append(checked_run(raw, file, f"run {i}"))
        if runs[-1].id in seen:
            raise SessionError(f"{file}: run {i} repeats the id {runs[-1].id}")
        seen.add(runs[-1].id)
    return runs


def checked_run(raw: Any, file: Path, label: str) -> RunRecord:
    try:
        return run_record(raw, label)
    except Malformed as e:
        raise SessionError(f"{file}: {label} is malformed ({_one_line(e)})") from None
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError) as e:
        raise SessionError(f"{file}: {label} is malformed ({e.__class__.__name__}: {_one_line(e)})") from None


def envelope(data: Any, file: Path, schema_max: int) -> tuple[RunRecord, Mapping[str, Any] | None]:
    """A run file ``runs/<id>.json``: ``{"schema", "writer": {...} | null, "run": {...}}``."""
    if not isinstance(data, dict) or not isinstance(data.get("run"), dict):
        raise SessionError(f"{file}: not an lrtui run file")
    version: Any = data.get("schema")
    if not _is_int(version):
        raise SessionError(f"{file}: wrong schema {_shown(version)} (this lrtui reads schema {schema_max})")
    if version > schema_max:
        raise SessionError(f"{file}: schema {version} is newer than this lrtui understands; upgrade lrtui to open it")
    if version < 2:
        raise SessionError(f"{file}: wrong schema {version} (run files are schema 2 or later)")
    record = checked_run(data["run"], file, "the run")
    if file.name != f"{record.id}.json":
        raise SessionError(f"{file}: holds run {record.id}, not the run its name says")
    writer = data.get("writer")
    if writer is not None:
        try:
            writer = writer_fields(writer)
        except Malformed as e:
            raise SessionError(f"{file}: wrong writer ({e})") from None
    return record, writer


def writer_fields(raw: Any, where: str = "writer") -> dict[str, Any]:
    """Who wrote a run or holds a writer file: host, pid, a token for this Session, times."""
    _convert(raw, WriterDoc, f"{where}.")
    return dict(raw)
