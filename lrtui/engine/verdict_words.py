"""The words of a verdict: numbers as a reason shows them (percentages, lrs, trends, factors).

Kept apart from the rules (:mod:`lrtui.engine.verdict`) so that a reason's wording is one
place: a trend never shows two equal numbers, an lr never reads "1" where "1.0" is meant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from lrtui.engine.numbers import finite
from lrtui.engine.records import ProbeRecord


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def lr_text(x: float) -> str:
    """An lr for a reason: 2 significant digits, and "1.0" rather than "1"."""
    text = f"{x:.2g}"
    return text if any(c in text for c in ".e") else f"{text}.0"


def falling(values: Sequence[float]) -> bool:
    """Strictly decreasing at every step (and at least one step)."""
    return len(values) >= 2 and all(b < a for a, b in zip(values, values[1:]))


def rel_fall(a: float, b: float) -> float:
    """How much of ``a`` was lost going to ``b`` (negative: it rose)."""
    return (a - b) / a if a > 0 else 0.0


def trend(a: float, b: float, digits: int = 4) -> str:
    """``a → b`` with enough digits (up to 7) that the two differ, or ``flat at a`` when they do not:
    a reason never shows two equal numbers as a trend."""
    for d in range(digits, 8):
        x, y = f"{a:.{d}f}", f"{b:.{d}f}"
        if x != y:
            return f"{x} → {y}"
    return f"flat at {a:.{digits}f}"


def probe_gain(probe: ProbeRecord) -> tuple[float, float] | None:
    """(best η, how much lower its loss is than at the current lr) of one probe, or None if unusable."""
    pairs = [(lr, loss) for lr, loss in zip(probe.lrs, probe.losses) if finite(loss)]
    current = probe.current_lr
    at_lr = [loss for lr, loss in pairs if current and math.isclose(lr, current, rel_tol=1e-6)]
    if not pairs or not at_lr:
        return None
    best_lr, best_loss = min(pairs, key=lambda p: p[1])
    return best_lr, at_lr[0] - best_loss


def share(ratio: float) -> str:
    """A ratio as a percentage with the digits it needs: 0.62 → "62%", 0.0042 → "0.42%"."""
    return f"{100 * ratio:.0f}%" if ratio >= 0.1 else f"{100 * ratio:.2g}%"


def largest_step(layer: str, ratio: float) -> str:
    """ "the largest step moved conv2 by 62% of its weights": the evidence an epoch's mean step hides."""
    return f"the largest step moved {layer_text(layer)} by {share(ratio)} of its weights"


def times(factor: float) -> str:
    """1.4 → "1.4x", 10 → "10x", 1e7 → "1e+07x"."""
    if factor < 10:
        return f"{factor:.1f}x"
    return f"{factor:.0f}x" if factor < 1e6 else f"{factor:.0e}x"


def layer_text(name: str) -> str:
    """A layer's name in a sentence: a bare index (a ``Sequential``'s ``4``) reads "layer 4", not a number."""
    return f"layer {name}" if name[:1].isdigit() else name


def dead_shares(pairs: Sequence[tuple[str, float]]) -> str:
    """ "100% of fc1, 86% of layer 2": each layer's share of units that never fire, in the given order."""
    return ", ".join(f"{100 * f:.0f}% of {layer_text(name)}" for name, f in pairs)
