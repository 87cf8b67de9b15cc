"""What ``lrtui run`` and ``lrtui sessions`` print in their tables: a column per setting that varies,
the report's best setting, each session's data set and optimizers."""

from __future__ import annotations

import re
from pathlib import Path

from lrtui.engine.config import RunConfig
from lrtui.engine.events import RunState
from lrtui.plots.grouping import best_setting
from lrtui.sessions.record import best_run
from lrtui.sessions.store import Session


def table_rows(out: str) -> list[list[str]]:
    """The cells of each row of a rich table (header first), as printed."""
    return [[c.strip() for c in line.strip("│┃").split("│" if "│" in line else "┃")]
            for line in out.splitlines() if line.startswith(("│", "┃"))]


def test_a_setting_that_varies_is_a_column(cli, tmp_path: Path) -> None:
    """``--schedule onecycle,cosine --warmup 0,5`` printed four rows that read the same (``0.1 sgd 1 10``)."""
    result = cli(["run", "--lr", "0.1", "--schedule", "onecycle,cosine", "--warmup", "0,5", "--train-limit", "100",
                  "--epochs", "1", "--device", "cpu", "--quiet", "--report", str(tmp_path / "report")], tmp_path)
    assert result.code == 0, result.err
    header, *rows = table_rows(result.out)
    assert header[:5] == ["run", "lr", "schedule", "warmup", "epochs"]
    assert "optimizer" not in header and "batch" not in header  # the same for every run: said once, above
    assert "every run: sgd · batch 10 · mnist-5k (first 100) · seed 0" in result.out
    assert [row[2:4] for row in rows] == [["onecycle", "0"], ["onecycle", "5"], ["cosine", "0"], ["cosine", "5"]]
    md = (tmp_path / "report" / "report.md").read_text()
    assert "| run | lr | schedule | warmup | epochs | best val acc |" in md  # the report's results table too


def _saved(root: Path, runs: list[tuple[RunConfig, float]]) -> Session:
    """A session on disk whose runs finished one epoch with these validation (and test) accuracies."""
    session = Session.create(root / "sessions")
    for config, acc in runs:
        record = session.add(config)
        record.status = RunState.FINISHED
        record.epochs = [{"epoch": 1, "val_acc": acc, "train_acc": acc, "val_loss": 1 - acc, "train_loss": 1 - acc}]
        record.test = {"accuracy": acc, "loss": 1 - acc}
    session.save()
    session.close()
    return session


def test_sessions_lists_data_sets_optimizers_and_the_reports_best(cli, tmp_path: Path) -> None:
    """The best lr is the best setting over its seeds (as the report ranks them), not the luckiest run."""
    seeds = _saved(tmp_path, [(RunConfig(lr=0.5, seed=0, optimizer="adam"), 0.95),  # the best run alone...
                              (RunConfig(lr=0.5, seed=1, optimizer="adam"), 0.55),  # ... of a setting at 75%
                              (RunConfig(lr=0.01, seed=0), 0.85), (RunConfig(lr=0.01, seed=1), 0.84)])
    assert best_run(seeds.runs).config.lr == 0.5 and best_setting(seeds.runs).config.lr == 0.01
    _saved(tmp_path, [(RunConfig(lr=0.1, dataset="fashion-mnist"), 0.7)])
    result = cli(["sessions"], tmp_path)
    assert result.code == 0, result.err
    header, *rows = table_rows(result.out)
    assert header[:6] == ["date", "runs", "data set", "optimizers", "best lr", "test acc"]
    assert sorted(row[1:6] for row in rows) == [["1", "fashion-mnist", "sgd", "0.1", "70.0%"],  # (same second:
                                                ["4", "mnist-5k", "adam, sgd", "0.01 sgd", "84.5% ± 0.5"]]  # any order)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row[0]) for row in rows)
