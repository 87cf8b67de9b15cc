"""Several learning rates in one go: the entry point front ends call for any list of configs.

First version: runs the configs one after another through :func:`lrtui.engine.trainer.train`.
(The batched, one-stacked-model version comes with the sweep issue.)
"""

from __future__ import annotations

import threading
from typing import Sequence

from lrtui.engine.config import RunConfig
from lrtui.engine.events import Emit, RunEnd


def run_many(
    configs: Sequence[RunConfig],
    run_ids: Sequence[str],
    emit: Emit,
    cancel: threading.Event | None = None,
    *,
    batched: bool | None = None,
) -> list[RunEnd]:
    """Train every config, emitting each run's events under its id. A cancel stops the rest too."""
    from lrtui.engine.trainer import train

    cancel = cancel or threading.Event()
    ends = []
    for config, run_id in zip(configs, run_ids, strict=True):
        if cancel.is_set():
            break
        ends.append(train(config, emit, cancel, run_id=run_id))
    return ends
