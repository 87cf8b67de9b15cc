"""Stacked or one by one: measured on the machine at hand, once, and remembered.

Why measure: a K-model stack (:mod:`lrtui.engine.sweep`) trades K small kernels for one
grouped one. Whether that pays depends on the machine: on one Intel CPU a K=4/K=8 stack
trained at 1.30x/1.44x the speed of K runs one after another, on this project's AMD EPYC
at 0.84x/0.81x. No rule written from one box fits the other, so auto mode times both
here: a few steps of a K-stack against a few steps of one run (times K), on the real
device, with the run's batch size and thread count, after a warm-up.

Cost and cache: ~30 timed steps of each after 5 warm-up steps, best of two rounds (a
busy shared machine slows one round, rarely both), capped at :data:`BUDGET_S` per
measurement: well under two seconds on a CPU at batch 10, once per key. The answer is
kept in ``$LRTUI_CACHE/stack-choice.json`` (see :func:`choice_file`), keyed by device
name, torch version, torch threads, K bucket and batch-size bucket::

    {"version": 1, "entries": {"<key>": {"stacked": true, "speedup": 1.21, "k": 4,
        "stack_step_s": 0.0041, "single_step_s": 0.0012, "measured_at": "2026-12-01T07:55:00Z"}}}

``speedup`` is (K × one run's step time) / (the stack's step time): > 1 means the stack is faster.
A missing, unreadable or foreign file just means "measure again".

On CUDA the one-by-one alternative is what a lone run uses there (a stack of one, replayed
as a CUDA graph), so the comparison is graph against graph.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from lrtui.engine.config import RunConfig
from lrtui.engine.data import _cache_dir
from lrtui.engine.diagnostics import SAMPLE_EVERY, StepStats
from lrtui.engine.model import build_model

VERSION = 1
FILENAME = "stack-choice.json"
#: Timed steps per measurement (after :data:`WARMUP` untimed ones), unless :data:`BUDGET_S` runs out first.
STEPS = 30
WARMUP = 5  #: > the sweep's GRAPH_WARMUP: on CUDA the graph is captured before the timing
#: Seconds one measurement may take at most (a large batch on a slow CPU stops early, after >= MIN_STEPS).
BUDGET_S = 0.4
MIN_STEPS = 5
#: Rounds of (one run, stack); each side keeps its fastest round.
ROUNDS = 2


def choice_file() -> Path:
    """Where the measured choices live: ``$LRTUI_CACHE/stack-choice.json`` (else the user cache folder)."""
    return _cache_dir() / FILENAME


def bucket(n: int) -> int:
    """The power of two at or above ``n`` (3 → 4, 5 → 8): K=5..8 share one measurement (of K = the bucket)."""
    return 1 << max(0, math.ceil(math.log2(max(1, n))))


def device_label(device: torch.device) -> str:
    """The device's name (GPU model or CPU model), as the cache key's first part."""
    from lrtui.engine.trainer import device_name  # the trainer imports the sweep, which imports this

    return f"{device.type}:{device_name(device)}"


def cache_key(device: torch.device, k: int, batch_size: int, threads: int) -> str:
    """``<device>|torch <version>|threads <n>|K<bucket>|batch<bucket>``."""
    return (f"{device_label(device)}|torch {torch.__version__}|threads {threads}|K{bucket(k)}"
            f"|batch{bucket(batch_size)}")


def read_choices(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """The cached entries (an empty dict when the file is missing, unreadable or of another version)."""
    try:
        data = json.loads((path or choice_file()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("entries"), dict):
        return {}
    return {k: v for k, v in data["entries"].items() if isinstance(v, dict) and isinstance(v.get("stacked"), bool)}


def write_choice(key: str, entry: dict[str, Any], path: Path | None = None) -> None:
    """Add one entry (re-reading the file first: another process may have added its own), atomically.

    A cache that cannot be written is no error: the next sweep measures again.
    """
    path = path or choice_file()
    entries = read_choices(path)
    entries[key] = entry
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".stack-choice-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": VERSION, "entries": entries}, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        return


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _per_step(step: Callable[[], None], device: torch.device) -> float:
    """Seconds per call of ``step``: :data:`WARMUP` untimed calls, then up to :data:`STEPS` timed ones."""
    for _ in range(WARMUP):
        step()
    _sync(device)
    start = time.perf_counter()
    n = 0
    while n < STEPS and (n < MIN_STEPS or time.perf_counter() - start < BUDGET_S):
        step()
        n += 1
    _sync(device)
    return (time.perf_counter() - start) / n


def measure(config: RunConfig, k: int, device: torch.device) -> dict[str, Any]:
    """Time one run's training step and a K-stack's on ``device`` (random digits: speed does not read them).

    The steps are the real ones (the trainer's :class:`~lrtui.engine.trainer.SGDStep` with its
    diagnostics, and the sweep's :class:`~lrtui.engine.sweep.StackedStep`), at the config's batch size.
    """
    from lrtui.engine.sweep import StackedNet, StackedSGD, StackedStep
    from lrtui.engine.trainer import SGDStep

    gen = torch.Generator().manual_seed(0)
    n = max(config.batch_size * 4, 64)
    x = torch.randn(n, 1, 28, 28, generator=gen).to(device)
    y = torch.randint(0, 10, (n,), generator=gen).to(device)
    b = config.batch_size
    idx = torch.arange(b, device=device)
    small = config.with_lr(min(config.lr, 1e-3))  # a sane lr: the weights must stay finite over ~70 steps

    def stack_of(size: int) -> Callable[[], None]:
        net = StackedNet(build_model(config.seed, device), size)
        opt = StackedSGD(net.params, torch.full((size,), small.lr, device=device), small)
        step = StackedStep(net, opt, x, y, b, ROUNDS * (WARMUP + STEPS) + 1, graphs=True)
        return lambda: step(idx)

    if device.type == "cuda":
        single = stack_of(1)  # a lone run on CUDA: a stack of one, as a CUDA graph
    else:
        model = build_model(config.seed, device)
        update = SGDStep(model.parameters(), small, StepStats(device, every=SAMPLE_EVERY))
        losses = torch.zeros(1, device=device)
        xb, yb = x[:b], y[:b]

        def single() -> None:  # the trainer's step: forward, loss, update, the per-batch writes and the CPU's check
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            update(loss)
            with torch.no_grad():
                losses[0] = loss
            math.isfinite(loss.item())

    stacked = stack_of(k)
    single_s = stack_s = math.inf
    for _ in range(ROUNDS):
        single_s = min(single_s, _per_step(single, device))
        stack_s = min(stack_s, _per_step(stacked, device))
    speedup = k * single_s / stack_s
    return {"stacked": speedup > 1.0, "speedup": round(speedup, 4), "k": k, "stack_step_s": stack_s,
            "single_step_s": single_s, "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def stacked_is_faster(config: RunConfig, k: int, device: torch.device, *, path: Path | None = None,
                      remeasure: bool = False) -> bool:
    """The cached answer for this device, K bucket and batch bucket; measured (and cached) when there is none.

    Call with torch's threads already at what training uses (the key holds the thread count).
    """
    key = cache_key(device, k, config.batch_size, torch.get_num_threads())
    if not remeasure:
        entry = read_choices(path).get(key)
        if entry is not None:
            return bool(entry["stacked"])
    entry = measure(config, bucket(k), device)
    write_choice(key, entry, path)
    return bool(entry["stacked"])
