"""The HTML report's colours: verdicts, statuses, runs and the heatmap, as ``#rrggbb``.

Chosen so that a run's line never reads as a verdict (the tests check the distances in CIE L*a*b*),
and light enough behind dark ink where text sits on them. The terminal's colours are
:mod:`lrtui.plots.palette`.
"""

from __future__ import annotations

import math

#: Colours of verdict labels in HTML. Semantic: green good, amber slow, red failed, purple overfitting, burnt orange unstable.
VERDICT_HEX: dict[str, str] = {
    "converged": "#1a7f37",
    "still learning": "#0b6e99",
    "too slow": "#9a6700",
    "not learning": "#cf222e",
    "diverged": "#82071e",
    "overfitting": "#8250df",
    "unstable": "#bc4c00",  # burnt orange: between slow (amber) and failed (red)
}
#: Colour of anything that is a status rather than a verdict (cancelled, failed, interrupted, running).
STATUS_HEX = "#59636e"
#: One colour per run (by run number). Chosen apart from each other and from every verdict colour
#: (CIE76 ΔE ≥ 20 to each verdict colour and the status grey, ≥ 18 between runs; checked by the tests),
#: so a line never reads as a verdict and no run hides another.
RUN_HEX: tuple[str, ...] = (
    "#3b75d9",  # blue
    "#f28e2b",  # orange
    "#e377c2",  # pink
    "#17becf",  # cyan
    "#bcbd22",  # olive
    "#2f2f8f",  # indigo
    "#8c564b",  # brown
    "#ff9da7",  # salmon
    "#00a087",  # sea green-teal
    "#b279a2",  # mauve
    "#a05195",  # plum
    "#edc948",  # gold
    "#9edae5",  # light cyan
    "#e7298a",  # raspberry
)


def srgb_to_lab(color: str) -> tuple[float, float, float]:
    """``#rrggbb`` → CIE L*a*b* (D65), for telling colours apart by eye-like distance."""
    rgb = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    x = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047
    y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def color_distance(a: str, b: str) -> float:
    """CIE76 ΔE between two ``#rrggbb`` colours (~2.3 is just noticeable; 20+ is clearly different)."""
    return math.dist(srgb_to_lab(a), srgb_to_lab(b))


def mix(color: str, other: str, t: float) -> str:
    """``color`` moved a fraction ``t`` towards ``other`` (for older probe curves of a run)."""
    a = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(other[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(a, b))


#: Heatmap stops (worst, middle, best): light enough that dark ink stays readable on each
#: (contrast with INK ≥ 6:1 at the green end), red-to-green so "better" needs no legend.
HEAT_STOPS: tuple[str, str, str] = ("#f9d9d4", "#fbf3dc", "#5ab673")


def heat_hex(t: float) -> str:
    """Background of a heatmap cell at ``t`` in [0, 1] (0 = the table's worst, 1 = its best)."""
    t = min(max(t, 0.0), 1.0)
    lo, mid, hi = HEAT_STOPS
    return mix(lo, mid, t * 2) if t <= 0.5 else mix(mid, hi, (t - 0.5) * 2)
