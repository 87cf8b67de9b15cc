"""Session reports: Markdown, one self-contained HTML file, and the session JSON.

Reports read the saved data (the session's RunRecords), never widgets, so the app's
``ctrl+s``, ``lrtui run --report`` and ``lrtui report`` write the same thing. The
content is built once as a list of blocks (:func:`build_blocks`, :mod:`lrtui.reports.blocks`);
two small renderers turn it into Markdown (:mod:`lrtui.reports.markdown`: charts as plain text,
one letter per run, so it reads in a terminal or a diff) or HTML (:mod:`lrtui.reports.html`: vector
charts as inline SVG from :mod:`lrtui.reports.figures`, inline CSS, no external assets: one file that
travels).

Seed groups and grids get sections of their own (:mod:`lrtui.reports.comparisons`). A report carries
each run's whole setup, its verdict with reason and hint, the diagnostics measured inside the network
and the step probe (:mod:`lrtui.reports.run_details`), so it can be read without the session.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from lrtui.engine.bands import ADAM, SGD
from lrtui.plots import terminal_charts as charts
from lrtui.plots.confidence import BEST_NOTE, acc_text, edge_sentences, small_val_note
from lrtui.plots.formatting import DASH, run_cells, sci, verdict_text
from lrtui.plots.grouping import (
    SETTINGS,
    column_settings,
    common_settings_text,
    comparison_fields,
    has_seed_groups,
    seed_groups,
    setting_cells,
    time_shares,
    time_text,
)
from lrtui.reports import figures
from lrtui.reports.blocks import Block, Bullets, Cell, Chart, Heading, Para, Table, table_of, verdict_hex
from lrtui.reports.comparisons import GROUP_NOTE, comparison_blocks, group_rows, seed_blocks
from lrtui.reports.html import to_html
from lrtui.reports.machine import system_blocks
from lrtui.reports.markdown import to_markdown
from lrtui.reports.run_details import best_run_blocks, run_blocks
from lrtui.reports.step_figures import inside_charts
from lrtui.sessions.outputs import write_json_safely, write_text_safely
from lrtui.sessions.record import RunRecord
from lrtui.sessions.store import Session

FORMATS: tuple[str, ...] = ("md", "html", "json")
_FILES = {"md": "report.md", "html": "report.html", "json": "session.json"}
#: Every file a report folder gets (checked before work by ``outputs.check_writable_dir``).
REPORT_FILES: tuple[str, ...] = tuple(_FILES.values())
#: The results table (one row per run; with seeds, the Every run table after the folded one): these columns
#: around the settings that vary (:func:`lrtui.plots.grouping.column_settings`); the others are said above it.
RESULT_HEAD = ("run", "lr")
RESULT_TAIL = (
    "epochs",
    "best val acc",
    "last val acc",
    "test acc",
    "test loss",
    "verdict",
    "status",
    "duration",
    "samples/s",
)
SHARED_TIME_NOTE = (
    "~: a share of time: runs trained side by side (a stacked lr sweep) split the time they shared, "
    "so the shares add up to about the sweep's wall time."
)
#: The setup table: everything that decided a run, so a report can be reproduced.
SETUP_COLUMNS = (
    "run",
    "model",
    "dataset",
    "train / val / test",
    "val split",
    "seed",
    "optimizer",
    "lr",
    "momentum",
    "weight decay",
    "schedule",
    "warmup",
    "batch",
    "epochs",
    "device",
)
DIAG_NOTE = (
    f"ratio: mean ‖Δw‖/‖w‖ per step (healthy {sci(SGD.update_ratio.low, 0)} to {sci(SGD.update_ratio.high, 0)} "
    f"for SGD, {sci(ADAM.update_ratio.low, 0)} to {sci(ADAM.update_ratio.high, 0)} for Adam-like optimizers); "
    "grad norm: gradient norm; dead: share of "
    "ReLU units never active on any validation image; top class: share of validation predictions in the "
    "most common class (10% = balanced, 100% = one answer for everything); entropy: mean predictive "
    "entropy (ln 10 = 2.30 = a uniform guess)."
)
PROBE_NOTE = (
    "Loss on a fixed probe set after one step of size η along the run's next update, from the weights at "
    "each probe (epoch 0 = before training). Left of the valley the step is too short to matter; right "
    "of it the loss climbs the wall. ◀ marks the run's learning rate."
)


def sampled_note(runs: Sequence[RunRecord]) -> str:
    """Which steps an epoch's mean ratio is over: every 4th, or every Nth where a network's setup chose N."""
    by_every: dict[int, list[str]] = {}
    for run in runs:
        by_every.setdefault(run.config.sample_every, []).append(run.id)
    if len(by_every) == 1:
        return f" Each epoch's means are over every {next(iter(by_every))}th step."
    return (
        " Each epoch's means are over every Nth step: "
        + "; ".join(f"N = {n} ({', '.join(ids)})" for n, ids in sorted(by_every.items()))
        + "."
    )


def result_columns(runs: Sequence[RunRecord]) -> tuple[str, ...]:
    """The results table's columns: a setting is one only when it varies between the runs."""
    return (*RESULT_HEAD, *(s.key for s in column_settings(r.config for r in runs)), *RESULT_TAIL)


def _results_note(runs: Sequence[RunRecord], best: bool = True) -> Para | None:
    """What every run shares (the settings that are no column), what best and last val acc are (``best``),
    what the brackets after a small validation set's accuracy are, and how to read a shared time."""
    common = common_settings_text([r.config for r in runs])
    parts = [
        f"Every run: {common}." if common else "",
        BEST_NOTE if best else "",
        small_val_note(runs),
        SHARED_TIME_NOTE if time_shares(runs) else "",
    ]
    text = " ".join(p for p in parts if p)
    return Para(text, small=True) if text else None


def _run_rows(runs: Sequence[RunRecord], columns: Sequence[str], setup: str | None = None) -> Table:
    """A table of runs. ``setup``: the session's device name; runs that used it show the device alone
    (the name is in the environment table), others name theirs."""
    rows = []
    shares = time_shares(runs)
    for run in runs:
        cells = {
            **run_cells(run),
            **setting_cells(run.config, SETTINGS),
            "duration": time_text(run, shares),
            "best val acc": acc_text(run.best_val_acc, run.n_val),
            "last val acc": acc_text(run.last_val_acc, run.n_val),
        }
        if setup is not None:
            cells["epochs"] = str(run.config.epochs)
            if not run.device_name or run.device_name == setup:
                cells["device"] = run.device or run.config.device
        row = []
        for c in columns:
            if c == "run":
                row.append(Cell(cells[c], swatch=figures.run_hex(run)))
            elif c == "verdict" or (c == "status" and cells[c] != "finished"):
                row.append(Cell(cells[c], verdict_hex(cells[c])))
            else:
                row.append(Cell(cells[c]))
        rows.append(row)
    return table_of(columns, rows)


def _sentence(text: str) -> str:
    """Verdict reasons and hints are phrases (they also stand alone in tables): end them as sentences here."""
    text = " ".join(str(text).split())
    text = text[:1].upper() + text[1:]
    return text if not text or text.endswith((".", "!", "?")) else f"{text}."


def _verdict_items(runs: Sequence[RunRecord]) -> Bullets:
    """Per run: the verdict with its reason and hint, and how the run ended when that matters."""
    items = []
    for run in runs:
        label = verdict_text(run)
        parts = []
        if run.status in ("cancelled", "interrupted") and run.verdict:
            parts.append(
                f"{run.status.capitalize()} after {len(run.epochs)} of {run.config.epochs} epochs; "
                "judged on the epochs done."
            )
        elif run.status in ("cancelled", "interrupted", "failed", "running"):
            parts.append(f"{run.status.capitalize()} after {len(run.epochs)} of {run.config.epochs} epochs.")
        if run.verdict and run.verdict.reason:
            parts.append(_sentence(run.verdict.reason))
        if run.verdict and run.verdict.hint:
            parts.append(f"Hint: {_sentence(run.verdict.hint)}")
        if run.diverged_at:
            parts.append(f"The loss became non-finite at epoch {run.diverged_at[0]}, batch {run.diverged_at[1]}.")
        if run.error:
            parts.append(_sentence(run.error))
        items.append(
            (Cell(f"{run.id} {run.config.label}: {label}.", verdict_hex(label), figures.run_hex(run)), " ".join(parts))
        )
    return Bullets(tuple(items))


_LETTERS_NOTE = "Each run has its letter: upper case for validation, lower case for training."


def build_blocks(session: Session) -> list[Block]:
    """The whole report's content, independent of the output format."""
    runs = [r for r in session.runs if r.status != "queued"]
    env = session.environment
    has_diag = any(figures.diagnostics(r) for r in runs)
    has_probe = any(figures.probes(r) for r in runs)
    groups = seed_groups(runs)
    seeded = has_seed_groups(groups)
    blocks: list[Block] = [
        Heading(f"lrtui session {session.path.name}", 1),
        Para(
            f"Created {session.date}, last saved "
            f"{time.strftime('%Y-%m-%d %H:%M', time.localtime(session.updated))}; {len(runs)} run(s)."
        ),
        Heading("Results"),
    ]
    note = _results_note(runs, best=not seeded)
    if seeded:
        blocks.append(Para(f"{GROUP_NOTE} {BEST_NOTE}", small=True))
    elif note is not None:
        blocks.append(note)
    blocks.append(group_rows(groups) if seeded else _run_rows(runs, result_columns(runs)))
    if comparison_fields(runs) is not None:
        blocks += comparison_blocks(runs)
    edges = edge_sentences(runs)
    if edges:
        blocks.append(Para(" ".join(edges)))
    if seeded:
        blocks += [
            *seed_blocks(groups),
            Heading("Every run"),
            *([note] if note else []),
            _run_rows(runs, result_columns(runs)),
        ]
    accuracy_svg = figures.seed_accuracy_svg(groups) if seeded else figures.accuracy_svg(runs)
    loss_svg = figures.seed_loss_svg(groups) if seeded else figures.loss_svg(runs)
    band = (
        " One line per setting: the mean over its seeds; the shaded band spans its lowest to its highest seed "
        "(validation)."
        if seeded
        else ""
    )
    blocks += [
        Heading("Verdicts"),
        _verdict_items(runs),
        Heading("Setup"),
        _run_rows(runs, SETUP_COLUMNS, setup=str(env.get("device_name") or "")),
        table_of(
            ("lrtui", "python", "torch", "CUDA", "device", "device name"),
            [[env.get(k) or DASH for k in ("lrtui", "python", "torch", "cuda", "device", "device_name")]],
        ),
        Heading("Charts"),
        Chart(
            "Accuracy per epoch",
            charts.plot_accuracy,
            runs,
            accuracy_svg,
            caption="Validation solid, training dashed; the dotted line is chance (10%, ten classes)." + band,
            md_note=_LETTERS_NOTE,
        ),
        Chart(
            "Loss per epoch",
            charts.plot_loss,
            runs,
            loss_svg,
            caption="Validation solid, training dashed; the dotted line is ln 10 = 2.30, the loss of a uniform "
            "guess over ten classes." + band,
            md_note=_LETTERS_NOTE,
        ),
        Chart(
            "Training loss per batch (smoothed)",
            charts.plot_batch_loss,
            runs,
            figures.batch_loss_svg(runs),
            caption="Exponential moving average (β = 0.9) of each batch's loss.",
        ),
    ]
    if has_diag:
        blocks += [
            Heading("Inside the network"),
            Para(DIAG_NOTE + sampled_note(runs), small=True),
            *inside_charts(runs),  # per step where a run has a step trace, else per epoch
        ]
    if has_probe:
        blocks += [
            Heading("Step probe"),
            Para(PROBE_NOTE, small=True),
            Chart("Loss after one step of size η (log–log)", svg=figures.probe_svg(runs)),
        ]
    blocks += system_blocks(runs)
    blocks.append(Heading("Per-run details"))
    for run in runs:
        blocks += run_blocks(run)
    best = session.best
    if best is not None and best.test:
        blocks += best_run_blocks(best)
    return blocks


def write_reports(session: Session, out_dir: str | Path | None = None, formats: Sequence[str] = FORMATS) -> list[Path]:
    """Write the chosen formats into ``out_dir`` (default: the session folder); return the paths."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown report format {unknown[0]!r}: choose from {', '.join(FORMATS)}")
    out = Path(out_dir) if out_dir is not None else session.path
    out.mkdir(parents=True, exist_ok=True)
    blocks = build_blocks(session) if {"md", "html"} & set(formats) else []
    written = []
    for fmt in dict.fromkeys(formats):
        path = out / _FILES[fmt]
        if fmt == "json":
            write_json_safely(path, session.to_dict())
        else:
            write_text_safely(path, to_markdown(blocks) if fmt == "md" else to_html(blocks))
        written.append(path)
    return written
