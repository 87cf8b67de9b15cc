"""Learning-rate range test (Leslie Smith), tuned so its default suggestion actually trains.

How it runs: a fresh model from the config's seed (its own copy: no run ever sees
these weights, and the global RNG is left untouched) takes one optimizer step per
batch while the learning rate grows exponentially from ``start`` to ``end``; each
step's loss is recorded and smoothed with a bias-corrected EMA (beta 0.98). The
test stops early once the smoothed loss exceeds 4× its best or stops being finite.
It never takes more steps than one epoch has batches (the batch order is one
seeded permutation, so no digit is seen twice). It trains as a run does, through the
same batch loop and step (:func:`lrtui.engine.loop.run_batches`, the optimizer's
:class:`~lrtui.engine.steps.LoneStep`); what makes it a range test is one callback,
:class:`RangeTest`, as fastai's ``LRFinder`` is a callback of ``fit``.

Three readings of the curve are offered:

* ``valley`` — fastai's default, as fastai computes it: the longest decreasing
  run of the smoothed loss, and a point inside it (fastai's docs say "about
  two-thirds down"; its code takes start + 1/3 + 1/6 of the run's length).
* ``steepest`` — where the smoothed loss falls fastest against log lr, ignoring
  the first 10% and the last 5 points.
* ``max stable ÷ 10`` — the lr at the bottom of the smoothed curve (the largest
  lr before the loss climbs out of its valley), divided by ten.

What the default suggestion means: *a learning rate at which plain training of
this model, with this optimizer and batch size, learns fast and stays stable* —
the region a short grid search would call best, not the edge of divergence.
Measured on the classic setup (SGD, batch 10, the 5k digits, 320 steps): the
valley suggestion of seeds 0-9 lies between 0.041 and 0.1, and a 3-epoch grid
puts the best rates at 0.03-0.3 (94-97% validation accuracy; 0.6 and above do not
learn at all). ``steepest`` lands at 0.2-5.7, where the model does not learn (the
EMA lags the raw loss by ~50 steps, shifting the curve's features towards larger
rates), and ``max stable ÷ 10`` at 0.024-0.062, the grid's low edge. With 200 steps
(a common default) the fall hardly shows. So ``valley`` is the default, checked
against the grid for several seeds by ``tests/lrfind/test_ground_truth.py``. When the
curve shows no clear fall (too few steps, or the loss never drops by 1%) the
result says so and suggests nothing rather than inventing a number.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import torch

from lrtui.engine.config import RunConfig, detect_devices, resolve_device
from lrtui.engine.data import load_splits
from lrtui.engine.loop import Callback, run_batches
from lrtui.engine.machine import run_threads
from lrtui.engine.model import ConvNet
from lrtui.engine.model_factory import build_network
from lrtui.engine.steps import LoneStep, OptimizerStep, SGDStep, make_update

BETA = 0.98
DIVERGE_FACTOR = 4.0
#: Fewer usable points than this after trimming, and no method can be trusted.
MIN_POINTS = 20
#: The smoothed loss must fall at least this fraction below its start to count as a valley
#: (measured: 1.8-4.4% with the default steps on the 5k digits, under 0.3% when the range is too low).
MIN_DROP = 0.01
#: Default number of steps: one epoch of the 5k digits at batch 10. 200 steps were measured to
#: be too few there: the EMA (a ~50-step window) lags so far that the fall hardly shows.
DEFAULT_STEPS = 320
METHODS: tuple[str, ...] = ("valley", "steepest", "max_stable")
DEFAULT_METHOD = "valley"


@dataclass(frozen=True)
class FindStep:
    """Throttled progress of a range test (at most ~10 per second, plus the last step)."""

    step: int  #: 1-based
    steps: int
    lr: float
    loss: float
    smoothed: float


@dataclass(frozen=True)
class LRFindResult:
    """The recorded curve, every method's suggestion, and the default with its reason."""

    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    smoothed: tuple[float, ...]
    suggestions: dict[str, float | None]
    lr: float | None  #: the default suggestion; None when the curve has no clear valley
    method: str | None
    why: str
    notes: tuple[str, ...] = field(default=())  #: e.g. "steps capped at 320 (one epoch)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "suggestion": {"lr": self.lr, "method": self.method, "why": self.why},
            "suggestions": dict(self.suggestions),
            "lrs": list(self.lrs),
            "losses": list(self.losses),
            "smoothed": list(self.smoothed),
            "notes": list(self.notes),
        }


def lr_schedule(start: float, end: float, steps: int) -> list[float]:
    """``steps`` learning rates growing exponentially from ``start`` to ``end`` (both included)."""
    if steps == 1:
        return [start]
    ratio = (end / start) ** (1 / (steps - 1))
    return [start * ratio**i for i in range(steps)]


def _trim(n: int) -> tuple[int, int]:
    """Index range the suggestions look at: skip the first 10% and the last 5 points."""
    return n // 10, max(n // 10, n - 5)


def valley(lrs: Sequence[float], smoothed: Sequence[float]) -> float:
    """fastai's valley: two-thirds down the longest decreasing run (subsequence) of the loss."""
    n = len(smoothed)
    run = [1] * n  # length of the longest decreasing subsequence ending at i
    best_end = 0
    for i in range(1, n):
        for j in range(i):
            if smoothed[i] < smoothed[j] and run[i] < run[j] + 1:
                run[i] = run[j] + 1
        if run[i] > run[best_end]:
            best_end = i
    best_start = best_end - run[best_end]
    third = (best_end - best_start) / 3
    return lrs[max(0, best_start + int(third) + int(third / 2))]


def steepest(lrs: Sequence[float], smoothed: Sequence[float]) -> float:
    """The lr where the loss falls fastest against log lr."""
    slopes = [(smoothed[i + 1] - smoothed[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i])) for i in range(len(lrs) - 1)]
    return lrs[min(range(len(slopes)), key=slopes.__getitem__)]


def max_stable(lrs: Sequence[float], smoothed: Sequence[float]) -> float:
    """A tenth of the lr at the bottom of the curve: beyond the bottom the loss leaves its valley."""
    return lrs[min(range(len(smoothed)), key=smoothed.__getitem__)] / 10


_SUGGESTERS: dict[str, Callable[[Sequence[float], Sequence[float]], float]] = {
    "valley": valley,
    "steepest": steepest,
    "max_stable": max_stable,
}
#: A one-cycle schedule's peak is at most this many times the valley suggestion (see :func:`onecycle_peak`).
ONECYCLE_PEAK_FACTOR = 3.0


def onecycle_peak(suggestions: dict[str, float | None]) -> float | None:
    """The peak lr for ``--schedule onecycle`` from a range test's readings.

    One-cycle spends most of the run below its peak (it starts at peak/25 and anneals far
    below it), so its peak may sit above the rate a constant schedule trains best at: Smith
    takes the lr at the bottom of the loss curve (ten times ``max_stable``). On this model
    that bottom is 0.3-0.6, where constant training already kills ReLUs; three times the
    valley (0.12-0.3 for seeds 0-9) stays below it. So: the smaller of the two, whichever exists.
    """
    valley, stable = suggestions.get("valley"), suggestions.get("max_stable")
    options = [x for x in (ONECYCLE_PEAK_FACTOR * valley if valley else None, 10 * stable if stable else None) if x]
    return _round(min(options)) if options else None


#: How each method is named to people (``max_stable`` is already divided by ten).
LABELS: dict[str, str] = {"valley": "valley", "steepest": "steepest", "max_stable": "max stable ÷ 10"}
_WHY: dict[str, str] = {
    "valley": "two-thirds down the longest fall of the smoothed loss, the method measured to land among "
    "the best rates of a real lr grid",
    "steepest": "where the smoothed loss falls fastest",
    "max_stable": "a tenth of the lr at the bottom of the smoothed loss",
}


def suggest(
    lrs: Sequence[float], smoothed: Sequence[float], method: str = DEFAULT_METHOD
) -> tuple[dict[str, float | None], float | None, str]:
    """Every method's suggestion, the default ``method``'s lr and one line saying why (or why none)."""
    lo, hi = _trim(len(smoothed))
    xs, ys = list(lrs[lo:hi]), list(smoothed[lo:hi])
    none: dict[str, float | None] = {m: None for m in METHODS}
    if len(xs) < MIN_POINTS:
        return (
            none,
            None,
            (f"no clear valley: only {len(xs)} usable points (need {MIN_POINTS}); use more steps or a wider range"),
        )
    if min(ys) > (1 - MIN_DROP) * ys[0]:
        return (
            none,
            None,
            (
                f"no clear valley: the smoothed loss never fell {MIN_DROP:.0%} below its start "
                f"({ys[0]:.3g} → best {min(ys):.3g}); use more steps (--steps) or a wider range (--start/--end)"
            ),
        )
    found: dict[str, float | None] = {m: _round(_SUGGESTERS[m](xs, ys)) for m in METHODS}
    lr = found[method]
    return found, lr, _WHY[method]


def _round(lr: float) -> float:
    """Two significant digits: a suggestion is a region, not a precise value."""
    return float(f"{lr:.2g}")


class RangeTest(Callback):
    """The range test as a callback of the batch loop: each batch's lr from the schedule, each loss recorded.

    It ends the loop once the smoothed loss stops being finite or passes :data:`DIVERGE_FACTOR` × its best.
    """

    def __init__(
        self, update: SGDStep | OptimizerStep, schedule: list[float], emit: Callable[[FindStep], object] | None
    ) -> None:
        self.update, self.schedule, self.emit = update, schedule, emit
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.notes: list[str] = []
        self.avg, self.best, self.last_emit = 0.0, math.inf, 0.0

    def before_batch(self, b: int) -> None:
        self.update.lr = self.schedule[b]

    def after_batch(self, b: int, loss_t: torch.Tensor) -> bool:
        lr, steps = self.schedule[b], len(self.schedule)
        loss = loss_t.item()
        self.avg = BETA * self.avg + (1 - BETA) * loss
        value = self.avg / (1 - BETA ** (b + 1))
        if not math.isfinite(value):
            self.notes.append(f"stopped at lr={lr:.2g}: the loss is no longer finite")
            return True
        self.lrs.append(lr)
        self.losses.append(loss)
        self.smoothed.append(value)
        self.best = min(self.best, value)
        stop = value > DIVERGE_FACTOR * self.best
        now = time.monotonic()
        if self.emit is not None and (stop or b == steps - 1 or now - self.last_emit >= 0.1):
            self.last_emit = now
            self.emit(FindStep(step=b + 1, steps=steps, lr=lr, loss=loss, smoothed=value))
        if stop:
            self.notes.append(f"stopped at lr={lr:.2g}: the smoothed loss passed {DIVERGE_FACTOR:g}× its best")
        return stop


@run_threads()  # as a training run: leave a core free
def find_lr(
    config: RunConfig,
    *,
    start: float = 1e-6,
    end: float = 10.0,
    steps: int = DEFAULT_STEPS,
    emit: Callable[[FindStep], object] | None = None,
    cancel: threading.Event | None = None,
    method: str = DEFAULT_METHOD,
) -> LRFindResult:
    """Run the range test for ``config`` (its lr is ignored). Same config → same result.

    Raises ``ValueError`` for a bad range and lets ``DataUnavailable`` through; a
    cancelled test returns what it recorded, with no suggestion.
    """
    if not 0 < start < end:
        raise ValueError(f"the lr range must satisfy 0 < start < end (got start={start:g}, end={end:g})")
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (got {steps})")
    device = torch.device(resolve_device(config.device, detect_devices()))
    splits = load_splits(config, device)
    n_train = splits.train_x.shape[0]
    per_epoch = max(1, n_train // config.batch_size)
    notes: list[str] = []
    if steps > per_epoch:
        notes.append(f"steps capped at {per_epoch} (one epoch of batch {config.batch_size})")
        steps = per_epoch
    model = cast(ConvNet, build_network(config, device))  # any nn.Module: the lone step takes any
    update = make_update(config, model.parameters())
    step = LoneStep(model, update, splits.train_x, splits.train_y, config.batch_size)
    order = torch.randperm(n_train, generator=torch.Generator().manual_seed(config.seed)).to(device)
    test = RangeTest(update, lr_schedule(start, end, steps), emit)
    if run_batches(step, order, steps, 0, [test], cancel or threading.Event()):
        test.notes.append(f"cancelled after {len(test.lrs)} steps")
    notes += test.notes
    lrs, losses, smoothed = test.lrs, test.losses, test.smoothed
    if cancel is not None and cancel.is_set():
        found: dict[str, float | None] = {m: None for m in METHODS}
        lr_s, why = None, "cancelled: no suggestion"
    else:
        found, lr_s, why = suggest(lrs, smoothed, method)
    return LRFindResult(
        lrs=tuple(lrs),
        losses=tuple(losses),
        smoothed=tuple(smoothed),
        suggestions=found,
        lr=lr_s,
        method=method if lr_s is not None else None,
        why=why,
        notes=tuple(notes),
    )
