"""Details of one run: its config, verdict with reason and hint, what the step probe said (and which to believe
where the run disagrees with it), test confusion matrix, per-class report and a row of sample test digits
(misclassified first)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from lrtui.engine.config import format_lr
from lrtui.engine.records import TestResult
from lrtui.engine.user_code import shown
from lrtui.plots.confidence import acc_text
from lrtui.plots.formatting import model_text, num, pct, seconds
from lrtui.plots.palette import VERDICT_COLORS
from lrtui.plots.probe_text import disagreement, probe_sentences
from lrtui.printable import plain_text
from lrtui.sessions.record import RunRecord
from lrtui.tui.widgets.digits import DigitStrip
from lrtui.tui.widgets.rendered import RenderedBlock


def summary(run: RunRecord) -> Text:
    """Config, device and outcome in a few lines."""
    c = run.config
    text = Text()
    text.append(f"{run.id}  {c.label}", style="bold")
    text.append(f"  ({run.status})\n")
    text.append(
        f"momentum {c.momentum:g} · weight decay {c.weight_decay:g} · {c.epochs} epochs · batch {c.batch_size}\n"
    )
    sizes = f": {run.n_train} train / {run.n_val} val / {run.n_test} test" if run.n_train else ""
    # a --model network and --data by name (their code names them: plain text, never markup); the reference CNN
    # on the digits goes without saying
    model = f"{model_text(c)} · " if c.model else ""
    text.append(plain_text(f"{model}{shown(c.data) if c.data else c.dataset}{sizes} · seed {c.seed}"))
    if run.device:
        text.append(f" · {run.device} ({run.device_name})")
    text.append("\n")
    if run.epochs:
        # the best epoch's and the last epoch's validation accuracy, each named, as the report writes them
        last = "" if run.last_val_acc == run.best_val_acc else f" · last val {acc_text(run.last_val_acc, run.n_val)}"
        text.append(
            f"best val {acc_text(run.best_val_acc, run.n_val)}{last} · test {pct(run.test_acc)} · "
            f"{seconds(run.duration_s)}"
        )
        text.append(f" · {run.samples_per_s:,.0f} samples/s\n" if run.samples_per_s else "\n")
    if run.error:
        text.append(f"error: {run.error}\n", style="red")
    return text


def verdict_block(run: RunRecord) -> Text:
    if not run.verdict:
        return Text("no verdict yet" if not run.done else "no verdict (no epoch finished)", style="dim")
    label = str(run.verdict.label)
    text = Text(label, style=f"bold {VERDICT_COLORS.get(label, '')}")
    text.append(f": {run.verdict.reason}\n")
    text.append(f"hint: {run.verdict.hint}", style="italic")
    return text


def probe_block(run: RunRecord) -> Text:
    """The step probe's sentences and, once the run ended, which to believe where it disagrees with the probe
    (the report's words: :mod:`lrtui.plots.probe_text`); empty when no probe took real steps."""
    text = Text()
    said = probe_sentences(run)
    if said:
        text.append("step probe: ", style="bold")
        text.append(" ".join(said))
    belief = disagreement(run)
    if belief:
        text.append("\n" if said else "")
        text.append(belief, style="italic")
    return text


def class_cell(test: TestResult, name: str) -> Text:
    """A class as a row label: its number, and its name where the data give one (shown as text, never markup)."""
    return Text(plain_text(test.class_label(name)))


def confusion_table(test: TestResult) -> Table:
    """Rows are true classes (with their names, where the data give them), columns predicted ones; the diagonal
    (correct) in green."""
    matrix = test.confusion_matrix
    table = Table(
        title="confusion matrix (rows true, columns predicted)",
        title_justify="left",
        box=None,
        padding=(0, 1),
        pad_edge=False,
    )
    table.add_column("", style="bold", justify="right")
    for j in range(len(matrix)):
        table.add_column(str(j), justify="right", header_style="bold")
    for i, row in enumerate(matrix):
        cells = [Text(str(v), style="green" if i == j else ("red" if v else "dim")) for j, v in enumerate(row)]
        table.add_row(class_cell(test, str(i)), *cells)
    return table


def class_report_table(test: TestResult) -> Table:
    """scikit-learn's per-class precision / recall / F1 / support, then the averages."""
    table = Table(title="per-class report", title_justify="left", box=None, padding=(0, 1), pad_edge=False)
    for header in ("class", "precision", "recall", "f1", "support"):
        table.add_column(header, justify="right", header_style="bold")
    for name, row in test.scores.items():
        table.add_row(
            class_cell(test, name), f"{row.precision:.3f}", f"{row.recall:.3f}", f"{row.f1:.3f}", f"{row.support:.0f}"
        )
    if test.report_accuracy is not None:
        table.add_row("accuracy", "", "", f"{test.report_accuracy:.3f}", "")
    return table


def evaluation_block(run: RunRecord) -> RenderableType:
    """The test-set evaluation: accuracy and loss, confusion matrix, per-class report."""
    if not run.test:
        return Text("no test result yet" if not run.done else "no test result", style="dim")
    # a saved NaN/inf loss comes back as null
    head = Text(f"test accuracy {pct(run.test.accuracy)} · test loss {num(run.test.loss)}", style="bold")
    parts: list[RenderableType] = [head]
    if run.test.confusion_matrix:
        parts += [Text(""), confusion_table(run.test)]
    if run.test.scores or run.test.report_accuracy is not None:
        parts += [Text(""), class_report_table(run.test)]
    return Group(*parts)


class RunDetails(VerticalScroll):
    """The selected run, in full. ``show(None)`` explains how to pick one."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run_id: str | None = None  #: the run shown, so live updates only redraw when it changes

    def compose(self) -> ComposeResult:
        yield Static("Select a run in the table to see its details.", id="details-summary")
        yield Static("", id="details-verdict")
        yield Static("", id="details-probe")
        yield DigitStrip(id="details-digits")
        yield RenderedBlock("", id="details-test")

    def started(self, run: RunRecord) -> None:
        """The shown run has started: its summary line says so without laying out the screen
        (a layout takes ~100 ms of the UI thread while the training thread wants the GIL)."""
        if self.run_id == run.id:
            self.query_one("#details-summary", Static).update(summary(run), layout=False)

    def show(self, run: RunRecord | None) -> None:
        self.run_id = run.id if run else None
        # a run id from a session file may hold anything: a Text title is never read as markup
        self.border_title = Text(f"run {run.id} · lr {format_lr(run.config.lr)}") if run else "details"
        self.query_one("#details-summary", Static).update(
            summary(run) if run else "Select a run in the table to see its details."
        )
        self.query_one("#details-verdict", Static).update(verdict_block(run) if run else "")
        probe = probe_block(run) if run else Text()
        self.query_one("#details-probe", Static).update(probe)
        self.query_one("#details-probe", Static).display = bool(probe.plain)
        self.query_one(DigitStrip).show(run.test.samples if run and run.test else None)
        self.query_one(DigitStrip).display = bool(run and run.test)
        self.query_one("#details-test", RenderedBlock).update(evaluation_block(run) if run else "")
