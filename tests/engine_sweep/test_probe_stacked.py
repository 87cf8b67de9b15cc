"""A stacked sweep probes each member with the same real steps as a lone run: what they did equals, within rounding."""

from __future__ import annotations

import pytest

from lrtui.engine.config import RunConfig
from lrtui.engine.events import Event, ProbeResult
from lrtui.engine.sweep import run_many

TINY = RunConfig(epochs=1, batch_size=10, train_limit=200, device="cpu", seed=5, optimizer="sgd-momentum", momentum=0.9)
LRS = (0.5, 0.01)


def probes(batched: bool) -> dict[str, list[ProbeResult]]:
    events: list[Event] = []
    run_many([TINY.with_lr(lr) for lr in LRS], ["a", "b"], events.append, batched=batched)
    return {rid: [e for e in events if isinstance(e, ProbeResult) and e.run_id == rid] for rid in ("a", "b")}


def test_stacked_members_take_the_same_real_steps_as_lone_runs() -> None:
    lone, stacked = probes(False), probes(True)
    for rid in ("a", "b"):
        assert [p.epoch for p in lone[rid]] == [p.epoch for p in stacked[rid]] == [0, 1]
        for x, y in zip(lone[rid], stacked[rid], strict=True):
            assert x.lrs == y.lrs and x.minibatches == y.minibatches == 16  # 200 samples: 20 minibatches of 10
            assert y.base_loss == pytest.approx(x.base_loss, abs=1e-4)
            assert y.losses == pytest.approx(x.losses, rel=1e-3, abs=1e-3), (rid, x.epoch)
            # a step whose loss lands within rounding of the loss before may count on either side: one of 16
            assert y.raised_fraction == pytest.approx(x.raised_fraction, abs=1 / 16 + 1e-9), (rid, x.epoch)
            for a, b in zip(x.dead_after, y.dead_after, strict=True):
                assert b == pytest.approx(a, abs=0.02), (rid, x.epoch)
