"""Cell formatting shared by every table: the app, the CLI printout, the reports and the exports.

One place decides how a number reads (``98.5%``, ``0.0713``, ``1 min 05 s``), so the same run
reads the same everywhere. Pure Python on :class:`~lrtui.sessions.record.RunRecord`; nothing here
imports torch, textual or rich.
"""

from __future__ import annotations

from lrtui.engine.config import REFERENCE_MODEL, RunConfig, format_lr
from lrtui.engine.numbers import finite
from lrtui.engine.user_code import shown
from lrtui.sessions.record import RunRecord

DASH = "—"  #: a value that was not measured (or not yet)
#: From this magnitude on, a number is written in scientific notation (a loss of 1e308 in fixed
#: notation is 309 digits long).
HUGE = 1e6


def pct(x: float | None) -> str:
    if x is None or not finite(x):
        return DASH
    return f"{100 * x:.1f}%" if abs(x) < HUGE else f"{100 * x:.3g}%"


def num(x: float | None, digits: int = 4) -> str:
    """``digits`` decimals; in scientific notation when that would be very long (``1.000e+308``) or would
    show a non-zero value as zero (``1.000e-308``)."""
    if x is None or not finite(x):
        return DASH
    if abs(x) >= HUGE or (x != 0 and abs(x) < 0.5 * 10.0**-digits):
        return f"{x:.{max(digits - 1, 1)}e}"
    return f"{x:.{digits}f}"


def sci(x: float | None, digits: int = 1) -> str:
    """Quantities spread over decades (update ratios, step sizes): ``3.2e-03``; exact zero stays ``0``."""
    if x is None or not finite(x):
        return DASH
    return "0" if x == 0 else f"{x:.{digits}e}"


def count(n: int) -> str:
    """A count in a narrow place: 1,539 · 235k · 11.2M."""
    if n < 10_000:
        return f"{n:,}"
    return f"{n / 1000:.0f}k" if n < 999_500 else f"{n / 1e6:.1f}M"


def seconds(x: float | None) -> str:
    if x is None or not x or not finite(x):
        return DASH
    if x >= HUGE:  # eleven days and more: minutes would run to hundreds of digits (1e308 s)
        return f"{x:.3g} s"
    return f"{x:.1f} s" if x < 120 else f"{int(x // 60)} min {int(x % 60):02d} s"


def rate(x: float | None) -> str:
    """Samples per second: ``12,345``; huge values in scientific notation."""
    if x is None or not x or not finite(x):
        return DASH
    return f"{x:,.0f}" if abs(x) < HUGE else f"{x:.3g}"


def epochs_done(run: RunRecord) -> str:
    """``5`` when all epochs ran, ``2/5`` when the run stopped early."""
    done, asked = len(run.epochs), run.config.epochs
    return str(asked) if done == asked else f"{done}/{asked}"


def verdict_text(run: RunRecord) -> str:
    """The verdict label, or the status when there is none (running, cancelled before an epoch, failed)."""
    return run.verdict_label or run.status


def sizes_text(run: RunRecord) -> str:
    """``3200 / 800 / 1000`` (train / validation / test), or a dash before the data was loaded."""
    if not (run.n_train or run.n_val or run.n_test):
        return DASH
    return f"{run.n_train} / {run.n_val} / {run.n_test}"


def device_text(run: RunRecord) -> str:
    """Where it trained: ``cuda (NVIDIA H200)``; the configured choice while it has not started."""
    device = run.device or run.config.device
    return f"{device} ({run.device_name})" if run.device_name and run.device_name != device else device


def dataset_text(config: RunConfig) -> str:
    """``mnist-5k``, or ``mnist-5k (first 200)`` when the training pool was cut; a ``--data`` factory by its spec."""
    return (config.data or config.dataset) + (f" (first {config.train_limit})" if config.train_limit else "")


def model_text(config: RunConfig) -> str:
    """``ConvNet (206,922 parameters)``: the network a run trained, as its config recorded it; a ``--model`` run
    not built yet (queued) by its factory, ``resnet.py:tiny_resnet``."""
    if config.model and config.model_name == REFERENCE_MODEL:  # a factory's name is ``func() → Class``
        return shown(config.model)
    return f"{config.model_name} ({config.model_params:,} parameters)"


def run_cells(run: RunRecord) -> dict[str, str]:
    """Every table column of a run as display text; each table picks the columns it shows."""
    c = run.config
    return {
        "run": run.id,
        "lr": format_lr(c.lr),
        "optimizer": c.optimizer,
        "momentum": f"{c.momentum:g}",
        "weight decay": f"{c.weight_decay:g}",
        "epochs": epochs_done(run),
        "batch": str(c.batch_size),
        "dataset": dataset_text(c),
        "model": model_text(c),
        "train / val / test": sizes_text(run),
        "val split": f"{c.val_fraction:g}",
        "seed": str(c.seed),
        "device": device_text(run),
        "best val acc": pct(run.best_val_acc),
        "last val acc": pct(run.last_val_acc),
        "test acc": pct(run.test_acc),
        "test loss": num(run.test.loss if run.test else None),
        "verdict": verdict_text(run),
        "status": run.status,
        "duration": seconds(run.duration_s),
        "samples/s": rate(run.samples_per_s),
    }
