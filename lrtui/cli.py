"""The ``lrtui`` command: the app (bare ``lrtui``), ``run``, ``sessions``, ``report``, ``export`` and ``find-lr``.

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
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lrtui import __version__
from lrtui.engine.config import (
    DATASETS,
    OPTIMIZERS,
    ConfigError,
    RunConfig,
    parse_configs,
)
from lrtui.printable import printable
from lrtui.sessions.files import sessions_root
from lrtui.sessions.listing import load_session
from lrtui.sessions.outputs import OutputError, check_writable, check_writable_dir, guard_report_dir, write_json_safely
from lrtui.sessions.record import RunRecord
from lrtui.sessions.schema import SessionError
from lrtui.sessions.store import Session
from lrtui.signals import Signals, exit_code, wait_out

#: (flag, RunConfig field, metavar, help) of the flags every command shares.
RUN_FLAGS: tuple[tuple[str, str, str, str], ...] = (
    ("--lr", "lr", "LR[,LR...]", "learning rate, or a comma list for a sweep, e.g. 0.5,0.01,1e-4"),
    ("--optimizer", "optimizer", "NAME[,NAME...]", f"one or more of {', '.join(OPTIMIZERS)}"),
    ("--momentum", "momentum", "M[,M...]", "momentum in [0, 1) (default: 0.9 for sgd-momentum and nesterov, else 0)"),
    ("--weight-decay", "weight_decay", "W[,W...]", "L2 weight decay in [0, 1]"),
    (
        "--schedule",
        "schedule",
        "NAME[,NAME...]",
        "lr schedule: constant, step (x0.1 at 50%% and 75%% of the run), exp (down to lr/100), cosine (down to 0) "
        "or onecycle (from lr/25 up to --lr at 30%%, then down to lr/2.5e5)",
    ),
    ("--warmup", "warmup", "N[,N...]", "steps of linear lr warmup at the start, for any schedule"),
    ("--epochs", "epochs", "N[,N...]", "number of epochs"),
    ("--batch-size", "batch_size", "N[,N...]", "mini-batch size"),
    ("--dataset", "dataset", "NAME", f"one of {', '.join(DATASETS)}"),
    (
        "--data",
        "data",
        "FILE.py:FUNC",
        "your own data instead of --dataset: FUNC() returns (train_x, train_y, test_x, test_y) tensors or "
        "(train_dataset, test_dataset); FILE.py or package.module. Loading it runs its code",
    ),
    (
        "--model",
        "model",
        "FILE.py:FUNC",
        "your own network instead of the reference CNN: FUNC() returns a torch.nn.Module giving one score per class; "
        "FILE.py or package.module. Loading it runs its code",
    ),
    ("--data-dir", "data_dir", "DIR", "where torchvision datasets live (default: $LRTUI_DATA or the user data dir)"),
    ("--device", "device", "D", "auto, cpu, cuda, cuda:N or mps"),
    ("--seed", "seed", "N[,N...]", "seed of the model's initial weights and the batch order"),
    ("--train-limit", "train_limit", "N", "train on only the first N training samples (quick looks, tests)"),
    ("--log-every", "log_every", "N", "print the classic lines every N batches (default: ~4 per epoch)"),
    ("--val-fraction", "val_fraction", "F", "fraction of the training pool held out for validation"),
)


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """Add the shared run flags. Values stay strings; only flags actually given end up in the namespace."""
    group = parser.add_argument_group("run settings")
    for flag, dest, metavar, text in RUN_FLAGS:
        default = RunConfig.__dataclass_fields__[dest].default
        shown = (
            f" (default {default})"
            if isinstance(default, (int, float, str)) and default != "" and "default" not in text
            else ""
        )
        group.add_argument(flag, dest=dest, metavar=metavar, default=argparse.SUPPRESS, help=text + shown)


def config_fields(args: argparse.Namespace) -> dict[str, str]:
    """The run flags that were given, as raw ``parse_configs`` fields (the app pre-fills its form with them)."""
    return {dest: str(getattr(args, dest)) for _, dest, _, _ in RUN_FLAGS if hasattr(args, dest)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lrtui",
        allow_abbrev=False,  # --data is a flag of its own, not short for --data-dir
        description="See what the learning rate does: train the classic MNIST CNN live. "
        "Without a command, starts the terminal app (the run flags pre-fill its form).",
    )
    parser.add_argument("--version", action="version", version=f"lrtui {__version__}")
    parser.add_argument(
        "--open", metavar="SESSION", help="open a saved session in the app (folder, session.json or 'last')"
    )
    add_run_flags(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        allow_abbrev=False,
        help="train headless: classic printout, then a table of runs",
        description="Train without the app; every run is saved in a session. Every setting marked [,...] takes a "
        "comma list: the runs are the grid of all combinations (optimizer outermost, seed innermost).",
    )
    add_run_flags(run)
    run.add_argument(
        "--open",
        metavar="SESSION",
        help="add the runs to a saved session (folder, session.json or 'last') instead of a new one",
    )
    run.add_argument("--json", metavar="PATH", help="also write the whole result (the session document) to PATH")
    run.add_argument("--report", metavar="DIR", help="write the md/html/json reports into DIR at the end")
    run.add_argument("--quiet", action="store_true", help="print only the final table")
    run.add_argument(
        "--batched",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="train a sweep's models as one stacked model (default: where it measures faster)",
    )
    run.add_argument(
        "--keep-dead",
        action="store_true",
        help="let every run of a sweep train all its epochs: by default a run whose ReLU layer is "
        "100%% dead, at chance and at a uniform guess's loss for 3 log points stops at its next "
        "epoch's end, finished (a single run always trains on)",
    )

    sub.add_parser(
        "sessions",
        allow_abbrev=False,
        help="list saved sessions",
        description="List saved sessions, unreadable ones too.",
    )

    report = sub.add_parser(
        "report",
        allow_abbrev=False,
        help="write a saved session's reports",
        description="Write report.md, report.html and session.json for a saved session.",
    )
    report.add_argument("session", metavar="SESSION", help="a session folder, its session.json, or 'last'")
    report.add_argument(
        "--format", action="append", choices=("md", "html", "json"), help="format to write (repeatable; default: all)"
    )
    report.add_argument("--out", metavar="DIR", help="folder to write into (default: the session folder)")

    export = sub.add_parser(
        "export",
        allow_abbrev=False,
        help="export a saved session as CSV or TensorBoard event files",
        description="Write runs.csv and epochs.csv, or one TensorBoard event folder per run.",
    )
    export.add_argument("session", metavar="SESSION", help="a session folder, its session.json, or 'last'")
    export.add_argument("--format", choices=("csv", "tensorboard"), default="csv", help="default: csv")
    export.add_argument("--out", metavar="DIR", help="folder to write into (default: SESSION/export)")

    find = sub.add_parser(
        "find-lr",
        allow_abbrev=False,
        help="learning-rate range test: suggest a learning rate",
        description="Raise the lr exponentially over one short pass and suggest one that trains well.",
    )
    add_run_flags(find)
    find.add_argument("--start", default="1e-6", help="first learning rate (default 1e-6)")
    find.add_argument("--end", default="10", help="last learning rate (default 10)")
    find.add_argument(
        "--steps", default="320", help="number of steps (default 320, lrfind.DEFAULT_STEPS; at most one epoch)"
    )
    find.add_argument("--json", metavar="PATH", help="write the curve and the suggestions to PATH")
    find.add_argument(
        "--open",
        metavar="SESSION",
        help="keep the test in a saved session (folder, session.json or "
        "'last'): that session's verdicts for this --model, optimizer and batch lead with its lr",
    )
    return parser


class UsageError(Exception):
    """Bad input found by the CLI itself; printed as one line, exit code 2."""


def _parse(args: argparse.Namespace) -> list[RunConfig]:
    return parse_configs(config_fields(args))


def _checked(configs: list[RunConfig]) -> list[RunConfig]:
    """The data decoded and the network tried on one batch, before anything is created: a faulty data folder,
    a factory that cannot be loaded or raises, a network that does not fit are one line, exit 2. Loads only what
    the user passed on this command line (``--model``/``--data``), never a file a session names."""
    from lrtui.engine.data import DataUnavailable, check_data
    from lrtui.engine.model_factory import checked

    try:
        check_data(configs)
        return checked(configs)
    except DataUnavailable as e:
        raise UsageError(str(e)) from None


def _check_out_path(flag: str, path: str | None) -> None:
    """Fail before training, not after it, when an output cannot be written or would land in a session's
    store, any session's (see :mod:`lrtui.sessions.outputs`)."""
    check_writable(path, flag, sessions_root=sessions_root())


def _check_report_dir(flag: str, out: str | None, session: Session | None = None) -> None:
    """A report folder must be writable, outside every session's store and not another session's folder.

    Without ``session`` (``run --report``, before its session exists) only the folder's place is checked.
    """
    from lrtui.reports.report import REPORT_FILES

    root = sessions_root()
    if session is None:
        check_writable_dir(out, flag, sessions_root=root)
        return
    document = guard_report_dir(out, session.path, session.created, flag=flag, sessions_root=root)
    check_writable_dir(out, flag, REPORT_FILES, sessions_root=root, replaceable=document)


def _train(
    session: Session, configs: list[RunConfig], console: Any, args: argparse.Namespace
) -> tuple[Signals, list[RunRecord]]:
    """Train the runs through a :class:`Runner`, printing as events arrive; returns the signals seen and the runs."""
    from lrtui.engine.events import Event
    from lrtui.plots.printout import RunPrinter
    from lrtui.runner import Notice, Runner, RunsDone, SaveProblem, SweepNote, hangup_keeps_training

    printer = RunPrinter(console, quiet=args.quiet, prefix_runs=len(configs) > 1)
    with Signals(keep_on_hangup=hangup_keeps_training()) as stop:

        def listen(item: Event | Notice) -> None:
            if isinstance(item, SaveProblem):
                if item.error:
                    with contextlib.suppress(OSError):
                        tell("warning", f"{item.error}; training goes on")
            elif isinstance(item, RunsDone):
                if item.error:
                    with contextlib.suppress(OSError):
                        tell("error", f"training stopped: {item.error}")
            elif isinstance(item, SweepNote):
                with contextlib.suppress(OSError):
                    tell("note", item.text)
            elif not (stop.hangup or console.reader_gone or console.write_failed):  # keep saving, stop printing
                try:
                    printer(item)
                except OSError as e:  # stdout on a full disk, a dead terminal: printing stops, training never
                    console.write_failed = console.quiet = True
                    with contextlib.suppress(OSError):
                        tell(
                            "warning", f"cannot write the output ({e.strerror or e}); printing stops, training goes on"
                        )

        runner = Runner(session, listen, batched=args.batched, keep_dead=True if args.keep_dead else None)
        stop.on_stop = runner.stop
        records = runner.enqueue(configs)
        try:
            wait_out(runner, stop)
        finally:
            with contextlib.suppress(OSError):  # closing the bar writes to a terminal that may be gone
                printer.close()
    return stop, records


def cmd_run(args: argparse.Namespace) -> int:
    """``lrtui run``: train, print, save the session at every run start/epoch end/run end; then the table."""
    configs = _parse(args)
    _check_out_path("--json", args.json)
    from lrtui.plots.printout import EXIT_BROKEN_PIPE, StdoutConsole, runs_table, say
    from lrtui.reports.report import write_reports

    if args.report is not None:
        _check_report_dir("--report", args.report)  # before a new session folder is made
    configs = _checked(configs)
    session = _open_or_create(getattr(args, "open", None))
    if args.report is not None:
        _check_report_dir("--report", args.report, session)
    for notice in (session.follow_error, session.dataset_notice(configs)):  # an unreadable run file; other data
        if notice:
            with contextlib.suppress(OSError):
                tell("warning", notice)
    console = StdoutConsole()
    stop, records = _train(session, configs, console, args)
    started = [r for r in records if r.status != "queued"]
    session.close()  # the final save; this process no longer writes the session
    failed_outputs: list[str] = []
    if args.json:
        try:
            write_json_safely(args.json, session.to_dict(), flag="--json")
        except OutputError as e:  # the runs are saved in the session: say so, still print the table
            failed_outputs.append(str(e))
    reports: list[Path] = []
    if args.report and started:
        try:
            reports = write_reports(session, args.report)
        except (OutputError, OSError) as e:
            failed_outputs.append(f"--report: {e}")
    for line in failed_outputs:
        with contextlib.suppress(OSError):
            tell("error", line)
    written = (
        [("result", args.json)] if args.json and not any(e.startswith("--json") for e in failed_outputs) else []
    ) + [("report", p) for p in reports]
    try:
        if not stop.hangup:
            console.print(runs_table(started))
        for label, path in written:
            say(console, f"{label}: {path}")
        if started:
            if session.save_error and session.snapshot_behind:
                say(console, f"session: {session.path} (runs saved; {session.save_error})")
            else:
                say(
                    console,
                    f"session: NOT saved ({session.save_error})" if session.save_error else f"session: {session.path}",
                )
    except OSError:
        console.write_failed = True  # the terminal went away, or stdout's disk is full; everything is saved
    if stop.exit_code:
        return stop.exit_code
    if console.reader_gone:
        return EXIT_BROKEN_PIPE
    if console.write_failed and not stop.hangup:
        return 1
    unsaved = session.save_error and not session.snapshot_behind  # a stale session.json loses no run
    return 1 if failed_outputs or unsaved or any(r.status == "failed" for r in records) else 0


def _open_or_create(spec: str | None) -> Session:
    """``--open SESSION|last``: add the runs to that session (other processes may be writing it too); else a new one."""
    if spec is None:
        return Session.create()
    if not spec.strip():
        raise UsageError("--open: give a session folder, its session.json, or 'last'")
    return load_session(spec)


def cmd_sessions(args: argparse.Namespace) -> int:
    from lrtui.plots.printout import StdoutConsole, sessions_table
    from lrtui.sessions.listing import list_sessions

    entries = list(list_sessions())
    if not entries:
        print(f"no saved sessions yet in {sessions_root()}")
        return 0
    StdoutConsole().print(sessions_table(entries))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from lrtui.reports.report import FORMATS, write_reports

    session = load_session(args.session)
    _check_report_dir("--out", args.out, session)
    for path in write_reports(session, args.out, tuple(args.format or FORMATS)):
        print(printable(path, newlines=False))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """``lrtui export``: CSV tables or TensorBoard event folders, for the tools people already use."""
    from lrtui.reports.export import ExportError, export_session

    session = load_session(args.session)
    if args.out is not None and not args.out.strip():
        raise UsageError("--out: give a folder")
    out = Path(args.out).expanduser() if args.out else session.path / "export"
    try:  # checked before anything is written; an output problem is an OutputError line, exit 2
        paths = export_session(session, out, args.format, flag="--out")
    except ExportError as e:
        raise UsageError(str(e)) from None
    for path in paths:
        print(printable(path, newlines=False))
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
    from lrtui.engine.lrfind import LABELS, find_lr
    from lrtui.plots.lrfind_chart import render_chart

    config = _checked([config])[0]
    session = _open_or_create(args.open) if getattr(args, "open", None) is not None else None
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
        write_json_safely(args.json, result.to_dict(), flag="--json")
        print(f"result: {printable(args.json, newlines=False)}")
    if session is not None:
        from lrtui.sessions.range_tests import save_range_test

        save_range_test(session.path, config, result.to_dict())
        print(f"kept in session: {printable(str(session.path), newlines=False)}")
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    """Bare ``lrtui``: the Textual app, pre-filled from the flags, optionally with a saved session."""
    open_path = str(_open_or_create(args.open).path) if args.open is not None else None
    from lrtui.tui.app import LRTuiApp  # here, not at the top: `lrtui run` never pays for Textual
    from lrtui.tui.process import run_app

    return run_app(LRTuiApp(initial=config_fields(args), session=open_path))


def _negative_values(argv: Sequence[str]) -> list[str]:
    """``--lr -1e-3`` → ``--lr=-1e-3``: argparse takes a value starting with '-' for a flag, but a negative
    number is a value, and deserves the field's own message ("must be > 0"), not "expected one argument"."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in _VALUE_FLAGS and _looks_negative(arg):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


_VALUE_FLAGS = frozenset([flag for flag, *_ in RUN_FLAGS] + ["--start", "--end", "--steps"])


def _looks_negative(text: str) -> bool:
    if not text.startswith("-") or text.startswith("--"):
        return False
    try:
        float(text.split(",")[0])
    except ValueError:
        return False
    return True


def tell(kind: str, message: str) -> None:
    """``lrtui: error: …`` (or ``warning``) on stderr: one line, whatever paths or file contents it names
    (their control characters spelled out, never obeyed by the terminal)."""
    print(f"lrtui: {kind}: {printable(message, newlines=False)}", file=sys.stderr)


def _reopen_closed_std_streams() -> None:
    """``lrtui run >&-``: Python leaves a closed stdout/stderr as None; print into /dev/null instead of crashing."""
    import os

    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115 — the process's own stream, never closed


def _import_problem(error: ImportError) -> str:
    """One line for a package that cannot be imported, naming it and what to do."""
    module = (error.name or "").split(".")[0] or "a package"
    detail = " ".join(str(error).split())[:300]
    if module == "torch" or "torch" in detail or ".so" in detail:
        return (
            f"PyTorch cannot be loaded ({detail}); reinstall a torch build that matches this machine, "
            "e.g. pip install --force-reinstall torch"
        )
    return f"{module} cannot be imported ({detail}); reinstall lrtui's dependencies: pip install -e ."


COMMANDS = {
    "run": cmd_run,
    "sessions": cmd_sessions,
    "report": cmd_report,
    "export": cmd_export,
    "find-lr": cmd_find_lr,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lrtui`` console script and ``python -m lrtui``."""
    _reopen_closed_std_streams()
    try:
        args = build_parser().parse_args(_negative_values(argv if argv is not None else sys.argv[1:]))
        return COMMANDS.get(args.command, cmd_app)(args)
    except KeyboardInterrupt:  # Ctrl+C before the work started (or while importing torch): one line, no traceback
        with contextlib.suppress(OSError):
            print("lrtui: interrupted", file=sys.stderr)
        return exit_code(signal.SIGINT)
    except (ConfigError, SessionError, UsageError, OutputError) as e:
        tell("error", str(e))
        return 2
    except BrokenPipeError:  # the reader left early (`lrtui find-lr | head`): as a killed pipe writer would
        from lrtui.plots.printout import EXIT_BROKEN_PIPE, silence_stdout

        silence_stdout()
        return EXIT_BROKEN_PIPE
    except ImportError as e:  # a broken install: torch built for CUDA libraries this machine lacks, say
        tell("error", _import_problem(e))
        return 1
    except OSError as e:  # a file we were asked to write could not be written
        tell("error", f"{e.strerror or e}: {e.filename or ''}".rstrip(": "))
        return 1
