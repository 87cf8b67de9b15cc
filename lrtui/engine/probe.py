"""The step probe: the article's "steps on a loss curve", measured on the real model.

From the current weights w and the run's next update direction d, the probe computes
the loss on a fixed probe set at ``w - η·d`` for η on a log grid around the current
learning rate. The curve shows whether the run's step lands short of the valley
(a larger η is lower), in it, or on the wall (the loss shoots up).

Why it is built this way:

* d is the gradient averaged over :data:`PROBE_TRAIN` fixed training samples (20
  minibatches of 10): from one minibatch the curve is mostly noise left of the wall
  (DESIGN.md), and from 4 (40 samples) a step along d *raised* the loss on full
  MNIST's validation images even from the initial weights (2.3025 → 2.3356 at η = 1:
  40 samples over-weight a few classes), while from 200 it falls (→ 2.3002) before
  the wall, as on the 5k digits (measured).
* d is the update the optimizer would apply (momentum and weight decay included):
  SGD's arithmetic directly, any other optimizer by a trial step on a deep copy.
* Everything runs on a copy of the model (made once per run; its weights are
  overwritten for each η) and draws no random numbers, so a run with probes is
  bit-equal to one without. (``torch.func.functional_call`` measured 3x slower per
  forward on the CPU here.)
* Cost, measured on one CPU core: ~25 ms for the direction plus ~6.5 ms per grid
  point (a forward of 200 images), ~130 ms per probe at 16 points; once at the start
  and once per epoch.
* The grid spans :data:`SPAN_DECADES` decades either side of the lr and always
  reaches :data:`WALL_LR`, so a tiny lr still shows where the wall is.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lrtui.engine.model import ConvNet

#: Validation images in the probe set (the first ones: fixed for the whole run).
PROBE_SIZE = 200
#: Training samples the direction's gradient is averaged over (the first ones, fixed).
PROBE_TRAIN = 200
#: Grid points per decade of η (3: 10^(1/3) ≈ 2.15x apart, 15 points for lr 0.01).
PER_DECADE = 3
#: Decades of η below and above the current lr, at least.
SPAN_DECADES = 2
#: The grid reaches at least this η, so a tiny lr's probe still shows the wall: one step along
#: one minibatch's gradient from the initial weights hits it at 0.3-3 (2.31 at 0.3, 2.38 at 1, 4.1
#: at 3: DESIGN.md); along the smoother 200-sample average only at ~3-10 (5k digits: 2.33 at 4.6).
WALL_LR = 10.0
#: Most grid points (a lr of 1e-9 would otherwise ask for 38).
MAX_POINTS = 31


def probe_grid(lr: float) -> list[float]:
    """η values, ascending, on a 10^(1/PER_DECADE) grid through ``lr`` itself."""
    low = -SPAN_DECADES * PER_DECADE
    high = max(SPAN_DECADES * PER_DECADE, math.ceil(PER_DECADE * math.log10(WALL_LR / lr)) if lr > 0 else 0)
    high = min(high, low + MAX_POINTS - 1)
    return [lr if k == 0 else lr * 10 ** (k / PER_DECADE) for k in range(low, high + 1)]


@dataclass(frozen=True)
class ProbeData:
    """The fixed samples a run probes with."""

    train_x: torch.Tensor  #: the samples the direction is averaged over
    train_y: torch.Tensor
    x: torch.Tensor  #: the probe set
    y: torch.Tensor

    @classmethod
    def take(cls, train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor,
             val_y: torch.Tensor) -> ProbeData:
        return cls(train_x[:PROBE_TRAIN], train_y[:PROBE_TRAIN], val_x[:PROBE_SIZE], val_y[:PROBE_SIZE])


def mean_gradient(model: ConvNet, data: ProbeData) -> list[torch.Tensor]:
    """The gradient of the mean loss over the fixed samples (= the mean of their minibatch gradients,
    for equal minibatches), in one pass; no ``.grad`` is touched."""
    loss = F.cross_entropy(model(data.train_x), data.train_y)
    return list(torch.autograd.grad(loss, list(model.parameters())))


@torch.no_grad()
def sgd_direction(params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], *, momentum: float,
                  weight_decay: float, nesterov: bool, buffers: Sequence[torch.Tensor] | None) -> list[torch.Tensor]:
    """torch.optim.SGD's next update direction (the step is ``-lr`` times it), computed out of place."""
    d = list(grads)
    if weight_decay:
        d = list(torch._foreach_add(d, list(params), alpha=weight_decay))
    if momentum:
        buf = d if buffers is None else list(torch._foreach_add(torch._foreach_mul(list(buffers), momentum), d))
        d = list(torch._foreach_add(d, buf, alpha=momentum)) if nesterov else buf
    return d


def optimizer_direction(optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor],
                        grads: Sequence[torch.Tensor], lr: float) -> list[torch.Tensor]:
    """Any optimizer's next update direction: a trial step on a deep copy of it (and of its params)."""
    trial = copy.deepcopy(optimizer)
    copies = [p for group in trial.param_groups for p in group["params"]]
    for p, g in zip(copies, grads, strict=True):
        p.grad = g.detach().clone()
    trial.step()
    with torch.no_grad():
        return [(p - c) / lr for p, c in zip(params, copies, strict=True)]


@torch.no_grad()
def losses_along(model: ConvNet, direction: Sequence[torch.Tensor], lrs: Sequence[float],
                 data: ProbeData, scratch: ConvNet | None = None) -> tuple[float, list[float]]:
    """Probe-set loss of the weights themselves, and after one step of each size in ``lrs``.

    ``scratch``: a model of the same shape whose weights may be overwritten (a deep copy is
    made when none is given); ``model`` itself is only read.
    """
    scratch = scratch if scratch is not None else copy.deepcopy(model)
    params = [p.detach() for p in model.parameters()]
    moved = [p.detach() for p in scratch.parameters()]
    out = [F.cross_entropy(model(data.x), data.y)]
    for lr in lrs:
        for m, p, d in zip(moved, params, direction, strict=True):
            m.copy_(p).add_(d, alpha=-lr)
        out.append(F.cross_entropy(scratch(data.x), data.y))
    losses = torch.stack(out).tolist()  # one device read for the whole curve
    return losses[0], losses[1:]
