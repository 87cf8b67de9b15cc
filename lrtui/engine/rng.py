"""The process's global random generators, seeded for a while and then put back, one thread at a time.

Why one place: a network's initial weights (its factory), a data factory's data and a dataset's
random transforms draw from torch's global CPU generator, Python's ``random`` and numpy's global
one, which every thread shares. Seeding them here makes each of those draws depend on a seed
alone (the same weights for every run of a sweep, the same first read of a dataset in any process,
the same transforms for a run's epoch); the lock keeps two threads (a run reading its epoch, the
app's range test building its network) from rewinding each other's generators halfway.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator

import numpy as np
import torch

#: Held while the global generators are seeded (re-entrant: a factory may build a network inside a data factory).
RNG_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded_draws(seed: int) -> Iterator[None]:
    """Draws inside come from the global generators seeded with ``seed``; the caller's states come back after.

    torch's CPU generator (a GPU's generators are left as they are), ``random`` and numpy's global one.
    """
    with RNG_LOCK:
        python_state, numpy_state = random.getstate(), np.random.get_state()
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed % 2**63)
            random.seed(seed)
            np.random.seed(seed % 2**32)
            try:
                yield
            finally:
                random.setstate(python_state)
                np.random.set_state(numpy_state)
