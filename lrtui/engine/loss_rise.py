"""A training loss that rose within the last epoch: what epoch means hide, said where the numbers show it.

Why: an epoch's mean can fall while its batches climb. SGD lr 0.3 on 800 digits (seed 1) validates
69 → 83 → 88% and its epoch means fall, yet within epoch 3 the training loss doubles from its first
quarter of batches to its last; "still learning" alone would hide steps that have started to
overshoot. The check compares the batch losses of the last epoch's first and last quarter with a
one-sided Mann–Whitney U test (scipy; batch losses are skewed and heavy-tailed, so ranks rather than
means) and speaks only of a rise that is both large (the median up by half or more) and clear
(p < 0.01). A run that learns normally has a falling or flat loss within an epoch: nothing is said.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from lrtui.engine.events import VerdictLabel

#: The last quarter's median must be at least this many times the first quarter's.
RISE_FACTOR = 1.5
#: ...and the one-sided Mann-Whitney p-value below this.
RISE_P = 0.01
#: Fewer batches per quarter than this are too few to test: nothing is said.
MIN_QUARTER = 8
#: The verdicts a rise is told beside (the others already say the run is in trouble, or say nothing yet).
RISE_TOLD = frozenset(
    {VerdictLabel.STILL_LEARNING, VerdictLabel.CONVERGED, VerdictLabel.TOO_SLOW, VerdictLabel.OVERFITTING}
)


@dataclass(frozen=True)
class LossRise:
    """The last epoch's batch losses: median of the first and the last quarter, and the test's p-value."""

    first: float
    last: float
    p: float
    batches: int  #: per quarter

    def reason(self) -> str:
        return (
            f"but the training loss rose within the last epoch: median {self.first:.3f} in its first quarter of "
            f"batches, {self.last:.3f} in its last ({self.batches} batches each; one-sided Mann–Whitney p = "
            f"{self.p:.2g})"
        )

    @staticmethod
    def hint() -> str:
        return "if the loss keeps rising within epochs, try a smaller learning rate"


def loss_rise(batch_losses: Sequence[float]) -> LossRise | None:
    """The rise within an epoch of these batch losses, or None (no clear, large rise; too few batches)."""
    losses = [x for x in batch_losses if math.isfinite(x)]
    q = len(losses) // 4
    if q < MIN_QUARTER or len(losses) < len(batch_losses):
        return None
    first, last = losses[:q], losses[-q:]
    m_first, m_last = statistics.median(first), statistics.median(last)
    if m_last < RISE_FACTOR * m_first:
        return None
    from scipy.stats import mannwhitneyu  # scipy comes with scikit-learn; imported only when a rise is large

    p = float(mannwhitneyu(last, first, alternative="greater").pvalue)
    return LossRise(m_first, m_last, p, q) if p < RISE_P else None
