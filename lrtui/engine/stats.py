"""How sure a comparison is: paired seed differences, binomial intervals of accuracies, grid edges.

Why: three seeds that all agree (+27.6, +18.0, +11.2 points) still leave a paired-t 95% interval
of [−1.5, +39.4] — not resolved, and not "noise" either; a max−min spread rule raised 22% false
alarms at 2 seeds and was nearly blind at 5. So a comparison of two settings pairs their runs by
seed and reports the interval of the mean difference. An accuracy on a small validation set
carries its binomial interval (250 images: about ±2.5–3 points at 90%).

Pure Python (scipy only for the t quantile, imported when first needed: the terminal UI and the
verdicts import this module, and ``scipy.stats`` costs a noticeable fraction of a second to load).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

#: Two-sided confidence of every interval here.
CONFIDENCE = 0.95
#: The normal quantile of :data:`CONFIDENCE` (1.96), from the standard library.
_Z = statistics.NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)


@dataclass(frozen=True)
class Paired:
    """The mean of paired differences ``a[i] - b[i]`` with its t interval (nan bounds below 2 pairs)."""

    mean: float
    lo: float
    hi: float
    n: int  #: pairs
    wins: int  #: pairs where a is larger than b

    @property
    def resolved(self) -> bool:
        """The interval excludes 0: the sign of the difference is known at :data:`CONFIDENCE`."""
        return self.n >= 2 and (self.lo > 0 or self.hi < 0)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> Paired:
    """Mean of ``a[i] - b[i]`` and its Student-t 95% interval (``a`` and ``b`` paired by seed, same length)."""
    if len(a) != len(b):
        raise ValueError(f"paired samples need the same length ({len(a)} and {len(b)})")
    diffs = [float(x) - float(y) for x, y in zip(a, b)]
    n = len(diffs)
    if n == 0:
        raise ValueError("no pairs to compare")
    mean = statistics.fmean(diffs)
    wins = sum(d > 0 for d in diffs)
    if n < 2:
        return Paired(mean, math.nan, math.nan, n, wins)
    from scipy.stats import t  # lazily: see the module docstring

    half = float(t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * statistics.stdev(diffs) / math.sqrt(n)
    return Paired(mean, mean - half, mean + half, n, wins)


def binomial_interval(correct: int, n: int) -> tuple[float, float]:
    """Wilson 95% interval of a proportion ``correct / n`` (as fractions); (0, 1) when ``n`` is 0.

    Wilson rather than ``p ± 1.96·SE``: it stays inside [0, 1] and is honest at 0% and 100%.
    """
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= correct <= n:
        raise ValueError(f"{correct} correct of {n} is not a proportion")
    p, z2 = correct / n, _Z * _Z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    lo = 0.0 if correct == 0 else max(0.0, centre - half)  # exact ends: no rounding dust at 0% and 100%
    hi = 1.0 if correct == n else min(1.0, centre + half)
    return lo, hi


def _signed(x: float, digits: int = 1) -> str:
    """``+39.4`` / ``−1.5`` (a real minus sign)."""
    text = f"{abs(x):.{digits}f}"
    return f"−{text}" if x < 0 and float(text) != 0 else f"+{text}"


def paired_sentence(a_name: str, b_name: str, paired: Paired, unit: str = "points") -> str:
    """One sentence on a paired comparison, e.g. "0.1 better than 0.03 on all 3 paired seeds by 18.9 points
    on average, 95% interval −1.5 … +39.4: not resolved — run more seeds"."""
    better, worse, sign = (a_name, b_name, 1) if paired.mean >= 0 else (b_name, a_name, -1)
    wins = paired.wins if sign > 0 else paired.n - paired.wins  # ties count for neither side
    on = f"on all {paired.n} paired seeds" if wins == paired.n else f"on {wins} of {paired.n} paired seeds"
    head = f"{better} better than {worse} {on} by {abs(paired.mean):.1f} {unit} on average"
    if paired.n < 2:
        return f"{head}: one seed gives no interval — run more seeds"
    lo, hi = (paired.lo, paired.hi) if sign > 0 else (-paired.hi, -paired.lo)  # the better-minus-worse interval
    interval = f"{CONFIDENCE:.0%} interval {_signed(lo)} … {_signed(hi)}"
    verdict = "resolved" if paired.resolved else "not resolved — run more seeds"
    return f"{head}, {interval}: {verdict}"


def grid_edge(best_value: float, values: Sequence[float]) -> bool:
    """Whether the best cell sits at the edge of its grid (the smallest or largest of 2+ distinct values):
    then the best may lie outside it — extend the grid that way."""
    distinct = sorted(set(float(v) for v in values))
    if len(distinct) < 2:
        return False
    return any(
        math.isclose(best_value, edge, rel_tol=1e-9, abs_tol=0.0) or best_value == edge
        for edge in (distinct[0], distinct[-1])
    )


def proportions_differ(p1: float, n1: int, p2: float, n2: int) -> bool:
    """Whether two accuracies (fractions of ``n1`` and ``n2`` images) differ beyond their binomial noise:
    the gap exceeds 1.96 standard errors of the difference (a two-proportion z test, unpooled)."""
    if n1 <= 0 or n2 <= 0:
        return False
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return abs(p1 - p2) > _Z * se if se > 0 else p1 != p2
