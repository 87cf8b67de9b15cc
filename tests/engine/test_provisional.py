"""The provisional rules on made-up log points: what each needs, and what it says."""

from __future__ import annotations

from lrtui.engine.config import RunConfig
from lrtui.engine.provisional import LogPoint, judge_provisional
from lrtui.engine.records import ProbeRecord
from lrtui.engine.step_trace import StepTrace, TracePoint

RATIOS = {"conv1": 1e-3, "conv2": 1e-3, "fc1": 1e-3, "fc2": 2e-3}


def point(acc: float, ratio: float = 1e-3, largest: float = 2e-3, step: int = 100, loss: float = 2.31) -> LogPoint:
    return LogPoint(
        step, step - 100, loss, acc, {k: v * ratio / 1e-3 for k, v in RATIOS.items()}, {k: largest for k in RATIOS}
    )


def trace(dead: float) -> StepTrace:
    return StepTrace(32, [TracePoint.of(64, 2.3, RATIOS, {"conv1": 0.1, "conv2": dead / 2, "fc1": dead})])


def test_dead_units_at_chance_are_dying_relus_with_the_largest_step() -> None:
    verdict = judge_provisional([point(0.1, largest=0.3), point(0.11, largest=0.62, step=200)], trace(1.0))
    assert verdict.label == "not learning" and verdict.reason.startswith(
        "dying ReLUs: 100% of fc1 never fire on a fixed batch of 32 validation images (step 64)"
    )
    assert "the largest step moved fc1 by 62% of its weights" in verdict.reason
    assert "training accuracy 11.0% over steps 101–200" in verdict.reason and "smaller" in verdict.hint


def test_dead_units_above_chance_are_not_dying_yet() -> None:
    assert judge_provisional([point(0.5)], trace(1.0)).label == "still learning"


def test_small_steps_are_too_slow_unless_the_probe_disagrees() -> None:
    slow = judge_provisional([point(0.11, ratio=7e-6)], trace(0.2), config=RunConfig(lr=1e-4))
    assert slow.label == "too slow" and "7.0e-06 of the weights per step, 29x below" in slow.reason
    assert "100x larger" in slow.hint and "0.01" in slow.hint
    smaller_is_better = ProbeRecord(0, (1e-6, 1e-4, 1e-2), (2.2, 2.3, 2.4), current_lr=1e-4)
    assert judge_provisional([point(0.11, ratio=7e-6)], trace(0.2), probes=[smaller_is_better]).label == "too early"


def test_at_chance_with_healthy_steps_is_too_early_and_above_it_still_learning() -> None:
    early = judge_provisional([point(0.12)], trace(0.2))
    assert early.label == "too early" and "steps 1.0e-03 of the weights (healthy)" in early.reason
    assert "at most 20% of fc1 dead on the fixed batch" in early.reason
    learning = judge_provisional([point(0.85)], None)
    assert learning.label == "still learning" and "training accuracy 85.0%" in learning.reason


def test_momentum_is_named() -> None:
    verdict = judge_provisional(
        [point(0.1)], trace(1.0), config=RunConfig(lr=0.1, optimizer="sgd-momentum", momentum=0.9)
    )
    assert "effective step lr/(1−0.9) = 1.0 under momentum 0.9" in verdict.reason and "momentum" in verdict.hint


def test_three_classes_are_judged_at_their_own_chance_and_uniform_loss_with_module_path_layers() -> None:
    """An own model on 3-class data: 40% training accuracy is chance (1/3 + 10 points), not learning; the reason
    quotes ln 3 and the network's own layer names. On ten classes the same 40% is above chance."""
    names = {"features.0": 1e-3, "blocks.1.conv2": 1e-3, "head": 1e-3}
    points = [LogPoint(100, 0, 1.1, 0.40, names, {k: 0.6 for k in names})]
    dead = StepTrace(32, [TracePoint.of(64, 1.1, names, {"features.0": 0.2, "blocks.1.conv2": 1.0})])
    three = judge_provisional(points, dead, config=RunConfig(model="examples/mlp.py:mlp", classes=3))
    assert three.label == "not learning", three.reason
    assert "100% of blocks.1.conv2 never fire" in three.reason and "(ln 3 = 1.099 is a uniform guess)" in three.reason
    assert judge_provisional(points, dead, config=RunConfig(classes=10)).label == "still learning"
