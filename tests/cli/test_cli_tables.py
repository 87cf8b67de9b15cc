"""What ``lrtui run`` and ``lrtui sessions`` print in their tables: a column per setting that varies,
the report's best setting, each session's data set and optimizers; under the run table, a grid's edge and what
best val acc is."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from lrtui.engine.config import RunConfig
from lrtui.engine.events import RunState
from lrtui.engine.records import EpochRecord, TestResult
from lrtui.plots.confidence import acc_text, edge_sentences
from lrtui.plots.grouping import best_setting
from lrtui.sessions.listing import load_session
from lrtui.sessions.record import RunRecord, best_run
from lrtui.sessions.store import Session


def table_rows(out: str) -> list[list[str]]:
    """The cells of each row of a rich table (header first), as printed."""
    return [
        [c.strip() for c in line.strip("│┃").split("│" if "│" in line else "┃")]
        for line in out.splitlines()
        if line.startswith(("│", "┃"))
    ]


def test_a_setting_that_varies_is_a_column(cli, tmp_path: Path) -> None:
    """``--schedule onecycle,cosine --warmup 0,5`` printed four rows that read the same (``0.1 sgd 1 10``)."""
    result = cli(
        [
            "run",
            "--lr",
            "0.1",
            "--schedule",
            "onecycle,cosine",
            "--warmup",
            "0,5",
            "--train-limit",
            "100",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--quiet",
            "--report",
            str(tmp_path / "report"),
        ],
        tmp_path,
    )
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
        record.epochs = [EpochRecord(1, val_acc=acc, train_acc=acc, val_loss=1 - acc, train_loss=1 - acc)]
        record.test = TestResult(acc, 1 - acc)
    session.save()
    session.close()
    return session


def test_sessions_lists_data_sets_optimizers_and_the_reports_best(cli, tmp_path: Path) -> None:
    """The best lr is the best setting over its seeds (as the report ranks them), not the luckiest run."""
    seeds = _saved(
        tmp_path,
        [
            (RunConfig(lr=0.5, seed=0, optimizer="adam"), 0.95),  # the best run alone...
            (RunConfig(lr=0.5, seed=1, optimizer="adam"), 0.55),  # ... of a setting at 75%
            (RunConfig(lr=0.01, seed=0), 0.85),
            (RunConfig(lr=0.01, seed=1), 0.84),
        ],
    )
    assert best_run(seeds.runs).config.lr == 0.5 and best_setting(seeds.runs).config.lr == 0.01
    _saved(tmp_path, [(RunConfig(lr=0.1, dataset="fashion-mnist"), 0.7)])
    result = cli(["sessions"], tmp_path)
    assert result.code == 0, result.err
    header, *rows = table_rows(result.out)
    assert header[:6] == ["date", "runs", "data set", "optimizers", "best lr", "test acc"]
    assert sorted(row[1:6] for row in rows) == [
        ["1", "fashion-mnist", "sgd", "0.1", "70.0%"],  # (same second:
        ["4", "mnist-5k", "adam, sgd", "0.01 sgd", "84.5% ± 0.5"],
    ]  # any order)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", row[0]) for row in rows)


def test_the_run_table_says_what_best_val_acc_is_and_where_the_grid_ends() -> None:
    """Under the table: a best lr at the edge of the grid ("extend the grid"), and that best val acc is optimistic."""
    from rich.console import Console

    from lrtui.plots.printout import runs_table

    runs = []
    for i, (lr, acc) in enumerate(((0.001, 0.5), (0.01, 0.7), (0.1, 0.9))):
        record = RunRecord(
            id=f"r{i + 1}",
            config=RunConfig(lr=lr),
            status="finished",
            epochs=[EpochRecord(1, val_acc=acc, val_loss=1 - acc)],
        )
        runs.append(record)
    console = Console(width=200, record=True)
    console.print(runs_table(runs))
    out = console.export_text()
    assert "The best lr, 0.1, is the largest the grid tried: extend the grid to larger lr." in out
    assert "Best val acc is the best epoch's validation accuracy, an optimistic pick" in out
    console = Console(width=200, record=True)
    console.print(runs_table(runs[:2] + [replace(runs[2], epochs=[EpochRecord(1, val_acc=0.6)])]))
    assert "extend the grid" not in console.export_text(), "the best lr, 0.01, lies inside the grid"


def test_a_tiny_seeded_sweep_through_the_cli_pairs_its_seeds(cli, tmp_path: Path) -> None:
    """``--lr 0.01,0.1 --seed 0,1`` on 100 digits: two lrs, so the best is at an edge; two seeds each, paired in the
    report; 25 validation images, so every validation accuracy carries its interval."""
    result = cli(
        [
            "run",
            "--lr",
            "0.01,0.1",
            "--seed",
            "0,1",
            "--train-limit",
            "100",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--quiet",
            "--report",
            str(tmp_path / "report"),
        ],
        tmp_path,
    )
    assert result.code == 0, result.err
    session = load_session(next((tmp_path / "sessions").iterdir()))
    (edge,) = edge_sentences(session.runs)
    assert edge.endswith(
        "extend the grid to larger lr."
        if best_setting(session.runs).config.lr == 0.1
        else "extend the grid to smaller lr."
    )
    assert edge in " ".join(result.out.split())  # the table's caption wraps at the table's width
    md = (tmp_path / "report" / "report.md").read_text()
    assert edge in md and "paired seed" in md and "seed noise" not in md
    n_val = session.runs[0].n_val
    assert 0 < n_val < 200 and f"Validation sets under 200 images (here {n_val})" in md
    for run in session.runs:
        assert acc_text(run.best_val_acc, n_val) in md and "%)" in acc_text(run.best_val_acc, n_val)
