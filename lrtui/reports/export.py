"""Exports of a session for the tools people already use: CSV tables and TensorBoard event folders.

``export_session(session, out_dir, "csv")`` writes ``runs.csv`` (one row per run: every config
field, how it ended, its scores) and ``epochs.csv`` (one row per epoch, diagnostics flattened to
columns such as ``update_ratio_fc1``). Values are raw numbers, not display text, so a spreadsheet
or pandas reads them as numbers; a missing value is an empty cell.

``"tensorboard"`` writes one event folder per run (``<out>/<run id>/``) with the per-epoch and
per-batch scalars and the run's hyperparameters, for ``tensorboard --logdir <out>``. It needs the
optional ``tensorboard`` package (``pip install "lrtui[tensorboard]"``); torch is imported only then.

Where it may write is :mod:`lrtui.sessions.outputs`'s rule, checked before anything is written: never inside
any session's ``runs/``, ``ids/`` or ``writers/`` (the exported session's own included), never a new
folder in the sessions folder; a session folder's top level is fine (``runs.csv`` is not ``runs/``),
and so is the default, ``<session>/export/``. The CSV files are written as every output is
(:func:`~lrtui.sessions.outputs.write_text_safely`): a temp file renamed over the old one, so a full disk
leaves the old file (or none), never half of one; a FIFO is written to its reader or given up on
after a bounded wait. Every problem is one line.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lrtui.sessions.files import sessions_root
from lrtui.sessions.outputs import check_writable_dir, guard_outside_sessions, write_text_safely
from lrtui.sessions.record import RunRecord
from lrtui.sessions.store import Session

EXPORT_FORMATS: tuple[str, ...] = ("csv", "tensorboard")
TENSORBOARD_HINT = 'TensorBoard export needs the tensorboard package: pip install "lrtui[tensorboard]"'
#: Cells a spreadsheet would run as a formula; text that starts with one gets a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EPOCH_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "seconds")
#: The files a CSV export writes into its folder.
CSV_FILES = ("runs.csv", "epochs.csv")


class ExportError(Exception):
    """An export that cannot be written. The message is one line saying what to do."""


# -- values ---------------------------------------------------------------------------------------
def _cell(value: Any) -> Any:
    """A CSV cell: numbers as they are, None/NaN empty, text safe from spreadsheet formulas."""
    if value is None or isinstance(value, bool):
        return "" if value is None else str(value).lower()
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else ""
    text = " ".join(str(value).split("\n"))
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"update_ratio": {"fc1": x}}`` → ``{"update_ratio_fc1": x}``; lists are left out."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}_"))
        elif not isinstance(value, (list, tuple)):
            out[name] = value
    return out


def _union(rows: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every key of every row, in first-seen order (old and new sessions mix: columns may be missing)."""
    return list(dict.fromkeys(k for row in rows for k in row))


# -- CSV ------------------------------------------------------------------------------------------
def run_row(run: RunRecord) -> dict[str, Any]:
    """One line of ``runs.csv``."""
    config = run.config.to_dict()
    verdict, test = run.verdict, run.test
    return {
        "run": run.id,
        **config,
        "status": run.status,
        "verdict": verdict and str(verdict.label),
        "verdict_reason": verdict and verdict.reason,
        "verdict_hint": verdict and verdict.hint,
        "epochs_done": len(run.epochs),
        "best_val_acc": run.best_val_acc,
        "last_val_acc": run.last_val_acc,
        "test_acc": test and test.accuracy,
        "test_loss": test and test.loss,
        "duration_s": run.duration_s,
        "samples_per_s": run.samples_per_s,
        "n_train": run.n_train,
        "n_val": run.n_val,
        "n_test": run.n_test,
        "device_used": run.device,
        "device_name": run.device_name,
        "diverged_at_epoch": run.diverged_at[0] if run.diverged_at else None,
        "error": run.error,
    }


def epoch_rows(run: RunRecord) -> list[dict[str, Any]]:
    """The lines of ``epochs.csv`` for one run, diagnostics flattened where present."""
    rows = []
    for e in run.epochs:
        saved = e.to_dict()
        row: dict[str, Any] = {"run": run.id, "epoch": e.epoch, **{k: saved[k] for k in EPOCH_KEYS}}
        if e.diagnostics is not None:
            row.update(flatten(e.diagnostics.to_dict()))
        rows.append(row)
    return rows


def csv_text(rows: list[dict[str, Any]], first: Iterable[str] = ()) -> str:
    """A CSV table of ``rows``: every key of every row is a column, ``first`` ones first."""
    columns = list(dict.fromkeys([*first, *_union(rows)]))
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _cell(row.get(c)) for c in columns})
    return buffer.getvalue()


def export_csv(runs: Iterable[RunRecord], out: Path, flag: str = "--out") -> list[Path]:
    """``runs.csv`` and ``epochs.csv`` in ``out``, each built whole in memory, then written safely."""
    runs = list(runs)
    tables = (
        csv_text([run_row(r) for r in runs]),
        csv_text([row for r in runs for row in epoch_rows(r)], ("run", "epoch", *EPOCH_KEYS)),
    )
    for name, text in zip(CSV_FILES, tables):
        write_text_safely(out / name, text, flag=flag)
    return [out / name for name in CSV_FILES]


# -- TensorBoard ------------------------------------------------------------------------------------
def folder_name(run_id: str, taken: set[str]) -> str:
    """A safe folder name for a run id read from a file (no ``/``, no ``..``), unique among ``taken``."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", run_id).strip(".") or "run"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name)
    return name


def hparams_of(run: RunRecord) -> dict[str, float | int | str | bool]:
    """The run's setup as TensorBoard hparams (which take no None: an unset limit is 0 = all)."""
    out: dict[str, float | int | str | bool] = {}
    for key, value in run.config.to_dict().items():
        if key == "data_dir":
            continue
        if value is None:
            value = 0 if key in ("train_limit", "log_every") else "none"
        out[key] = value if isinstance(value, (int, float, str, bool)) else str(value)
    out["status"] = run.status
    out["verdict"] = run.verdict_label or run.status
    return out


def _scalars(run: RunRecord) -> list[tuple[str, float, int]]:
    """(tag, value, step) of everything charted: per-epoch metrics and diagnostics, per-batch loss."""
    out: list[tuple[str, float, int]] = []
    for e in run.epochs:
        for tag, value in (
            ("loss/train", e.train_loss),
            ("loss/val", e.val_loss),
            ("accuracy/train", e.train_acc),
            ("accuracy/val", e.val_acc),
        ):
            if value is not None:
                out.append((tag, float(value), e.epoch))
        if e.diagnostics is not None:
            for key, value in flatten(e.diagnostics.to_dict()).items():
                if value is not None:
                    out.append((f"diagnostics/{key}", float(value), e.epoch))
    for i, loss in enumerate(run.batch_losses):
        if loss is not None:
            out.append(("loss/batch", float(loss), i + 1))
    return out


def run_folders(runs: Iterable[RunRecord]) -> list[str]:
    """The event folder name of each run, in order (safe, unique)."""
    taken: set[str] = set()
    return [folder_name(run.id, taken) for run in runs]


def export_tensorboard(runs: Iterable[RunRecord], out: Path) -> list[Path]:
    """One event folder per run, with scalars and an hparams entry (metrics: best/last val, test acc)."""
    if importlib.util.find_spec("tensorboard") is None:
        raise ExportError(TENSORBOARD_HINT)
    try:
        from torch.utils.tensorboard import SummaryWriter
        from torch.utils.tensorboard.summary import hparams
    except ImportError as e:  # a tensorboard too old or broken for torch's writer
        raise ExportError(f"{TENSORBOARD_HINT} ({e})") from None
    runs = list(runs)
    folders = []
    for run, name in zip(runs, run_folders(runs)):
        folder = out / name
        if folder.is_dir() and any(p.name.startswith("events.out.tfevents") for p in folder.iterdir()):
            raise ExportError(f"{folder} already holds TensorBoard events: export into an empty folder (--out)")
        writer = SummaryWriter(log_dir=str(folder))
        try:
            for tag, value, step in _scalars(run):
                writer.add_scalar(tag, value, step)
            scores = {"best_val_acc": run.best_val_acc, "last_val_acc": run.last_val_acc, "test_acc": run.test_acc}
            metrics = {f"hparam/{k}": float(v) for k, v in scores.items() if v is not None}
            file_writer = writer._get_file_writer()  # add_hparams would open a subfolder: write in this one
            for summary in hparams(hparams_of(run), metrics):
                file_writer.add_summary(summary)
            for tag, value in metrics.items():
                writer.add_scalar(tag, value, len(run.epochs))
        finally:
            writer.close()
        folders.append(folder)
    return folders


def export_session(session: Session, out_dir: str | Path, fmt: str = "csv", *, flag: str = "--out") -> list[Path]:
    """Write ``session`` in ``fmt`` (csv | tensorboard) into ``out_dir``; return the files or folders written.

    Queued runs (never started) are left out. Raises ValueError for an unknown format, an
    :class:`~lrtui.sessions.outputs.OutputError` line (naming ``flag``) for a place it must not or cannot
    write, checked before anything is written, and :class:`ExportError` when the export cannot be
    written (tensorboard missing, events already there, a folder that cannot be made).
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: choose from {', '.join(EXPORT_FORMATS)}")
    out = Path(out_dir)
    runs = [r for r in session.runs if r.status != "queued"]
    names = CSV_FILES if fmt == "csv" else ()
    root = sessions_root()
    check_writable_dir(out, flag, names, sessions_root=root)
    if fmt == "tensorboard":
        for name in run_folders(runs):
            guard_outside_sessions(out / name, flag, sessions_root=root)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create {out}: {e.strerror or e}") from None
    if fmt == "csv":
        return export_csv(runs, out, flag)
    try:
        return export_tensorboard(runs, out)
    except OSError as e:  # the event writer on a full disk, a folder that went away
        raise ExportError(f"cannot write the TensorBoard events into {out}: {e.strerror or e}") from None
