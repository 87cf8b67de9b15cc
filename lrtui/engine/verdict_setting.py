"""What the verdict knows of a run's setting, and the thresholds its rules use (:mod:`lrtui.engine.verdict`).

Kept apart from the rules so that each file reads on its own: the numbers here are the calibrated ones
(benchmarks/calibrate_verdicts.py), :class:`Setting` turns a run's config into what the rules ask (chance, ln C,
steps per epoch, momentum's effective step, weight decay's share, a small validation set's interval).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lrtui.engine.bands import SGD, FamilyBands, bands_for, decay_ratio, effective_lr
from lrtui.engine.config import RunConfig, at_chance, uniform_loss
from lrtui.engine.stats import binomial_interval, proportions_differ
from lrtui.engine.verdict_words import lr_text, pct

CLASSES = 10
UNIFORM_LOSS = uniform_loss(CLASSES)  #: ln 10: the loss of a uniform guess (and of a fresh model); a run's: Setting
AT_UNIFORM = 0.01  #: A validation loss this close (nats) to a uniform guess's "sits at ln C".
CHANCE_ACC = at_chance(CLASSES)  #: Validation accuracy at or below this is "at chance" (ten classes: 0.2); Setting's
#: Below this validation accuracy a run is not done.
GOOD_ACC = 0.8
#: A last-epoch gain of at least this much validation accuracy means "still improving".
RISING_POINTS = 0.02
#: A last-epoch fall of the training loss by this share (with the validation loss down :data:`VAL_FALLING`)
#: means "still learning" even when the accuracy has stopped rising (Adam 1e-4, epoch 3: −33%; lr 0.01,
#: epoch 5, converged: −15%).
LOSS_FALLING, VAL_FALLING = 0.25, 0.10
#: A training loss falling by less than this share in an epoch (and no accuracy gain) has stalled.
LOSS_MOVING = 0.01
#: A validation accuracy this far (and beyond its binomial noise) below the run's best has "fallen".
FALL_MIN = 0.05
#: Overfitting: the validation loss this share above its minimum, with training accuracy this far ahead.
OVERFIT_RISE, OVERFIT_GAP = 0.10, 0.05
#: Fewer validation images than this: accuracies carry their interval, the verdict says it cannot be sure.
SMALL_VAL = 200
#: A layer with at least this share dead is named in a healthy run's reason.
DEAD_NOTE = 0.25
#: The batch size the bands were calibrated at: a larger batch takes proportionally fewer steps.
REFERENCE_BATCH = 10
#: A run this far (in accuracy) below the session's best run is "far from the best".
FAR_FROM_BEST = 0.1
#: Fewest epochs whose losses all fall before a run at chance counts as slowly learning (no diagnostics).
STEADY_EPOCHS = 3
EXPLODE_FACTOR = 1.5  #: Loss this many times the first epoch's (and above the initial ~ln C) means it exploded.
#: An epoch's mean loss above this many times a fresh model's (~ln 10) means it blew up on the way,
#: even if it came back down to a finite constant guess (lr 100: epoch means of ~1e35).
BLOWN_UP_FACTOR = 5.0
#: Plain SGD's healthy band of the per-step update ratio (kept here for the modules that import it;
#: the bands of every family are in :mod:`lrtui.engine.bands`).
RATIO_LOW, RATIO_HIGH = SGD.update_ratio.low or 0.0, SGD.update_ratio.high or math.inf
#: A ratio this close to the middle of SGD's band is what a "try Nx larger" hint aims at (lr 0.01: 7e-4).
RATIO_TARGET = SGD.ratio_target
#: Share of a ReLU layer's units that never fire on validation above which a network at chance is dead.
DEAD_HIGH = 0.6
#: The probe agrees "steps too small" when its best step is this many times the lr or more.
PROBE_FACTOR = 10.0
#: ... and lowers the probe loss by at least this much (nats) against the lr's own step.
PROBE_MIN_GAIN = 1e-3
#: Without diagnostics: epoch-to-epoch train-loss changes all below this mean steps too small to matter.
LOSS_STILL = 2e-4

SMALLER_LR = "try a 10x smaller learning rate"
MORE_EPOCHS = "run more epochs (the same learning rate)"
NEUTRAL = "compare with a 10x smaller and a 10x larger learning rate"


@dataclass(frozen=True)
class Setting:
    """What the verdict knows of how a run was set up; every field may be unknown (a saved run, a test)."""

    bands: FamilyBands = SGD
    config: RunConfig | None = None
    lr: float | None = None  #: the configured lr (a schedule may lower the one the probes see)
    n_train: int | None = None
    n_val: int | None = None
    classes: int = CLASSES  #: of the run's data: chance and a uniform guess's loss follow
    uniform = property(lambda self: uniform_loss(self.classes))  #: ln C
    chance = property(lambda self: at_chance(self.classes))  #: accuracy "at chance"

    @classmethod
    def of(cls, config: RunConfig | None, lr: float | None, n_train: int | None, n_val: int | None) -> Setting:
        lr = lr if lr is not None else (config.lr if config is not None else None)
        return cls(
            bands_for(config.optimizer if config else None),
            config,
            lr,
            n_train,
            n_val,
            config.classes if config else CLASSES,
        )

    @property
    def steps_per_epoch(self) -> int | None:
        if self.config is None or not self.n_train or self.config.batch_size < 1:
            return None
        return math.ceil(self.n_train / self.config.batch_size)

    @property
    def small_val(self) -> bool:
        return self.n_val is not None and 0 < self.n_val < SMALL_VAL

    def acc(self, x: float) -> str:
        """A validation accuracy; on a small validation set with its 95% interval."""
        if not self.small_val or self.n_val is None:
            return pct(x)
        lo, hi = binomial_interval(min(self.n_val, max(0, round(x * self.n_val))), self.n_val)
        return f"{pct(x)} (95% interval {100 * lo:.0f}–{100 * hi:.0f}%)"

    def differs(self, a: float, b: float) -> bool:
        """Two validation accuracies of this run differ by :data:`FALL_MIN` and beyond their binomial noise."""
        if abs(a - b) < FALL_MIN:
            return False
        return self.n_val is None or proportions_differ(a, self.n_val, b, self.n_val)

    @property
    def momentum(self) -> float:
        cfg = self.config
        return cfg.momentum if cfg is not None and self.bands.family == "sgd" and 0 < cfg.momentum < 1 else 0.0

    def momentum_note(self) -> str:
        """ "effective step lr/(1−0.9) = 1.0 under momentum 0.9" (empty without momentum)."""
        if not self.momentum or self.lr is None or self.config is None:
            return ""
        eff = effective_lr(self.config.optimizer, self.lr, self.momentum)
        return f"effective step lr/(1−{self.momentum:g}) = {lr_text(eff)} under momentum {self.momentum:g}"

    def decay_step(self) -> float | None:
        """The weight decay's part of each step's update ratio (None: none, unknown, or not separable)."""
        cfg = self.config
        if cfg is None or self.lr is None or cfg.schedule != "constant" or cfg.warmup:
            return None
        return decay_ratio(cfg.optimizer, self.lr, cfg.weight_decay, cfg.momentum)

    def smaller_lr(self, factor: int = 3) -> str:
        """The hint's opening: "try a smaller learning rate (3x smaller: 0.13)" (or less momentum)."""
        target = f" ({factor}x smaller: {self.lr / factor:.2g})" if self.lr else f" ({factor}x smaller)"
        tail = ", or less momentum" if self.momentum else ""
        return f"try a smaller learning rate{target}{tail}"
