"""The healthy bands: for each optimizer family, where each named statistic of a run sits when it learns.

Why per family: the measurements are the same for every optimizer, but what is healthy is not.
Plain SGD's runs that learned never had more than 38% of a ReLU layer dead; Adam 1e-3 learns
to 95.7% with half of fc1 dead. One band for all would call Adam sick or SGD fine when it dies.

Every band is on a *named* statistic (:data:`STATISTICS`), computed the one way this module
defines (:func:`median_update_ratio`, :func:`largest_dead`, :func:`epoch_travel`,
:func:`decay_ratio`), so the verdicts, charts, help and reports that read a band compare it
with the same number. Pure Python: the terminal UI reads these before torch is imported.

Calibration (``benchmarks/calibrate_verdicts.py``; the 5k digits, 3,200 training / 800 validation
images unless noted, seed 0, batch 10, 3 epochs; numbers are epoch means of the statistic)::

    SGD (plain; the momentum flavours are judged on the step really taken, which includes momentum)
      update_ratio   lr 1e-3: 7e-5 (26% after 4 epochs) | lr 0.01: 7e-4 .. 5e-3 | lr 0.1: 2.4e-2 .. 8e-3
                     (96.7%, the best run) | lr 0.3: 3e-2 .. 7e-2 (learns, 800-3,200 images)
                     | lr 0.5: 2e-2 .. 8e-2, then dead
      dead_fraction  every run that learned on 3,200 images: <= 38%; lr 0.5 on 1,000 images after one
                     epoch (45.6%): conv2 41%, dead a epoch later (94%); lr 0.3 on 800 images reaches
                     41-53% in its first epoch on 2 of 6 seeds, then recovers
      epoch_travel   batch 256, lr 0.01 (13 steps x 2.2e-4): 2.9e-3 per epoch, 17% after 3 epochs, 34%
                     after 15 | batch 64, lr 0.01: 1.5e-2, 28% after 3 | batch 10 on 500 images, lr 0.01:
                     3.5e-2 (takes off in epoch 3) | batch 10, lr 0.01: 0.29 (47% after one epoch)
    Adam (also AdamW; RMSprop and Adagrad borrow it: RMSprop 1e-3 measured inside it, 2e-2 .. 7e-3,
          fc1 46% dead, 96.4%)
      update_ratio   1e-6: 7e-6 (19% after 3 epochs) | 1e-5: 8e-5 .. 1e-4 (67%) | 1e-4: 1.2e-3 .. 4.5e-4
                     (90%) | 1e-3: 4.7e-3 .. 2.2e-3 (95.7%) | 1e-2: 1.7e-2 .. 6.3e-3 (95.6%)
                     | 3e-2: 2e-2 .. 4e-3 (85%, most of conv2 dead) | 0.1: 3e-2, then dead
      dead_fraction  1e-3: fc1 51% | 3e-3: fc1 55% | 1e-2: conv2 62% (all learn) | 3e-2: conv1 81%, conv2
                     94-97% (85-87%) | 0.1: 100% at chance
    weight decay (SGD, lr 0.01): wd 0.5 makes the step ratio exactly lr·wd = 5e-3 in every ReLU layer
      (all of the step) and the loss sits at ln 10 for 8 epochs; wd 0.1: 1e-3 of a measured 1.2e-3 .. 1.4e-3
      in the first 3 epochs (71-83%: slow, 50% at epoch 3), 10% by epoch 5 (82%)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from lrtui.engine.numbers import finite
from lrtui.engine.records import Diagnostics

#: The statistic names every band is on, with what each measures (shared wording for help and reports).
UPDATE_RATIO = "update_ratio"
DEAD_FRACTION = "dead_fraction"
EPOCH_TRAVEL = "epoch_travel"
DECAY_SHARE = "decay_share"
STATISTICS: dict[str, str] = {
    UPDATE_RATIO: "‖Δw‖/‖w‖ per step: the median over layers of an epoch's mean (the step really taken, "
    "momentum and weight decay included)",
    DEAD_FRACTION: "the largest share of one ReLU layer's units that never fire on any validation image",
    EPOCH_TRAVEL: "steps per epoch × update ratio: how far, relative to their size, the weights can move in an epoch",
    DECAY_SHARE: "the part of the update ratio that is weight decay alone (lr·wd, lr·wd/(1−β) with momentum)",
}


@dataclass(frozen=True)
class Band:
    """The healthy range of one named statistic: ``low`` ≤ x ≤ ``high`` (None: no edge on that side)."""

    statistic: str  #: a key of :data:`STATISTICS`
    low: float | None = None
    high: float | None = None

    def below(self, x: float) -> bool:
        return self.low is not None and x < self.low

    def above(self, x: float) -> bool:
        return self.high is not None and x > self.high

    def contains(self, x: float) -> bool:
        return not self.below(x) and not self.above(x)


@dataclass(frozen=True)
class FamilyBands:
    """The bands of one optimizer family (see the module docstring for the runs behind each edge)."""

    family: str  #: "sgd" or "adam"
    name: str  #: how a reason names it: "SGD", "Adam"
    #: healthy step size; below ``low`` (with the probe agreeing) steps are too small, above ``high`` large
    update_ratio: Band
    #: ``high``: the most of a layer a run that learns has dead; above it the steps are killing units
    dead_fraction: Band
    #: ``low``: the fewest weight-lengths per epoch a run that takes off moves; below it, too few steps
    epoch_travel: Band
    #: ``high``: above this share of each step weight decay is "most of the step"
    decay_share: Band
    ratio_target: float  #: the update ratio a "try Nx larger" hint aims at (the middle of where runs learn best)

    def larger_lr_factor(self, ratio: float) -> float:
        """The power of ten (at least 10) that brings an update ``ratio`` below the floor to :attr:`ratio_target`:
        what a "try Nx larger" hint says."""
        return 10.0 ** max(1, round(math.log10(self.ratio_target / max(ratio, 1e-12))))

    def band(self, statistic: str) -> Band:
        """The band on ``statistic`` (a key of :data:`STATISTICS`)."""
        for b in (self.update_ratio, self.dead_fraction, self.epoch_travel, self.decay_share):
            if b.statistic == statistic:
                return b
        raise KeyError(statistic)


#: "Most of the step": the decay part above half of it.
_DECAY_SHARE = Band(DECAY_SHARE, high=0.5)
#: Between batch 256 at lr 0.01 (2.9e-3: too slow) and batch 64 (1.5e-2: slow, but moving).
_EPOCH_TRAVEL = Band(EPOCH_TRAVEL, low=1e-2)

SGD = FamilyBands(
    family="sgd",
    name="SGD",
    # floor: the geometric middle of lr 1e-3 (7e-5, too slow) and lr 0.01 at its slowest (7e-4, learns);
    # ceiling: above lr 0.1's largest epoch (2.4e-2, the best run) and at lr 0.3's smallest (3e-2)
    update_ratio=Band(UPDATE_RATIO, low=2e-4, high=3e-2),
    dead_fraction=Band(DEAD_FRACTION, high=0.38),
    epoch_travel=_EPOCH_TRAVEL,
    decay_share=_DECAY_SHARE,
    ratio_target=1e-3,
)
ADAM = FamilyBands(
    family="adam",
    name="Adam",
    # floor: between 1e-5 (1e-4: 67% in 3 epochs) and 1e-4 (4.5e-4: 90%); ceiling: 1e-2's first epoch (1.7e-2)
    update_ratio=Band(UPDATE_RATIO, low=2e-4, high=2e-2),
    # above 1e-2's 62% (learns, 95.6%), below 3e-2's 81-97%
    dead_fraction=Band(DEAD_FRACTION, high=0.70),
    epoch_travel=_EPOCH_TRAVEL,
    decay_share=_DECAY_SHARE,
    ratio_target=3e-3,  # 1e-3 .. 3e-3, the best region: 2.2e-3 .. 9e-3
)
FAMILIES: dict[str, FamilyBands] = {"sgd": SGD, "adam": ADAM}
#: Each optimizer's family. RMSprop and Adagrad scale steps per parameter like Adam and borrow its bands.
OPTIMIZER_FAMILY: dict[str, str] = {
    "sgd": "sgd",
    "sgd-momentum": "sgd",
    "nesterov": "sgd",
    "adam": "adam",
    "adamw": "adam",
    "rmsprop": "adam",
    "adagrad": "adam",
}
#: Optimizers whose weight decay shrinks the weights by exactly lr·wd (per step, before momentum) — the
#: ones :func:`decay_ratio` can split off. Adam's and RMSprop's decay is folded into the gradient and rescaled.
_DECAY_EXACT = frozenset({"sgd", "sgd-momentum", "nesterov", "adamw"})


def bands_for(optimizer: str | None) -> FamilyBands:
    """The bands of ``optimizer``'s family (SGD's for an unknown name or None: a run saved without one)."""
    return FAMILIES[OPTIMIZER_FAMILY.get(optimizer or "sgd", "sgd")]


def median_update_ratio(update_ratio: Mapping[str, float | None]) -> float | None:
    """:data:`UPDATE_RATIO` of one epoch's (or step's) per-layer update ratios (None when not measured)."""
    ratios = [r for r in update_ratio.values() if finite(r)]
    return statistics.median(ratios) if ratios else None


def largest_update(
    diagnostics: Iterable[Diagnostics], layers: Collection[str] | None = None
) -> tuple[str, float] | None:
    """(layer, ratio) of the largest single measured step over these epochs' ``update_ratio_max``, among
    ``layers`` (None: all); None when none was kept (runs saved before it). Not a band's statistic: it is the
    evidence an epoch mean hides (full MNIST, lr 0.5: means of 1e-3, single steps of half a layer)."""
    found = [
        (float(v), str(k))
        for d in diagnostics
        for k, v in (d.update_ratio_max or {}).items()
        if finite(v) and (layers is None or k in layers)
    ]
    if not found:
        return None
    ratio, layer = max(found)
    return layer, ratio


def dead_layers(diagnostics: Diagnostics) -> list[tuple[str, float]]:
    """ReLU layers with their dead share, largest first."""
    dead = [(k, float(v)) for k, v in diagnostics.dead_fraction.items() if finite(v)]
    return sorted(dead, key=lambda kv: -kv[1])


def largest_dead(diagnostics: Diagnostics) -> float | None:
    """:data:`DEAD_FRACTION` of one epoch's diagnostics (None when not measured)."""
    dead = dead_layers(diagnostics)
    return dead[0][1] if dead else None


def epoch_travel(steps_per_epoch: int, update_ratio: float) -> float:
    """:data:`EPOCH_TRAVEL`: how many weight-lengths an epoch's steps add up to (if they all pointed one way)."""
    return steps_per_epoch * update_ratio


def effective_lr(optimizer: str, lr: float, momentum: float) -> float:
    """The step SGD really takes in the long run: lr/(1−β) under momentum β (lr itself without)."""
    if OPTIMIZER_FAMILY.get(optimizer) == "sgd" and 0 < momentum < 1:
        return lr / (1 - momentum)
    return lr


def decay_ratio(optimizer: str, lr: float, weight_decay: float, momentum: float = 0.0) -> float | None:
    """The part of the per-step update ratio that is weight decay alone: ‖lr·wd·w‖/‖w‖ = lr·wd, or
    lr·wd/(1−β) once SGD's momentum has built up; None where it is not separable (Adam, RMSprop, Adagrad)
    or there is no decay."""
    if weight_decay <= 0 or optimizer not in _DECAY_EXACT:
        return None
    return effective_lr(optimizer, lr, momentum) * weight_decay
