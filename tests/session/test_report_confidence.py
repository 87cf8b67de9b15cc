"""What a report says about how sure it is, on hand-made sessions: seeds paired, grid edges, best against last,
accuracies of small validation sets with their interval."""

from __future__ import annotations

from html import escape
from pathlib import Path

from lrtui.engine.config import RunConfig
from lrtui.engine.events import RunState
from lrtui.engine.records import EpochRecord, TestResult
from lrtui.reports.report import write_reports
from lrtui.sessions.store import Session

BEST_NOTE = "Best val acc is the best epoch's validation accuracy, an optimistic pick"


def saved(root: Path, runs: list[tuple[RunConfig, list[float]]], n_val: int = 800) -> Session:
    """A session on disk whose runs finished with these validation accuracies per epoch (and test = the last)."""
    session = Session.create(root / "sessions")
    for config, accs in runs:
        record = session.add(config)
        record.status = RunState.FINISHED
        record.n_train, record.n_val, record.n_test = 3200, n_val, 1000
        record.epochs = [
            EpochRecord(i + 1, val_acc=a, train_acc=a, val_loss=1 - a, train_loss=1 - a) for i, a in enumerate(accs)
        ]
        record.test = TestResult(accs[-1], 1 - accs[-1])
    session.save()
    session.close()
    return session


def reports(session: Session, out: Path) -> tuple[str, str]:
    md, html = write_reports(session, out, ("md", "html"))
    return md.read_text(), html.read_text()


def test_seeds_are_paired_and_an_unresolved_difference_says_run_more_seeds(tmp_path: Path) -> None:
    """lr 0.1 vs 0.03 on seeds 0, 1, 2 (+27.6, +18.0, +11.2 points): the spread rule said "a real difference";
    paired by seed the interval is [−1.5, +39.4], which holds 0."""
    runs = [
        (RunConfig(lr=lr, seed=s), [v])
        for lr, vs in ((0.03, (0.5, 0.5, 0.5)), (0.1, (0.776, 0.68, 0.612)))
        for s, v in enumerate(vs)
    ]
    md, html = reports(saved(tmp_path, runs), tmp_path / "out")
    sentence = (
        "lr=0.1 sgd better than lr=0.03 sgd on all 3 paired seeds by 18.9 points on average, "
        "95% interval −1.5 … +39.4: not resolved — run more seeds."
    )
    assert f"- ? {sentence}" in md and escape(sentence) in html
    assert "seed noise" not in md and "a real difference" not in md and "seed noise" not in html
    assert "runs paired by seed" in md


def test_a_best_lr_at_the_top_of_the_grid_says_extend_the_grid(tmp_path: Path) -> None:
    """sgd, adam × lr 1e-4, 1e-3, 1e-2: adam's best lr is 0.01, the largest tried; sgd's 1e-3 lies inside."""
    scores = {
        ("sgd", 1e-4): 0.3,
        ("sgd", 1e-3): 0.9,
        ("sgd", 1e-2): 0.8,
        ("adam", 1e-4): 0.5,
        ("adam", 1e-3): 0.7,
        ("adam", 1e-2): 0.95,
    }
    runs = [(RunConfig(optimizer=opt, lr=lr), [v]) for (opt, lr), v in scores.items()]
    md, html = reports(saved(tmp_path, runs), tmp_path / "out")
    sentence = "The best lr for adam, 0.01, is the largest the grid tried: extend the grid to larger lr."
    assert f"Best lr per optimizer: sgd 0.001 (90.0%); adam 0.01 (95.0%).\n\n{sentence}\n" in md
    assert escape(sentence) in html and "The best lr for sgd" not in md
    inside = [(RunConfig(optimizer=opt, lr=lr), [v]) for (opt, lr), v in scores.items() if opt == "sgd"]
    md, _ = reports(saved(tmp_path / "inside", inside), tmp_path / "out-inside")
    assert "extend the grid" not in md


def test_best_and_last_validation_accuracy_are_labelled_and_best_is_called_optimistic(tmp_path: Path) -> None:
    runs = [(RunConfig(lr=0.1), [0.5, 0.9, 0.8]), (RunConfig(lr=0.01), [0.3, 0.6, 0.7])]
    md, html = reports(saved(tmp_path, runs), tmp_path / "out")
    assert "| best val acc | last val acc |" in md and "| 90.0% | 80.0% |" in md
    assert (
        f"{BEST_NOTE} (the epoch is chosen by the same validation images that score it); last val acc is the "
        "final epoch's." in md
    )
    assert escape(BEST_NOTE) in html
    seeded = [(RunConfig(lr=0.1, seed=s), [0.5, 0.9 - s / 100]) for s in (0, 1)]
    md, _ = reports(saved(tmp_path / "seeded", [*seeded, (RunConfig(lr=0.3), [0.4])]), tmp_path / "out-seeded")
    assert "| setting | runs | seeds | best val acc | min–max | last val acc |" in md and BEST_NOTE in md


def test_the_comparison_table_says_its_best_epoch_figures_are_optimistic(tmp_path: Path) -> None:
    runs = [(RunConfig(optimizer=opt, lr=lr), [0.5]) for opt in ("sgd", "adam") for lr in (0.01, 0.1)]
    md, _ = reports(saved(tmp_path, runs), tmp_path / "out")
    assert "*Best validation accuracy (the best epoch's: an optimistic pick) by lr (rows) and optimizer" in md


def test_small_validation_sets_show_accuracies_with_their_interval(tmp_path: Path) -> None:
    """50 validation images: 20% is anywhere in 11–33% (Wilson 95%); on 800 images no brackets."""
    runs = [(RunConfig(lr=0.1), [0.1, 0.2]), (RunConfig(lr=0.01), [0.12, 0.16])]
    md, html = reports(saved(tmp_path, runs, n_val=50), tmp_path / "out")
    first = next(line for line in md.splitlines() if line.startswith("| r1 | 0.1 |"))
    assert "| 20.0% (11–33%) | 20.0% (11–33%) |" in first  # best and last val acc in the results table
    assert "| 2 | 0.8000 | 20.0% | 0.8000 | 20.0% (11–33%) |" in md  # the epoch table: validation only
    assert "Validation sets under 200 images (here 50): each validation accuracy" in md
    assert "20.0% (11–33%)" in html
    md, _ = reports(saved(tmp_path / "big", runs, n_val=800), tmp_path / "out-big")
    assert "(11–33%)" not in md and "Validation sets under" not in md and "| 20.0% | 20.0% |" in md
