"""A run's step probe in words, for the report's per-run details and the app's details panel (one source for
both): what the probe's real steps said, and, where the run's outcome disagrees with it, which to believe and why.

Pure Python on a :class:`~lrtui.sessions.record.RunRecord` (the engine's :mod:`lrtui.engine.probe_reading` and
:mod:`lrtui.engine.probe_belief` do the reading); nothing here imports torch, textual or rich.
"""

from __future__ import annotations

from lrtui.engine.probe_belief import RunOutcome, whom_to_believe
from lrtui.engine.probe_reading import measured, read_probe, safe_at_lr
from lrtui.sessions.record import RunRecord


def probe_sentences(run: RunRecord) -> list[str]:
    """What the real steps said before training and from the last weights probed (one sentence each)."""
    real = [q for q in run.probes if measured(q)]
    return [read_probe(q) for q in real[:1] + real[1:][-1:]]


def run_outcome(run: RunRecord) -> RunOutcome:
    """What the whole run did, as far as the probe's claim goes."""
    diverged = run.status == "diverged" or run.verdict_label == "diverged"
    return RunOutcome(diverged=diverged, best_val_acc=run.best_val_acc, epochs_done=len(run.epochs))


def disagreement(run: RunRecord) -> str | None:
    """One sentence where the probe and the ended run disagree about the run's lr: which to believe and why.

    None while the run trains (its outcome is not known yet), where they agree, and where no probe took real
    steps of the run's lr (there is no claim to disagree with). The probe read is the first that measured the
    lr: the claim about the lr the run was given, from the weights it started with.
    """
    if not run.done:
        return None
    probe = next((p for p in run.probes if safe_at_lr(p) is not None), None)
    if probe is None:
        return None
    belief = whom_to_believe(probe, run_outcome(run))
    if belief.believe == "both":
        return None
    lead = "The probe and the run disagree" if belief.believe == "run" else "Only the probe measured this run"
    return f"{lead}: {belief.why}"
