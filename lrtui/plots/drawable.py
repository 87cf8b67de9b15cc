"""Numbers as a chart can draw them: every chart (plotext text, SVG) clamps its values through here.

A session file may hold any finite number (a loss of 1e308, a step size of 1e-308). Axis
arithmetic on such values overflows (``hi - lo`` of ±1e308 is inf; plotext scales values by
1e8 to round them), so a chart draws a value clamped to a range that cannot overflow, and the
tables show the value itself. Pure Python: nothing here imports a drawing library.
"""

from __future__ import annotations

import math

#: Magnitudes a linear axis draws: a larger one is drawn at ±LINEAR_LIMIT, a smaller one (1e-308) at 0.
LINEAR_LIMIT, LINEAR_TINY = 1e100, 1e-100
#: Decades a log axis reaches either side of 1: 1e308 is drawn at 1e300, 1e-320 at 1e-300.
LOG_LIMIT = 300


def drawable(v: float) -> float:
    """A finite value as a linear axis draws it: clamped to ±:data:`LINEAR_LIMIT`, tiny ones as 0."""
    if abs(v) < LINEAR_TINY:
        return 0.0
    return max(-LINEAR_LIMIT, min(LINEAR_LIMIT, v))


def log10_drawable(v: float) -> float:
    """log10 of a positive finite value, clamped to ±:data:`LOG_LIMIT` decades (what a log axis draws);
    0 (a range's end of 10 ** -400) sits at the bottom."""
    return max(-LOG_LIMIT, min(LOG_LIMIT, math.log10(v))) if v > 0 else -LOG_LIMIT


def log_drawable(v: float) -> float:
    """A positive finite value clamped to what a log axis draws: 1e-300 to 1e300 (0 at 1e-300)."""
    return 10.0 ** log10_drawable(v)
