"""Reading a step probe: which steps are safe, its sentence, whom to believe, and a saved probe read back."""

from __future__ import annotations

import math
from typing import Any

import pytest
from engine_helpers import TINY

from lrtui.engine.events import ProbeResult
from lrtui.engine.probe_belief import RunOutcome, whom_to_believe
from lrtui.engine.probe_reading import larger_step_safe, largest_safe_step, read_probe, safe_at_lr
from lrtui.engine.records import ProbeRecord
from lrtui.engine.verdict import last_probe
from lrtui.sessions import schema
from lrtui.sessions.record import RunRecord

LRS = (0.001, 0.00316, 0.01, 0.0316, 0.1, 0.316, 1.0, 3.16)
#: measured on the 5k digits from the initial weights (batch 10, 16 minibatches)
LOSSES = (2.2940, 2.2939, 2.2938, 2.2934, 2.2937, 2.2991, 2.3444, 3.9408)
RAISED = (0.25, 0.25, 0.25, 0.25, 0.4375, 0.6875, 0.875, 1.0)
FC1 = (0.17, 0.17, 0.17, 0.17, 0.18, 0.28, 0.43, 0.46)


def probe(lr: float = 0.01, epoch: int = 0, **changes) -> ProbeResult:
    fields = {
        "lrs": LRS,
        "losses": LOSSES,
        "raised_fraction": RAISED,
        "base_loss": 2.2940,
        "minibatches": 16,
        "dead_after": tuple({"conv1": 0.06, "conv2": 0.0, "fc1": f} for f in FC1),
    }
    fields.update(changes)
    return ProbeResult(run_id="r1", epoch=epoch, current_lr=lr, **fields)


def test_the_largest_safe_step_is_below_the_first_one_that_raises_the_loss_on_most_minibatches() -> None:
    assert largest_safe_step(probe()) == 0.1  # 44% raised, median below before; 0.316 raised 69%
    assert largest_safe_step(probe(losses=(2.31,) * 8)) is None  # every size raised the median loss
    # full MNIST from the initial weights: even the smallest steps raise the loss on 9 of 16 minibatches (each one's
    # gradient disagrees with the evaluation images); that share is the floor, not a reason to call them unsafe
    mnist = probe(raised_fraction=(0.5625,) * 5 + (0.6875, 0.9375, 1.0), losses=(2.2940,) * 5 + (2.2957, 2.31, 2.4))
    assert largest_safe_step(mnist) == 0.1
    assert largest_safe_step(probe(raised_fraction=(0.0,) * 8, losses=(2.0,) * 8)) == 3.16
    # a median loss above before is not safe, however few minibatches it took
    assert largest_safe_step(probe(losses=(2.29, 2.29, 2.29, 2.31, 2.29, 2.29, 2.29, 2.29))) == 0.01


def test_the_sentence_says_what_the_runs_lr_does_and_the_largest_safe_step() -> None:
    assert read_probe(probe(0.01)) == (
        "Before training, a step of 0.01 (the run's lr) raises the loss on 25% of 16 "
        "minibatches; the largest safe step measured here is 0.1."
    )
    assert read_probe(probe(1.0, epoch=3)) == (
        "After epoch 3, a step of 1 (the run's lr) raises the loss on 88% of 16 minibatches, leaving fc1 43% dead "
        "(17% after a step of 0.001); the largest safe step measured here is 0.1."
    )
    assert "not even 0.001" in read_probe(probe(losses=(2.31,) * 8))
    assert "every step size measured is safe, up to 3.16" in read_probe(
        probe(raised_fraction=(0.0,) * 8, losses=(2.0,) * 8)
    )
    assert "was not among the step sizes" in read_probe(probe(0.02))


def test_a_sequentials_dying_layer_reads_as_a_layer() -> None:
    sequential = probe(1.0, epoch=3, dead_after=tuple({"2": 0.0, "4": f} for f in FC1))
    assert ", leaving layer 4 43% dead (17% after a step of 0.001)" in read_probe(sequential)


def test_an_older_probe_says_it_cannot_tell_which_steps_are_safe() -> None:
    old = probe(raised_fraction=(), dead_after=(), minibatches=0)
    assert "cannot say which steps are safe" in read_probe(old)
    assert largest_safe_step(old) is None
    assert larger_step_safe(old, 10) is None and safe_at_lr(old) is None
    assert whom_to_believe(old, RunOutcome(False, 0.9, 2)).believe == "run"


@pytest.mark.parametrize(
    ("lr", "outcome", "believe", "words"),
    [
        (1.0, RunOutcome(diverged=True, best_val_acc=None, epochs_done=0), "both", "unsafe"),
        (1.0, RunOutcome(diverged=False, best_val_acc=0.11, epochs_done=2), "both", "the run confirms it"),
        (0.01, RunOutcome(diverged=False, best_val_acc=0.95, epochs_done=2), "both", "the run confirms it"),
        (0.01, RunOutcome(diverged=False, best_val_acc=0.5, epochs_done=2), "both", "does not contradict"),
        (1.0, RunOutcome(diverged=False, best_val_acc=0.93, epochs_done=2), "run", "average to progress"),
        (0.01, RunOutcome(diverged=True, best_val_acc=0.4, epochs_done=1), "run", "the run diverged"),
        (0.1, RunOutcome(diverged=False, best_val_acc=0.1, epochs_done=3), "run", "ended at chance"),
        (1.0, RunOutcome(diverged=False, best_val_acc=None, epochs_done=0), "probe", "before it measured anything"),
    ],
)
def test_when_probe_and_run_disagree_the_run_wins_unless_it_measured_nothing(
    lr: float, outcome: RunOutcome, believe: str, words: str
) -> None:
    belief = whom_to_believe(probe(lr), outcome)
    assert belief.believe == believe and words in belief.why


def test_the_verdict_reads_larger_steps_from_real_steps() -> None:
    """Steps too small, the probe agreeing: a step 10x the lr or more is still safe and lower than the lr's own."""
    assert larger_step_safe(probe(0.001), 10) is True  # 0.0316 is safe and lower (2.2934 < 2.2940)
    assert larger_step_safe(probe(0.1), 10) is False  # 1 and 3.16 raise the loss on most minibatches
    small_gain = ProbeRecord.of(probe(0.001))  # lowers the median by 6e-4 nats only: the old rule asked for 1e-3
    assert last_probe([small_gain])[2] is True
    assert last_probe([ProbeRecord.of(probe(0.1))])[2] is False


def _saved_run(p: ProbeResult) -> dict[str, Any]:
    """A session row of run r1 holding this probe, as the session file saves it."""
    record = RunRecord("r1", TINY)
    record.apply(p)
    return record.to_dict()


#: a field of a saved probe and junk in it; the schema refuses each (the row is not read), naming the field
JUNK = [
    ("epoch", True),
    ("lrs", "x"),
    ("losses", ["a"] * 8),
    ("losses", [math.inf] * 8),
    ("current_lr", "1"),
    ("dead_after", [7] * 8),
    ("dead_after", [{"fc1": "z"}] * 8),
    ("minibatches", 2.5),
]


def test_a_saved_probe_reads_back_and_junk_reads_as_nothing() -> None:
    """Through the session schema: the probe as saved, a null loss as None, junk refused, an older probe."""
    p = probe(1.0, epoch=2)
    raw = _saved_run(p)
    back = schema.run_record(raw).probes
    assert back == [ProbeRecord.of(p)] and read_probe(back[0]) == read_probe(p)
    saved = raw["probes"][0]
    unmeasured = schema.run_record({**raw, "probes": [{**saved, "losses": [None] * 8}]}).probes[0]
    assert unmeasured.losses == (None,) * 8  # a loss that was not finite is saved as null and reads as None
    for field, junk in JUNK:
        with pytest.raises(schema.Malformed, match=f"probes\\[0\\].{field}"):
            schema.run_record({**raw, "probes": [{**saved, field: junk}]})
    old = {k: v for k, v in saved.items() if k in ("epoch", "lrs", "losses", "current_lr", "base_loss")}
    older = schema.run_record({**raw, "probes": [old]}).probes[0]
    assert older.raised_fraction is None and "cannot say" in read_probe(older)


def test_the_reports_probe_text_says_what_real_steps_did_before_training_and_last() -> None:
    from lrtui.engine.config import RunConfig
    from lrtui.reports.run_details import _probe_summary
    from lrtui.sessions.record import RunRecord

    def run_with(probes: list[ProbeRecord]) -> RunRecord:  # a run still training: its probes only
        record = RunRecord("r1", RunConfig(lr=1.0))
        record.probes = probes
        return record

    probes = [ProbeRecord.of(probe(1.0, epoch=epoch)) for epoch in (0, 1, 2)]
    text = _probe_summary(run_with(probes=probes))
    assert text.startswith("Lowest loss: before training 2.293 at η=0.0316")
    assert "Before training, a step of 1 (the run's lr) raises the loss on 88% of 16 minibatches" in text
    assert "After epoch 2, a step of 1" in text and "After epoch 1," not in text
    old = [ProbeRecord(p.epoch, p.lrs, p.losses, p.current_lr) for p in probes]
    said = _probe_summary(run_with(probes=old))  # older probes: the lowest losses only, as before
    assert said.startswith("Lowest loss:") and "minibatches" not in said and "safe" not in said
    hostile = ProbeRecord.of(probe(1.0, dead_after=tuple({"[b]x": 0.9 if i else 0.0} for i in range(8))))
    assert "[b]" not in _probe_summary(run_with(probes=[hostile]))
