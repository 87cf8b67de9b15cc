"""Runs grouped for comparison: seeds folded into one setting, and grids pivoted over two settings.

A grid (``--optimizer sgd,adam --lr 0.01,0.1 --seed 0,1,2``) is many runs; reading it means
asking two questions, and this module answers both from the saved :class:`~lrtui.sessions.record.RunRecord` s:

* *Is this difference real?* Runs that differ only in ``seed`` are one :class:`SeedGroup`: a mean
  curve with a min–max band, and a best validation accuracy as mean ± spread. Whether one setting
  beats another is :mod:`lrtui.plots.confidence`'s question (their runs paired by seed).
  Only distinct seeds with a finished epoch each make a group: a repeat of a seed is another run of
  the same thing (not a second sample of seed noise), and a run with no epoch has nothing to add.
* *Which setting wins where?* :func:`grid_table` pivots any two settings (lr × optimizer by default)
  into a table of mean best validation accuracy, so "each optimizer has its own good learning rate"
  reads at a glance.

Pure Python (no torch, textual or rich): the reports and the terminal UI share it.

Choices, so every front end says the same thing:

* **Spread** is ``max − min`` over the seeds (not a standard deviation): with the 2–5 seeds a grid
  affords, a standard deviation is itself noisy, and the range is exactly what the band draws. It
  describes the seeds; it is no test of a difference (:mod:`lrtui.plots.confidence` pairs them).
* **Ragged runs** (a seed cancelled, diverged or still running): a group's curves cover only the epochs
  *every* run of the group reached, so each point's mean and band are over the same seeds. A missing
  value at such an epoch (a non-finite loss is stored as null) makes that point missing too: the
  mean of a diverged seed and a healthy one is not a number.
* **Summaries** (best / last validation accuracy, test accuracy) are over the runs that have the value;
  :attr:`Summary.n` says how many.

It also decides, for every runs table (the app's, ``lrtui run``'s, the reports'), which settings are
columns (:func:`column_settings`: those that vary) and how the time of runs trained side by side is
split between them (:func:`time_shares`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from lrtui.engine.config import GRID_FIELDS, NOT_SETTINGS, RunConfig, format_lr, varying_fields
from lrtui.engine.numbers import as_float
from lrtui.plots.formatting import dataset_text, model_text, seconds
from lrtui.sessions.record import RunRecord

#: Per-epoch metrics a group averages (keys of a run's ``epochs`` entries).
METRICS: tuple[str, ...] = ("val_acc", "train_acc", "val_loss", "train_loss")
#: Run values a :func:`grid_table` can show (properties of RunRecord).
GRID_VALUES: tuple[str, ...] = ("best_val_acc", "last_val_acc", "test_acc")
#: Short names for settings shown in a group's label (the rest use their field name).
SHORT_NAMES: dict[str, str] = {
    "batch_size": "batch",
    "weight_decay": "wd",
    "val_fraction": "val",
    "train_limit": "limit",
}
#: Settings :attr:`RunConfig.label` already shows (never repeated in a group label).
_IN_LABEL = frozenset({"lr", "optimizer", "schedule", "warmup", "seed"})


def _mean(values: Sequence[float]) -> float:
    """The mean of finite numbers without overflow (two losses of 1e308 sum to inf): huge ones are scaled down."""
    top = max(abs(v) for v in values)
    scale = top if top > 1e300 else 1.0
    return math.fsum(v / scale for v in values) / len(values) * scale


# -- summaries -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """Mean, lowest and highest of some numbers (fractions for accuracies), and how many there were."""

    mean: float
    lo: float
    hi: float
    n: int

    @property
    def spread(self) -> float:
        """``max − min``: the width of the band (0 for a single value)."""
        return self.hi - self.lo


def summarize(values: Iterable[float | None]) -> Summary | None:
    """Summary of the finite values, or None when there are none."""
    kept = [v for v in map(as_float, values) if v is not None]
    if not kept:
        return None
    return Summary(_mean(kept), min(kept), max(kept), len(kept))


def summary_text(s: Summary | None, missing: str = "—") -> str:
    """An accuracy summary as a table cell: ``91.2% ± 0.4`` (mean ± half the spread, in points); one value alone."""
    if s is None:
        return missing
    return f"{100 * s.mean:.1f}%" if s.n < 2 else f"{100 * s.mean:.1f}% ± {50 * s.spread:.1f}"


def range_text(s: Summary | None, missing: str = "—") -> str:
    """Both ends of an accuracy summary: ``90.8–91.6%`` (``missing`` for fewer than two values)."""
    return missing if s is None or s.n < 2 else f"{100 * s.lo:.1f}–{100 * s.hi:.1f}%"


@dataclass(frozen=True)
class Curve:
    """One metric of a group per epoch: the mean and the min–max band (None where a point is missing)."""

    epochs: tuple[int, ...]
    mean: tuple[float | None, ...]
    lo: tuple[float | None, ...]
    hi: tuple[float | None, ...]


# -- seed groups ---------------------------------------------------------------------------------
def group_key(config: RunConfig) -> tuple[tuple[str, Any], ...]:
    """Every setting of a config except the seed: runs with equal keys are repeats of one setting."""
    return tuple((f.name, getattr(config, f.name)) for f in fields(RunConfig) if f.name not in ("seed", *NOT_SETTINGS))


def _setting_text(name: str, value: Any) -> str:
    shown = format_lr(value) if isinstance(value, float) else str(value)
    return f"{SHORT_NAMES.get(name, name)}={shown}"


def setting_label(config: RunConfig, varying: Sequence[str] = ()) -> str:
    """The config's label plus the ``varying`` settings it does not show: ``lr=0.1 sgd batch=32``.

    Never names the seed: this labels a setting, whatever seeds repeat it.
    """
    extra = [_setting_text(n, getattr(config, n)) for n in varying if n not in _IN_LABEL]
    return " ".join([config.label, *extra])


@dataclass(frozen=True)
class SeedGroup:
    """The runs of one setting, one per seed (a single run is a group of one)."""

    key: tuple[tuple[str, Any], ...]  #: :func:`group_key` of its runs
    runs: tuple[RunRecord, ...]  #: in session order
    label: str  #: :func:`setting_label` with the settings that vary across the whole session
    epochs: tuple[int, ...]  #: the epochs every run reached (see the module notes on ragged runs)
    curves: dict[str, Curve]  #: per metric of :data:`METRICS`

    @property
    def config(self) -> RunConfig:
        """The setting (its first run's config; the seed is that run's)."""
        return self.runs[0].config

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(r.config.seed for r in self.runs)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.runs)

    def summary(self, value: str = "best_val_acc") -> Summary | None:
        """A run value (``best_val_acc``, ``last_val_acc``, ``test_acc``) over the runs that have it."""
        return summarize(getattr(r, value) for r in self.runs)

    @property
    def best_val(self) -> Summary | None:
        """Best validation accuracy (a fraction) over the seeds: mean, min, max, count."""
        return self.summary("best_val_acc")


def _curve(runs: Sequence[RunRecord], key: str, epochs: Sequence[int]) -> Curve:
    mean: list[float | None] = []
    lo: list[float | None] = []
    hi: list[float | None] = []
    for i in range(len(epochs)):
        values: list[float | None] = [getattr(r.epochs[i], key) for r in runs]  # key: a field of EpochRecord
        ok = [v for v in values if v is not None]
        if len(ok) < len(values) or not ok:
            mean.append(None)
            lo.append(None)
            hi.append(None)
        else:
            mean.append(_mean(ok))
            lo.append(min(ok))
            hi.append(max(ok))
    return Curve(tuple(epochs), tuple(mean), tuple(lo), tuple(hi))


def _common_epochs(runs: Sequence[RunRecord]) -> tuple[int, ...]:
    """Epoch numbers of the common prefix: the i-th entry of every run, when all agree on its number."""
    out: list[int] = []
    for i in range(min(len(r.epochs) for r in runs)):
        numbers = {r.epochs[i].epoch for r in runs}
        if len(numbers) != 1:
            break
        out.append(numbers.pop())
    return tuple(out)


def make_group(runs: Sequence[RunRecord], varying: Sequence[str] = ()) -> SeedGroup:
    """One group of runs of the same setting (not checked: :func:`seed_groups` decides who belongs)."""
    if not runs:
        raise ValueError("a seed group needs at least one run")
    epochs = _common_epochs(runs)
    return SeedGroup(
        group_key(runs[0].config),
        tuple(runs),
        setting_label(runs[0].config, varying),
        epochs,
        {m: _curve(runs, m, epochs) for m in METRICS},
    )


def seed_groups(runs: Sequence[RunRecord]) -> list[SeedGroup]:
    """Runs that differ only in ``seed`` as one group each, in the order of each group's first run.

    A group holds distinct seeds, each run with at least one finished epoch: a run that repeats a
    seed already in its setting's group, or has no epoch yet (queued, cancelled or failed before
    one), is a group of its own. Labels name the settings that vary across all of ``runs``
    (``varying_fields``), so two settings never read the same.
    """
    varying = varying_fields([r.config for r in runs])
    members: list[list[RunRecord]] = []
    taking: dict[tuple[tuple[str, Any], ...], list[RunRecord]] = {}  #: per setting, the group that takes seeds
    for run in runs:
        group = taking.get(group_key(run.config)) if run.epochs else None
        if group is not None and all(r.config.seed != run.config.seed for r in group):
            group.append(run)
            continue
        members.append([run])
        if run.epochs:
            taking.setdefault(group_key(run.config), members[-1])
    return [make_group(m, varying) for m in members]


def has_seed_groups(groups: Sequence[SeedGroup]) -> bool:
    """Whether any setting was repeated with another seed (else grouping changes nothing)."""
    return any(len(g.runs) > 1 for g in groups)


# -- ranking -------------------------------------------------------------------------------------
def ranked(groups: Sequence[SeedGroup]) -> list[SeedGroup]:
    """Groups with a best validation accuracy, best mean first (ties keep session order)."""
    scored = [(g, s.mean) for g in groups if (s := g.best_val) is not None]
    return [g for g, _ in sorted(scored, key=lambda t: -t[1])]


def best_setting(runs: Sequence[RunRecord]) -> SeedGroup | None:
    """The best setting of these runs: the first of :func:`ranked` seed groups, as the reports' Seeds section
    compares it (``lrtui sessions`` says its lr). None while no run has a validation accuracy."""
    order = ranked(seed_groups(runs)) if runs else []
    return order[0] if order else None


# -- runs tables: which settings are columns, and shared time ---------------------------------------
@dataclass(frozen=True)
class Setting:
    """A setting a runs table shows as a column of its own when it varies between the runs."""

    key: str  #: the column's key (a :func:`~lrtui.plots.formatting.run_cells` key where it has one) and long header
    short: str  #: the header in the app's narrow table
    fields: tuple[str, ...]  #: the :class:`RunConfig` fields it shows
    text: Callable[[RunConfig], str]  #: the cell


#: Every setting a table may need besides the lr and the epochs (which every runs table shows), in grid order.
SETTINGS: tuple[Setting, ...] = (
    Setting("optimizer", "optim", ("optimizer",), lambda c: c.optimizer),
    Setting("momentum", "mom", ("momentum",), lambda c: f"{c.momentum:g}"),
    Setting("weight decay", "wd", ("weight_decay",), lambda c: f"{c.weight_decay:g}"),
    Setting("schedule", "sched", ("schedule",), lambda c: c.schedule),
    Setting("warmup", "warm", ("warmup",), lambda c: str(c.warmup)),
    Setting("batch", "batch", ("batch_size",), lambda c: str(c.batch_size)),
    Setting("model", "model", ("model",), model_text),  # by its factory: a queued run is not built (named) yet
    Setting("dataset", "data", ("dataset", "train_limit"), dataset_text),
    Setting("val split", "split", ("val_fraction",), lambda c: f"{c.val_fraction:g}"),
    Setting("seed", "seed", ("seed",), lambda c: str(c.seed)),
)
#: Said of the common settings only when not at these defaults (sgd, batch and seed are always said).
_UNSAID = {
    "momentum": "0",
    "weight decay": "0",
    "schedule": "constant",
    "warmup": "0",
    "val split": "0.2",
    "model": model_text(RunConfig()),
}


def column_settings(configs: Iterable[RunConfig]) -> tuple[Setting, ...]:
    """The settings a runs table shows as columns: those whose values differ between ``configs``.

    The one place that decides it for the app, ``lrtui run`` and the reports; a setting every run
    shares is said once beside the table (:func:`common_settings_text`) instead.
    """
    varying = set(varying_fields(list(configs)))
    return tuple(s for s in SETTINGS if varying.intersection(s.fields))


def setting_cells(config: RunConfig, settings: Iterable[Setting]) -> dict[str, str]:
    """The cells of these settings for one run (keyed like :func:`~lrtui.plots.formatting.run_cells`)."""
    return {s.key: s.text(config) for s in settings}


def common_settings_text(configs: Sequence[RunConfig]) -> str:
    """The settings every run shares, once: ``sgd · batch 10 · mnist-5k · seed 0`` (momentum, weight decay,
    schedule, warmup and the validation split only when not at their defaults). Empty for no runs."""
    if not configs:
        return ""
    shown = set(column_settings(configs))
    parts = []
    for s in SETTINGS:
        if s in shown:
            continue
        value = s.text(configs[0])
        if _UNSAID.get(s.key) == value:
            continue
        parts.append(value if s.key in ("optimizer", "schedule", "dataset", "model") else f"{s.key} {value}")
    return " · ".join(parts)


#: Runs whose common time is at least this share of the longest of their spans trained together (one stack).
_TOGETHER = 0.8


def _overlap_clusters(spans: list[tuple[float, float, RunRecord]]) -> list[list[tuple[float, float, RunRecord]]]:
    """Spans (sorted by start) in groups that overlap in a chain; a span alone is a group of its own."""
    clusters: list[list[tuple[float, float, RunRecord]]] = []
    reach = -math.inf
    for span in spans:
        if span[0] < reach:
            clusters[-1].append(span)
        else:
            clusters.append([span])
        reach = max(reach, span[1]) if span[0] < reach else span[1]
    return clusters


def time_shares(runs: Sequence[RunRecord], now: float | None = None) -> dict[str, float]:
    """The share of training time of each ended run that trained while others did, by run id.

    A stacked lr sweep trains its runs as one model, so each run's clock (``duration_s``) reads the
    whole stack's time. Here a run's share is its ``duration_s`` times the mean, over its start–end
    span, of 1 / (runs training at that moment): K runs side by side get about a K-th each. Runs that
    trained together (a stack: they started and ended together, their common time is most of each
    span) split the longest clock among them in those proportions, so their shares add up to the
    stack's time (and a sum of them, as a
    folded row shows, means what it says). An estimate, shown with ``~``: the engine reports no finer
    split. Runs that trained alone, and runs without both ends recorded, are left out: their time is
    their own. A run still training counts as training until ``now``.
    """
    now = time.time() if now is None else now
    spans: list[tuple[float, float, RunRecord]] = []
    for r in runs:
        if r.started_at is None or (r.ended_at is None and r.status != "running"):
            continue
        end = r.ended_at if r.ended_at is not None else now
        if end > r.started_at and all(map(math.isfinite, (r.started_at, end, end - r.started_at))):
            spans.append((r.started_at, end, r))
    spans.sort(key=lambda t: t[0])
    shares: dict[str, float] = {}
    for cluster in _overlap_clusters(spans):
        if len(cluster) < 2:
            continue
        raw: dict[str, float] = {}
        for start, end, run in cluster:
            others = [(lo, hi) for lo, hi, other in cluster if other is not run and lo < end and hi > start]
            cuts = sorted({start, end, *(t for span in others for t in span if start < t < end)})
            alone = 0.0  #: the span's length, each moment divided by the runs training then
            for a, b in zip(cuts, cuts[1:]):
                mid = (a + b) / 2
                alone += (b - a) / (1 + sum(1 for lo, hi in others if lo <= mid < hi))
            raw[run.id] = run.duration_s * alone / (end - start)
        ended = [run for _, _, run in cluster if run.ended_at is not None and run.duration_s]
        common = min(t[1] for t in cluster) - max(t[0] for t in cluster)
        at_once = common >= _TOGETHER * max(t[1] - t[0] for t in cluster)
        total = sum(raw.values())
        if at_once and len(ended) == len(cluster) and total > 0:
            longest = max(run.duration_s for run in ended)
            raw = {run_id: longest * share / total for run_id, share in raw.items()}
        # a file's extreme numbers (a 1e308 s clock) give no share: the run's own time is shown
        shares.update({run.id: raw[run.id] for run in ended if math.isfinite(raw[run.id])})
    return shares


def time_text(run: RunRecord, shares: dict[str, float]) -> str:
    """A run's training time as a table shows it: ``~1 min 00 s`` for its share of time shared (see
    :func:`time_shares`), else its own duration."""
    share = shares.get(run.id)
    return seconds(run.duration_s) if share is None else f"~{seconds(share)}"


# -- grid tables ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class GridCell:
    """The runs at one (row, column) of a grid table and their value."""

    summary: Summary | None  #: over the runs that have the value
    ids: tuple[str, ...]  #: every run in the cell, with or without a value

    @property
    def mean(self) -> float | None:
        return self.summary.mean if self.summary else None

    @property
    def n(self) -> int:
        return self.summary.n if self.summary else 0


def _argmax(values: Sequence[float | None]) -> int | None:
    """Index of the largest value (the first on a tie), None when all are missing."""
    present = [(v, i) for i, v in enumerate(values) if v is not None]
    return max(present, key=lambda t: (t[0], -t[1]))[1] if present else None


@dataclass(frozen=True)
class GridTable:
    """A pivot of two settings. Cells hold the mean of ``value`` over every run with those two values:
    seeds and the other varying settings (:attr:`averaged_over`) are averaged, runs without the value
    (diverged before an epoch, queued) are left out and :attr:`GridCell.n` counts the rest."""

    rows_field: str
    cols_field: str
    value: str
    row_values: tuple[Any, ...]
    col_values: tuple[Any, ...]
    cells: tuple[tuple[GridCell, ...], ...]  #: ``cells[i][j]``: row i, column j
    averaged_over: tuple[str, ...]  #: the other settings that vary (``seed`` among them)

    def cell(self, row: Any, col: Any) -> GridCell:
        return self.cells[self.row_values.index(row)][self.col_values.index(col)]

    @property
    def value_range(self) -> tuple[float, float] | None:
        """Lowest and highest cell mean (for colouring), None when no cell has a value."""
        means = [c.mean for row in self.cells for c in row if c.mean is not None]
        return (min(means), max(means)) if means else None

    def fraction(self, i: int, j: int) -> float | None:
        """Where cell (i, j) sits between the lowest (0) and highest (1) cell; 1 when all are equal."""
        mean, span = self.cells[i][j].mean, self.value_range
        if mean is None or span is None:
            return None
        lo, hi = span
        return 1.0 if hi - lo < 1e-12 else (mean - lo) / (hi - lo)

    def best_row(self, j: int) -> int | None:
        """Row index of the best cell of column j (the good lr of an optimizer), None if it has none."""
        return _argmax([row[j].mean for row in self.cells])

    def best_col(self, i: int) -> int | None:
        """Column index of the best cell of row i."""
        return _argmax([c.mean for c in self.cells[i]])

    @property
    def counts(self) -> tuple[int, ...]:
        """Distinct run counts per cell (one number for a full grid)."""
        return tuple(sorted({len(c.ids) for row in self.cells for c in row}))


def value_text(name: str, value: Any) -> str:
    """A setting's value as a header: lrs as ``format_lr``, other floats ``:g``."""
    if name == "lr" or isinstance(value, float):
        return format_lr(value)
    return str(value)


def _distinct(values: Iterable[Any]) -> tuple[Any, ...]:
    """Distinct values; numbers ascending (lr, batch size), anything else in first-seen order (the user's)."""
    seen = tuple(dict.fromkeys(values))
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seen):
        return tuple(sorted(seen))
    return seen


def _counts(runs: Sequence[RunRecord], names: Iterable[str]) -> dict[str, int]:
    return {n: len({getattr(r.config, n) for r in runs}) for n in names}


def comparison_fields(runs: Sequence[RunRecord]) -> tuple[str, str] | None:
    """The two settings a comparison should pivot: lr as rows when it varies, else the most-varying one;
    columns the most-varying other setting (ties: grid order, optimizer first). Seeds are never picked
    (they are what the cells average). None when fewer than two settings vary: not a grid."""
    names = [n for n in varying_fields([r.config for r in runs]) if n != "seed"]
    if len(names) < 2:
        return None
    counts = _counts(runs, names)
    rows = "lr" if "lr" in names else max(names, key=lambda n: counts[n])
    cols = max((n for n in names if n != rows), key=lambda n: counts[n])
    return rows, cols


def grid_table(
    runs: Sequence[RunRecord], rows: str | None = None, cols: str | None = None, value: str = "best_val_acc"
) -> GridTable:
    """Pivot ``runs`` by two config fields (any two; None = pick with :func:`comparison_fields`).

    Raises ValueError for an unknown field or value, the same field twice, or (when a field is left
    to pick) fewer than two varying settings.
    """
    known = {f.name for f in fields(RunConfig)}
    for name in (rows, cols):
        if name is not None and name not in known:
            raise ValueError(f"{name!r} is not a setting: choose from {', '.join(GRID_FIELDS)}")
    if value not in GRID_VALUES:
        raise ValueError(f"{value!r} cannot be compared: choose from {', '.join(GRID_VALUES)}")
    if rows is None or cols is None:
        varying = [n for n in varying_fields([r.config for r in runs]) if n != "seed" and n not in (rows, cols)]
        counts = _counts(runs, varying)
        if rows is None and cols is None:
            picked = comparison_fields(runs)
            if picked is None:
                raise ValueError("a comparison needs two settings that vary between the runs")
            rows, cols = picked
        elif not varying:
            raise ValueError("a comparison needs two settings that vary between the runs")
        elif rows is None:
            rows = "lr" if "lr" in varying else max(varying, key=lambda n: counts[n])
        else:
            cols = max(varying, key=lambda n: counts[n])
    assert rows is not None and cols is not None
    if rows == cols:
        raise ValueError(f"rows and columns are both {rows!r}: choose two settings")
    row_values = _distinct(getattr(r.config, rows) for r in runs)
    col_values = _distinct(getattr(r.config, cols) for r in runs)
    cells = []
    for rv in row_values:
        line = []
        for cv in col_values:
            members = [r for r in runs if getattr(r.config, rows) == rv and getattr(r.config, cols) == cv]
            line.append(GridCell(summarize(getattr(r, value) for r in members), tuple(r.id for r in members)))
        cells.append(tuple(line))
    averaged = tuple(n for n in varying_fields([r.config for r in runs]) if n not in (rows, cols))
    return GridTable(rows, cols, value, row_values, col_values, tuple(cells), averaged)


def best_per_column(table: GridTable) -> list[tuple[Any, Any, float]]:
    """(column value, its best row value, that cell's mean) per column with a value: the good lr of each optimizer."""
    out = []
    for j, cv in enumerate(table.col_values):
        i = table.best_row(j)
        if i is not None:
            mean = table.cells[i][j].mean
            assert mean is not None
            out.append((cv, table.row_values[i], mean))
    return out


__all__ = [
    "GRID_VALUES",
    "METRICS",
    "SETTINGS",
    "Curve",
    "GridCell",
    "GridTable",
    "SeedGroup",
    "Setting",
    "Summary",
    "best_per_column",
    "best_setting",
    "column_settings",
    "common_settings_text",
    "comparison_fields",
    "grid_table",
    "group_key",
    "has_seed_groups",
    "make_group",
    "range_text",
    "ranked",
    "seed_groups",
    "setting_cells",
    "setting_label",
    "summarize",
    "summary_text",
    "time_shares",
    "time_text",
    "value_text",
]
