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
  over that fixed quarter of them. The stacked sweep computes every step with pure
  tensor ops (captured in its CUDA graph) and weights the same steps in, so a stack
  reports what K lone runs would.
* With ``rows`` (the step trace, :mod:`lrtui.engine.step_trace`), each measured step's ratios
  are also written to their own row of a per-epoch device buffer (one copy, no read): the
  epoch's largest step per layer (``update_ratio_max``) is an ``amax`` over it at the epoch's
  end, and the trace reads the rows it keeps at log points. An epoch mean counts the steps
  after a layer died (ratio 0) and hides the few that killed it; the largest step does not.
* :class:`ValStats` rides along the validation pass the trainer already runs
  (:func:`forward_observed` is ConvNet's forward, op for op, also returning the
  ReLU outputs), so dead units cost a max over activations, not another pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lrtui.engine.model import ConvNet

#: The model's layers with weights, in parameter order (each has a weight and a bias).
LAYERS = ("conv1", "conv2", "fc1", "fc2")
#: The layers followed by a ReLU.
RELU_LAYERS = ("conv1", "conv2", "fc1")
#: Parameters per layer (weight, bias): the layout the norms are grouped by.
_PER_LAYER = 2
#: A lone run measures every this many steps (see the module docstring).
SAMPLE_EVERY = 4


def _layer_norms(norms: Sequence[torch.Tensor], k: int | None) -> torch.Tensor:
    """Per-parameter norms (flat list: quantity-major, then layer, then weight/bias) → per-layer norms.

    Shape ``[Q, 4]`` (or ``[Q, 4, K]`` stacked): the norm of a layer's weight and bias together.
    """
    stacked = torch.stack(list(norms))
    shape = (-1, len(LAYERS), _PER_LAYER) + ((k,) if k is not None else ())
    return torch.linalg.vector_norm(stacked.view(shape), dim=2)


class StepStats:
    """Running on-device sums of each step's update-to-weight ratio per layer and global gradient norm.

    ``k`` is None for one model, else the number of stacked models (sums get a trailing ``[K]``).
    ``rows``: the most steps of an epoch (0: no per-step rows, no ``update_ratio_max``).
    """

    def __init__(self, device: torch.device, k: int | None = None, every: int = 1, rows: int = 0) -> None:
        self.k, self.every = k, every
        tail = (k,) if k is not None else ()
        self.ratio_sum = torch.zeros((len(LAYERS), *tail), device=device)
        self.grad_sum = torch.zeros(tail, device=device)
        self.tick = 0  #: steps seen since the last reset (lone runs)
        self.slot = 0  #: the row of the step being measured (lone runs)
        #: each measured step's ratios, row ``b // every`` for step ``b`` of the epoch; the last row takes
        #: a stack's unmeasured steps (a graph writes every step somewhere). None: not kept.
        self.rows = torch.zeros((-(-rows // every) + 1, len(LAYERS), *tail), device=device) if rows else None

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
    def add_sgd(self, params: Sequence[torch.Tensor], grads: Sequence[torch.Tensor],
                direction: Sequence[torch.Tensor], lr: float) -> None:
        """One SGD step about to apply ``params -= lr * direction`` (so ‖Δw‖ = lr·‖direction‖).
        Plain SGD passes its gradients as the direction: their norms are then taken once."""
        g_norms = torch._foreach_norm(list(grads))
        d_norms = g_norms if direction is grads else torch._foreach_norm(list(direction))
        d, w, g = _layer_norms([*d_norms, *torch._foreach_norm(list(params)), *g_norms], None)
        if self.rows is None:
            self.ratio_sum.addcdiv_(d, w, value=lr)
        else:
            self._keep(torch.div(d, w).mul_(lr))
        self.grad_sum.add_(torch.linalg.vector_norm(g))

    @torch.no_grad()
    def add_delta(self, before: Sequence[torch.Tensor], after: Sequence[torch.Tensor],
                  grads: Sequence[torch.Tensor]) -> None:
        """Any optimizer: the update actually applied is ``after - before``."""
        delta = torch._foreach_sub(list(after), list(before))
        norms = [*torch._foreach_norm(delta), *torch._foreach_norm(list(before)), *torch._foreach_norm(list(grads))]
        d, w, g = _layer_norms(norms, None)
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
    def add_stacked(self, weight_norms: Sequence[torch.Tensor], grads: Sequence[torch.Tensor],
                    direction: Sequence[torch.Tensor], lrs: torch.Tensor, step: torch.Tensor) -> None:
        """K stacked models: ``p -= lrs[k] * direction`` was applied to weights whose
        :meth:`per_model_norms` (taken before the step) are ``weight_norms``; ``step`` is the
        on-device index of the step in its epoch. Counted only on the steps a lone run measures
        (graph-safe: a 0/1 weight, no branch)."""
        norms = self.per_model_norms(direction) + list(weight_norms) + self.per_model_norms(grads)
        d, w, g = _layer_norms(norms, self.k)
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
        return dict(zip(LAYERS, (sums / max(1, steps)).tolist(), strict=True))

    def update_ratio_max(self, steps: int, model: int | None = None) -> dict[str, float] | None:
        """The largest ratio per layer of one step among the first ``steps`` measured ones (one device read)."""
        if self.rows is None:
            return None
        rows = self.rows[: max(1, steps)]
        top = (rows if model is None else rows[..., model]).amax(0)
        return dict(zip(LAYERS, top.tolist(), strict=True))

    def ratios_at(self, slots: list[int], model: int | None = None) -> torch.Tensor:
        """``[len(slots), layers]``: the rows of these measured steps (still on the device)."""
        assert self.rows is not None
        picked = self.rows[torch.tensor(slots, dtype=torch.long, device=self.rows.device)]
        return picked if model is None else picked[..., model]

    def grad_norm(self, steps: int, model: int | None = None) -> float:
        total = self.grad_sum if model is None else self.grad_sum[model]
        return float(total.item()) / max(1, steps)


def forward_observed(model: ConvNet, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """ConvNet's forward, the same ops in the same order (the same logits), plus each ReLU's output."""
    h1 = F.relu(model.pool(model.conv1(x)), inplace=True)
    h2 = F.relu(model.pool(model.conv2(h1)), inplace=True)
    h3 = F.relu(model.fc1(h2.flatten(1)), inplace=True)
    return model.fc2(h3), {"conv1": h1, "conv2": h2, "fc1": h3}


def fired(a: torch.Tensor) -> torch.Tensor:
    """Per channel (``[N, C, H, W]``) or unit (``[N, C]``) of a ReLU's output: whether it is > 0 anywhere."""
    # ReLU outputs are >= 0, so "any > 0" is "sum > 0"; summed as rows of [N*H*W, C] (a view for channels-last):
    # amax over dims (0, 2, 3) of conv1's [200, 16, 14, 14] took 2.2 ms on the CPU, this 0.11 ms (measured)
    rows = a.permute(0, 2, 3, 1).reshape(-1, a.shape[1]) if a.dim() == 4 else a
    return rows.sum(0) > 0


class ValStats:
    """Dead units and prediction collapse, accumulated over a validation pass (on the device)."""

    def __init__(self, device: torch.device, classes: int = 10) -> None:
        self.fired: dict[str, torch.Tensor] = {}  #: per channel/unit: ever > 0 on any image
        self.counts = torch.zeros(classes, dtype=torch.int64, device=device)
        self.entropy_sum = torch.zeros((), device=device)
        self.n = 0

    @torch.no_grad()
    def observe(self, logits: torch.Tensor, acts: dict[str, torch.Tensor]) -> None:
        for name, a in acts.items():
            now = fired(a)
            self.fired[name] = now if name not in self.fired else self.fired[name] | now
        logp = F.log_softmax(logits.float(), dim=1)
        self.entropy_sum += -(logp.exp() * logp).sum()
        self.counts += torch.bincount(logits.argmax(1), minlength=self.counts.shape[0])
        self.n += logits.shape[0]

    def result(self) -> dict[str, Any]:
        """``dead_fraction``, ``top_class_share``, ``pred_entropy`` as plain numbers (one device read each)."""
        n = max(1, self.n)
        return {
            "dead_fraction": {name: 1.0 - float(f.float().mean().item()) for name, f in self.fired.items()},
            "top_class_share": float(self.counts.max().item()) / n,
            "pred_entropy": float(self.entropy_sum.item()) / n,
        }
