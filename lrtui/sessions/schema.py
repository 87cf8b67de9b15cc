"""Reading session files of any shape: a clean load or one :class:`SessionError` line, nothing else.

Everything a reader later uses (reports, the sessions listing, the app's tables and
charts) is checked here once, so those never meet a malformed value: types, finite
numbers, ranges (accuracies in [0, 1], lr > 0, whole epochs), times a clock can show,
and each run's config is validated again by :func:`lrtui.engine.config.parse_configs`.

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
import typing
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from lrtui.engine import events as _events
from lrtui.engine.config import ConfigError, RunConfig, parse_configs
from lrtui.sessions.record import RunRecord
from lrtui.system_load import FIGURES as SYSTEM_FIGURES

#: Largest session or run file read; a bigger one is refused, not loaded into memory.
MAX_BYTES = 256 * 1024 * 1024
#: Longest integer literal accepted (a 5,000-digit number would otherwise stop Python's int()).
MAX_INT_DIGITS = 20
#: Times must be within what ``time.localtime`` can show everywhere: 1970 to 9999.
MAX_TIME = 253_402_300_799.0
#: Longest free text kept (a verdict's reason, an error line, a device name).
MAX_TEXT = 10_000
#: Run ids are ``r<N>``: they name files (``runs/r3.json``), so nothing else may pass.
RUN_ID = re.compile(r"r[1-9][0-9]{0,8}")
#: A saved run's device: ASCII only (any well-formed one: the session may come from another machine).
DEVICE = re.compile(r"auto|cpu|mps|cuda(:[0-9]{1,4})?")
#: The largest integer a count may hold.
MAX_COUNT = 2**53
#: Most points of a run's step trace read (a run keeps at most 2,000: lrtui.engine.step_trace.MAX_POINTS).
MAX_TRACE_POINTS = 100_000


class SessionError(Exception):
    """A session that cannot be read. The message is one line: which file, what is wrong."""


class Unreadable(SessionError):
    """The file is there but cannot be read (a link loop, no permission, an I/O error, a FIFO): not its content's fault."""


class Malformed(ValueError):
    """A value of the wrong shape; the message names where (``run r2: epochs[3].val_acc ...``)."""


def _enum_values(kind: Any, fallback: tuple[str, ...]) -> frozenset[str]:
    """String values of an Enum or a Literal, whichever the engine defines."""
    if isinstance(kind, type) and hasattr(kind, "__members__"):
        return frozenset(str(m.value) for m in kind.__members__.values())
    args = typing.get_args(kind)
    return frozenset(str(a) for a in args) if args else frozenset(fallback)


STATUSES = _enum_values(
    getattr(_events, "RunState", None) or getattr(_events, "RunStatus", None),
    ("finished", "cancelled", "diverged", "failed", "interrupted"),
) | {"queued", "running", "finished", "cancelled", "diverged", "failed", "interrupted"}
VERDICT_LABELS = _enum_values(
    getattr(_events, "VerdictLabel", None), ("converged", "diverged", "not learning", "too slow", "overfitting")
)


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
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode) else \
            "a device or special file"
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


# -- checking values -----------------------------------------------------------------------
def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def number(x: Any, where: str, lo: float = -math.inf, hi: float = math.inf, *, null: bool = False) -> Any:
    if x is None and null:
        return None
    if not _is_number(x):
        raise Malformed(f"{where} must be a number, not {_shown(x)}")
    if not lo <= x <= hi:
        raise Malformed(f"{where} = {x!r} is out of range [{lo:g}, {hi:g}]")
    return x


def integer(x: Any, where: str, lo: int = 0, hi: int = MAX_COUNT, *, null: bool = False) -> Any:
    if x is None and null:
        return None
    if not _is_int(x):
        raise Malformed(f"{where} must be a whole number, not {_shown(x)}")
    if not lo <= x <= hi:
        raise Malformed(f"{where} = {x} is out of range [{lo}, {hi}]")
    return x


def text(x: Any, where: str, limit: int = MAX_TEXT, *, null: bool = False) -> Any:
    if x is None and null:
        return None
    if not isinstance(x, str):
        raise Malformed(f"{where} must be text, not {_shown(x)}")
    if len(x) > limit:
        raise Malformed(f"{where} is too long ({len(x):,} characters; at most {limit:,})")
    return x


def mapping(x: Any, where: str, *, null: bool = False) -> Any:
    if x is None and null:
        return None
    if not isinstance(x, dict):
        raise Malformed(f"{where} must be an object, not {_shown(x)}")
    return x


def array(x: Any, where: str, limit: int = 50_000_000) -> list[Any]:
    if not isinstance(x, list):
        raise Malformed(f"{where} must be a list, not {_shown(x)}")
    if len(x) > limit:
        raise Malformed(f"{where} has too many items ({len(x):,})")
    return x


def timestamp(x: Any, where: str, *, null: bool = True) -> Any:
    return number(x, where, 0.0, MAX_TIME, null=null)


def _shown(x: Any) -> str:
    if x is None:
        return "null"
    kind = {dict: "an object", list: "a list", str: "text", bool: "true/false"}.get(type(x))
    return kind or f"{type(x).__name__}"


def run_id(x: Any, where: str = "id") -> str:
    if not isinstance(x, str) or not RUN_ID.fullmatch(x):
        raise Malformed(f"{where} must be a run id like r3, not {_shown(x) if not isinstance(x, str) else repr(x[:20])}")
    return x


_CONFIG_KIND: dict[str, tuple[str, bool]] = {}


def _config_kinds() -> dict[str, tuple[str, bool]]:
    """(JSON kind, may be null) of each RunConfig field, from its annotation: new settings need no edit here."""
    if not _CONFIG_KIND:
        for f in fields(RunConfig):
            words = set(re.findall(r"[A-Za-z_]+", str(f.type)))
            kind = next((k for k in ("bool", "float", "int", "str") if k in words), "any")
            _CONFIG_KIND[f.name] = (kind, "None" in words or "Optional" in words)
    return _CONFIG_KIND


def config(raw: Any, where: str) -> RunConfig:
    """A saved config, type-checked field by field and validated as the form and the CLI validate it."""
    mapping(raw, where)
    kinds = _config_kinds()
    known: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in kinds:
            continue  # a newer lrtui's setting: ignored, as RunConfig.from_dict does
        here = f"{where}.{key}"
        kind, nullable = kinds[key]
        if value is None and nullable:
            pass
        elif kind == "float":
            number(value, here)
        elif kind == "int":
            integer(value, here, -(2**63), 2**63)
        elif kind == "str":
            text(value, here, 4096)
        elif kind == "bool" and not isinstance(value, bool):
            raise Malformed(f"{here} must be true or false")
        known[key] = value
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


def _epoch(raw: Any, where: str) -> dict[str, Any]:
    mapping(raw, where)
    e = dict(raw)
    integer(e.get("epoch"), f"{where}.epoch", 0, 10**6)
    for key in ("train_acc", "val_acc"):
        number(e.get(key), f"{where}.{key}", 0.0, 1.0, null=True)
    for key in ("train_loss", "val_loss"):
        number(e.get(key), f"{where}.{key}", 0.0, null=True)
    number(e.get("seconds"), f"{where}.seconds", 0.0, null=True)
    _diagnostics(e.get("diagnostics"), f"{where}.diagnostics")
    return e


#: Diagnostics that are shares (of channels, of predictions): in [0, 1]. The others are >= 0.
_SHARES = frozenset({"dead_fraction", "top_class_share"})


def _diagnostics(raw: Any, where: str) -> None:
    """An epoch's diagnostics: numbers (or null), or one level of per-layer numbers."""
    if raw is None:
        return
    mapping(raw, where)
    if len(raw) > 100:
        raise Malformed(f"{where} has too many entries")
    for key, value in raw.items():
        here = f"{where}.{key[:40]}"
        hi = 1.0 if key in _SHARES else math.inf
        if isinstance(value, dict):
            if len(value) > 100:
                raise Malformed(f"{here} has too many entries")
            for layer, v in value.items():
                text(layer, f"{here} (a layer name)", 100)
                if key == "dead_na":  # why a layer's dead units are not measured (a GELU's, ...)
                    text(v, f"{here}.{layer[:40]}", 200)
                else:
                    number(v, f"{here}.{layer[:40]}", 0.0, hi, null=True)
        else:
            number(value, here, 0.0, hi, null=True)


def _probe(raw: Any, where: str) -> None:
    """A step probe: losses after one step of each size in ``lrs`` (sizes > 0; losses may be null)."""
    mapping(raw, where)
    integer(raw.get("epoch"), f"{where}.epoch", 0, 10**6)
    lrs = array(raw.get("lrs"), f"{where}.lrs", 10_000)
    losses = array(raw.get("losses"), f"{where}.losses", 10_000)
    if len(lrs) != len(losses):
        raise Malformed(f"{where}: lrs and losses differ in length")
    if not all(_is_number(x) and x > 0 for x in lrs):
        raise Malformed(f"{where}.lrs must hold step sizes > 0")
    if not all(x is None or _is_number(x) for x in losses):
        raise Malformed(f"{where}.losses must hold numbers or null")
    current = number(raw.get("current_lr"), f"{where}.current_lr", null=True)
    if current is not None and current <= 0:
        raise Malformed(f"{where}.current_lr must be > 0")
    number(raw.get("base_loss"), f"{where}.base_loss", null=True)


def _lr_trace(raw: Any, where: str) -> None:
    """``[[step, lr], ...]`` (optional: sessions saved before schedules lack it): whole steps >= 0, finite lrs >= 0."""
    if raw is None:
        return
    for i, pair in enumerate(array(raw, where, 10_000_000)):
        if not isinstance(pair, list) or len(pair) != 2:
            raise Malformed(f"{where}[{i}] must be [step, lr]")
        integer(pair[0], f"{where}[{i}] step")
        number(pair[1], f"{where}[{i}] lr", 0.0)


def _layer_values(raw: Any, where: str, hi: float, column: int | None = None) -> None:
    """Per layer a number in [0, ``hi``] or null; with ``column``, per layer a list of that many of them."""
    if raw is None:
        return
    mapping(raw, where)
    if len(raw) > 100:
        raise Malformed(f"{where} has too many layers")
    for layer, value in raw.items():
        here = f"{where}.{text(layer, f'{where} (a layer name)', 100)[:40]}"
        values = [value] if column is None else array(value, here, column)
        if column is not None and len(values) != column:
            raise Malformed(f"{here} has {len(values):,} values for {column:,} steps")
        for v in values:
            number(v, here, 0.0, hi, null=True)


def _step_trace(raw: Any, where: str) -> None:
    """A run's step trace (optional: older files lack it): a list of points (documents) or columns (run files)."""
    if raw is None:
        return
    if isinstance(raw, dict):
        steps = array(raw.get("step"), f"{where}.step", MAX_TRACE_POINTS)
        n = len(steps)
        for step in steps:
            integer(step, f"{where}.step")
        losses = array(raw.get("loss"), f"{where}.loss", MAX_TRACE_POINTS)
        if len(losses) != n:
            raise Malformed(f"{where}: step and loss differ in length")
        for loss in losses:
            number(loss, f"{where}.loss", 0.0, null=True)
        _layer_values(raw.get("update_ratio"), f"{where}.update_ratio", math.inf, n)
        _layer_values(raw.get("dead_fraction"), f"{where}.dead_fraction", 1.0, n)
        integer(raw.get("dead_on"), f"{where}.dead_on", 1, 10**9, null=True)
        return
    for i, point in enumerate(array(raw, where, MAX_TRACE_POINTS)):
        here = f"{where}[{i}]"
        mapping(point, here)
        integer(point.get("step"), f"{here}.step")
        number(point.get("loss"), f"{here}.loss", 0.0, null=True)
        _layer_values(point.get("update_ratio"), f"{here}.update_ratio", math.inf)
        _layer_values(point.get("dead_fraction"), f"{here}.dead_fraction", 1.0)
        integer(point.get("dead_on"), f"{here}.dead_on", 1, 10**9, null=True)


def _test(raw: Any, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    mapping(raw, where)
    number(raw.get("accuracy"), f"{where}.accuracy", 0.0, 1.0)
    number(raw.get("loss"), f"{where}.loss", 0.0, null=True)
    matrix = array(raw.get("confusion_matrix", []) or [], f"{where}.confusion_matrix", 1000)
    for i, row in enumerate(matrix):
        array(row, f"{where}.confusion_matrix[{i}]", 1000)
        if len(row) != len(matrix):
            raise Malformed(f"{where}.confusion_matrix is not square")
        if not all(_is_int(v) and 0 <= v <= MAX_COUNT for v in row):
            raise Malformed(f"{where}.confusion_matrix[{i}] must hold counts")
    report = mapping(raw.get("report") or {}, f"{where}.report")
    if len(report) > 10_000:
        raise Malformed(f"{where}.report has too many rows")
    for name, row in report.items():
        here = f"{where}.report[{name[:20]!r}]"
        text(name, here, 200)
        if isinstance(row, dict):
            for key in ("precision", "recall", "f1-score"):
                number(row.get(key), f"{here}.{key}", 0.0, 1.0)
            number(row.get("support"), f"{here}.support", 0.0)
        else:
            number(row, here, 0.0, 1.0)
    samples = mapping(raw.get("samples") or {}, f"{where}.samples")
    images = array(samples.get("images", []), f"{where}.samples.images", 10_000)
    true = array(samples.get("true", []), f"{where}.samples.true", 10_000)
    pred = array(samples.get("pred", []), f"{where}.samples.pred", 10_000)
    if not len(images) == len(true) == len(pred):
        raise Malformed(f"{where}.samples: images, true and pred differ in length")
    for i, image in enumerate(images):
        array(image, f"{where}.samples.images[{i}]", 784)
        flat = [v for row in image for v in row] if image and isinstance(image[0], list) else image
        if len(flat) != 784 or not all(_is_number(v) and 0 <= v <= 255 for v in flat):
            raise Malformed(f"{where}.samples.images[{i}] must be 784 pixels from 0 to 255")
    for name, labels in (("true", true), ("pred", pred)):
        if not all(_is_int(v) and 0 <= v < 1000 for v in labels):
            raise Malformed(f"{where}.samples.{name} must hold class numbers")
    return dict(raw)


def _verdict(raw: Any, where: str) -> dict[str, str] | None:
    if raw is None:
        return None
    mapping(raw, where)
    label = text(raw.get("label"), f"{where}.label", 100)
    if label not in VERDICT_LABELS:
        raise Malformed(f"{where}.label {label!r} is not a verdict")
    text(raw.get("reason", ""), f"{where}.reason")
    text(raw.get("hint", ""), f"{where}.hint")
    return dict(raw)


def run_row(raw: Any, where: str) -> RunRecord:
    """One run as the session file holds it (:meth:`RunRecord.to_dict`), checked and rebuilt."""
    mapping(raw, where)
    rid = run_id(raw.get("id"), f"{where}.id")
    where = f"run {rid}"
    status = text(raw.get("status"), f"{where}: status", 100)
    if status not in STATUSES:
        raise Malformed(f"{where}: status {status!r} is unknown")
    cfg = config(raw.get("config"), f"{where}: config")
    text(raw.get("device", ""), f"{where}: device", 200)
    text(raw.get("device_name", ""), f"{where}: device_name", 1000)
    sizes = mapping(raw.get("sizes") or {}, f"{where}: sizes")
    for key in ("train", "val", "test"):
        integer(sizes.get(key, 0), f"{where}: sizes.{key}")
    epochs = [_epoch(e, f"{where}: epochs[{i}]") for i, e in enumerate(array(raw.get("epochs", []), f"{where}: epochs"))]
    losses = array(raw.get("batch_losses", []), f"{where}: batch_losses")
    if not all(x is None or (_is_number(x) and x >= 0) for x in losses):
        raise Malformed(f"{where}: batch_losses must hold losses (numbers >= 0 or null)")
    probes = raw.get("probes")
    if probes is not None:
        for i, probe in enumerate(array(probes, f"{where}: probes", 100_000)):
            _probe(probe, f"{where}: probes[{i}]")
    _test(raw.get("test"), f"{where}: test")
    _verdict(raw.get("verdict"), f"{where}: verdict")
    number(raw.get("duration_s") or 0, f"{where}: duration_s", 0.0)
    number(raw.get("samples_per_s") or 0, f"{where}: samples_per_s", 0.0)
    diverged = raw.get("diverged_at")
    if diverged is not None:
        array(diverged, f"{where}: diverged_at", 2)
        if len(diverged) != 2:
            raise Malformed(f"{where}: diverged_at must be [epoch, batch]")
        integer(diverged[0], f"{where}: diverged_at[0]")
        integer(diverged[1], f"{where}: diverged_at[1]")
    text(raw.get("error"), f"{where}: error", null=True)
    _lr_trace(raw.get("lr_trace"), f"{where}: lr_trace")
    _step_trace(raw.get("step_trace"), f"{where}: step_trace")
    provisional = raw.get("provisional_verdict")
    if provisional is not None:
        _verdict(provisional, f"{where}: provisional_verdict")
        integer(provisional.get("step"), f"{where}: provisional_verdict.step")
    timestamp(raw.get("started_at"), f"{where}: started_at")
    timestamp(raw.get("ended_at"), f"{where}: ended_at")
    for i, sample in enumerate(array(raw.get("system") or [], f"{where}: system", 100_000)):  # optional: newer files
        integer(mapping(sample, f"{where}: system[{i}]").get("epoch"), f"{where}: system[{i}].epoch", 1, 10**9)
        for name in SYSTEM_FIGURES:
            number(sample.get(name), f"{where}: system[{i}].{name}", 0.0, null=True)
    try:
        record = RunRecord.from_dict({**raw, "epochs": epochs})
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as e:
        raise Malformed(f"{where} is malformed ({e.__class__.__name__}: {_one_line(e)})") from None
    record.config = cfg
    return record


def environment(raw: Any, where: str = "environment") -> dict[str, Any] | None:
    """The session's versions and device: plain values only (reports print them)."""
    if raw is None:
        return None
    mapping(raw, where)
    for key, value in raw.items():
        if value is not None and not isinstance(value, (str, bool)) and not _is_number(value):
            raise Malformed(f"{where}.{key[:40]} must be text or a number")
        if isinstance(value, str):
            text(value, f"{where}.{key[:40]}", 1000)
    return dict(raw)


def document(data: Any, file: Path, schema_max: int) -> dict[str, Any]:
    """The checked top level of a session document (``runs`` still raw: see :func:`run_row`)."""
    if not isinstance(data, dict) or "schema" not in data:
        raise SessionError(f"{file}: not an lrtui session (no \"schema\" field)")
    schema = data["schema"]
    if not _is_int(schema) or schema < 1:
        raise SessionError(f"{file}: wrong schema {_shown(schema) if not _is_int(schema) else schema} "
                           f"(this lrtui reads schema {schema_max})")
    if schema > schema_max:
        raise SessionError(
            f"{file}: schema {schema} is newer than this lrtui understands ({schema_max}); upgrade lrtui to open it"
        )
    if not isinstance(data.get("runs", []), list):
        raise SessionError(f"{file}: wrong schema (\"runs\" must be a list)")
    try:
        timestamp(data.get("created"), "created")
        timestamp(data.get("updated"), "updated")
        environment(data.get("environment"))
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
        return run_row(raw, label)
    except Malformed as e:
        raise SessionError(f"{file}: {label} is malformed ({e})") from None
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
    mapping(raw, where)
    text(raw.get("host"), f"{where}.host", 255)
    integer(raw.get("pid"), f"{where}.pid", 1, 2**31)
    text(raw.get("token"), f"{where}.token", 64)
    integer(raw.get("proc_start"), f"{where}.proc_start", null=True)
    timestamp(raw.get("started"), f"{where}.started")
    timestamp(raw.get("heartbeat"), f"{where}.heartbeat")
    return dict(raw)
