"""K copies of the reference CNN as one model: what a stacked sweep (:mod:`lrtui.engine.sweep`) trains.

Why one model: at batch 10 every kernel is tiny, so K models trained one after another
spend most of their time launching kernels. Grouped convolutions and batched matmuls over
parameters of shape ``[K, ...]`` do the K models' work in one kernel each (on the CPU, one
thread, K=4: 2x the samples/s of ``torch.func.vmap`` + ``functional_call`` over ConvNet).
The update of these parameters is :class:`lrtui.engine.steps.StackedSGD`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lrtui.engine.model import ConvNet


class StackedNet:
    """K copies of :class:`ConvNet` as one set of parameters with a leading ``[K]`` dimension.

    The forward is ConvNet's, written for K models at once: grouped convolutions
    (``groups=K``) over the input repeated K times, then batched matmuls. Models
    never mix: a NaN in one stays in its own group.
    """

    def __init__(self, model: ConvNet, k: int) -> None:
        self.k = k
        #: oneDNN's NHWC kernels, as build_model uses on the CPU: measured ~25% faster for the stack
        self.memory_format = torch.channels_last if model.conv1.weight.device.type == "cpu" else torch.contiguous_format
        self.names = [name for name, _ in model.named_parameters()]
        self.params = [
            p.detach().unsqueeze(0).repeat(k, *[1] * p.dim()).contiguous().requires_grad_()
            for _, p in model.named_parameters()
        ]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[K, B, 10]`` of every model for the same batch ``x`` ``[B, 1, 28, 28]``."""
        k, b = self.k, x.shape[0]
        w1, b1, w2, b2, w3, b3, w4, b4 = self.params
        fmt = self.memory_format
        x = x.expand(b, k, *x.shape[2:]).contiguous(memory_format=fmt)
        h = F.conv2d(x, w1.flatten(0, 1).contiguous(memory_format=fmt), b1.flatten(), padding=1, groups=k)
        h = F.relu(F.max_pool2d(h, 2), inplace=True)  # pool first, as ConvNet does: the same function
        h = F.conv2d(h, w2.flatten(0, 1).contiguous(memory_format=fmt), b2.flatten(), padding=1, groups=k)
        h = F.relu(F.max_pool2d(h, 2), inplace=True)
        h = h.contiguous().view(b, k, -1).transpose(0, 1)  # [K, B, 32*7*7], each model's own channels
        h = F.relu(torch.baddbmm(b3.unsqueeze(1), h, w3.transpose(1, 2)), inplace=True)
        return torch.baddbmm(b4.unsqueeze(1), h, w4.transpose(1, 2))

    def copy_into(self, i: int, model: ConvNet) -> None:
        """Put model ``i``'s weights into a plain ConvNet (the trainer evaluates that one)."""
        with torch.no_grad():
            for name, p in zip(self.names, self.params):
                model.get_parameter(name).copy_(p[i])
