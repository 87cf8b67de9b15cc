"""What the machine gives a run: torch's threads, the device's name, whether a batch may sync.

Kept apart from the training loop (:mod:`lrtui.engine.trainer`): the sweep, the stack choice, the range test
and the benchmarks ask the same questions of the machine.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager

import torch


def cpu_threads() -> int:
    """Torch threads for a run: one fewer than the usable cores (at least 1, never more than torch's).

    Why: at batch 10 a second thread bought ~20% on an idle 2-core machine, but as soon as
    anything else wanted a core (the app's UI, a test worker, another process) OpenMP's
    spinning threads made the same loop 10-30x slower (measured here). Leaving a core free
    costs a little at best and avoids that cliff at worst.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(torch.get_num_threads(), cores - 1))


@contextmanager
def run_threads() -> Iterator[None]:
    """Torch at :func:`cpu_threads` for the ``with`` block, then back to what it was (the cap is per run)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(cpu_threads())
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def syncs_each_batch(device: torch.device) -> bool:
    """Whether to read the divergence flag every batch: free on the CPU, a stall on a GPU."""
    return device.type == "cpu"


def device_name(device: torch.device) -> str:
    """A human name for the device: the GPU's name, or the CPU model."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (mps)"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "CPU"
