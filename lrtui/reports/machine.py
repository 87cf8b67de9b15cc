"""The report's "Your machine" section: what the computer did while each run trained, per epoch.

The runner keeps, for each epoch, the process's CPU use and resident memory, the machine's load and,
on CUDA, the GPU's utilisation, memory and temperature (:class:`lrtui.system_load.SystemSample`,
``RunRecord.system``). Here they become a table (one row per run: both formats) and a small SVG chart
(HTML only): CPU and load in cores, the process's memory and, when a run had a GPU, its utilisation
and memory. Sessions saved before these figures existed, or by another lrtui, simply have no section.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lrtui.plots.formatting import DASH
from lrtui.reports.blocks import Block, Cell, Chart, Heading, Para, table_of
from lrtui.reports.figures import grid, run_hex
from lrtui.reports.svg_charts import INK, LegendItem, Line, Panel
from lrtui.sessions.record import RunRecord
from lrtui.system_load import SystemSample

PROCESS_DASH, LOAD_DASH = "", "5 3"
NOTE = (
    "Measured once a second while the runs trained: each epoch shows the mean of its samples (the peak for "
    "memory). CPU is this process's use (100% = one core busy, so 187% is nearly two) against the machine's "
    "load (how many processes wanted a core, over a minute): a load well above what the process used means "
    "something else was competing for the cores. GPU memory counts every process on that GPU. Runs trained "
    "together (a stacked lr sweep) share one process: their lines coincide."
)


def _with_system(runs: Sequence[RunRecord]) -> list[RunRecord]:
    return [r for r in runs if r.system]


def _series(
    run: RunRecord, figure_of: Callable[[SystemSample], float | None]
) -> tuple[list[float | None], list[float | None]]:
    epochs = sorted(run.system)
    return [float(e) for e in epochs], [figure_of(run.system[e]) for e in epochs]


def _scaled(v: float | None, by: float) -> float | None:
    return None if v is None else v / by


def _memory_unit(values: Sequence[float | None]) -> tuple[str, float]:
    """GB when the largest value is a GB or more, else MB (values in MiB)."""
    return ("GB", 1024.0) if max((v for v in values if v is not None), default=0.0) >= 1000 else ("MB", 1.0)


def _epoch_range(runs: Sequence[RunRecord]) -> tuple[float, float]:
    last = max(max((e for r in runs for e in r.system), default=1), 2)
    pad = max(0.08, 0.025 * (last - 1))
    return 1.0 - pad, last + pad


def _memory_panel(
    runs: Sequence[RunRecord], figure_of: Callable[[SystemSample], float | None], title: str, what: str
) -> Panel:
    unit, by = _memory_unit([figure_of(s) for r in runs for s in r.system.values()])
    lines = []
    for run in runs:
        xs, ys = _series(run, figure_of)
        lines.append(Line(xs, [_scaled(v, by) for v in ys], run_hex(run), markers=True))
    return Panel(
        lines,
        title=title,
        x_label="epoch",
        y_label=f"{what} ({unit})",
        x_range=_epoch_range(runs),
        x_integer=True,
        y_from_zero=True,
    )


def system_svg(runs: Sequence[RunRecord]) -> str | None:
    """CPU and load (cores), the process's memory and, where a run had a GPU, its utilisation and memory."""
    runs = _with_system(runs)
    if not runs:
        return None
    x_range = _epoch_range(runs)
    cpu = []
    for run in runs:
        xs, ys = _series(run, lambda s: _scaled(s.cpu_percent, 100.0))
        cpu.append(Line(xs, ys, run_hex(run), dash=PROCESS_DASH, markers=True))
        xs, ys = _series(run, lambda s: s.load1)
        cpu.append(Line(xs, ys, run_hex(run), dash=LOAD_DASH, width=1.5))
    panels = [
        Panel(
            cpu, title="CPU", x_label="epoch", y_label="cores busy", x_range=x_range, x_integer=True, y_from_zero=True
        ),
        _memory_panel(runs, lambda s: s.rss_mb, "memory of this process", "resident"),
    ]
    on_gpu = [r for r in runs if any(s.has_gpu for s in r.system.values())]
    if on_gpu:
        util = [Line(*_series(run, lambda s: s.gpu_util), run_hex(run), markers=True) for run in on_gpu]
        panels += [
            Panel(
                util,
                title="GPU utilisation",
                x_label="epoch",
                y_label="busy (%)",
                y_range=(0, 100),
                x_range=x_range,
                x_integer=True,
                y_format=lambda v: f"{v:g}%",
            ),
            _memory_panel(on_gpu, lambda s: s.gpu_mem_mb, "GPU memory in use", "used"),
        ]
    legend = [
        *(LegendItem(f"{r.id} {r.config.label}", run_hex(r)) for r in runs),
        LegendItem("this process's CPU", INK, PROCESS_DASH),
        LegendItem("machine load, 1 min", INK, LOAD_DASH, width=1.5),
    ]
    return grid(panels, legend, "Your machine per epoch: CPU, load, memory" + (", GPU" if on_gpu else ""), 230.0)


def _mean(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _peak(values: Sequence[float | None]) -> float | None:
    return max((v for v in values if v is not None), default=None)


def _shown(v: float | None, fmt: str) -> str:
    return DASH if v is None else fmt.format(v)


def _memory(mb: float | None) -> str:
    return DASH if mb is None else f"{mb / 1024:,.1f} GB" if mb >= 1000 else f"{mb:,.0f} MB"


def system_rows(runs: Sequence[RunRecord]) -> list[list[Cell | str]]:
    """Per run: mean CPU and load, peak memory; on a GPU its mean utilisation, peak memory and temperature."""
    rows: list[list[Cell | str]] = []
    for run in _with_system(runs):
        samples = list(run.system.values())
        rows.append(
            [
                Cell(run.id, swatch=run_hex(run)),
                _shown(_mean([s.cpu_percent for s in samples]), "{:,.0f}%"),
                _memory(_peak([s.rss_mb for s in samples])),
                _shown(_mean([s.load1 for s in samples]), "{:,.1f}"),
                _shown(_mean([s.gpu_util for s in samples]), "{:,.0f}%"),
                _memory(_peak([s.gpu_mem_mb for s in samples])),
                _shown(_peak([s.gpu_temp_c for s in samples]), "{:,.0f}°C"),
            ]
        )
    return rows


def system_blocks(runs: Sequence[RunRecord]) -> list[Block]:
    """The section, or nothing when no run has the figures."""
    rows = system_rows(runs)
    if not rows:
        return []
    return [
        Heading("Your machine"),
        Para(NOTE, small=True),
        table_of(
            (
                "run",
                "CPU (mean)",
                "memory (peak)",
                "load (mean)",
                "GPU (mean)",
                "GPU memory (peak)",
                "GPU temperature (peak)",
            ),
            rows,
        ),
        Chart("CPU, load and memory per epoch", svg=system_svg(runs)),
    ]
