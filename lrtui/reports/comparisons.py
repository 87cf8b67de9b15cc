"""The report's sections that compare settings: one row per seed group, the Seeds section, the grid Comparison.

Sessions that repeat settings over seeds get one row, one mean line and one min–max band per
setting (:mod:`lrtui.plots.grouping`); grids over two or more settings get a comparison table
coloured as a heatmap.
"""

from __future__ import annotations

from collections.abc import Sequence

from lrtui.plots.confidence import comparison_sentences, resolved
from lrtui.plots.formatting import DASH, pct, verdict_text
from lrtui.plots.grouping import (
    GridTable,
    SeedGroup,
    Summary,
    best_per_column,
    grid_table,
    range_text,
    ranked,
    summary_text,
    value_text,
)
from lrtui.reports import figures
from lrtui.reports.blocks import Block, Bullets, Cell, Heading, Para, Table, table_of, verdict_hex
from lrtui.reports.colors import STATUS_HEX, VERDICT_HEX, heat_hex
from lrtui.sessions.record import RunRecord

#: The folded results table of a session with seeds: one row per setting.
GROUP_COLUMNS = ("setting", "runs", "seeds", "best val acc", "min–max", "last val acc", "test acc", "verdicts")
GROUP_NOTE = (
    "One row per setting: the mean over its seeds ± half the spread (spread = best − worst seed; "
    "min–max gives both ends). Each run has its own row under Every run."
)
SEEDS_NOTE = (
    "The best setting against the next ones, their runs paired by seed: the difference of their best "
    "validation accuracies on each seed both ran (the best epoch's, an optimistic pick for both), then the "
    "mean difference with its 95% interval (Student t). ✓ resolved: the interval leaves out 0. ? not "
    "resolved: the interval holds 0, or fewer than two seeds pair them — run more seeds before naming a "
    "winner."
)
#: How many runners-up the Seeds section compares with the best setting.
COMPARISONS = 3
#: Lead and colour of the Seeds sentences: resolved, not resolved, no interval (fewer than two paired seeds).
_LEAD = {True: ("✓", VERDICT_HEX["converged"]), False: ("?", VERDICT_HEX["too slow"]), None: ("?", STATUS_HEX)}


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


def group_rows(groups: Sequence[SeedGroup]) -> Table:
    rows = []
    for g in groups:
        rows.append(
            (
                Cell(g.label, swatch=figures.group_hex(g)),
                ", ".join(g.ids),
                ", ".join(map(str, g.seeds)),
                _pm(g.best_val),
                _min_max(g.best_val),
                _pm(g.summary("last_val_acc")),
                _pm(g.summary("test_acc")),
                _verdicts(g),
            )
        )
    return table_of(GROUP_COLUMNS, rows)


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
        rows.append(
            (
                Cell(g.label, swatch=figures.group_hex(g)),
                *(
                    _curve_cell(curve.mean[at[e]], curve.lo[at[e]], curve.hi[at[e]], len(g.runs)) if e in at else DASH
                    for e in epochs
                ),
            )
        )
    return table_of(("setting", *(f"epoch {e}" for e in epochs)), rows)


def seed_blocks(groups: Sequence[SeedGroup]) -> list[Block]:
    """Whether the best setting beats the next few, paired by seed, and the bands in numbers."""
    blocks: list[Block] = [Heading("Seeds"), Para(SEEDS_NOTE, small=True)]
    order = ranked(groups)
    items = [
        (Cell(*_LEAD[resolved(order[0], other)]), sentence)
        for other, sentence in comparison_sentences(groups, COMPARISONS)
    ]
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
            line.append(
                Cell(text if cell.ids else "", bg=heat_hex(t) if t is not None else None, bold=(i, j) in best_rows)
            )
        rows.append(tuple(line))
    headers = (
        f"{table.rows_field} \\ {table.cols_field}",
        *(value_text(table.cols_field, v) for v in table.col_values),
    )
    return Table(headers, tuple(rows))


def comparison_blocks(runs: Sequence[RunRecord]) -> list[Block]:
    """Best validation accuracy by the two settings that vary most (lr × optimizer in the usual grid)."""
    table = grid_table(runs)
    rows, cols = table.rows_field, table.cols_field
    per_cell = f"{table.counts[0]} run(s) per cell" if len(table.counts) == 1 else "n = runs with a value in the cell"
    names = ["seeds" if n == "seed" else n for n in table.averaged_over]
    over = f" ({', '.join(names)} averaged)" if names else ""
    span = table.value_range
    colours = (
        f" Colours go from the worst cell ({pct(span[0])}, red) to the best ({pct(span[1])}, green)." if span else ""
    )
    blocks: list[Block] = [
        Heading("Comparison"),
        Para(
            f"Best validation accuracy (the best epoch's: an optimistic pick) by {rows} (rows) and {cols} (columns): "
            f"the mean over each cell's runs"
            f"{over}; {per_cell}. Bold: the best {rows} of each {cols}.{colours}",
            small=True,
        ),
        _heat_table(table),
    ]
    winners = best_per_column(table)
    if winners:
        parts = [f"{value_text(cols, cv)} {value_text(rows, rv)} ({pct(mean)})" for cv, rv, mean in winners]
        blocks.append(Para(f"Best {rows} per {cols}: {'; '.join(parts)}."))
    return blocks
