"""Range tests kept in a session: ``range_tests/<stamp>-<pid>.json``, one per ``lrtui find-lr --open SESSION``.

Why: a foreign network's verdict is judged on bands calibrated on the reference CNN, so its hint
proposes a range test for the network itself. Once the session holds one for the same network
(``--model`` spec), data, optimizer and batch size, the hint leads with what it suggested instead
(:func:`with_range_tests` fills :attr:`~lrtui.engine.config.RunConfig.range_test_lr` before the runs
are queued; the engine never reads a session). Each test is its own file, written atomically by the
process that ran it, so two processes never write the same file and a reader skips what it cannot
parse. Nothing here imports torch.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from lrtui.engine.config import RunConfig
from lrtui.sessions.files import write_json_atomic

FOLDER = "range_tests"


def model_key(spec: str) -> str:
    """A ``--model`` spec as the same network from any working folder: a file's path made absolute."""
    where, _, name = spec.rpartition(":")
    return f"{Path(where).expanduser().resolve()}:{name}" if where.endswith(".py") else spec


def _matches(config: RunConfig) -> dict[str, Any]:
    """What a range test and a run must share for its suggestion to be this run's."""
    return {
        "model": model_key(config.model),
        "data": model_key(config.data) if config.data else "",
        "dataset": config.dataset,
        "optimizer": config.optimizer,
        "batch_size": config.batch_size,
    }


def save_range_test(folder: Path, config: RunConfig, result: Mapping[str, Any]) -> Path:
    """Keep ``result`` (an :class:`~lrtui.engine.lrfind.LRFindResult` as ``to_dict`` gives it) of the range
    test of ``config`` in the session ``folder``; returns the file written."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = Path(folder) / FOLDER / f"{stamp}-{os.getpid()}.json"
    write_json_atomic(
        path, {"created": time.time(), "match": _matches(config), "config": config.to_dict(), "result": dict(result)}
    )
    return path


def _suggestion(path: Path) -> tuple[float, dict[str, Any], float] | None:
    """(created, what it matches, suggested lr) of one saved test; None when unreadable or without a suggestion."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        lr, match, created = doc["result"]["suggestion"]["lr"], doc["match"], float(doc["created"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if not isinstance(match, dict) or isinstance(lr, bool) or not isinstance(lr, (int, float)):
        return None
    return (created, match, float(lr)) if math.isfinite(lr) and lr > 0 else None


def suggested_lr(folder: Path, config: RunConfig) -> float | None:
    """The lr the newest range test in the session ``folder`` suggests for ``config``'s network, data,
    optimizer and batch size; None without one (or for the reference CNN, whose bands are its own)."""
    if not config.model:
        return None
    want = _matches(config)
    try:
        files = sorted((Path(folder) / FOLDER).glob("*.json"))
    except OSError:
        return None
    found = [s for s in map(_suggestion, files) if s is not None and s[1] == want]
    return max(found, key=lambda s: s[0])[2] if found else None


def with_range_tests(folder: Path, configs: Sequence[RunConfig]) -> list[RunConfig]:
    """``configs`` with :attr:`~lrtui.engine.config.RunConfig.range_test_lr` set from the session's range tests."""
    return [replace(c, range_test_lr=suggested_lr(folder, c)) for c in configs]
