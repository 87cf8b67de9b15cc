"""How soon the lesson shows: the provisional verdicts of lr 0.5, 0.01 and 1e-4 against the sweep's whole time.

    python benchmarks/time_to_lesson.py [--dataset mnist] [--data-dir /work/shared/data] [--epochs 5]
                                        [--estimate] [--device cpu] [--seed 0]

The three runs train as one sweep, side by side (a stacked sweep: ``run_many(batched=True)``, as
auto mode trains them on a GPU), from one clock started just before it. The lesson, as the final
verdicts tell it (checked: a sweep whose final verdicts do not tell it measures nothing):

* lr 0.5 fails with its mechanism: not learning, unstable or diverged, and the reason names it
  (dying ReLUs, units dying, steps too large, the loss blowing up);
* lr 1e-4 is too slow;
* lr 0.01 is healthy and learning: still learning or converged (a provisional verdict may say
  still learning where the final one says converged).

Time to the lesson: the first moment from which every run's provisional verdicts tell it and keep
telling it to the run's end (a run's time is that of the first verdict after the last one that did
not). Printed against the time of the whole sweep (``--epochs``, default 5), as ``ratio: <number>``;
goal <= 0.1. ``--estimate`` trains one epoch and takes the whole sweep as its training start plus
the first epoch's time x ``--epochs`` (then "keeps telling it" holds for that epoch, and the final
verdicts are the first epoch's). Without the data set it prints why and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field

from lrtui.engine.config import RunConfig
from lrtui.engine.data import IDX_FILES, raw_folder
from lrtui.engine.events import EpochEnd, Event, ProvisionalVerdict, RunEnd, RunStarted, Verdict
from lrtui.engine.sweep import run_many

LRS = {"r1": 0.5, "r2": 0.01, "r3": 1e-4}
#: Words that name how a too-large lr fails.
MECHANISMS = ("dying ReLUs", "units are dying", "steps too large", "blew up", "infinite or NaN", "grew from")


def tells_lesson(lr: float, verdict: Verdict) -> bool:
    label = str(verdict.label)
    if lr == 0.5:
        named = any(word in verdict.reason or word in verdict.hint for word in MECHANISMS)
        return label in ("not learning", "unstable", "diverged") and named
    if lr == 1e-4:
        return label == "too slow"
    return label in ("still learning", "converged")


@dataclass
class Timeline:
    """One run's provisional verdicts as (seconds since the start, step, verdict), and its final one."""

    lr: float
    provisional: list[tuple[float, int, Verdict]] = field(default_factory=list)
    final: Verdict | None = None

    def told_from(self) -> float | None:
        """When the run started telling the lesson for good (None: it never did, or not at its last verdict)."""
        told = None
        for t, _, verdict in self.provisional:
            if not tells_lesson(self.lr, verdict):
                told = None
            elif told is None:
                told = t
        return told

    def changes(self) -> list[str]:
        out, last = [], None
        for t, step, verdict in self.provisional:
            if verdict.label != last:
                out.append(f"{t:6.1f} s, step {step:>6,}: {verdict.label}")
                last = verdict.label
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-dir", default="/work/shared/data")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--estimate", action="store_true", help="train one epoch and estimate the whole sweep")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.dataset != "mnist-5k":
        folder = raw_folder(args.dataset, args.data_dir)
        if not all((folder / f).exists() or (folder / f"{f}.gz").exists() for f in IDX_FILES):
            print(f"skipped: {args.dataset} is not in {folder} (give --data-dir, or --dataset mnist-5k)")
            return 0
    trained = 1 if args.estimate else args.epochs
    base = RunConfig(
        epochs=trained, batch_size=10, dataset=args.dataset, data_dir=args.data_dir, device=args.device, seed=args.seed
    )
    lines = {run_id: Timeline(lr) for run_id, lr in LRS.items()}
    marks: dict[str, float] = {}
    start = time.perf_counter()

    def emit(ev: Event) -> None:
        now = time.perf_counter() - start
        if isinstance(ev, ProvisionalVerdict):
            lines[ev.run_id].provisional.append((now, ev.step, ev.verdict))
        elif isinstance(ev, RunStarted):
            marks["training"] = now  # the last run's start: the sweep's training begins
        elif isinstance(ev, EpochEnd) and ev.epoch == 1:
            marks["epoch 1"] = now
        elif isinstance(ev, RunEnd):
            lines[ev.run_id].final = ev.verdict
            marks["end"] = now

    ends = run_many([base.with_lr(lr) for lr in LRS.values()], list(LRS), emit, batched=True)
    if any(end.status != "finished" for end in ends):
        print("a run did not finish: " + "; ".join(f"{e.run_id} {e.status} {e.error or ''}" for e in ends))
        return 1
    print(
        f"{args.dataset}, {ends[0].samples_per_s:,.0f} samples/s per run, device {args.device}, "
        f"lrs {', '.join(f'{lr:g}' for lr in LRS.values())} stacked side by side, {trained} epoch(s) trained"
    )
    for run_id, line in lines.items():
        final = line.final
        print(
            f"{run_id} lr {line.lr:g}: final {final.label if final else None} "
            f"({'tells' if final and tells_lesson(line.lr, final) else 'does NOT tell'} the lesson); provisional:"
        )
        for change in line.changes():
            print(f"    {change}")
        if line.provisional:
            print(f"    last: {line.provisional[-1][2].reason}")
    if not all(line.final and tells_lesson(line.lr, line.final) for line in lines.values()):
        print("the final verdicts do not tell the lesson: nothing to measure")
        return 1
    told = [line.told_from() for line in lines.values()]
    if any(t is None for t in told):
        print("the provisional verdicts do not (all) end telling the lesson")
        return 1
    lesson = max(t for t in told if t is not None)
    if args.estimate:
        epoch = marks["epoch 1"] - marks["training"]
        whole = marks["training"] + epoch * args.epochs
        how = (
            f"estimated: {marks['training']:.1f} s to start + first epoch {epoch:.1f} s x {args.epochs} "
            f"(only 1 epoch trained)"
        )
    else:
        whole, how = marks["end"], f"measured: {args.epochs} epochs trained"
    print(f"lesson told at {lesson:.1f} s; the whole sweep {whole:.1f} s ({how})")
    print(f"ratio: {lesson / whole:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
