"""Stacked or one by one: measured on the machine at hand, once, and remembered.

Why measure: a K-model stack (:mod:`lrtui.engine.sweep`) trades K small kernels for one
grouped one. Whether that pays depends on the machine: on one Intel CPU a K=4/K=8 stack
trained at 1.30x/1.44x the speed of K runs one after another, on an AMD EPYC at
0.84x/0.81x. No rule written from one box fits the other, so auto mode times both here:
the real training epoch (:meth:`lrtui.engine.trainer.Fit.train_epoch`, once with a lone
run's step and once with the stack's; diagnostics, schedule and bookkeeping included) on a
few dozen steps of random digits, on the real device, with the run's batch size and thread
count. What an epoch leaves out (loading the data, validation, test, probes) costs a stack
no more than K lone runs.

Imports: the trainer builds both (:class:`~lrtui.engine.trainer.Fit`,
:meth:`~lrtui.engine.trainer.Fit.stacked`); the sweep imports this module, never the other
way round.

Cost and cache: one warm-up epoch of each, then two alternating timed rounds, the fastest
of each side (a busy shared machine slows one round, rarely both): 30 steps at batch 10,
fewer at larger batches (~300 samples per epoch): about 1-2 s on a CPU at batch 10, once
per key. The answer is kept in ``$LRTUI_CACHE/stack-choice.json`` (see :func:`choice_file`),
keyed by device name, torch version, torch threads, K bucket and batch-size bucket::

    {"version": 1, "entries": {"<key>": {"stacked": true, "speedup": 1.21, "k": 4, "steps": 30,
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
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from lrtui.engine.config import RunConfig
from lrtui.engine.data import Splits, _cache_dir
from lrtui.engine.func_stack import ModelFactory, is_reference_net, stacked_fit
from lrtui.engine.machine import device_name
from lrtui.engine.model import seeded_model
from lrtui.engine.run import Run
from lrtui.engine.trainer import Fit

VERSION = 1
FILENAME = "stack-choice.json"
#: Steps of a timed epoch: :data:`STEPS` at batch 10, fewer at larger batches (about :data:`SAMPLES` samples),
#: never fewer than :data:`MIN_STEPS` (more than :data:`lrtui.engine.steps.GRAPH_WARMUP`: CUDA captures in the
#: warm-up epoch).
STEPS, SAMPLES, MIN_STEPS = 30, 300, 5
#: Bytes of the block :func:`_as_after_loading_data` allocates (the 5k digits' training split is 10 MB).
WARM_BYTES = 16 * 2**20
#: Timed rounds of (one run's epoch, the stack's epoch) after one warm-up round; each side keeps its fastest.
ROUNDS = 2


def choice_file() -> Path:
    """Where the measured choices live: ``$LRTUI_CACHE/stack-choice.json`` (else the user cache folder)."""
    return _cache_dir() / FILENAME


def bucket(n: int) -> int:
    """The power of two at or above ``n`` (3 → 4, 5 → 8): K=5..8 share one measurement (of K = the bucket)."""
    return 1 << max(0, math.ceil(math.log2(max(1, n))))


def device_label(device: torch.device) -> str:
    """The device's name (GPU model or CPU model), as the cache key's first part."""
    return f"{device.type}:{device_name(device)}"


def cache_key(device: torch.device, k: int, batch_size: int, threads: int, model: str = "") -> str:
    """``<device>|torch <version>|threads <n>|K<bucket>|batch<bucket>`` (then ``|model <model>`` for another model)."""
    return (
        f"{device_label(device)}|torch {torch.__version__}|threads {threads}|K{bucket(k)}"
        f"|batch{bucket(batch_size)}" + (f"|model {model}" if model else "")
    )


def model_label(factory: ModelFactory | None, seed: int = 0) -> str:
    """What tells models apart in the cache: ``""`` for the reference CNN, else its class and parameter count."""
    if factory is None:
        return ""
    model = seeded_model(factory, seed)
    return "" if is_reference_net(model) else f"{type(model).__name__} {sum(p.numel() for p in model.parameters())}"


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


def _loops(
    config: RunConfig, k: int, device: torch.device, factory: ModelFactory | None = None
) -> tuple[Callable[[], None], Callable[[], None], int]:
    """(one run's epoch, a K-stack's epoch, steps per epoch): the real training loop on random digits.

    Both are :meth:`lrtui.engine.trainer.Fit.train_epoch`, with everything a step does in training
    (batch slicing, bookkeeping, diagnostics, schedule, log points); only the data is synthetic
    (speed does not read it) and sized to a few dozen steps.
    """
    b = config.batch_size
    steps = max(MIN_STEPS, min(STEPS, SAMPLES // b))
    if device.type == "cpu":
        _as_after_loading_data()
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(b * steps, 1, 28, 28, generator=gen).to(device)
    y = torch.randint(0, 10, (b * steps,), generator=gen).to(device)
    splits = Splits(x, y, x[:b], y[:b], x[:b], y[:b], torch.zeros(1, 28, 28, dtype=torch.uint8))
    # a small lr keeps the weights finite for every timed epoch (a diverged run would stop early); one log
    # point per epoch: training logs every quarter of a 320-step epoch, not every 5th of a 30-step one
    cfg = replace(config, lr=min(config.lr, 1e-3), device=str(device), epochs=1, train_limit=None, log_every=10**9)
    cancel = threading.Event()

    def runs(size: int) -> list[Run]:
        made = [
            Run(
                cfg,
                _ignore,
                cancel,
                f"calibration-{i}",
                probes=False,
                model_factory=factory,
                diagnostics=not model_label(factory),
            )
            for i in range(size)
        ]  # another model: no diagnostics
        for run in made:
            run.setup(splits)
        return made

    def epoch_of(fit: Fit) -> Callable[[], None]:
        def epoch() -> None:
            fit.train_epoch(1)

        return epoch

    return epoch_of(lone_fit(runs(1)[0], device)), epoch_of(stacked_fit(runs(k))), steps


def lone_fit(run: Run, device: torch.device) -> Fit:
    """One set-up run trained as training trains it alone: on CUDA a stack of one replayed as a CUDA graph
    (the grouped stack for the reference CNN, torch.func's for another model, as :func:`stacked_fit` picks),
    elsewhere its own lone step."""
    if device.type == "cuda":
        return stacked_fit([run])
    return Fit([run], run.step)


def _as_after_loading_data() -> None:
    """Allocate and free a block the size of a decoded training set, as a real run has before its first step.

    Why: glibc's malloc serves blocks above its mmap threshold (128 KiB at first) with fresh
    mmaps, page faults and all, and raises the threshold to the largest such block freed. A real
    run has decoded and gathered megabytes of digits before it trains, so a stack's multi-MB
    activations come from the heap; a calibration in a fresh process would otherwise time the
    K=4 stack ~30% slower than training runs it (measured: 9.5 against 7.0 ms per step).
    """
    block = torch.ones(WARM_BYTES // 4)
    del block


def _ignore(event: Any) -> None:
    """The calibration's runs emit to nobody."""


def _per_epoch(epoch: Callable[[], None], device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    epoch()
    _sync(device)
    return time.perf_counter() - start


def measure(config: RunConfig, k: int, device: torch.device, factory: ModelFactory | None = None) -> dict[str, Any]:
    """Time one run's training epoch and a K-stack's (a few dozen steps each, after one warm-up epoch)."""
    single, stacked, steps = _loops(config, k, device, factory)
    single(), stacked()  # warm-up: kernels, caches, lazy imports, the CUDA graph's capture
    single_s = stack_s = math.inf
    for _ in range(ROUNDS):  # alternating rounds, the fastest of each: load on a shared machine hits both alike
        single_s = min(single_s, _per_epoch(single, device) / steps)
        stack_s = min(stack_s, _per_epoch(stacked, device) / steps)
    speedup = k * single_s / stack_s
    return {
        "stacked": speedup > 1.0,
        "speedup": round(speedup, 4),
        "k": k,
        "steps": steps,
        "stack_step_s": stack_s,
        "single_step_s": single_s,
        "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def stacked_is_faster(
    config: RunConfig,
    k: int,
    device: torch.device,
    *,
    path: Path | None = None,
    remeasure: bool = False,
    factory: ModelFactory | None = None,
) -> bool:
    """The cached answer for this device, K bucket and batch bucket; measured (and cached) when there is none.

    Call with torch's threads already at what training uses (the key holds the thread count).
    ``factory``: another model than the reference CNN (its torch.func stack is timed). One whose stack
    fails to run here counts as faster: the sweep's own trial then says, in one line, why it trains one by one.
    """
    label = model_label(factory, config.seed)
    key = cache_key(device, k, config.batch_size, torch.get_num_threads(), label)
    if not remeasure:
        entry = read_choices(path).get(key)
        if entry is not None:
            return bool(entry["stacked"])
    try:
        entry = measure(config, bucket(k), device, factory)
    except Exception:  # noqa: BLE001 — see above: no cache entry, the trial decides
        if not label:
            raise
        return True
    write_choice(key, entry, path)
    return bool(entry["stacked"])
