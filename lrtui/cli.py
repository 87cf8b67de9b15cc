"""The ``lrtui`` command: the app (bare ``lrtui``), ``run``, ``sessions``, ``report`` and ``find-lr``.

The run flags are defined once (:func:`add_run_flags`) and shared by every command;
they are parsed as plain strings and validated by the engine's own
:func:`~lrtui.engine.config.parse_configs`, so the CLI and the app reject the same
input with the same words. Bad input is one ``lrtui: error: ...`` line and exit code 2.

Imports stay lazy: ``lrtui run --help`` and bad input never import torch or textual,
and bare ``lrtui`` leaves torch to the app's worker (after the first frame).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from lrtui import __version__
from lrtui.engine.config import (
    DATASETS,
    OPTIMIZERS,
    ConfigError,
    RunConfig,
    parse_configs,
)
from lrtui.record import RunRecord
from lrtui.session import Session, SessionError, load_session, write_json_atomic

#: (flag, RunConfig field, metavar, help) of the flags every command shares.
RUN_FLAGS: tuple[tuple[str, str, str, str], ...] = (
    ("--lr", "lr", "LR[,LR...]", "learning rate, or a comma list for a sweep, e.g. 0.5,0.01,1e-4"),
    ("--optimizer", "optimizer", "NAME", f"one of {', '.join(OPTIMIZERS)}"),
    ("--momentum", "momentum", "M", "momentum in [0, 1) (default: 0.9 for sgd-momentum and nesterov, else 0)"),
    ("--weight-decay", "weight_decay", "W", "L2 weight decay in [0, 1]"),
    ("--epochs", "epochs", "N", "number of epochs"),
    ("--batch-size", "batch_size", "N", "mini-batch size"),
    ("--dataset", "dataset", "NAME", f"one of {', '.join(DATASETS)}"),
    ("--data-dir", "data_dir", "DIR", "where torchvision datasets live (default: $LRTUI_DATA or the user data dir)"),
    ("--device", "device", "D", "auto, cpu, cuda, cuda:N or mps"),
    ("--seed", "seed", "N", "seed of the model's initial weights and the batch order"),
    ("--train-limit", "train_limit", "N", "train on only the first N training samples (quick looks, tests)"),
    ("--log-every", "log_every", "N", "print the classic lines every N batches (default: ~4 per epoch)"),
    ("--val-fraction", "val_fraction", "F", "fraction of the training pool held out for validation"),
)


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """Add the shared run flags. Values stay strings; only flags actually given end up in the namespace."""
    group = parser.add_argument_group("run settings")
    for flag, dest, metavar, text in RUN_FLAGS:
        default = RunConfig.__dataclass_fields__[dest].default
        shown = f" (default {default})" if isinstance(default, (int, float, str)) and "default" not in text else ""
        group.add_argument(flag, dest=dest, metavar=metavar, default=argparse.SUPPRESS, help=text + shown)


def config_fields(args: argparse.Namespace) -> dict[str, str]:
    """The run flags that were given, as raw ``parse_configs`` fields (the app pre-fills its form with them)."""
    return {dest: str(getattr(args, dest)) for _, dest, _, _ in RUN_FLAGS if hasattr(args, dest)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lrtui",
        description="See what the learning rate does: train the classic MNIST CNN live. "
        "Without a command, starts the terminal app (the run flags pre-fill its form).",
    )
    parser.add_argument("--version", action="version", version=f"lrtui {__version__}")
    parser.add_argument("--open", metavar="SESSION", help="open a saved session in the app (folder, session.json or 'last')")
    add_run_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="train headless: classic printout, then a table of runs",
                         description="Train one run per learning rate without the app; every run is saved as a session.")
    add_run_flags(run)
    run.add_argument("--json", metavar="PATH", help="also write the whole result (the session document) to PATH")
    run.add_argument("--report", metavar="DIR", help="write the md/html/json reports into DIR at the end")
    run.add_argument("--quiet", action="store_true", help="print only the final table")
    run.add_argument("--batched", action=argparse.BooleanOptionalAction, default=None,
                     help="train a sweep's models as one stacked model (default: where it measures faster)")

    sub.add_parser("sessions", help="list saved sessions", description="List saved sessions, unreadable ones too.")

    report = sub.add_parser("report", help="write a saved session's reports",
                            description="Write report.md, report.html and session.json for a saved session.")
    report.add_argument("session", metavar="SESSION", help="a session folder, its session.json, or 'last'")
    report.add_argument("--format", action="append", choices=("md", "html", "json"),
                        help="format to write (repeatable; default: all)")
    report.add_argument("--out", metavar="DIR", help="folder to write into (default: the session folder)")

    find = sub.add_parser("find-lr", help="learning-rate range test: suggest a learning rate",
                          description="Raise the lr exponentially over one short pass and suggest one that trains well.")
    add_run_flags(find)
    find.add_argument("--start", default="1e-6", help="first learning rate (default 1e-6)")
    find.add_argument("--end", default="10", help="last learning rate (default 10)")
    find.add_argument("--steps", default="320", help="number of steps (default 320, lrfind.DEFAULT_STEPS; at most one epoch)")
    find.add_argument("--json", metavar="PATH", help="write the curve and the suggestions to PATH")
    return parser


class UsageError(Exception):
    """Bad input found by the CLI itself; printed as one line, exit code 2."""


class Signals:
    """Ctrl-C, SIGHUP and SIGTERM stop the work after the current batch; a second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Signals:
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                num = getattr(signal, name)
                self._previous[num] = signal.signal(num, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for num, handler in self._previous.items():
            signal.signal(num, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and self.received == signal.SIGINT:
            raise KeyboardInterrupt
        if self.received is None:
            self.received = signum
        self.cancel.set()

    @property
    def interrupted(self) -> bool:
        """SIGHUP or SIGTERM: the run was ``interrupted`` from outside, not cancelled by choice."""
        return self.received in (getattr(signal, "SIGHUP", None), signal.SIGTERM)

    @property
    def hangup(self) -> bool:
        """SIGHUP: the terminal is gone (a dropped SSH link), so printing is pointless and may fail."""
        return self.received is not None and self.received == getattr(signal, "SIGHUP", None)

    @property
    def exit_code(self) -> int:
        """128 + signal number, the shell's convention (130 Ctrl-C, 129 SIGHUP, 143 SIGTERM); 0 if none."""
        return 128 + self.received if self.received else 0


def _parse(args: argparse.Namespace) -> list[RunConfig]:
    return parse_configs(config_fields(args))


def _check_out_path(flag: str, path: str | None) -> None:
    """Fail before training, not after it, when an output folder does not exist."""
    if path and not Path(path).expanduser().resolve().parent.is_dir():
        raise UsageError(f"{flag}: folder {Path(path).parent} does not exist")


def _train(session: Session, records: list[RunRecord], console: Any, args: argparse.Namespace) -> Signals:
    """Train the session's queued runs, printing and saving as events arrive; returns the signals seen."""
    from lrtui.engine.events import Event, RunEnd
    from lrtui.engine.sweep import run_many
    from lrtui.printout import RunPrinter

    printer = RunPrinter(console, quiet=args.quiet, prefix_runs=len(records) > 1)
    warned: list[str | None] = [None]  #: the save problem already reported
    with Signals() as stop:

        def emit(ev: Event) -> None:
            if isinstance(ev, RunEnd) and ev.status == "cancelled" and stop.interrupted:
                ev = replace(ev, status="interrupted")
            session.observe(ev)
            if session.save_error and session.save_error != warned[0]:  # once per new problem
                warned[0] = session.save_error
                with contextlib.suppress(OSError):
                    print(f"lrtui: warning: {session.save_error}; training goes on", file=sys.stderr)
            if not (stop.hangup or console.reader_gone):  # keep saving, stop printing to a reader that is gone
                printer(ev)

        try:
            run_many([r.config for r in records], [r.id for r in records], emit, stop.cancel, batched=args.batched)
        except KeyboardInterrupt:  # a second Ctrl-C: stop now, keep what finished
            stop.received = signal.SIGINT
            session.interrupt()
        finally:
            with contextlib.suppress(OSError):  # closing the bar writes to a terminal that may be gone
                printer.close()
    return stop


def cmd_run(args: argparse.Namespace) -> int:
    """``lrtui run``: train, print, save the session at every run start/epoch end/run end; then the table."""
    configs = _parse(args)
    _check_out_path("--json", args.json)
    from lrtui.printout import EXIT_BROKEN_PIPE, StdoutConsole, runs_table, say
    from lrtui.report import write_reports

    session = Session.create()
    records = [session.add(c) for c in configs]
    console = StdoutConsole()
    stop = _train(session, records, console, args)
    started = [r for r in records if r.status != "queued"]
    if started:
        session.save()
    if args.json:
        write_json_atomic(Path(args.json), session.to_dict())
    reports = write_reports(session, args.report) if args.report and started else []
    written = ([("result", args.json)] if args.json else []) + [("report", p) for p in reports]
    try:
        if not stop.hangup:
            console.print(runs_table(started))
        for label, path in written:
            say(console, f"{label}: {path}")
        if started:
            say(console, f"session: NOT saved ({session.save_error})" if session.save_error
                else f"session: {session.path}")
    except OSError:
        pass  # the terminal went away; everything is saved
    if stop.exit_code:
        return stop.exit_code
    if console.reader_gone:
        return EXIT_BROKEN_PIPE
    return 1 if session.save_error or any(r.status == "failed" for r in records) else 0


def cmd_sessions(args: argparse.Namespace) -> int:
    from lrtui.printout import StdoutConsole, sessions_table
    from lrtui.session import list_sessions, sessions_root

    entries = list(list_sessions())
    if not entries:
        print(f"no saved sessions yet in {sessions_root()}")
        return 0
    StdoutConsole().print(sessions_table(entries))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from lrtui.report import FORMATS, write_reports

    session = load_session(args.session)
    for path in write_reports(session, args.out, tuple(args.format or FORMATS)):
        print(path)
    return 0


def _float_option(name: str, text: str, *, integer: bool = False) -> float:
    """--start/--end/--steps: positive finite numbers, with the CLI's one-line error otherwise."""
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        raise UsageError(f"{name}: {text!r} is not a {'whole ' if integer else ''}number") from None
    if not 0 < value < float("inf"):
        raise UsageError(f"{name}: {text!r} is out of range: must be > 0")
    return value


def cmd_find_lr(args: argparse.Namespace) -> int:
    """``lrtui find-lr``: run the range test, print every suggestion and the chart."""
    config = _parse(args)[0]
    start, end = _float_option("start", args.start), _float_option("end", args.end)
    steps = int(_float_option("steps", args.steps, integer=True))
    if start >= end:
        raise UsageError(f"start: {start:g} must be smaller than end ({end:g})")
    if steps < 2:
        raise UsageError(f"steps: {steps} is out of range: must be >= 2")
    _check_out_path("--json", args.json)
    import shutil

    from lrtui.engine.config import format_lr
    from lrtui.engine.data import DataUnavailable
    from lrtui.engine.lrfind import LABELS, find_lr, render_chart

    with Signals() as stop:
        try:
            result = find_lr(config, start=start, end=end, steps=steps, cancel=stop.cancel)
        except KeyboardInterrupt:
            return 130
        except DataUnavailable as e:
            raise UsageError(str(e)) from None
    if stop.exit_code:
        return stop.exit_code
    if result.lr is not None:
        print(f"suggested lr: {format_lr(result.lr)} ({result.method}): {result.why}")
    else:
        print(f"no suggestion: {result.why}")
    for method, lr in result.suggestions.items():
        print(f"  {LABELS[method]:<16} {format_lr(lr) if lr is not None else '—'}")
    for note in result.notes:
        print(f"  note: {note}")
    width = max(40, min(100, shutil.get_terminal_size((100, 24)).columns))
    print(render_chart(result, width, 20, color=sys.stdout.isatty()))
    if args.json:
        write_json_atomic(Path(args.json), result.to_dict())
        print(f"result: {args.json}")
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """Bare ``lrtui``: the Textual app, pre-filled from the flags, optionally with a saved session."""
    open_path = str(load_session(args.open).path) if args.open else None
    from lrtui.tui.app import (
        run_app,  # here, not at the top: `lrtui run` never pays for Textual
    )

    return run_app(config_fields(args), open_path)


COMMANDS = {"run": cmd_run, "sessions": cmd_sessions, "report": cmd_report, "find-lr": cmd_find_lr}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lrtui`` console script and ``python -m lrtui``."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS.get(args.command, cmd_app)(args)
    except (ConfigError, SessionError, UsageError) as e:
        print(f"lrtui: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader left early (`lrtui find-lr | head`): as a killed pipe writer would
        from lrtui.printout import EXIT_BROKEN_PIPE, silence_stdout

        silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as e:  # a file we were asked to write could not be written
        print(f"lrtui: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
