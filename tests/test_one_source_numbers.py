"""One source for every number: a figure shown in two places reads the same in both, and best and last
validation accuracy are each named as such."""

from __future__ import annotations

from lrtui.engine.bands import ADAM, SGD
from lrtui.engine.config import RunConfig
from lrtui.engine.events import RunEnd, RunState, Verdict, VerdictLabel
from lrtui.engine.records import EpochRecord, TestResult
from lrtui.plots.confidence import acc_text
from lrtui.plots.formatting import run_cells
from lrtui.plots.printout import end_lines
from lrtui.sessions.record import RunRecord


def ended_run(test_acc: float = 0.91256, n_val: int = 800) -> tuple[RunRecord, RunEnd]:
    run = RunRecord(
        id="r1",
        config=RunConfig(lr=0.01, epochs=2),
        n_val=n_val,
        epochs=[EpochRecord.of(1, val_acc=0.9), EpochRecord.of(2, val_acc=0.8)],
    )
    end = RunEnd(
        "r1",
        RunState.FINISHED,
        Verdict(VerdictLabel.OVERFITTING, "reason", "hint"),
        TestResult.of(test_acc, 0.3, [], {}),
        12.0,
        100.0,
        2,
    )
    run.apply(end)
    return run, end


def test_the_cli_end_line_and_the_table_under_it_write_the_test_accuracy_alike() -> None:
    """It said "test acc 91.26%" above a table that said 91.3%."""
    run, end = ended_run()
    assert run_cells(run)["test acc"] == "91.3%"
    assert "test acc 91.3%" in end_lines(end)[0]


def test_the_reports_band_edges_are_the_bands_in_the_notation_of_the_verdicts() -> None:
    """The note said "healthy 0.0002 to 0.03" where the verdict and the story line say "2e-04"."""
    from lrtui.reports.report import DIAG_NOTE

    for band in (SGD.update_ratio, ADAM.update_ratio):
        assert f"{band.low:.0e} to {band.high:.0e}" in DIAG_NOTE


def test_the_details_name_the_best_and_the_last_validation_accuracy_as_the_report_writes_them() -> None:
    from lrtui.tui.widgets.details import summary

    run, _ = ended_run()
    text = summary(run).plain
    assert "best val 90.0% · last val 80.0% · test 91.3%" in text
    small, _ = ended_run(n_val=50)  # a small validation set: the report's interval too
    assert f"best val {acc_text(0.9, 50)} · last val {acc_text(0.8, 50)}" in summary(small).plain


def test_the_runs_tables_val_column_says_it_is_the_best_epochs() -> None:
    from lrtui.tui.widgets.runs_table import RunsTable

    assert "val: the best epoch's validation accuracy" in str(RunsTable().tooltip)
