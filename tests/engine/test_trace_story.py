"""The step trace in words, on real tiny runs (1,000 of the 5k digits, one epoch): lr 0.5 names a layer
that went to a high dead share and a large step; lr 0.01 says nothing alarming."""

from __future__ import annotations

import re

import pytest
from engine_helpers import Recorder

from lrtui.engine.config import RunConfig
from lrtui.engine.events import TracePoints
from lrtui.engine.step_trace import StepTrace, TracePoint
from lrtui.engine.trace_story import LARGE_STEP, dead_rise, trace_facts, trace_sentence
from lrtui.engine.trainer import train


def traced(lr: float) -> StepTrace:
    rec = Recorder()
    train(RunConfig(lr=lr, epochs=1, batch_size=10, train_limit=1000, device="cpu", seed=0), rec)
    events = rec.of(TracePoints)
    return StepTrace(events[0].dead_on, [p for ev in events for p in ev.points])


@pytest.fixture(scope="module")
def lr_05() -> StepTrace:
    return traced(0.5)


@pytest.fixture(scope="module")
def lr_001() -> StepTrace:
    return traced(0.01)


def test_lr_05_names_a_layer_going_to_a_high_dead_share_and_a_large_step(lr_05) -> None:
    sentence = trace_sentence(lr_05, "sgd")
    went = re.search(
        r"(conv1|conv2|fc1) went from ([0-9.]+)% to ([0-9.]+)% dead between step (\d+) and step (\d+)", sentence
    )
    assert went, sentence
    start, peak, first, last = float(went[2]), float(went[3]), int(went[4]), int(went[5])
    assert peak > 38 and peak - start >= 20 and first < last  # above every SGD run that learned
    assert "on the 32-image probe batch" in sentence  # not the validation set
    step = re.search(
        r"the largest step, step (\d+), moved (conv1|conv2|fc1|fc2) by ([0-9.]+)% of its weights", sentence
    )
    assert step and float(step[3]) >= 100 * LARGE_STEP, sentence
    assert [f.alarming for f in trace_facts(lr_05, "sgd")] == [True, True]


def test_lr_001_says_nothing_alarming(lr_001) -> None:
    facts = trace_facts(lr_001, "sgd")
    assert len(facts) == 2 and not any(f.alarming for f in facts)
    sentence = trace_sentence(lr_001, "sgd")
    assert "went from" not in sentence and "dead units did not spread" in sentence
    assert "no dead units" not in sentence  # fc1 has dead units on the probe batch from the start
    assert re.search(r"moved fc\d by 0\.[0-9]+% of its weights", sentence), sentence


def test_no_dead_units_only_when_none_are() -> None:
    alive = StepTrace(
        32,
        [
            TracePoint.of(0, 2.3, {"fc1": 1e-3}, {"conv1": 0.0, "fc1": 0.0}),
            TracePoint.of(32, 2.2, None, {"conv1": 0.0, "fc1": 0.0}),
        ],
    )
    assert trace_sentence(alive).startswith("no dead units on the 32-image probe batch up to step 32;")
    one = StepTrace(32, [*alive.points, TracePoint.of(64, 2.1, None, {"conv1": 0.0, "fc1": 1 / 64})])
    assert "no dead units" not in trace_sentence(one)


def test_a_layer_that_comes_back_says_so_and_the_band_is_the_optimizers() -> None:
    points = [
        TracePoint.of(s, 2.0, None, {"conv2": d, "fc1": 0.1})
        for s, d in ((0, 0.0), (32, 0.1), (64, 0.5), (96, 0.5), (128, 0.3))
    ]
    trace = StepTrace(32, points)
    rise = dead_rise(trace)
    assert rise is not None and (rise.layer, rise.from_step, rise.to_step, rise.last) == ("conv2", 0, 64, 0.3)
    (fact,) = trace_facts(trace, "sgd")
    assert fact.text.startswith("conv2 went from 0% to 50% dead between step 0 and step 64, back to 30% by step 128")
    assert fact.alarming  # above SGD's 38%
    assert not trace_facts(trace, "adam")[0].alarming  # Adam learns with up to 70% of a layer dead


def test_no_trace_says_nothing() -> None:
    assert trace_facts(None) == [] and trace_sentence(None) == "" and trace_sentence(StepTrace()) == ""


def test_a_sequential_networks_index_names_read_as_layers() -> None:
    """``nn.Sequential`` names its modules 0, 1, 2...: "4 7% at step 0" read as two numbers; "layer 4" does not."""
    trace = StepTrace(
        32,
        [
            TracePoint.of(0, 2.3, {"0": 1e-3, "4": 2e-3}, {"1": 0.0, "4": 0.07}),
            TracePoint.of(32, 2.2, {"0": 1e-3, "4": 0.3}, {"1": 0.0, "4": 0.9}),
        ],
    )
    sentence = trace_sentence(trace, "sgd")
    assert "layer 4 went from 7% to 90% dead" in sentence and "moved layer 4 by 30% of its weights" in sentence
