"""What happens inside the network: step sizes, gradients, dead ReLUs, one-class answers.

Why these numbers: a learning rate fails in two ways the accuracy curve cannot tell apart
(both sit at chance). Too large, each step moves the weights by several percent
(‖Δw‖/‖w‖ ~ 1e-2..1e-1), ReLUs are knocked below zero for every input and stay there
(dead), and the network answers one class for everything (loss ln 10). Too small, each
step moves them by ~1e-6 and nothing dies: the network simply has not moved yet.

How they are measured without slowing training:

* :class:`StepStats` keeps running sums on the device; a measured step adds a few
  foreach norms (no ``.item()``), read once at a log point or at the epoch's end.
  Steps 0, 4, 8, ... of each epoch are measured (:data:`SAMPLE_EVERY`): at batch 10
  on the CPU the norms cost ~70-100 µs against a ~1.1 ms step, so measuring every
  step cost ~9% of the throughput, every 4th ~1-2% (measured,
  benchmarks/diagnostics_overhead.py). The epoch's "mean over steps" is the mean
  over that fixed share of them. The stacked sweep computes every step with pure
  tensor ops (captured in its CUDA graph) and weights the same steps in, so a stack
  reports what K lone runs would.
  Deeper networks: a 12-layer 128-wide MLP's step is a few passes over 267k weights, and a
  measured step adds two more (‖w‖ and ‖g‖, ~20% of its step), which no grouping can avoid:
  every 4th cost it ~6%. So a foreign network measures every Nth step, N (4, 8, 16 or 32) timed
  once at setup (:mod:`lrtui.engine.sample_rate`) and recorded in the run's config
  (``sample_every``); the reference CNN keeps 4.
* With ``rows`` (the step trace, :mod:`lrtui.engine.step_trace`), each measured step's ratios
  are also written to their own row of a per-epoch device buffer (one copy, no read): the
  epoch's largest step per layer (``update_ratio_max``) is an ``amax`` over it at the epoch's
  end, and the trace reads the rows it keeps at log points. An epoch mean counts the steps
  after a layer died (ratio 0) and hides the few that killed it; the largest step does not.
* :class:`ValStats` rides along the validation pass the trainer already runs: the
  activations are seen by hooks that exist only during that pass
  (:mod:`lrtui.engine.activations`), so dead units cost a sum over activations, not another pass.

Any ``nn.Module`` classifier: its layers are the modules that own parameters directly, named by
their path (``features.0``; the reference CNN's are ``conv1, conv2, fc1, fc2``), grouped from the
flat parameter list by one fixed device index (:class:`LayerGroups`); its ReLUs are found as it
runs. :meth:`Observer.for_model` is what the trainer asks for any model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from lrtui.engine.activations import ROOT, UnitsFired, watching

#: The reference CNN's layers with weights, in parameter order (what :func:`layer_groups` names them).
LAYERS = ("conv1", "conv2", "fc1", "fc2")
#: The reference CNN's layers followed by a ReLU (what its dead units are named).
RELU_LAYERS = ("conv1", "conv2", "fc1")
#: A lone run of the reference CNN measures every this many steps; another network at least this many apart
#: (see the module docstring).
SAMPLE_EVERY = 4


class LayerGroups:
    """A model's layers (modules owning parameters directly, by path) and which of its parameters each owns.

    Built from ``named_parameters()`` names (the owner is the path before the last dot), in their order:
    a module's own parameters come one after another there, so ``model.parameters()`` is grouped as is.
    """

    def __init__(self, param_names: Sequence[str]) -> None:
        owners = [name.rpartition(".")[0] or ROOT for name in param_names]
        self.names: tuple[str, ...] = tuple(dict.fromkeys(owners))  #: layer names, in parameter order
        self.owner = [self.names.index(o) for o in owners]  #: per parameter, its layer's index
        sizes = [self.owner.count(i) for i in range(len(self.names))]
        contiguous = self.owner == sorted(self.owner)
        #: parameters per layer where every layer has as many, one after another (a view then groups them)
        self.per_layer = sizes[0] if contiguous and sizes and len(set(sizes)) == 1 else None
        self._index: dict[torch.device, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self.names)

    def index(self, device: torch.device) -> torch.Tensor:
        """:attr:`owner` on ``device`` (made once per device, before any step: a CUDA graph reads it)."""
        if device not in self._index:
            self._index[device] = torch.tensor(self.owner, dtype=torch.long, device=device)
        return self._index[device]

    def norms(self, norms: Sequence[torch.Tensor], k: int | None) -> torch.Tensor:
        """Per-parameter norms (flat list: quantity-major, then parameter) → per-layer norms ``[Q, L]``
        (``[Q, L, K]`` stacked): the norm of all of a layer's parameters together."""
        stacked = torch.stack(list(norms))
        tail = (k,) if k is not None else ()
        if self.per_layer is not None:  # the reference CNN (weight, bias per layer) and most plain nets
            return torch.linalg.vector_norm(stacked.view(-1, len(self.names), self.per_layer, *tail), dim=2)
        squares = stacked.view(-1, len(self.owner), *tail).square()
        out = squares.new_zeros((squares.shape[0], len(self.names), *tail))
        return out.index_add_(1, self.index(stacked.device), squares).sqrt_()


def layer_groups(model: nn.Module) -> LayerGroups:
    """The layers of any model, as :class:`StepStats` groups its parameters."""
    return LayerGroups([name for name, _ in model.named_parameters()])


class StepStats:
    """Running on-device sums of each step's update-to-weight ratio per layer and global gradient norm.

    ``groups``: the model's layers (:func:`layer_groups`), in the order of the parameters the steps pass.
    ``k`` is None for one model, else the number of stacked models (sums get a trailing ``[K]``).
    ``rows``: the most steps of an epoch (0: no per-step rows, no ``update_ratio_max``).
    """

    def __init__(
        self, device: torch.device, groups: LayerGroups, k: int | None = None, every: int = 1, rows: int = 0
    ) -> None:
        self.groups, self.k, self.every = groups, k, every
        groups.index(device)  # made now, not inside a step a CUDA graph captures
        tail = (k,) if k is not None else ()
        self.ratio_sum = torch.zeros((len(groups), *tail), device=device)
        self.grad_sum = torch.zeros(tail, device=device)
        self.tick = 0  #: steps seen since the last reset (lone runs)
        self.slot = 0  #: the row of the step being measured (lone runs)
        #: each measured step's ratios, row ``b // every`` for step ``b`` of the epoch; the last row takes
        #: a stack's unmeasured steps (a graph writes every step somewhere). None: not kept.
        self.rows = torch.zeros((-(-rows // every) + 1, len(groups), *tail), device=device) if rows else None

    def reset(self) -> None:
        """A new epoch: sums to 0, and its step 0 is the next measured one."""
        self.ratio_sum.zero_()
        self.grad_sum.zero_()
        self.tick = 0

    def due(self) -> bool:
        """Whether to measure this step (steps 0, every, 2·every, ... since the last reset). Lone runs."""
        due = self.tick % self.every == 0
        self.slot = self.tick // self.every
        self.tick += 1
        return due

    def measured(self, steps: int) -> int:
        """How many of an epoch's first ``steps`` steps are measured ones."""
        return -(-steps // self.every)

    @torch.no_grad()
    def add_sgd(
        self,
        params: Sequence[torch.Tensor],
        grads: Sequence[torch.Tensor],
        direction: Sequence[torch.Tensor],
        lr: float,
    ) -> None:
        """One SGD step about to apply ``params -= lr * direction`` (so ‖Δw‖ = lr·‖direction‖).
        Plain SGD passes its gradients as the direction: their norms are then taken once."""
        plain = direction is grads
        layers = self.groups.norms(torch._foreach_norm([*grads, *params, *(() if plain else direction)]), None)
        g, w, d = layers[0], layers[1], layers[0 if plain else 2]
        if self.rows is None:
            self.ratio_sum.addcdiv_(d, w, value=lr)
        else:
            self._keep(torch.div(d, w).mul_(lr))
        self.grad_sum.add_(torch.linalg.vector_norm(g))

    @torch.no_grad()
    def add_delta(
        self, before: Sequence[torch.Tensor], after: Sequence[torch.Tensor], grads: Sequence[torch.Tensor]
    ) -> None:
        """Any optimizer: the update actually applied is ``after - before``."""
        delta = torch._foreach_sub(list(after), list(before))
        norms = [*torch._foreach_norm(delta), *torch._foreach_norm(list(before)), *torch._foreach_norm(list(grads))]
        d, w, g = self.groups.norms(norms, None)
        if self.rows is None:
            self.ratio_sum.add_(d / w)
        else:
            self._keep(d / w)
        self.grad_sum.add_(torch.linalg.vector_norm(g))

    def _keep(self, ratio: torch.Tensor) -> None:
        """A lone run's measured step: into the sum and into its row."""
        assert self.rows is not None
        self.ratio_sum.add_(ratio)
        self.rows[self.slot].copy_(ratio)

    @staticmethod
    @torch.no_grad()
    def per_model_norms(ts: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """The norm of each stacked model's slice (leading ``[K]`` dim) of each tensor."""
        return [torch.linalg.vector_norm(t, dim=tuple(range(1, t.dim()))) for t in ts]

    @torch.no_grad()
    def add_stacked(
        self,
        weight_norms: Sequence[torch.Tensor],
        grads: Sequence[torch.Tensor],
        direction: Sequence[torch.Tensor],
        lrs: torch.Tensor,
        step: torch.Tensor,
    ) -> None:
        """K stacked models: ``p -= lrs[k] * direction`` was applied to weights whose
        :meth:`per_model_norms` (taken before the step) are ``weight_norms``; ``step`` is the
        on-device index of the step in its epoch. Counted only on the steps a lone run measures
        (graph-safe: a 0/1 weight, no branch)."""
        norms = self.per_model_norms(direction) + list(weight_norms) + self.per_model_norms(grads)
        d, w, g = self.groups.norms(norms, self.k)
        measured = step % self.every == 0
        weight = measured.to(d.dtype)
        ratio = d / w * (lrs * weight)
        self.ratio_sum.add_(ratio)
        self.grad_sum.add_(torch.linalg.vector_norm(g, dim=0) * weight)
        if self.rows is not None:  # an unmeasured step's (zero) ratios go to the spare last row
            slot = torch.where(measured, step // self.every, self.rows.shape[0] - 1)
            self.rows.index_copy_(0, slot.view(1), ratio.unsqueeze(0))

    def update_ratio(self, steps: int, model: int | None = None) -> dict[str, float]:
        """Mean ratio per layer over ``steps`` steps (one device read)."""
        sums = self.ratio_sum if model is None else self.ratio_sum[:, model]
        return dict(zip(self.groups.names, (sums / max(1, steps)).tolist(), strict=True))

    def update_ratio_max(self, steps: int, model: int | None = None) -> dict[str, float] | None:
        """The largest ratio per layer of one step among the first ``steps`` measured ones (one device read)."""
        if self.rows is None:
            return None
        rows = self.rows[: max(1, steps)]
        top = (rows if model is None else rows[..., model]).amax(0)
        return dict(zip(self.groups.names, top.tolist(), strict=True))

    def ratios_at(self, slots: list[int], model: int | None = None) -> torch.Tensor:
        """``[len(slots), layers]``: the rows of these measured steps (still on the device)."""
        assert self.rows is not None
        picked = self.rows[torch.tensor(slots, dtype=torch.long, device=self.rows.device)]
        return picked if model is None else picked[..., model]

    def grad_norm(self, steps: int, model: int | None = None) -> float:
        total = self.grad_sum if model is None else self.grad_sum[model]
        return float(total.item()) / max(1, steps)


class ValStats:
    """Dead units and prediction collapse, accumulated over a validation pass (on the device).

    Any classifier: the classes are the logits' last dimension (top-class share 1/C and entropy ln C
    when every class is as likely); dead units from the model run under :meth:`Observer.observing`.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.units = UnitsFired()  #: per activation: which units ever fired; the n/a ones
        self.counts: torch.Tensor | None = None  #: predictions per class
        self.entropy_sum = torch.zeros((), device=device)
        self.n = 0

    @torch.no_grad()
    def observe(self, logits: torch.Tensor) -> None:
        """One batch's logits ``[N, C]``."""
        if self.counts is None:
            self.counts = torch.zeros(logits.shape[-1], dtype=torch.int64, device=self.device)
        logp = F.log_softmax(logits.float(), dim=1)
        self.entropy_sum += -(logp.exp() * logp).sum()
        self.counts += torch.bincount(logits.argmax(1), minlength=self.counts.shape[0])
        self.n += logits.shape[0]

    def result(self) -> dict[str, Any]:
        """``dead_fraction`` (per measured activation), ``top_class_share``, ``pred_entropy`` as plain numbers;
        ``dead_na`` (activation: why it is not measured) only where some are not."""
        n = max(1, self.n)
        unmeasured = self.units.unmeasured()
        return {
            "dead_fraction": self.units.dead_fraction(),
            "top_class_share": float(self.counts.max().item()) / n if self.counts is not None else 0.0,
            "pred_entropy": float(self.entropy_sum.item()) / n,
            **({"dead_na": unmeasured} if unmeasured else {}),
        }


class Observer:
    """What measuring any model takes: its layers (:class:`StepStats`), its activations (:class:`ValStats`)."""

    def __init__(self, model: nn.Module, groups: LayerGroups) -> None:
        self.model, self.groups = model, groups

    @classmethod
    def for_model(cls, model: nn.Module) -> Observer:
        return cls(model, layer_groups(model))

    def step_stats(
        self, device: torch.device, k: int | None = None, every: int = SAMPLE_EVERY, rows: int = 0
    ) -> StepStats:
        return StepStats(device, self.groups, k, every, rows)

    @contextmanager
    def observing(self, stats: ValStats | None) -> Iterator[Callable[[torch.Tensor], torch.Tensor]]:
        """``forward(x)`` for the block: the model, its activations counted in ``stats`` (None: the plain model)."""
        with watching(self.model, stats.units if stats is not None else None) as forward:
            yield forward
