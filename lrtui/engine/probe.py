"""The step probe: real optimizer steps of size η from the current weights, and what each one did.

From the current weights w the probe takes the optimizer's own next update d_j for each of
:data:`MINIBATCHES` fixed training minibatches (the run's batch size; momentum, Adam's moments,
weight decay: the optimizer's state included), and for each η on a log grid around the current
lr measures ``w - η·d_j`` on a fixed evaluation set: the loss (the median over the m steps is the
curve), whether it is higher than before the step, and the dead ReLU units.

Why real minibatch steps: the first probe stepped along a 200-sample *mean* gradient, whose
cosine with a real SGD update is only 0.12-0.18 at init; its wall sat at η 3-10, so the report
recommended η = 0.5, the rate that kills the network. Measured on the 5k digits from the initial
weights (batch 10): one real step of 0.5 raises the loss (median 2.316 vs 2.3025) and doubles
fc1's dead units (17% → 34%); at η = 1, 57% of real steps raise it by more than 0.05.

Why it is built this way:

* An update is linear in η for SGD (and its momentum, Nesterov, weight decay), Adam(W),
  RMSprop and Adagrad: their state moves the same whatever the lr. So d_j is computed once
  per minibatch (SGD's arithmetic directly, any other optimizer by a trial step on a copy) and
  every η is ``w - η·d_j`` on a scratch copy of the model: the run's model and optimizer are
  only read, and no random number is drawn, so a run with probes is bit-equal to one without.
* Cost: m gradients of one minibatch, then m × grid points forwards of :data:`PROBE_SIZE`
  images. ``benchmarks/probe_cost.py`` on full MNIST, CPU (2 busy cores), per probe: batch 10,
  lr 0.01 (8 points) 0.68 CPU-s = 5.8% of an epoch's CPU time; Adam 1e-3 (10 points) 1.0 CPU-s,
  5.2%; lr 1e-4 (12 points) 1.2 CPU-s, 8.9%; batch 128 (16 gradients of 128 images) 0.92 CPU-s,
  12% (its epoch is shorter). Hence m = 16 (a share is read in sixteenths), 100 evaluation
  images (the first 100 of the 200 the first probe used: 64 moved the share at η = 0.3 from 69%
  to 38%, 200 gave 56%), 2 points per decade, one decade below the lr (small real steps are
  flat), two above, and always up to :data:`WALL_LR`, where a real step from the initial
  weights hits the wall.
"""

from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lrtui.engine.activations import UnitsFired, watching

#: Validation images the steps are measured on (the first ones: fixed for the whole run).
PROBE_SIZE = 100
#: Fixed training minibatches (the first ones, the run's batch size) whose real updates are stepped along.
MINIBATCHES = 16
#: Grid points per decade of η (2: 10^(1/2) ≈ 3.16x apart).
PER_DECADE = 2
#: Decades of η below the current lr (real small steps are flat: one decade shows it).
BELOW_DECADES = 1
#: Decades of η above the current lr, at least.
ABOVE_DECADES = 2
#: The grid reaches at least this η, so a tiny lr's probe still shows the wall: a real minibatch step
#: from the initial weights raises the loss from η ≈ 0.5 (5k digits, batch 10: see the module docstring).
WALL_LR = 3.0
#: Most grid points (a lr of 1e-9 would otherwise ask for 22; from 1e-6 up the grid reaches the wall).
MAX_POINTS = 16


def probe_grid(lr: float) -> list[float]:
    """η values, ascending, on a 10^(1/PER_DECADE) grid through ``lr`` itself."""
    low = -BELOW_DECADES * PER_DECADE
    reach = math.ceil(PER_DECADE * math.log10(WALL_LR / lr) - 1e-9) if lr > 0 else 0
    high = min(max(ABOVE_DECADES * PER_DECADE, reach), low + MAX_POINTS - 1)
    return [lr if k == 0 else lr * 10 ** (k / PER_DECADE) for k in range(low, high + 1)]


@dataclass(frozen=True)
class ProbeData:
    """The fixed samples a run probes with."""

    batches: tuple[tuple[torch.Tensor, torch.Tensor], ...]  #: the minibatches whose updates are stepped along
    x: torch.Tensor  #: the evaluation images
    y: torch.Tensor

    @classmethod
    def take(
        cls, train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor, val_y: torch.Tensor, batch_size: int
    ) -> ProbeData:
        """The first :data:`MINIBATCHES` training minibatches (fewer if the set is smaller) and validation images.

        Copies, not views: a dataset's training tensor is read again each epoch in place, and the runs of a sweep
        trained one by one share it, so a view would show each run what the one before left there."""
        m = max(1, min(MINIBATCHES, train_x.shape[0] // batch_size))
        rows = [slice(j * batch_size, (j + 1) * batch_size) for j in range(m)]
        batches = tuple((train_x[r].clone(), train_y[r].clone()) for r in rows)
        return cls(batches, val_x[:PROBE_SIZE], val_y[:PROBE_SIZE])


def minibatch_gradients(model: nn.Module, data: ProbeData) -> list[list[torch.Tensor]]:
    """Each fixed minibatch's loss gradient at the current weights; no ``.grad`` is touched."""
    params = list(model.parameters())
    return [list(torch.autograd.grad(F.cross_entropy(model(x), y), params)) for x, y in data.batches]


@torch.no_grad()
def sgd_direction(
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    *,
    momentum: float,
    weight_decay: float,
    nesterov: bool,
    buffers: Sequence[torch.Tensor] | None,
) -> list[torch.Tensor]:
    """torch.optim.SGD's next update direction (the step is ``-lr`` times it), computed out of place."""
    d = list(grads)
    if weight_decay:
        d = list(torch._foreach_add(d, list(params), alpha=weight_decay))
    if momentum:
        buf = d if buffers is None else list(torch._foreach_add(torch._foreach_mul(list(buffers), momentum), d))
        d = list(torch._foreach_add(d, buf, alpha=momentum)) if nesterov else buf
    return d


def optimizer_direction(
    optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor], lr: float
) -> list[torch.Tensor]:
    """Any optimizer's next update direction: a trial step on a deep copy of it (and of its params)."""
    trial = copy.deepcopy(optimizer)
    copies = [p for group in trial.param_groups for p in group["params"]]
    for p, g in zip(copies, grads, strict=True):
        p.grad = g.detach().clone()
    trial.step()
    with torch.no_grad():
        return [(p - c) / lr for p, c in zip(params, copies, strict=True)]


@dataclass(frozen=True)
class StepCurves:
    """What the m real steps of each size did, measured on the evaluation images."""

    loss_before: float  #: the weights themselves
    losses: tuple[float, ...]  #: per η: the median loss after one step
    raised_fraction: tuple[float, ...]  #: per η: share of the m steps after which the loss is above ``loss_before``
    dead_after: tuple[dict[str, float], ...]  #: per η: each ReLU layer's dead share after a step, median over m


def _median(values: list[float]) -> float:
    """The median, a NaN (a step that blew up) counted as the highest loss."""
    return statistics.median(math.inf if math.isnan(v) else v for v in values)


@torch.no_grad()
def steps_along(
    model: nn.Module,
    directions: Sequence[Sequence[torch.Tensor]],
    lrs: Sequence[float],
    data: ProbeData,
    scratch: nn.Module | None = None,
) -> StepCurves:
    """One step of each size in ``lrs`` along each direction (``w - η·d``), each measured on ``data.x``.

    ``scratch``: a model of the same shape whose weights may be overwritten (a deep copy is made
    when none is given); ``model`` itself is only read. One device read for everything.
    """
    scratch = scratch if scratch is not None else copy.deepcopy(model)
    params = [p.detach() for p in model.parameters()]
    moved = [p.detach() for p in scratch.parameters()]
    before = F.cross_entropy(model(data.x), data.y)
    losses, dead, names = [], [], list[str]()
    for lr in lrs:
        for direction in directions:
            for s, p, d in zip(moved, params, direction, strict=True):
                s.copy_(p).add_(d, alpha=-lr)
            units = UnitsFired()  # any network's ReLU-family activations, by the names the diagnostics use
            with watching(scratch, units) as forward:
                losses.append(F.cross_entropy(forward(data.x), data.y))
            names = names or list(units.fired)
            dead.append(units.dead() if units.fired else torch.zeros(0, device=before.device))
    m = len(directions)
    read = torch.cat([before.view(1), torch.stack(losses), torch.cat(dead)]).tolist()
    base, after, dead_all = read[0], read[1 : 1 + len(losses)], read[1 + len(losses) :]
    curves = [after[i * m : (i + 1) * m] for i in range(len(lrs))]
    layers = len(names)
    dead_per = [[dead_all[(i * m + j) * layers : (i * m + j + 1) * layers] for j in range(m)] for i in range(len(lrs))]
    return StepCurves(
        loss_before=base,
        losses=tuple(_median(c) for c in curves),
        # a NaN loss (a step that blew up) counts as raised: it is no lower than before
        raised_fraction=tuple(sum(not (x <= base) for x in c) / m for c in curves),
        dead_after=tuple(
            {name: statistics.median(row[k] for row in rows) for k, name in enumerate(names)} for rows in dead_per
        ),
    )
