"""When a run counts as provably dead (the pure rule), and what the engine does with it: one by one and stacked."""

from __future__ import annotations

import math

import pytest

from lrtui.engine.config import RunConfig
from lrtui.engine.dead_stop import DEAD_POINTS, provably_dead
from lrtui.engine.events import EpochEnd, Event, RunEnd
from lrtui.engine.provisional import LogPoint
from lrtui.engine.step_trace import StepTrace, TracePoint
from lrtui.engine.sweep import run_many

LN10 = math.log(10)
ALIVE = {"conv1": 0.1, "conv2": 0.05, "fc1": 0.4}
DEAD = {"conv1": 0.8, "conv2": 0.9, "fc1": 1.0}


def log_points(n: int, *, acc: float = 0.1, loss: float = 2.31, every: int = 50) -> list[LogPoint]:
    return [LogPoint(step=every * (i + 1), since=every * i, train_loss=loss, train_acc=acc) for i in range(n)]


def trace(*probes: tuple[int, dict[str, float]]) -> StepTrace:
    return StepTrace(points=[TracePoint.of(step, 2.3, None, dead) for step, dead in probes])


#: fc1 all dead from the probe at step 64 on; log points at steps 50, 100, 150, 200
DYING = trace((0, ALIVE), (32, {**DEAD, "fc1": 0.99}), (64, DEAD), (96, DEAD), (128, DEAD), (160, DEAD))


def test_three_log_points_of_a_dead_layer_at_chance_and_ln10_count_as_dead() -> None:
    dead = provably_dead(log_points(4), DYING)
    assert dead is not None
    assert (dead.layer, dead.since, dead.points) == ("fc1", 64, DEAD_POINTS)
    assert dead.note(1, 3) == (
        "stopped early at epoch 1 of 3: fc1 100% dead since step 64, accuracy at chance "
        "(10.0%) and loss 2.310 ≈ ln 10 for 3 log points"
    )


@pytest.mark.parametrize(
    "points, probes, why",
    [
        (log_points(4)[:3], DYING, "the first log point (step 50) saw fc1 at 99%: only two with the layer dead"),
        (log_points(2), trace((0, DEAD)), "two log points are not enough"),
        (log_points(4, acc=0.35), DYING, "above chance: something learns"),
        (log_points(4, loss=1.9), DYING, "a loss well below ln 10: the output is not a constant guess"),
        (log_points(4, loss=2.9), DYING, "a loss well above ln 10: it still moves"),
        (log_points(4, loss=math.nan), DYING, "a NaN loss is a divergence, not this rule's"),
        (log_points(4), trace((0, ALIVE), (64, {**DEAD, "fc1": 0.99})), "no layer is all dead"),
        (
            log_points(4),
            trace((0, ALIVE), (64, DEAD), (96, DEAD), (128, {**DEAD, "fc1": 0.9}), (160, DEAD)),
            "fc1 fired again at step 128: the last three log points did not all see it dead",
        ),
        (log_points(4), StepTrace(), "no dead-unit probe at all"),
        (log_points(4), None, "no trace"),
    ],
)
def test_anything_less_is_not_dead(points, probes, why) -> None:
    assert provably_dead(points, probes) is None, why


def test_the_streak_is_judged_at_each_log_point_with_the_probe_it_had_then() -> None:
    """A probe taken after a log point (step 160 > 150) is not evidence for it."""
    late = trace((0, ALIVE), (150, DEAD), (199, DEAD))
    assert provably_dead(log_points(4), late) is None
    assert provably_dead(log_points(6), late) is not None  # log points 250 and 300 add their evidence


def test_another_class_count_uses_its_own_chance_and_ln_c() -> None:
    points = log_points(4, acc=0.4, loss=math.log(3))
    assert provably_dead(points, DYING) is None
    dead = provably_dead(points, DYING, classes=3)
    assert dead is not None and "≈ ln 3" in dead.note(1, 2)


def test_a_sequentials_layer_is_named_a_layer_not_a_bare_number() -> None:
    """An MLP's ReLU is module ``4`` of its Sequential: the note says "layer 4 100% dead", not "4 100% dead"."""
    seq = trace(*((step, {"2": 0.5, "4": 1.0}) for step in (0, 32, 64, 96, 128, 160)))
    dead = provably_dead(log_points(4), seq)
    assert dead is not None and dead.layer == "4"
    assert ": layer 4 100% dead since step 0," in dead.note(1, 2)


# -- real training: lr 1.0 kills fc1 within ~64 steps of 2,000 digits, lr 0.01 learns ----------------------------
CONFIG = RunConfig(epochs=2, batch_size=10, train_limit=2000, device="cpu", seed=0)
LRS = (1.0, 0.01)


def _train(batched: bool, stop_dead: bool) -> tuple[list[RunEnd], list[Event]]:
    events: list[Event] = []
    ends = run_many(
        [CONFIG.with_lr(lr) for lr in LRS],
        ["dead", "alive"],
        events.append,
        batched=batched,
        stop_dead=stop_dead,
        probes=False,
    )
    return ends, events


def _epochs(events: list[Event], run_id: str) -> list[tuple[float, float, float, float]]:
    return [
        (e.train_loss, e.train_acc, e.val_loss, e.val_acc)
        for e in events
        if isinstance(e, EpochEnd) and e.run_id == run_id
    ]


@pytest.fixture(scope="module")
def stacked_kept() -> tuple[list[RunEnd], list[Event]]:
    return _train(batched=True, stop_dead=False)


def _check_stopped(
    ends: list[RunEnd], events: list[Event], kept: tuple[list[RunEnd], list[Event]], exact: bool
) -> None:
    dead, alive = ends
    kept_dead, kept_alive = kept[0]
    assert (dead.status, dead.epochs_done, kept_dead.epochs_done) == ("finished", 1, 2)
    assert dead.verdict is not None and "stopped early at epoch 1 of 2: fc1 100% dead since step" in dead.verdict.reason
    assert dead.test is not None, "a stopped run is tested like any finished one"
    assert [e for e in events if isinstance(e, RunEnd) and e.run_id == "dead"] == [dead]
    assert (alive.status, alive.epochs_done) == ("finished", 2)
    assert alive.verdict is not None and "stopped early" not in alive.verdict.reason
    assert alive.test is not None and kept_alive.test is not None
    if exact:  # the stack: the same arithmetic for the live model, with or without its dead neighbour stopped
        assert _epochs(events, "alive") == _epochs(kept[1], "alive")
        assert (alive.test.accuracy, alive.test.loss) == (kept_alive.test.accuracy, kept_alive.test.loss)
    else:  # one by one against the stack: as close as test_sweep's equality of the two paths
        for a, b in zip(_epochs(events, "alive"), _epochs(kept[1], "alive"), strict=True):
            assert a == pytest.approx(b, abs=1e-4)
    assert _epochs(events, "dead") == _epochs(kept[1], "dead")[:1]


def test_a_stacked_sweep_stops_its_dead_model_and_the_other_trains_exactly_as_before(stacked_kept) -> None:
    ends, events = _train(batched=True, stop_dead=True)
    _check_stopped(ends, events, stacked_kept, exact=True)


def test_one_by_one_the_dead_run_stops_and_the_next_trains_all_epochs(stacked_kept) -> None:
    ends, events = _train(batched=False, stop_dead=True)
    _check_stopped(ends, events, stacked_kept, exact=False)


def test_without_stop_dead_the_dead_run_trains_all_epochs(stacked_kept) -> None:
    dead, _ = stacked_kept[0]
    assert (dead.status, dead.epochs_done) == ("finished", 2)
    assert dead.verdict is not None and "stopped early" not in dead.verdict.reason
