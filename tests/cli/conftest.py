"""Helpers for CLI tests: run ``lrtui`` in-process (fast) or as a real subprocess (signals)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lrtui.cli import main


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def run_cli(args: list[str], home: Path) -> Result:
    """``lrtui ARGS`` in this process with ``$LRTUI_HOME=home``; stdout/stderr captured (not a TTY)."""
    out, err = io.StringIO(), io.StringIO()
    old = os.environ.get("LRTUI_HOME")
    os.environ["LRTUI_HOME"] = str(home)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
    finally:
        if old is None:
            del os.environ["LRTUI_HOME"]
        else:
            os.environ["LRTUI_HOME"] = old
    return Result(code, out.getvalue(), err.getvalue())


def spawn(args: list[str], home: Path) -> subprocess.Popen[str]:
    """A real ``python -m lrtui ARGS`` process, for the signal tests."""
    env = {**os.environ, "LRTUI_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "lrtui", *args], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@pytest.fixture
def cli():
    """``cli(args, home) -> Result``: run lrtui in-process."""
    return run_cli


@pytest.fixture
def lrtui_process():
    """``lrtui_process(args, home) -> Popen``: a real lrtui process."""
    return spawn


@dataclass(frozen=True)
class Sweep:
    home: Path
    result: Result
    json_path: Path
    report_dir: Path


@pytest.fixture(scope="session")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Sweep:
    """One real ``lrtui run`` of two learning rates on 100 digits for 2 epochs, with --json and --report."""
    home = tmp_path_factory.mktemp("home")
    json_path, report_dir = home / "result.json", home / "reports"
    result = run_cli(
        [
            "run",
            "--lr",
            "0.5,0.01",
            "--train-limit",
            "100",
            "--epochs",
            "2",
            "--device",
            "cpu",
            "--no-batched",
            "--json",
            str(json_path),
            "--report",
            str(report_dir),
        ],
        home,
    )
    return Sweep(home, result, json_path, report_dir)
