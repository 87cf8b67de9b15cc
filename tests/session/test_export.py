"""Exports of a real three-lr session, read back: CSV with the csv module, TensorBoard with its own reader."""

from __future__ import annotations

import csv
import importlib.util
import shutil
from pathlib import Path

import pytest

from lrtui.reports.export import TENSORBOARD_HINT, ExportError, export_session, folder_name
from lrtui.sessions.listing import load_session
from lrtui.sessions.outputs import OutputError

HAS_TENSORBOARD = importlib.util.find_spec("tensorboard") is not None


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def session(trained):
    return load_session(trained.path)


def test_csv_runs_has_every_config_field_and_the_scores(session, tmp_path):
    paths = export_session(session, tmp_path, "csv")
    assert paths == [tmp_path / "runs.csv", tmp_path / "epochs.csv"]
    rows = read_csv(tmp_path / "runs.csv")
    assert [r["run"] for r in rows] == [r.id for r in session.runs]
    for row, run in zip(rows, session.runs):
        for key, value in run.config.to_dict().items():
            assert row[key] == ("" if value is None else str(value)), key
        assert row["status"] == run.status and row["verdict"] == run.verdict_label
        assert row["verdict_reason"] == run.verdict.reason and row["verdict_hint"] == run.verdict.hint
        assert float(row["best_val_acc"]) == run.best_val_acc and float(row["last_val_acc"]) == run.last_val_acc
        assert float(row["test_acc"]) == run.test_acc and float(row["duration_s"]) == run.duration_s
        assert int(row["epochs_done"]) == len(run.epochs) and int(row["n_train"]) == run.n_train


def test_csv_epochs_has_metrics_and_flattened_diagnostics(session, tmp_path):
    export_session(session, tmp_path, "csv")
    rows = read_csv(tmp_path / "epochs.csv")
    assert len(rows) == sum(len(r.epochs) for r in session.runs)
    assert list(rows[0])[:7] == ["run", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"]
    for layer in ("conv1", "conv2", "fc1", "fc2"):
        assert f"update_ratio_{layer}" in rows[0]
    by_key = {(r["run"], int(r["epoch"])): r for r in rows}
    for run in session.runs:
        for e in run.epochs:
            row = by_key[(run.id, e.epoch)]
            assert float(row["val_acc"]) == e.val_acc and float(row["train_loss"]) == e.train_loss
            d = e.diagnostics
            assert d is not None and float(row["update_ratio_fc1"]) == d.update_ratio["fc1"]
            assert float(row["dead_fraction_conv2"]) == d.dead_fraction["conv2"]
            assert float(row["top_class_share"]) == d.top_class_share


def test_csv_text_cannot_become_a_spreadsheet_formula(session, tmp_path):
    session.runs[0].error = '=HYPERLINK("x")'
    try:
        export_session(session, tmp_path, "csv")
    finally:
        session.runs[0].error = None
    assert read_csv(tmp_path / "runs.csv")[0]["error"] == '\'=HYPERLINK("x")'


def test_unknown_format_is_one_line(session, tmp_path):
    with pytest.raises(ValueError, match="unknown export format 'xlsx': choose from csv, tensorboard"):
        export_session(session, tmp_path, "xlsx")


def test_folder_names_are_safe_and_unique():
    taken: set[str] = set()
    assert [folder_name(i, taken) for i in ("r1", "../r1", "r1", "a/b")] == ["r1", "_r1", "r1-2", "a_b"]


@pytest.mark.skipif(not HAS_TENSORBOARD, reason="tensorboard is not installed (optional extra)")
def test_tensorboard_events_read_back(session, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    folders = export_session(session, tmp_path, "tensorboard")
    assert folders == [tmp_path / r.id for r in session.runs]
    for folder, run in zip(folders, session.runs):
        acc = EventAccumulator(str(folder))
        acc.Reload()
        val = acc.Scalars("accuracy/val")
        assert [(s.step, pytest.approx(s.value)) for s in val] == [(e.epoch, e.val_acc) for e in run.epochs]
        ratio = acc.Scalars("diagnostics/update_ratio_fc1")
        assert ratio[-1].value == pytest.approx(run.epochs[-1].diagnostics.update_ratio["fc1"])
        assert len(acc.Scalars("loss/batch")) == sum(v is not None for v in run.batch_losses)
        content = acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]
        info = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
        assert info.hparams["lr"].number_value == pytest.approx(run.config.lr)
        assert info.hparams["optimizer"].string_value == run.config.optimizer
        assert info.hparams["verdict"].string_value == run.verdict_label
    with pytest.raises(ExportError, match="already holds TensorBoard events"):
        export_session(session, tmp_path, "tensorboard")


def test_tensorboard_missing_is_one_line(session, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(ExportError) as err:
        export_session(session, tmp_path, "tensorboard")
    assert str(err.value) == TENSORBOARD_HINT and 'pip install "lrtui[tensorboard]"' in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("fmt", ["csv", "tensorboard"])
@pytest.mark.parametrize("inside", ["runs", "ids", "runs/new"])
def test_export_into_its_own_sessions_store_is_refused_before_writing(trained, tmp_path, fmt, inside):
    folder = Path(shutil.copytree(trained.path, tmp_path / "s", symlinks=True))
    own = load_session(folder)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    with pytest.raises(OutputError, match=f"^--out: .*: is inside the session folder {folder} "):
        export_session(own, folder / inside, fmt)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
    assert [r.id for r in load_session(folder).runs] == [r.id for r in own.runs]


def test_export_into_its_own_sessions_top_level(trained, tmp_path):
    folder = Path(shutil.copytree(trained.path, tmp_path / "s", symlinks=True))
    own = load_session(folder)
    assert export_session(own, folder) == [folder / "runs.csv", folder / "epochs.csv"]
    assert [r.id for r in load_session(folder).runs] == [r.id for r in own.runs]
