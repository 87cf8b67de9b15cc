"""The terminal's colours and reference levels: who is drawn in which colour, and where chance and health lie.

Shared by the charts (:mod:`lrtui.plots.terminal_charts`), the CLI tables and the app, so a run, a
verdict and a reference line look the same wherever they appear. The reference levels are read
from the engine (the verdicts' own numbers), never written down twice.
"""

from __future__ import annotations

from collections.abc import Iterable

from lrtui.engine.bands import SGD, FamilyBands, bands_for
from lrtui.engine.verdict import CLASSES
from lrtui.sessions.record import RunRecord, run_number

#: One colour per run (xterm-256 codes), by run number (r1, r2, ...), so a run keeps its colour when
#: others are removed. Twelve distinct ones, none red, green, yellow or magenta: those are the verdicts'.
RUN_COLORS: tuple[int, ...] = (39, 208, 141, 51, 250, 137, 27, 216, 105, 30, 180, 153)
#: Colours of verdict labels (rich style names) for the app and the CLI tables; the HTML report has its own
#: (``lrtui.reports.colors.VERDICT_HEX``).
VERDICT_COLORS: dict[str, str] = {
    "converged": "green",
    "still learning": "bright_green",
    "too slow": "yellow",
    "not learning": "red",
    "diverged": "red",
    "overfitting": "magenta",
    "unstable": "deep_pink2",
    "too early": "",
}
REFERENCE_COLOR = 244  #: chance line, healthy band, base loss: a grey no run uses
#: Chance accuracy in percent (a uniform guess over the classes: 10%). Not the verdicts' ``CHANCE_ACC``,
#: which is the fraction at or below which a run counts as "at chance" (0.2).
CHANCE_PERCENT = 100.0 / CLASSES
#: The healthy band of ‖Δw‖/‖w‖ per step, plain SGD's (:mod:`lrtui.engine.bands`), as the verdicts use it.
HEALTHY_UPDATE: tuple[float, float] = (SGD.update_ratio.low or 0.0, SGD.update_ratio.high or float("inf"))


def family_of(runs: Iterable[RunRecord]) -> FamilyBands:
    """The bands the runs are judged by: their optimizer family's when they share one, else plain SGD's."""
    families = {bands_for(r.config.optimizer).family: bands_for(r.config.optimizer) for r in runs}
    return next(iter(families.values())) if len(families) == 1 else SGD


def healthy_update(runs: Iterable[RunRecord]) -> tuple[float, float]:
    """:data:`HEALTHY_UPDATE` of the runs' family (Adam's band for Adam runs: a chart draws what the verdicts use)."""
    band = family_of(runs).update_ratio
    return band.low or 0.0, band.high or float("inf")


def band_label(runs: Iterable[RunRecord]) -> str:
    """ "healthy band", naming the family when it is not plain SGD's ("healthy band (Adam)")."""
    family = family_of(runs)
    return "healthy band" if family is SGD else f"healthy band ({family.name})"


_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def run_index(run: RunRecord) -> int:
    """0-based number of a run from its id (``r3`` → 2); stable while other runs come and go."""
    return max(run_number(run.id) - 1, 0)


def run_color(run: RunRecord) -> int:
    """The run's colour: an xterm-256 code, which plotext and rich (``color(N)``) both take."""
    return RUN_COLORS[run_index(run) % len(RUN_COLORS)]


def run_letter(run: RunRecord) -> str:
    """The run's marker in colourless charts."""
    return _LETTERS[run_index(run) % len(_LETTERS)]
