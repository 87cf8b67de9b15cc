"""The report's per-run details: each run's epochs, what was measured inside the network, the step probe,
and the best run's test set in full."""

from __future__ import annotations

from lrtui.engine.probe_reading import step_text
from lrtui.engine.records import ProbeRecord
from lrtui.engine.trace_story import trace_sentence
from lrtui.plots.confidence import acc_text
from lrtui.plots.formatting import num, pct, sci, seconds
from lrtui.plots.probe_text import disagreement, probe_sentences
from lrtui.printable import plain_text
from lrtui.reports import figures
from lrtui.reports.blocks import Block, Heading, Para, Table, table_of
from lrtui.sessions.record import RunRecord

DIAG_COLUMNS = (
    "epoch",
    "ratio conv1",
    "ratio conv2",
    "ratio fc1",
    "ratio fc2",
    "grad norm",
    "dead conv1",
    "dead conv2",
    "dead fc1",
    "top class",
    "entropy",
)
#: Most step sizes (rows) and probes (columns) a probe table shows. A probe of 10,000 step sizes, or one
#: probe per epoch of a 1,000-epoch run, is read in the chart: the table shows an even sample and says so.
PROBE_ROWS, PROBE_COLUMNS = 40, 8


def _epoch_table(run: RunRecord) -> Table:
    rows = [
        (
            e.epoch,
            num(e.train_loss),
            pct(e.train_acc),
            num(e.val_loss),
            acc_text(e.val_acc, run.n_val),
            seconds(e.seconds),
        )
        for e in run.epochs
    ]
    return table_of(("epoch", "train loss", "train acc", "val loss", "val acc", "time"), rows)


def _diag_table(run: RunRecord) -> Table | None:
    rows = []
    for epoch, d in figures.diagnostics(run):
        v = figures.diag_value
        rows.append(
            (
                epoch,
                *(sci(v(d, "update_ratio", layer)) for layer in figures.UPDATE_LAYERS),
                num(v(d, "grad_norm"), 3),
                *(pct(v(d, "dead_fraction", layer)) for layer in figures.RELU_LAYERS),
                pct(v(d, "top_class_share")),
                num(v(d, "pred_entropy"), 3),
            )
        )
    return table_of(DIAG_COLUMNS, rows) if rows else None


def _lr_key(lr: float) -> str:
    """Step sizes equal to six significant digits are one row (each probe computes its grid anew)."""
    return f"{lr:.5e}"


def _spread(n: int, most: int) -> list[int]:
    """At most ``most`` of the indexes 0..n-1, evenly spaced, the first and the last among them."""
    if n <= most:
        return list(range(n))
    return sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})


def _shown_probes(run: RunRecord) -> list[ProbeRecord]:
    """The probes the table has a column for: all, or :data:`PROBE_COLUMNS` of them evenly spaced."""
    ps = figures.probes(run)
    return [ps[i] for i in _spread(len(ps), PROBE_COLUMNS)]


def _loss(x: float | None) -> str:
    """A probed loss: three decimals near the valley, three significant digits up the wall."""
    return num(x, 3) if x is None or abs(x) < 1000 else f"{x:.3g}"


def _probe_table(run: RunRecord) -> tuple[Table, str] | None:
    """Rows: step sizes η; columns: the probes (epoch 0 = before training); ◀ marks the run's lr.

    Linear in the probes' sizes (each probe's losses looked up by step size). At most
    :data:`PROBE_ROWS` rows, evenly spaced, plus the rows of the run's lr and of each probe's lowest
    loss, and :data:`PROBE_COLUMNS` probes; the second item says what was left out ("" if nothing).
    """
    every = figures.probes(run)
    if not every:
        return None
    ps = _shown_probes(run)
    grid: dict[str, float] = {}
    losses: list[dict[str, float | None]] = []
    for p in ps:
        by_lr: dict[str, float | None] = {}
        for eta, x in zip(p.lrs, p.losses):
            key = _lr_key(eta)
            grid.setdefault(key, eta)
            by_lr.setdefault(key, x)
        losses.append(by_lr)
    order = sorted(grid, key=grid.__getitem__)
    currents = {_lr_key(p.current_lr) for p in ps if p.current_lr is not None}
    lowest: set[str] = set()
    for d in losses:
        measured = {k: x for k, x in d.items() if x is not None}
        if measured:
            lowest.add(min(measured, key=measured.__getitem__))
    keep = {order[i] for i in _spread(len(order), PROBE_ROWS)} | (set(order) & (currents | lowest))
    rows = [
        (f"{step_text(grid[key])}{' ◀' if key in currents else ''}", *(_loss(d.get(key)) for d in losses))
        for key in order
        if key in keep
    ]
    headers = ("η", *("before training" if p.epoch == 0 else f"after epoch {p.epoch}" for p in ps))
    left_out = []
    if len(rows) < len(order):
        left_out.append(
            f"{len(rows)} of {len(order):,} step sizes (evenly spaced, with the run's lr and each probe's lowest loss)"
        )
    if len(ps) < len(every):
        left_out.append(f"{len(ps)} of {len(every):,} probes (evenly spaced, the first and the last)")
    note = f" The table shows {' and '.join(left_out)}." if left_out else ""
    return table_of(headers, rows), note


def _probe_summary(run: RunRecord) -> str:
    """Where the lowest loss of each probe in the table sits (the table has the values), what its real steps said,
    and, where the ended run disagrees with the probe, which to believe and why."""
    parts = []
    for p in _shown_probes(run):
        pairs = [(eta, x) for eta, x in zip(p.lrs, p.losses) if x is not None]
        if pairs:
            best_eta, best = min(pairs, key=lambda t: t[1])
            when = "before training" if p.epoch == 0 else f"after epoch {p.epoch}"
            parts.append(f"{when} {_loss(best)} at η={step_text(best_eta)}")
    said = " ".join(probe_sentences(run))  # what real steps said, before training and from the last weights
    lowest = f"Lowest loss: {'; '.join(parts)}." if parts else ""
    return " ".join(x for x in (lowest, said, disagreement(run) or "") if x)


def best_run_blocks(best: RunRecord) -> list[Block]:
    """Confusion matrix and per-class report of the best run on the test set."""
    test = best.test
    blocks: list[Block] = [
        Heading(f"Best run: {best.id} {best.config.label}"),
        Para(f"Test accuracy {pct(test.accuracy if test else None)}, test loss {num(test.loss if test else None)}."),
    ]
    if test is None:
        return blocks
    matrix = test.confusion_matrix
    what = "class" if best.config.data or test.class_names else "digit"
    if matrix:
        blocks.append(Heading(f"Confusion matrix (test set; rows = true {what}, columns = predicted)", 3))
        blocks.append(
            table_of(
                ("true \\ pred", *map(str, range(len(matrix)))),
                ([plain_text(test.class_label(i)), *row] for i, row in enumerate(matrix)),
            )
        )
    if test.scores or test.report_accuracy is not None:
        blocks.append(Heading("Classification report (test set)", 3))
        rows = [
            (
                plain_text(test.class_label(name)),
                num(v.precision, 3),
                num(v.recall, 3),
                num(v.f1, 3),
                f"{v.support:.0f}",
            )
            for name, v in test.scores.items()
        ]
        if test.report_accuracy is not None:
            rows.append(("accuracy", "", "", num(test.report_accuracy, 3), ""))
        blocks.append(table_of(("class", "precision", "recall", "f1-score", "support"), rows))
    return blocks


def run_blocks(run: RunRecord) -> list[Block]:
    """One run in detail: its epochs, then what was measured inside the network, then the probe."""
    blocks: list[Block] = [Heading(f"{run.id} {run.config.label}", 3)]
    blocks.append(_epoch_table(run) if run.epochs else Para(f"No epoch finished ({run.status})."))
    diag = _diag_table(run)
    if diag is not None:
        blocks += [Para("Diagnostics per epoch", small=True), diag]
    steps = trace_sentence(run.step_trace, run.config.optimizer)
    if steps:
        blocks.append(Para(f"Step by step: {steps}", small=True))
    probe = _probe_table(run)
    if probe is not None:
        probes, left_out = probe
        blocks += [
            Para(f"Step probe (loss after one step of size η). {_probe_summary(run)}{left_out}", small=True),
            probes,
        ]
    return blocks
