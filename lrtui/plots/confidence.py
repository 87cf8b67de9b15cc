"""How sure each comparison a table or a report makes is: settings paired by seed, grid edges, small validation sets.

The statistics are the engine's (:mod:`lrtui.engine.stats`); this module applies them to seed groups and
runs, and words them once for every front end:

* *Is the best setting really better?* Two settings are compared seed by seed (the runs that share a
  seed saw the same initial weights and batches), as the mean paired difference of their best
  validation accuracy with its Student-t 95% interval. An interval that holds 0 is "not resolved: run
  more seeds", never "within seed noise": three seeds that agree (+27.6, +18.0, +11.2 points) still
  give [−1.5, +39.4].
* *Is the best value inside the grid?* A best lr at the largest (or smallest) value tried says nothing
  about the values beyond it: "extend the grid".
* *How precise is one accuracy?* On fewer than :data:`~lrtui.engine.verdict.SMALL_VAL` validation
  images an accuracy carries its binomial (Wilson) 95% interval: 50 images put 20% anywhere in 11–33%.
* *Best or last?* The best epoch's validation accuracy is an optimistic pick: the epoch was chosen by
  looking at the very images it is scored on (:data:`BEST_NOTE`).

Pure Python, like :mod:`lrtui.plots.grouping` (scipy's t quantile is loaded only when an interval is computed).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from lrtui.engine.config import varying_fields
from lrtui.engine.stats import Paired, binomial_interval, grid_edge, paired_difference, paired_sentence
from lrtui.engine.verdict import SMALL_VAL
from lrtui.plots.formatting import pct
from lrtui.plots.grouping import (
    SeedGroup,
    best_per_column,
    comparison_fields,
    grid_table,
    ranked,
    seed_groups,
    value_text,
)
from lrtui.sessions.record import RunRecord

#: What "best val acc" is, said wherever a best-epoch figure is shown.
BEST_NOTE = (
    "Best val acc is the best epoch's validation accuracy, an optimistic pick (the epoch is chosen by the "
    "same validation images that score it); last val acc is the final epoch's."
)
#: Settings a grid searches, whose best value may lie beyond the grid's edge (seeds and epochs are no search).
EDGE_FIELDS: tuple[str, ...] = ("lr", "batch_size", "momentum", "weight_decay", "warmup")


# -- settings paired by seed ---------------------------------------------------------------------
def paired_seeds(a: SeedGroup, b: SeedGroup, value: str = "best_val_acc") -> tuple[list[float], list[float]]:
    """Both settings' ``value`` in points on every seed both have one for, in seed order."""

    def by_seed(group: SeedGroup) -> dict[int, float]:
        return {
            r.config.seed: 100 * v
            for r in group.runs
            if isinstance(v := getattr(r, value), (int, float)) and math.isfinite(v)
        }

    sa, sb = by_seed(a), by_seed(b)
    shared = sorted(sa.keys() & sb.keys())
    return [sa[s] for s in shared], [sb[s] for s in shared]


def seed_comparison(a: SeedGroup, b: SeedGroup, value: str = "best_val_acc") -> Paired | None:
    """The mean paired difference ``a − b`` (points) with its 95% interval; None when no seed pairs them."""
    xs, ys = paired_seeds(a, b, value)
    return paired_difference(xs, ys) if xs else None


def resolved(a: SeedGroup, b: SeedGroup) -> bool | None:
    """Whether the paired interval excludes 0 (True), holds it (False), or there is none: fewer than 2 pairs."""
    paired = seed_comparison(a, b)
    return None if paired is None or paired.n < 2 else paired.resolved


def comparison_sentence(a: SeedGroup, b: SeedGroup) -> str:
    """``lr=0.1 sgd better than lr=0.03 sgd on all 3 paired seeds by 18.9 points on average, 95% interval −1.5 …
    +39.4: not resolved — run more seeds.`` (on best validation accuracy, paired by seed)."""
    for group in (a, b):
        if group.best_val is None:
            return f"{group.label} has no validation accuracy yet: nothing to compare."
    xs, ys = paired_seeds(a, b)
    if not xs:
        seeds = " and ".join(f"{g.label} (seed {', '.join(map(str, g.seeds))})" for g in (a, b))
        return f"{seeds} share no seed: nothing to pair — run both on the same seeds."
    if all(x == y for x, y in zip(xs, ys)):
        return f"{a.label} ties with {b.label} on {len(xs)} paired seed{'s' if len(xs) > 1 else ''}."
    if statistics.fmean(xs) < statistics.fmean(ys):  # the better first: the interval is then of better − worse
        a, b, xs, ys = b, a, ys, xs
    return paired_sentence(a.label, b.label, paired_difference(xs, ys)) + "."


def comparison_sentences(groups: Sequence[SeedGroup], k: int = 3) -> list[tuple[SeedGroup, str]]:
    """The best setting (by mean best validation accuracy) against each of the next ``k``: (runner-up, sentence)."""
    order = ranked(groups)
    return [(other, comparison_sentence(order[0], other)) for other in order[1 : k + 1]]


# -- the edges of a grid -------------------------------------------------------------------------
def _edge_sentence(name: str, best: Any, tried: Sequence[Any], of: str = "") -> str | None:
    """ "The best lr for adam, 0.01, is the largest the grid tried: extend the grid to larger lr." (None inside)."""
    numbers = [v for v in tried if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if name not in EDGE_FIELDS or len(numbers) != len(tried) or not grid_edge(best, numbers):
        return None
    largest = best == max(numbers)
    if not largest and best <= 0:  # no smaller momentum, decay or warmup than none
        return None
    shown = name.replace("_", " ")
    side = "largest" if largest else "smallest"
    return (
        f"The best {shown}{f' for {of}' if of else ''}, {value_text(name, best)}, is the {side} the grid tried: "
        f"extend the grid to {'larger' if largest else 'smaller'} {shown}."
    )


def edge_sentences(runs: Sequence[RunRecord]) -> list[str]:
    """A sentence per best setting that sits at the edge of its grid: per column of a two-setting grid (the best
    lr of each optimizer), or the best of a one-setting sweep (by mean best validation accuracy over seeds)."""
    picked = comparison_fields(runs)
    if picked is not None:
        table = grid_table(runs, *picked)
        return [
            s
            for cv, rv, _ in best_per_column(table)
            if (s := _edge_sentence(table.rows_field, rv, table.row_values, value_text(table.cols_field, cv)))
        ]
    names = [n for n in varying_fields([r.config for r in runs]) if n != "seed"]
    order = ranked(seed_groups(runs)) if len(names) == 1 else []
    if not order:
        return []
    (name,) = names
    tried = tuple(dict.fromkeys(getattr(r.config, name) for r in runs))
    sentence = _edge_sentence(name, getattr(order[0].config, name), tried)
    return [sentence] if sentence else []


# -- one accuracy on a small validation set ------------------------------------------------------
def small_val(n_val: int | None) -> bool:
    """Fewer validation images than :data:`~lrtui.engine.verdict.SMALL_VAL` (and some): accuracies need their interval."""
    return n_val is not None and 0 < n_val < SMALL_VAL


def acc_text(x: Any, n_val: int | None) -> str:
    """A validation accuracy; on a small validation set with its 95% interval: ``20.0% (11–33%)``."""
    if not small_val(n_val) or not isinstance(x, (int, float)) or not 0 <= x <= 1:  # NaN and 1e308 fail too
        return pct(x)
    assert n_val is not None
    lo, hi = binomial_interval(min(n_val, max(0, round(x * n_val))), n_val)
    return f"{pct(x)} ({100 * lo:.0f}–{100 * hi:.0f}%)"


def small_val_note(runs: Sequence[RunRecord]) -> str:
    """What the brackets after a validation accuracy are, when some run's validation set is small ("" if none)."""
    sizes = sorted({r.n_val for r in runs if small_val(r.n_val)})
    if not sizes:
        return ""
    images = " or ".join(f"{n}" for n in sizes[:3]) + (" …" if len(sizes) > 3 else "")
    return (
        f"Validation sets under {SMALL_VAL} images (here {images}): each validation accuracy of such a run "
        "carries its 95% binomial interval in brackets."
    )
