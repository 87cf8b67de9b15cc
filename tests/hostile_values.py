"""Hostile session contents that the schema accepts, for the rendering tests (reports, SVG charts, the app).

* every number field of a run at the ends of what a session file may hold: ±1.8e308 (the largest
  float, next to inf), 5e-324 (the smallest), or both mixed in one run;
* markup and control characters in every writer field a window shows (``writers/*.json``).

The sessions are made from a real trained one: only the numbers (or the writer file) change.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

BIG = sys.float_info.max  #: the largest finite float: any arithmetic on it overflows
TINY = 5e-324  #: the smallest positive float (subnormal): log10 is -323.3, 10 ** (that - 1) is 0
#: huge: every number at its largest; tiny: at its smallest (r1's lr too); mixed: both in one run, and every
#: run the same setting but its seed (the seed groups average them)
VARIANTS = ("huge", "tiny", "mixed")
#: Writer hosts that would break markup (``[/]`` closes a tag that was never opened) or a terminal,
#: and how a window shows them: as written, without control characters, breaks and tabs as spaces.
HOSTILE_HOSTS: dict[str, str] = {
    "[/]": "[/]",
    "[bold red]red[/]": "[bold red]red[/]",
    "[link=file:///etc/passwd]x": "[link=file:///etc/passwd]x",
    "\x1b[31mansi\x1b[0m\x07": "[31mansi[0m",
    "line\nbreak\ttab": "line break tab",
    "\u202eevil": "evil",
}


def _pick(variant: str, i: int, big: float, tiny: float) -> float:
    """The i-th value of a series: its largest, its smallest, or the two in turn."""
    return {"huge": big, "tiny": tiny}.get(variant, big if i % 2 else tiny)


def extreme_run(run: dict[str, Any], variant: str, index: int) -> None:
    """Set every number field of a saved run (``runs/r<N>.json``'s ``run``) to an extreme value, in place."""
    share = 1.0 if variant == "huge" else TINY  # accuracies and shares lie in [0, 1]
    for i, e in enumerate(run["epochs"]):
        v = _pick(variant, i, BIG, TINY)
        e.update(
            train_loss=v,
            val_loss=_pick(variant, i + 1, BIG, TINY),
            seconds=v,
            train_acc=_pick(variant, i, 1.0, TINY),
            val_acc=share,
        )
        d = e["diagnostics"]
        d["update_ratio"] = {layer: _pick(variant, i + j, BIG, TINY) for j, layer in enumerate(d["update_ratio"])}
        d["dead_fraction"] = {layer: _pick(variant, i + j, 1.0, TINY) for j, layer in enumerate(d["dead_fraction"])}
        d.update(grad_norm=v, pred_entropy=v, top_class_share=share)
    run["batch_losses"] = [_pick(variant, i, BIG, TINY) for i in range(len(run["batch_losses"]))]
    for p in run["probes"]:
        n = len(p["lrs"])
        losses = {"huge": [BIG, -BIG], "tiny": [TINY, -TINY]}.get(variant, [-BIG, BIG, TINY, 0.0])
        p["losses"] = [losses[i % len(losses)] for i in range(n)]
        if variant == "huge":
            p["lrs"] = [BIG / 10.0 ** (n - 1 - i) for i in range(n)]
        elif variant == "tiny":
            p["lrs"] = [TINY * (i + 1) for i in range(n)]
        else:
            p["lrs"] = [TINY, *p["lrs"][1:-1], BIG]
        p["current_lr"] = p["lrs"][-1] if variant != "tiny" else TINY
        p["base_loss"] = -BIG if variant != "tiny" else TINY
    run["lr_trace"] = [[10 * i, _pick(variant, i, BIG, TINY)] for i in range(8)]
    run["duration_s"] = run["samples_per_s"] = BIG if variant != "tiny" else TINY
    if run.get("test"):
        run["test"]["loss"] = BIG if variant != "tiny" else TINY
    if variant == "mixed":
        run["config"].update(lr=1e-308, seed=index)
    elif index == 0:
        run["config"]["lr"] = 100.0 if variant == "huge" else TINY  # lr may be at most 100


def extreme_session(source: Path, folder: Path, variant: str) -> Path:
    """A copy of the session ``source`` (a folder with ``runs/``, or one ``session.json`` holding its runs)
    at ``folder``, whose runs hold the ``variant``'s numbers."""
    if source.is_dir():
        shutil.copytree(source, folder)
    else:
        folder.mkdir(parents=True)
        shutil.copy(source, folder / "session.json")
    if (folder / "runs").is_dir():
        for index, file in enumerate(sorted((folder / "runs").glob("r*.json"))):
            doc = json.loads(file.read_text())
            extreme_run(doc["run"], variant, index)
            file.write_text(json.dumps(doc, allow_nan=False))
    else:
        doc = json.loads((folder / "session.json").read_text())
        for index, run in enumerate(doc["runs"]):
            extreme_run(run, variant, index)
        (folder / "session.json").write_text(json.dumps(doc, allow_nan=False))
    return folder


def write_writer(folder: Path, host: str, pid: int, token: str) -> None:
    """A writer file of a live process on another host (a fresh heartbeat), as a window sees it."""
    now = time.time()
    doc = {
        "host": host,
        "pid": pid,
        "token": token,
        "proc_start": None,
        "started": now,
        "heartbeat": now,
        "argv": f"lrtui run [b]{host}[/b]",
        "runs": [],
    }
    (folder / "writers").mkdir(exist_ok=True)
    (folder / "writers" / f"hostile-{pid}-{token}.json").write_text(json.dumps(doc))
