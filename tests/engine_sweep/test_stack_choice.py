"""Stacked or one by one: a real (tiny) calibration writes the cache, auto mode reads it, forcing wins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from lrtui.engine import stack_choice
from lrtui.engine.config import RunConfig
from lrtui.engine.events import Event, RunEnd, RunStarted
from lrtui.engine.machine import cpu_threads
from lrtui.engine.stack_choice import bucket, cache_key, read_choices, stacked_is_faster, write_choice
from lrtui.engine.sweep import run_many, use_batched

CPU = torch.device("cpu")
TINY = RunConfig(lr=0.05, epochs=1, batch_size=10, train_limit=100, device="cpu", seed=0)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The choice file in a folder of this test's own (the shared data cache stays as it is)."""
    path = tmp_path / "stack-choice.json"
    monkeypatch.setattr(stack_choice, "choice_file", lambda: path)
    return path


def test_buckets_group_k_and_batch_sizes() -> None:
    assert [bucket(n) for n in (1, 2, 3, 4, 5, 8, 9, 100)] == [1, 2, 4, 4, 8, 8, 16, 128]
    key = cache_key(CPU, 3, 10, 1)
    assert key == cache_key(CPU, 4, 16, 1) != cache_key(CPU, 5, 10, 1)
    assert torch.__version__ in key and "threads 1" in key and key.startswith("cpu:")


def test_a_calibration_measures_writes_and_is_then_read(cache: Path) -> None:
    first = stacked_is_faster(TINY, 2, CPU)
    data = json.loads(cache.read_text())
    assert data["version"] == 1
    ((key, entry),) = data["entries"].items()
    assert key == cache_key(CPU, 2, TINY.batch_size, torch.get_num_threads())
    assert entry["stacked"] is first and entry["k"] == 2
    assert entry["stack_step_s"] > 0 and entry["single_step_s"] > 0
    assert entry["speedup"] == pytest.approx(2 * entry["single_step_s"] / entry["stack_step_s"], rel=1e-3)
    # the answer now comes from the file: flip it there and auto follows, without measuring again
    write_choice(key, {**entry, "stacked": not first})
    assert stacked_is_faster(TINY, 2, CPU) is (not first)
    assert read_choices()[key]["measured_at"] == entry["measured_at"]


def test_an_unreadable_cache_is_measured_again(cache: Path) -> None:
    cache.write_text("{not json")
    assert read_choices() == {}
    stacked_is_faster(TINY, 2, CPU)
    assert len(read_choices()) == 1
    cache.write_text(json.dumps({"version": 99, "entries": {"x": {"stacked": True}}}))
    assert read_choices() == {}


def _order(choice: bool | None, cache: Path, batched: bool | None = None) -> list[str]:
    """Run two tiny runs through run_many; the kinds of events in order show which path ran."""
    if choice is not None:
        write_choice(two_runs_key(), {"stacked": choice, "speedup": 1.0, "k": 2})
    events: list[Event] = []
    run_many([TINY, TINY.with_lr(0.01)], ["r1", "r2"], events.append, batched=batched, probes=False)
    return [f"{type(e).__name__}:{e.run_id}" for e in events if isinstance(e, (RunStarted, RunEnd))]


def two_runs_key() -> str:
    """The key auto mode looks up for two TINY runs: at the thread count a run trains with."""
    return cache_key(CPU, 2, TINY.batch_size, cpu_threads())


STACKED = ["RunStarted:r1", "RunStarted:r2", "RunEnd:r1", "RunEnd:r2"]
ONE_BY_ONE = ["RunStarted:r1", "RunEnd:r1", "RunStarted:r2", "RunEnd:r2"]


def test_auto_follows_the_cached_choice_and_forcing_wins(cache: Path) -> None:
    assert _order(True, cache) == STACKED
    assert _order(False, cache) == ONE_BY_ONE
    assert _order(None, cache, batched=True) == STACKED  # forced, against the cached "one by one"
    write_choice(two_runs_key(), {"stacked": True, "speedup": 1.0, "k": 2})
    assert _order(None, cache, batched=False) == ONE_BY_ONE  # forced, against the cached "stacked"


def test_forcing_never_calibrates() -> None:
    def refuse(config: RunConfig, k: int, device: torch.device) -> bool:
        raise AssertionError("forced: no measurement")

    three = [TINY.with_lr(lr) for lr in (0.1, 0.01, 0.001)]
    assert use_batched(three, True, "cpu", choice=refuse) and not use_batched(three, False, "cpu", choice=refuse)
    assert not use_batched(three[:1], None, "cpu", choice=refuse)  # one run on the CPU: the plain trainer
