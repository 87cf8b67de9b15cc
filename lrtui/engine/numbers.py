"""What counts as a number in a record: one definition for every reader (verdicts, bands, charts, reports, the app).

A value read from a session file or an event may be anything JSON holds; a reader that draws or
judges it wants a real, finite number. ``True`` is not one (Python counts it as 1), nor NaN or
±inf. Pure Python: the UI imports it before torch.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard


def finite(x: Any) -> TypeGuard[float]:
    """A real number: not a bool, not NaN or ±inf."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def as_float(x: Any) -> float | None:
    """A finite number as a float; anything else (None, NaN, a bool, text) as None."""
    return float(x) if finite(x) else None
