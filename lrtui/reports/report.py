"""Session reports: Markdown, one self-contained HTML file, and the session JSON.

Reports read the saved data (the session's RunRecords), never widgets, so the app's
``ctrl+s``, ``lrtui run --report`` and ``lrtui report`` write the same thing. The
content is built once as a list of blocks (:func:`build_blocks`); two small renderers
turn it into Markdown (charts as plain text, one letter per run, so it reads in a terminal
or a diff) or HTML (vector charts as inline SVG from :mod:`lrtui.reports.figures`, inline CSS, no
external assets: one file that travels).

Sessions that repeat settings over seeds get one row, one mean line and one min–max band per
setting (:mod:`lrtui.plots.grouping`) and a sentence on whether the best setting beats the others by more
than seed noise; grids over two or more settings get a comparison table coloured as a heatmap.

A report carries each run's whole setup, its verdict with reason and hint, the diagnostics
measured inside the network and the step probe, so it can be read without the session.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lrtui.engine.bands import ADAM, SGD
from lrtui.plots import terminal_charts as charts
from lrtui.plots.formatting import DASH, num, pct, run_cells, sci, seconds, verdict_text
from lrtui.plots.grouping import (
    SETTINGS,
    GridTable,
    SeedGroup,
    Summary,
    best_per_column,
    column_settings,
    common_settings_text,
    comparison_fields,
    differs_beyond_seed_noise,
    grid_table,
    has_seed_groups,
    noise_sentence,
    range_text,
    ranked,
    seed_groups,
    setting_cells,
    summary_text,
    time_shares,
    time_text,
    value_text,
)
from lrtui.reports import figures
from lrtui.reports.svg_charts import STATUS_HEX, VERDICT_HEX, heat_hex
from lrtui.sessions.outputs import write_json_safely, write_text_safely
from lrtui.sessions.record import RunRecord
from lrtui.sessions.store import Session

FORMATS: tuple[str, ...] = ("md", "html", "json")
_FILES = {"md": "report.md", "html": "report.html", "json": "session.json"}
#: Every file a report folder gets (checked before work by ``outputs.check_writable_dir``).
REPORT_FILES: tuple[str, ...] = tuple(_FILES.values())
CHART_WIDTH, CHART_HEIGHT = 100, 24

#: The results table (one row per run; with seeds, the Every run table after the folded one): these columns
#: around the settings that vary (:func:`lrtui.plots.grouping.column_settings`); the others are said above it.
RESULT_HEAD = ("run", "lr")
RESULT_TAIL = ("epochs", "best val acc", "last val acc", "test acc", "test loss", "verdict", "status", "duration",
               "samples/s")
SHARED_TIME_NOTE = ("~: a share of time: runs trained side by side (a stacked lr sweep) split the time they shared, "
                    "so the shares add up to about the sweep's wall time.")
#: The folded results table of a session with seeds: one row per setting.
GROUP_COLUMNS = ("setting", "runs", "seeds", "best val acc", "min–max", "last val acc", "test acc", "verdicts")
GROUP_NOTE = ("One row per setting: the mean over its seeds ± half the spread (spread = best − worst seed; "
              "min–max gives both ends). Each run has its own row under Every run.")
SEEDS_NOTE = ("The best setting against the next ones. A gap between two settings' mean best validation accuracy "
              "counts as real when it is larger than the seed spread (best − worst seed) of both: more than the "
              "seed alone moved either. ✓ real, ≈ within seed noise, ? too few seeds to tell. A rule of thumb for a "
              "few seeds, not a significance test.")
#: How many runners-up the Seeds section compares with the best setting.
NOISE_COMPARISONS = 3
#: Lead colours of the Seeds sentences: a real difference, within noise, cannot tell.
_NOISE_HEX = {True: VERDICT_HEX["converged"], False: VERDICT_HEX["too slow"], None: STATUS_HEX}
_NOISE_LEAD = {True: "✓", False: "≈", None: "?"}
#: The setup table: everything that decided a run, so a report can be reproduced.
SETUP_COLUMNS = ("run", "dataset", "train / val / test", "val split", "seed", "optimizer", "lr", "momentum",
                 "weight decay", "schedule", "warmup", "batch", "epochs", "device")
DIAG_COLUMNS = ("epoch", "ratio conv1", "ratio conv2", "ratio fc1", "ratio fc2", "grad norm", "dead conv1",
                "dead conv2", "dead fc1", "top class", "entropy")
DIAG_NOTE = (f"ratio: mean ‖Δw‖/‖w‖ per step (healthy {SGD.update_ratio.low:g} to {SGD.update_ratio.high:g} "
             f"for SGD, {ADAM.update_ratio.low:g} to {ADAM.update_ratio.high:g} for Adam-like optimizers); grad norm: gradient norm; dead: share of "
             "ReLU units never active on any validation image; top class: share of validation predictions in the "
             "most common class (10% = balanced, 100% = one answer for everything); entropy: mean predictive "
             "entropy (ln 10 = 2.30 = a uniform guess).")
#: Most step sizes (rows) and probes (columns) a probe table shows. A probe of 10,000 step sizes, or one
#: probe per epoch of a 1,000-epoch run, is read in the chart: the table shows an even sample and says so.
PROBE_ROWS, PROBE_COLUMNS = 40, 8
PROBE_NOTE = ("Loss on a fixed probe set after one step of size η along the run's next update, from the weights at "
              "each probe (epoch 0 = before training). Left of the valley the step is too short to matter; right "
              "of it the loss climbs the wall. ◀ marks the run's learning rate.")


# -- the report as blocks ----------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """Table cell text with an optional colour (``#rrggbb``, HTML only) and run swatch."""

    text: str
    color: str | None = None
    swatch: str | None = None  #: the run's chart colour, shown as a square before the text
    bg: str | None = None  #: HTML background (heatmap cells); the text stays dark ink
    bold: bool = False  #: the best of its column (bold in HTML, ``**`` in Markdown)


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str
    small: bool = False


@dataclass(frozen=True)
class Bullets:
    """Items of a list; each a lead (drawn in colour in HTML) and the text after it."""

    items: tuple[tuple[Cell, str], ...]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class Chart:
    """A chart: ``draw`` (a :mod:`lrtui.plots.terminal_charts` function) for Markdown text, ``svg`` for HTML; either may be absent."""

    title: str
    draw: Callable[..., None] | None = None
    runs: Sequence[RunRecord] = field(default_factory=tuple)
    svg: str | None = None
    caption: str = ""  #: HTML only: how to read the SVG
    md_note: str = ""  #: Markdown only: how to read the text chart


Block = Heading | Para | Bullets | Table | Chart


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    cells = tuple(tuple(c if isinstance(c, Cell) else Cell(str(c)) for c in row) for row in rows)
    return Table(tuple(headers), cells)


def verdict_hex(label: str) -> str:
    """HTML colour of a verdict label; statuses (cancelled, failed, ...) are grey."""
    return VERDICT_HEX.get(label, STATUS_HEX)


def result_columns(runs: Sequence[RunRecord]) -> tuple[str, ...]:
    """The results table's columns: a setting is one only when it varies between the runs."""
    return (*RESULT_HEAD, *(s.key for s in column_settings(r.config for r in runs)), *RESULT_TAIL)


def _results_note(runs: Sequence[RunRecord]) -> Para | None:
    """What every run shares (the settings that are no column), and how to read a shared time."""
    common = common_settings_text([r.config for r in runs])
    parts = [f"Every run: {common}." if common else "", SHARED_TIME_NOTE if time_shares(runs) else ""]
    text = " ".join(p for p in parts if p)
    return Para(text, small=True) if text else None


def _run_rows(runs: Sequence[RunRecord], columns: Sequence[str], setup: str | None = None) -> Table:
    """A table of runs. ``setup``: the session's device name; runs that used it show the device alone
    (the name is in the environment table), others name theirs."""
    rows = []
    shares = time_shares(runs)
    for run in runs:
        cells = {**run_cells(run), **setting_cells(run.config, SETTINGS), "duration": time_text(run, shares)}
        if setup is not None:
            cells["epochs"] = str(run.config.epochs)
            if not run.device_name or run.device_name == setup:
                cells["device"] = run.device or run.config.device
        row = []
        for c in columns:
            if c == "run":
                row.append(Cell(cells[c], swatch=figures.run_hex(run)))
            elif c == "verdict" or (c == "status" and cells[c] != "finished"):
                row.append(Cell(cells[c], verdict_hex(cells[c])))
            else:
                row.append(Cell(cells[c]))
        rows.append(row)
    return _table(columns, rows)


def _sentence(text: str) -> str:
    """Verdict reasons and hints are phrases (they also stand alone in tables): end them as sentences here."""
    text = " ".join(str(text).split())
    text = text[:1].upper() + text[1:]
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."


def _verdict_items(runs: Sequence[RunRecord]) -> Bullets:
    """Per run: the verdict with its reason and hint, and how the run ended when that matters."""
    items = []
    for run in runs:
        label = verdict_text(run)
        parts = []
        if run.status in ("cancelled", "interrupted") and run.verdict:
            parts.append(f"{run.status.capitalize()} after {len(run.epochs)} of {run.config.epochs} epochs; "
                         "judged on the epochs done.")
        elif run.status in ("cancelled", "interrupted", "failed", "running"):
            parts.append(f"{run.status.capitalize()} after {len(run.epochs)} of {run.config.epochs} epochs.")
        verdict = run.verdict or {}
        if verdict.get("reason"):
            parts.append(_sentence(verdict["reason"]))
        if verdict.get("hint"):
            parts.append(f"Hint: {_sentence(verdict['hint'])}")
        if run.diverged_at:
            parts.append(f"The loss became non-finite at epoch {run.diverged_at[0]}, batch {run.diverged_at[1]}.")
        if run.error:
            parts.append(_sentence(run.error))
        items.append((Cell(f"{run.id} {run.config.label}: {label}.", verdict_hex(label), figures.run_hex(run)),
                      " ".join(parts)))
    return Bullets(tuple(items))


def _epoch_table(run: RunRecord) -> Table:
    rows = [(e.get("epoch", DASH), num(e.get("train_loss")), pct(e.get("train_acc")), num(e.get("val_loss")),
             pct(e.get("val_acc")), seconds(e.get("seconds"))) for e in run.epochs]
    return _table(("epoch", "train loss", "train acc", "val loss", "val acc", "time"), rows)


def _diag_table(run: RunRecord) -> Table | None:
    rows = []
    for epoch, d in figures.diagnostics(run):
        v = figures.diag_value
        rows.append((epoch, *(sci(v(d, "update_ratio", layer)) for layer in figures.UPDATE_LAYERS),
                     num(v(d, "grad_norm"), 3), *(pct(v(d, "dead_fraction", layer)) for layer in figures.RELU_LAYERS),
                     pct(v(d, "top_class_share")), num(v(d, "pred_entropy"), 3)))
    return _table(DIAG_COLUMNS, rows) if rows else None


def _lr_key(lr: float) -> str:
    """Step sizes equal to six significant digits are one row (each probe computes its grid anew)."""
    return f"{lr:.5e}"


def _spread(n: int, most: int) -> list[int]:
    """At most ``most`` of the indexes 0..n-1, evenly spaced, the first and the last among them."""
    if n <= most:
        return list(range(n))
    return sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})


def _shown_probes(run: RunRecord) -> list[dict[str, Any]]:
    """The probes the table has a column for: all, or :data:`PROBE_COLUMNS` of them evenly spaced."""
    ps = figures.probes(run)
    return [ps[i] for i in _spread(len(ps), PROBE_COLUMNS)]


def _eta(lr: float) -> str:
    """A step size of the probe's log grid, to three significant digits."""
    return f"{lr:.3g}"


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
        for eta, x in zip(p["lrs"], p["losses"]):
            if eta is not None:
                key = _lr_key(eta)
                grid.setdefault(key, eta)
                by_lr.setdefault(key, x)
        losses.append(by_lr)
    order = sorted(grid, key=grid.__getitem__)
    currents = {_lr_key(p["current_lr"]) for p in ps if p["current_lr"] is not None}
    lowest: set[str] = set()
    for d in losses:
        measured = {k: x for k, x in d.items() if x is not None}
        if measured:
            lowest.add(min(measured, key=measured.__getitem__))
    keep = {order[i] for i in _spread(len(order), PROBE_ROWS)} | (set(order) & (currents | lowest))
    rows = [(f"{_eta(grid[key])}{' ◀' if key in currents else ''}", *(_loss(d.get(key)) for d in losses))
            for key in order if key in keep]
    headers = ("η", *("before training" if p["epoch"] == 0 else f"after epoch {p['epoch']}" for p in ps))
    left_out = []
    if len(rows) < len(order):
        left_out.append(f"{len(rows)} of {len(order):,} step sizes (evenly spaced, with the run's lr and each "
                        "probe's lowest loss)")
    if len(ps) < len(every):
        left_out.append(f"{len(ps)} of {len(every):,} probes (evenly spaced, the first and the last)")
    note = f" The table shows {' and '.join(left_out)}." if left_out else ""
    return _table(headers, rows), note


def _probe_summary(run: RunRecord) -> str:
    """Where the lowest loss of each probe in the table sits, in one line (the table has the values)."""
    parts = []
    for p in _shown_probes(run):
        pairs = [(eta, x) for eta, x in zip(p["lrs"], p["losses"]) if eta is not None and x is not None]
        if pairs:
            best_eta, best = min(pairs, key=lambda t: t[1])
            when = "before training" if p["epoch"] == 0 else f"after epoch {p['epoch']}"
            parts.append(f"{when} {_loss(best)} at η={_eta(best_eta)}")
    return f"Lowest loss: {'; '.join(parts)}." if parts else ""


def _best_run_blocks(best: RunRecord) -> list[Block]:
    """Confusion matrix and per-class report of the best run on the test set."""
    test = best.test or {}
    blocks: list[Block] = [Heading(f"Best run: {best.id} {best.config.label}"),
                           Para(f"Test accuracy {pct(test.get('accuracy'))}, test loss {num(test.get('loss'))}.")]
    matrix = test.get("confusion_matrix") or []
    if matrix:
        blocks.append(Heading("Confusion matrix (test set; rows = true digit, columns = predicted)", 3))
        blocks.append(_table(("true \\ pred", *map(str, range(len(matrix)))),
                             ([i, *row] for i, row in enumerate(matrix))))
    report = test.get("report") or {}
    if report:
        blocks.append(Heading("Classification report (test set)", 3))
        rows = [(name, num(v.get("precision"), 3), num(v.get("recall"), 3), num(v.get("f1-score"), 3),
                 f"{v.get('support', 0):.0f}") for name, v in report.items() if isinstance(v, dict)]
        if isinstance(report.get("accuracy"), (int, float)):
            rows.append(("accuracy", "", "", num(report["accuracy"], 3), ""))
        blocks.append(_table(("class", "precision", "recall", "f1-score", "support"), rows))
    return blocks


def _run_blocks(run: RunRecord) -> list[Block]:
    """One run in detail: its epochs, then what was measured inside the network, then the probe."""
    blocks: list[Block] = [Heading(f"{run.id} {run.config.label}", 3)]
    blocks.append(_epoch_table(run) if run.epochs else Para(f"No epoch finished ({run.status})."))
    diag = _diag_table(run)
    if diag is not None:
        blocks += [Para("Diagnostics per epoch", small=True), diag]
    probe = _probe_table(run)
    if probe is not None:
        table, left_out = probe
        blocks += [Para(f"Step probe (loss after one step of size η). {_probe_summary(run)}{left_out}", small=True),
                   table]
    return blocks


# -- seeds and grids ------------------------------------------------------------------------------
def _pm(s: Summary | None) -> str:
    return summary_text(s, DASH)


def _min_max(s: Summary | None) -> str:
    return range_text(s, DASH)


def _verdicts(group: SeedGroup) -> Cell:
    """``converged ×2`` when the seeds agree (in the verdict's colour), else each label once with its count."""
    counts: dict[str, int] = {}
    for run in group.runs:
        label = verdict_text(run)
        counts[label] = counts.get(label, 0) + 1
    text = ", ".join(label if n == 1 else f"{label} ×{n}" for label, n in counts.items())
    return Cell(text, verdict_hex(next(iter(counts))) if len(counts) == 1 else None)


def _group_rows(groups: Sequence[SeedGroup]) -> Table:
    rows = []
    for g in groups:
        rows.append((Cell(g.label, swatch=figures.group_hex(g)), ", ".join(g.ids), ", ".join(map(str, g.seeds)),
                     _pm(g.best_val), _min_max(g.best_val), _pm(g.summary("last_val_acc")),
                     _pm(g.summary("test_acc")), _verdicts(g)))
    return _table(GROUP_COLUMNS, rows)


def _curve_cell(mean: float | None, lo: float | None, hi: float | None, n: int) -> str:
    if mean is None:
        return DASH
    return pct(mean) if n < 2 or lo is None or hi is None else f"{pct(mean)} ({100 * lo:.1f}–{100 * hi:.1f})"


def _curve_table(groups: Sequence[SeedGroup]) -> Table | None:
    """Validation accuracy per epoch and setting, mean (min–max): the bands, in numbers (and in Markdown)."""
    epochs = sorted({e for g in groups for e in g.epochs})
    if not epochs:
        return None
    rows = []
    for g in groups:
        curve = g.curves["val_acc"]
        at = {e: i for i, e in enumerate(curve.epochs)}
        rows.append((Cell(g.label, swatch=figures.group_hex(g)),
                     *(_curve_cell(curve.mean[at[e]], curve.lo[at[e]], curve.hi[at[e]], len(g.runs)) if e in at
                       else DASH for e in epochs)))
    return _table(("setting", *(f"epoch {e}" for e in epochs)), rows)


def _seed_blocks(groups: Sequence[SeedGroup]) -> list[Block]:
    """Whether the best setting beats the next few by more than seed noise, and the bands in numbers."""
    blocks: list[Block] = [Heading("Seeds"), Para(SEEDS_NOTE, small=True)]
    order = ranked(groups)
    items = []
    for other in order[1: NOISE_COMPARISONS + 1]:
        verdict = differs_beyond_seed_noise(order[0], other)
        items.append((Cell(_NOISE_LEAD[verdict], _NOISE_HEX[verdict]), noise_sentence(order[0], other)))
    if items:
        blocks.append(Bullets(tuple(items)))
    table = _curve_table(groups)
    if table is not None:
        blocks += [Para("Validation accuracy per epoch: mean over seeds (lowest–highest seed).", small=True), table]
    return blocks


def _heat_table(table: GridTable) -> Table:
    """Rows and columns of the two settings; cells coloured from the table's worst to its best, the best row
    of each column in bold (the good lr of each optimizer)."""
    uneven = len(table.counts) > 1
    best_rows = {(table.best_row(j), j) for j in range(len(table.col_values))}
    rows = []
    for i, rv in enumerate(table.row_values):
        line = [Cell(value_text(table.rows_field, rv))]
        for j, _ in enumerate(table.col_values):
            cell = table.cells[i][j]
            t = table.fraction(i, j)
            text = pct(cell.mean) + (f" (n={cell.n})" if uneven and cell.ids else "")
            line.append(Cell(text if cell.ids else "", bg=heat_hex(t) if t is not None else None,
                             bold=(i, j) in best_rows))
        rows.append(tuple(line))
    headers = (f"{table.rows_field} \\ {table.cols_field}", *(value_text(table.cols_field, v) for v in table.col_values))
    return Table(headers, tuple(rows))


def _comparison_blocks(runs: Sequence[RunRecord]) -> list[Block]:
    """Best validation accuracy by the two settings that vary most (lr × optimizer in the usual grid)."""
    table = grid_table(runs)
    rows, cols = table.rows_field, table.cols_field
    per_cell = (f"{table.counts[0]} run(s) per cell" if len(table.counts) == 1
                else "n = runs with a value in the cell")
    names = ["seeds" if n == "seed" else n for n in table.averaged_over]
    over = f" ({', '.join(names)} averaged)" if names else ""
    span = table.value_range
    colours = (f" Colours go from the worst cell ({pct(span[0])}, red) to the best ({pct(span[1])}, green)."
               if span else "")
    blocks: list[Block] = [
        Heading("Comparison"),
        Para(f"Best validation accuracy by {rows} (rows) and {cols} (columns): the mean over each cell's runs"
             f"{over}; {per_cell}. Bold: the best {rows} of each {cols}.{colours}", small=True),
        _heat_table(table),
    ]
    winners = best_per_column(table)
    if winners:
        parts = [f"{value_text(cols, cv)} {value_text(rows, rv)} ({pct(mean)})" for cv, rv, mean in winners]
        blocks.append(Para(f"Best {rows} per {cols}: {'; '.join(parts)}."))
    return blocks


_LETTERS_NOTE = "Each run has its letter: upper case for validation, lower case for training."


def build_blocks(session: Session) -> list[Block]:
    """The whole report's content, independent of the output format."""
    runs = [r for r in session.runs if r.status != "queued"]
    env = session.environment
    has_diag = any(figures.diagnostics(r) for r in runs)
    has_probe = any(figures.probes(r) for r in runs)
    groups = seed_groups(runs)
    seeded = has_seed_groups(groups)
    blocks: list[Block] = [
        Heading(f"lrtui session {session.path.name}", 1),
        Para(f"Created {session.date}, last saved "
             f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(session.updated))}; {len(runs)} run(s)."),
        Heading("Results"),
    ]
    note = _results_note(runs)
    if seeded:
        blocks.append(Para(GROUP_NOTE, small=True))
    elif note is not None:
        blocks.append(note)
    blocks.append(_group_rows(groups) if seeded else _run_rows(runs, result_columns(runs)))
    if comparison_fields(runs) is not None:
        blocks += _comparison_blocks(runs)
    if seeded:
        blocks += [*_seed_blocks(groups), Heading("Every run"), *([note] if note else []),
                   _run_rows(runs, result_columns(runs))]
    accuracy_svg = figures.seed_accuracy_svg(groups) if seeded else figures.accuracy_svg(runs)
    loss_svg = figures.seed_loss_svg(groups) if seeded else figures.loss_svg(runs)
    band = (" One line per setting: the mean over its seeds; the shaded band spans its lowest to its highest seed "
            "(validation)." if seeded else "")
    blocks += [
        Heading("Verdicts"),
        _verdict_items(runs),
        Heading("Setup"),
        _run_rows(runs, SETUP_COLUMNS, setup=str(env.get("device_name") or "")),
        _table(("lrtui", "python", "torch", "CUDA", "device", "device name"),
               [[env.get(k) or DASH for k in ("lrtui", "python", "torch", "cuda", "device", "device_name")]]),
        Heading("Charts"),
        Chart("Accuracy per epoch", charts.plot_accuracy, runs, accuracy_svg,
              caption="Validation solid, training dashed; the dotted line is chance (10%, ten classes)." + band,
              md_note=_LETTERS_NOTE),
        Chart("Loss per epoch", charts.plot_loss, runs, loss_svg,
              caption="Validation solid, training dashed; the dotted line is ln 10 = 2.30, the loss of a uniform "
                      "guess over ten classes." + band, md_note=_LETTERS_NOTE),
        Chart("Training loss per batch (smoothed)", charts.plot_batch_loss, runs, figures.batch_loss_svg(runs),
              caption="Exponential moving average (β = 0.9) of each batch's loss."),
    ]
    if has_diag:
        blocks += [
            Heading("Inside the network"),
            Para(DIAG_NOTE, small=True),
            Chart("Update-to-weight ratio per step, per layer (log scale)", svg=figures.update_ratio_svg(runs),
                  caption="Steps far below the band barely move the weights (too slow); far above it they "
                          "overshoot and can kill ReLUs for good."),
            Chart("Dead ReLU units and prediction collapse", svg=figures.dead_fraction_svg(runs),
                  caption="A layer whose units never fire passes no gradient back: the network answers one "
                          "class for everything and its loss sits at ln 10."),
        ]
    if has_probe:
        blocks += [Heading("Step probe"), Para(PROBE_NOTE, small=True),
                   Chart("Loss after one step of size η (log–log)", svg=figures.probe_svg(runs))]
    blocks.append(Heading("Per-run details"))
    for run in runs:
        blocks += _run_blocks(run)
    best = session.best
    if best is not None and best.test:
        blocks += _best_run_blocks(best)
    return blocks


# -- renderers ---------------------------------------------------------------------------------
def _md_escape(text: str) -> str:
    """Table cells: a pipe would end the cell, a newline the row."""
    return " ".join(text.split("\n")).replace("|", "\\|")


def _md_cell(c: Cell) -> str:
    text = _md_escape(c.text)
    return f"**{text}**" if c.bold and text else text


def _md_text(text: str) -> str:
    """Free text from a user or a file (ids, error messages) on one Markdown line."""
    return " ".join(text.split())


def to_markdown(blocks: Sequence[Block]) -> str:
    """Markdown with charts as colourless text in fenced blocks (each run drawn with its own letter)."""
    out: list[str] = []
    for b in blocks:
        if isinstance(b, Heading):
            out.append(f"{'#' * b.level} {_md_text(b.text)}")
        elif isinstance(b, Para):
            out.append(f"*{_md_text(b.text)}*" if b.small else _md_text(b.text))
        elif isinstance(b, Bullets):
            out.append("\n".join(f"- {_md_text(lead.text)} {_md_text(text)}".rstrip() for lead, text in b.items))
        elif isinstance(b, Table):
            lines = ["| " + " | ".join(_md_escape(h) for h in b.headers) + " |", "|" + "---|" * len(b.headers)]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in b.rows]
            out.append("\n".join(lines))
        elif isinstance(b, Chart) and b.draw is not None:
            text = charts.render(b.draw, b.runs, width=CHART_WIDTH, height=CHART_HEIGHT, color=False)
            note = f"\n\n*{b.md_note}*" if b.md_note else ""
            out.append(f"**{b.title}**{note}\n\n```text\n{text}\n```")
    return "\n\n".join(out) + "\n"


_CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; margin: 0; color: var(--ink);
       background: #fff; line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 28px 28px 60px; }
h1 { font-size: 1.75em; margin: 0 0 4px; }
h2 { font-size: 1.3em; margin: 2em 0 0.6em; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05em; margin: 1.6em 0 0.5em; }
p { margin: 0.4em 0 0.8em; }
p.small, figcaption { color: var(--muted); font-size: 0.88em; }
.sub { color: var(--muted); margin-bottom: 1.2em; }
.scroll { overflow-x: auto; margin: 0.4em 0 1.2em; }
table { border-collapse: collapse; font-size: 0.86em; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 9px; text-align: right; white-space: nowrap; }
th { white-space: normal; vertical-align: bottom; }
td:last-child { white-space: normal; }
th { background: var(--soft); font-weight: 600; color: var(--muted); border-top: 1px solid var(--line); }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td:first-child, th:first-child { text-align: left; }
.tag { font-weight: 600; }
.sw { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 2px; margin-right: 6px;
      vertical-align: -0.05em; }
ul.verdicts { list-style: none; padding: 0; margin: 0.4em 0 1em; }
ul.verdicts li { padding: 7px 0 7px 12px; border-left: 3px solid var(--line); margin-bottom: 6px; }
figure { margin: 0.6em 0 1.8em; }
figure h3 { margin: 0 0 0.4em; }
svg.chart { width: 100%; height: auto; display: block; }
td.heat { color: var(--ink); text-align: center; min-width: 7em; padding: 8px 14px; font-size: 1.08em; }
pre.chart { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 0.8em; line-height: 1.15;
            overflow-x: auto; }
"""


def _cell_html(c: Cell, tag: str = "td") -> str:
    e = html.escape
    swatch = f'<span class="sw" style="background:{e(c.swatch)}"></span>' if c.swatch else ""
    if c.bg or c.bold:
        style = (f"background:{e(c.bg)};" if c.bg else "") + ("font-weight:700;" if c.bold else "")
        return f'<{tag} class="heat" style="{style}">{swatch}{e(c.text)}</{tag}>'
    if c.color:
        return f'<{tag} class="tag" style="color:{e(c.color)}">{swatch}{e(c.text)}</{tag}>'
    return f"<{tag}>{swatch}{e(c.text)}</{tag}>"


def _text_chart_html(chart: Chart) -> str:
    """A chart without SVG: the plain text one, kept readable in a fixed-width block."""
    assert chart.draw is not None
    text = charts.render(chart.draw, chart.runs, width=CHART_WIDTH, height=CHART_HEIGHT, color=False)
    return f'<pre class="chart">{html.escape(text)}</pre>'


def to_html(blocks: Sequence[Block]) -> str:
    """One self-contained HTML page: inline CSS, inline SVG charts, no network references."""
    e = html.escape
    body: list[str] = []
    title = next((b.text for b in blocks if isinstance(b, Heading)), "lrtui report")
    first_para = True
    for b in blocks:
        if isinstance(b, Heading):
            body.append(f"<h{b.level}>{e(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            cls = ' class="small"' if b.small else (' class="sub"' if first_para else "")
            first_para = False
            body.append(f"<p{cls}>{e(b.text)}</p>")
        elif isinstance(b, Bullets):
            items = "".join(f'<li style="border-left-color:{e(lead.color or STATUS_HEX)}">{_cell_html(lead, "span")} '
                            f"{e(text)}</li>" for lead, text in b.items)
            body.append(f'<ul class="verdicts">{items}</ul>')
        elif isinstance(b, Table):
            head = "".join(f"<th>{e(h)}</th>" for h in b.headers)
            rows = "".join("<tr>" + "".join(_cell_html(c) for c in row) + "</tr>" for row in b.rows)
            body.append(f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody>'
                        "</table></div>")
        elif isinstance(b, Chart):
            if b.svg is None and b.draw is None:
                continue
            drawing = b.svg if b.svg is not None else _text_chart_html(b)
            caption = f"<figcaption>{e(b.caption)}</figcaption>" if b.caption else ""
            body.append(f"<figure><h3>{e(b.title)}</h3>\n{drawing}\n{caption}</figure>")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{e(title)}</title>\n'
            f"<style>{_CSS}</style>\n</head>\n<body>\n<main>\n" + "\n".join(body) + "\n</main>\n</body>\n</html>\n")


def write_reports(session: Session, out_dir: str | Path | None = None,
                  formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write the chosen formats into ``out_dir`` (default: the session folder); return the paths."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format {unknown[0]!r}: choose from {', '.join(FORMATS)}")
    out = Path(out_dir) if out_dir is not None else session.path
    out.mkdir(parents=True, exist_ok=True)
    blocks = build_blocks(session) if {"md", "html"} & set(formats) else []
    written = []
    for fmt in dict.fromkeys(formats):
        path = out / _FILES[fmt]
        if fmt == "json":
            write_json_safely(path, session.to_dict())
        else:
            write_text_safely(path, to_markdown(blocks) if fmt == "md" else to_html(blocks))
        written.append(path)
    return written
