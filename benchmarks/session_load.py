"""How long opening a big session takes, by the library that validates it: the measurement behind the choice of
msgspec for :mod:`lrtui.sessions.schema` (typed records from session files).

    python benchmarks/session_load.py [--runs 256] [--repeat 5]

A realistic session is built in memory (every run: 5 epochs with diagnostics, 6 step probes of 13 step sizes,
2,000 batch losses, a step trace of 1,000 points in columns, a test result with 16 sample digits) and written
as one ``session.json``. Each candidate loads it whole, best of ``--repeat``:

* ``json``: the stdlib parse alone, with lrtui's guards (:func:`lrtui.sessions.schema.read_json`): every
  candidate pays it;
* ``hand``: the hand-written validator lrtui had before (its source read from git, ``--before``), plus the
  step traces rebuilt, as its ``from_dict`` did;
* ``msgspec``: lrtui's schema now: the parse, then every run validated and built into typed records;
* ``msgspec types`` / ``pydantic types``: the validation alone into each library's types with the same
  constraints (pydantic: strict, finite numbers), after the same parse: the like-for-like comparison;
* ``step traces``: rebuilding every run's :class:`~lrtui.engine.step_trace.StepTrace` (rounded points), which
  the old and the new path both pay.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lrtui.engine.step_trace import StepTrace  # noqa: E402
from lrtui.sessions import file_format, schema  # noqa: E402

LAYERS = ("conv1", "conv2", "fc1", "fc2")
RELU = ("conv1", "conv2", "fc1")


def run_doc(i: int, rng: random.Random, points: int = 1000) -> dict[str, Any]:
    """One finished run as a session file holds it (RunRecord.to_dict(compact=True))."""

    def num(lo: float, hi: float) -> float:
        return rng.uniform(lo, hi)

    epochs = [
        {
            "epoch": e,
            "train_loss": num(0.1, 2.3),
            "train_acc": num(0.1, 1),
            "val_loss": num(0.1, 2.3),
            "val_acc": num(0.1, 1),
            "seconds": num(1, 9),
            "diagnostics": {
                "update_ratio": {k: num(1e-4, 1e-1) for k in LAYERS},
                "update_ratio_max": {k: num(1e-4, 1e-1) for k in LAYERS},
                "grad_norm": num(0.1, 3),
                "dead_fraction": {k: num(0, 1) for k in RELU},
                "top_class_share": num(0.1, 1),
                "pred_entropy": num(0, 2.3),
            },
        }
        for e in range(1, 6)
    ]
    probes = [
        {
            "epoch": e,
            "lrs": [1e-4 * 2**k for k in range(13)],
            "losses": [num(0.1, 9) for _ in range(13)],
            "current_lr": 1e-4 * 2**6,
            "base_loss": num(0.1, 2.3),
        }
        for e in range(6)
    ]
    dead_every = 8
    trace = {
        "step": list(range(0, 4 * points, 4)),
        "loss": [num(0.1, 2.3) for _ in range(points)],
        "update_ratio": {k: [num(1e-4, 1e-1) for _ in range(points)] for k in LAYERS},
        "dead_fraction": {k: [num(0, 1) if j % dead_every == 0 else None for j in range(points)] for k in RELU},
        "dead_on": 32,
    }
    report: dict[str, Any] = {
        str(c): {"precision": num(0, 1), "recall": num(0, 1), "f1-score": num(0, 1), "support": 100.0}
        for c in range(10)
    }
    report["accuracy"] = num(0, 1)
    for avg in ("macro avg", "weighted avg"):
        report[avg] = {"precision": num(0, 1), "recall": num(0, 1), "f1-score": num(0, 1), "support": 1000.0}
    test = {
        "accuracy": num(0, 1),
        "loss": num(0.1, 2),
        "report": report,
        "confusion_matrix": [[rng.randrange(100) for _ in range(10)] for _ in range(10)],
        "samples": {
            "images": [[rng.randrange(256) for _ in range(784)] for _ in range(16)],
            "true": [rng.randrange(10) for _ in range(16)],
            "pred": [rng.randrange(10) for _ in range(16)],
        },
    }
    verdict = {"label": "converged", "reason": "validation accuracy 97.1% " * 4, "hint": "none needed"}
    return {
        "id": f"r{i}",
        "status": "finished",
        "config": {
            "lr": 10 ** num(-4, 0),
            "optimizer": "sgd",
            "momentum": 0.0,
            "weight_decay": 0.0,
            "epochs": 5,
            "batch_size": 10,
            "val_fraction": 0.2,
            "seed": i % 5,
            "device": "cpu",
            "dataset": "mnist-5k",
            "train_limit": None,
            "log_every": None,
            "schedule": "constant",
            "warmup": 0,
        },
        "device": "cpu",
        "device_name": "a CPU",
        "sizes": {"train": 3200, "val": 800, "test": 1000},
        "epochs": epochs,
        "batch_losses": [num(0.01, 2.3) for _ in range(2000)],
        "probes": probes,
        "test": test,
        "verdict": verdict,
        "duration_s": num(5, 50),
        "samples_per_s": num(100, 9000),
        "diverged_at": None,
        "error": None,
        "lr_trace": [[s, 0.01] for s in range(0, 2000, 100)],
        "step_trace": trace,
        "provisional_verdict": None,
        "started_at": 1.7e9 + i,
        "ended_at": 1.7e9 + i + 30,
    }


def session_file(folder: Path, n: int) -> Path:
    rng = random.Random(0)
    file = folder / "session.json"
    doc = {
        "schema": 2,
        "created": 1.7e9,
        "updated": 1.7e9,
        "environment": {"python": "3.12", "torch": "2.5"},
        "runs": [run_doc(i + 1, rng) for i in range(n)],
    }
    file.write_text(json.dumps(doc, allow_nan=False))
    return file


# -- the candidates ----------------------------------------------------------------------------------
def old_schema(commit: str) -> types.ModuleType | None:
    """The hand validator as it was at ``commit``, its final RunRecord.from_dict replaced by the step trace rebuild
    (the costly part of that from_dict; the rest copied dicts)."""
    try:
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{commit}:lrtui/sessions/schema.py"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("old_schema")
    exec(compile(source, "old_schema.py", "exec"), module.__dict__)  # noqa: S102 - our own file at a known commit

    class Built(types.SimpleNamespace):
        @classmethod
        def from_dict(cls, data: dict[str, Any]) -> Built:
            trace = data.get("step_trace")
            return cls(id=data["id"], trace=StepTrace.from_json(trace) if trace is not None else None)

    module.RunRecord = Built  # type: ignore[attr-defined]
    return module


def pydantic_runs() -> Callable[[list[Any]], Any]:
    """The run shape as pydantic models (strict: no text or bool as a number; finite numbers only)."""
    from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

    strict = ConfigDict(strict=True, extra="ignore", allow_inf_nan=False)
    NonNeg = Annotated[float, Field(ge=0)]
    Share = Annotated[float, Field(ge=0, le=1)]
    Count = Annotated[int, Field(ge=0, le=file_format.MAX_COUNT)]
    Layers = Annotated[dict[Annotated[str, Field(max_length=100)], NonNeg | None], Field(max_length=100)]
    Shares = Annotated[dict[Annotated[str, Field(max_length=100)], Share | None], Field(max_length=100)]
    Pixel = Annotated[int, Field(ge=0, le=255)] | Annotated[float, Field(ge=0, le=255)]
    StrictCount = Annotated[int, Field(ge=0, le=file_format.MAX_COUNT, strict=True)]

    def pair(first: Any, second: Any) -> Any:
        """A JSON list of two: a tuple, lax only about being a list (its items stay strict)."""
        return Annotated[tuple[first, second], Field(strict=False)]

    class M(BaseModel):
        model_config = strict

    class Diag(M):
        update_ratio: Layers | None = None
        update_ratio_max: Layers | None = None
        grad_norm: NonNeg | None = None
        dead_fraction: Shares | None = None
        top_class_share: Share | None = None
        pred_entropy: NonNeg | None = None

    class Epoch(M):
        epoch: Annotated[int, Field(ge=0, le=10**6)]
        train_loss: NonNeg | None = None
        train_acc: Share | None = None
        val_loss: NonNeg | None = None
        val_acc: Share | None = None
        seconds: NonNeg | None = None
        diagnostics: Diag | None = None

    class Probe(M):
        epoch: Annotated[int, Field(ge=0, le=10**6)]
        lrs: Annotated[list[Annotated[float, Field(gt=0)]], Field(max_length=10_000)]
        losses: Annotated[list[float | None], Field(max_length=10_000)]
        current_lr: Annotated[float, Field(gt=0)] | None = None
        base_loss: float | None = None

    class Scores(M):
        precision: Share
        recall: Share
        f1: Share = Field(alias="f1-score")
        support: NonNeg

    class SamplesM(M):
        images: list[list[Pixel | list[Pixel]]] = []
        true: list[Annotated[int, Field(ge=0, lt=1000)]] = []
        pred: list[Annotated[int, Field(ge=0, lt=1000)]] = []

    class Test(M):
        accuracy: Share
        loss: NonNeg | None = None
        confusion_matrix: list[list[Count]] | None = None
        report: dict[Annotated[str, Field(max_length=200)], Scores | Share] | None = None
        samples: SamplesM | None = None

    Labels = Literal[tuple(sorted(file_format.VERDICT_LABELS))]  # type: ignore[valid-type]

    class VerdictM(M):
        label: Labels  # type: ignore[valid-type]
        reason: Annotated[str, Field(max_length=file_format.MAX_TEXT)] = ""
        hint: Annotated[str, Field(max_length=file_format.MAX_TEXT)] = ""

    class ProvisionalM(VerdictM):
        step: Count

    class Point(M):
        step: Count
        loss: NonNeg | None = None
        update_ratio: Layers | None = None
        dead_fraction: Shares | None = None
        dead_on: Annotated[int, Field(ge=1, le=10**9)] | None = None

    class Columns(M):
        step: list[Count]
        loss: list[NonNeg | None]
        update_ratio: dict[str, list[NonNeg | None]] | None = None
        dead_fraction: dict[str, list[Share | None]] | None = None
        dead_on: Annotated[int, Field(ge=1, le=10**9)] | None = None

    class Sizes(M):
        train: Count = 0
        val: Count = 0
        test: Count = 0

    class Run(M):
        id: Annotated[str, Field(pattern=f"^{file_format.RUN_ID.pattern}$")]
        status: Literal[tuple(sorted(file_format.STATUSES))]  # type: ignore[valid-type]
        config: dict[str, Any]
        device: Annotated[str, Field(max_length=200)] = ""
        device_name: Annotated[str, Field(max_length=1000)] = ""
        sizes: Sizes | None = None
        epochs: list[Epoch] = []
        batch_losses: list[NonNeg | None] = []
        probes: list[Probe] | None = None
        test: Test | None = None
        verdict: VerdictM | None = None
        duration_s: NonNeg | None = None
        samples_per_s: NonNeg | None = None
        diverged_at: pair(StrictCount, StrictCount) | None = None  # type: ignore[valid-type]
        error: Annotated[str, Field(max_length=file_format.MAX_TEXT)] | None = None
        lr_trace: list[pair(StrictCount, Annotated[float, Field(ge=0, strict=True)])] | None = None  # type: ignore[valid-type]
        step_trace: list[Point] | Columns | None = None
        provisional_verdict: ProvisionalM | None = None
        started_at: Annotated[float, Field(ge=0, le=file_format.MAX_TIME)] | None = None
        ended_at: Annotated[float, Field(ge=0, le=file_format.MAX_TIME)] | None = None

    return TypeAdapter(list[Run]).validate_python


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", default="9891909", help="the commit whose hand validator is the reference")
    args = parser.parse_args()
    import msgspec
    import pydantic

    with tempfile.TemporaryDirectory() as tmp:
        file = session_file(Path(tmp), args.runs)
        size = file.stat().st_size
        parsed = schema.read_json(file)
        assert len(schema.rows(parsed["runs"], file)) == args.runs  # the session is valid
        old = old_schema(args.before)
        validate_pydantic = pydantic_runs()

        def hand() -> None:
            data = schema.read_json(file)
            assert old is not None
            old.rows(old.document(data, file, 2)["runs"], file)

        candidates: dict[str, Callable[[], Any]] = {
            "json (the parse every candidate pays)": lambda: schema.read_json(file),
            **({"hand (before: checks + step traces rebuilt)": hand} if old is not None else {}),
            "msgspec (now: parse, validate, typed records)": lambda: schema.rows(
                schema.document(schema.read_json(file), file, 2)["runs"], file
            ),
            "msgspec types alone (after the parse)": lambda: msgspec.convert(parsed["runs"], list[file_format.RunDoc]),
            "pydantic types alone (after the parse)": lambda: validate_pydantic(parsed["runs"]),
            "step traces rebuilt alone (both pay it)": lambda: [
                StepTrace.from_json(r["step_trace"]) for r in parsed["runs"]
            ],
        }
        print(
            f"session.json: {args.runs} runs, {size / 2**20:.1f} MiB; best of {args.repeat}; "
            f"python {sys.version.split()[0]}, msgspec {msgspec.__version__}, pydantic {pydantic.VERSION}"
        )
        if old is None:
            print(f"(hand validator: not run, commit {args.before} is not in this repository)")
        for name, load in candidates.items():
            best = min(_timed(load) for _ in range(args.repeat))
            print(f"  {name:<50} {1000 * best:8.1f} ms")


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
