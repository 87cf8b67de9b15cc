"""``lrtui run``, ``sessions``, ``report`` and the shared flags, driven the way a user drives them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lrtui.cli import build_parser, config_fields
from lrtui.engine.config import format_lr
from lrtui.sessions.listing import load_session

CLASSIC_1 = re.compile(r"^epoch: +(\d+) \| batch: +(\d+) \| instances: \[ *(\d+) / (\d+)\] \| loss: \d+\.\d{4}$")
CLASSIC_2 = re.compile(r"^ +(\d+) of (\d+) \| accuracy: (\d+\.\d{3})%$")


def test_non_tty_output_has_the_classic_printout(cli, tmp_path):
    res = cli(["run", "--train-limit", "100", "--epochs", "1", "--log-every", "3", "--device", "cpu"], tmp_path)
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    firsts = [i for i, line in enumerate(lines) if CLASSIC_1.match(line)]
    assert len(firsts) == 4, "100 digits at batch 10 = 10 batches: a line pair every 3, and the last"
    for i in firsts:
        epoch, batch, seen, total = map(int, CLASSIC_1.match(lines[i]).groups())
        assert (epoch, seen, total) == (1, batch * 10, 100)
        correct, seen2, acc = CLASSIC_2.match(lines[i + 1]).groups()
        assert int(seen2) == seen and float(acc) == pytest.approx(100 * int(correct) / seen, abs=1e-3)
    assert len({line.index("| batch") for line in lines if CLASSIC_1.match(line)}) == 1, "columns align"
    assert re.search(r"^epoch:  1 done \| train loss: \d", res.out, flags=re.M)
    assert "\x1b[" not in res.out and "━" not in res.out.split("┏")[0], "no colour codes, no bar when piped"


def test_sweep_prints_a_table_of_runs(sweep):
    res = sweep.result
    assert res.code == 0, res.err
    header = next(line for line in res.out.splitlines() if "best val acc" in line)
    for col in ("lr", "epochs", "test acc", "verdict", "duration", "samples/s"):
        assert col in header
    assert "optimizer" not in header and "every run: sgd · batch 10 · mnist-5k (first 100) · seed 0" in res.out
    doc = json.loads(sweep.json_path.read_text())
    for run in doc["runs"]:
        row = next(line for line in res.out.splitlines() if line.startswith(f"│ {run['id']} "))
        assert f" {format_lr(run['config']['lr'])} " in row and run["verdict"]["label"] in row
    assert "[r2] epoch:  1 | batch:" in res.out, "a sweep's lines say which run they belong to"


def test_json_document_has_the_schema_fields(sweep):
    doc = json.loads(sweep.json_path.read_text())
    assert doc["schema"] == 2
    assert {"lrtui", "torch", "device", "device_name"} <= set(doc["environment"])
    assert doc["environment"]["torch"] and doc["environment"]["device"] == "cpu"
    assert [r["id"] for r in doc["runs"]] == ["r1", "r2"]
    for run in doc["runs"]:
        assert {
            "id",
            "status",
            "config",
            "epochs",
            "batch_losses",
            "test",
            "verdict",
            "duration_s",
            "samples_per_s",
        } <= set(run)
        assert {"lr", "optimizer", "momentum", "weight_decay", "epochs", "batch_size", "dataset", "seed"} <= set(
            run["config"]
        )
        assert [e["epoch"] for e in run["epochs"]] == [1, 2]
        for e in run["epochs"]:
            assert {"train_loss", "train_acc", "val_loss", "val_acc", "seconds"} <= set(e)
            assert 0 <= e["train_acc"] <= 1 and 0 <= e["val_acc"] <= 1
        assert len(run["batch_losses"]) == 20
        assert {"accuracy", "loss", "confusion_matrix", "report"} <= set(run["test"])
        assert 0 <= run["test"]["accuracy"] <= 1
        assert {"label", "reason", "hint"} == set(run["verdict"])
        assert run["duration_s"] > 0 and run["samples_per_s"] > 0


def test_every_run_is_a_saved_session(sweep):
    path = Path(re.search(r"^session: (.+)$", sweep.result.out, flags=re.M).group(1))
    assert path.parent == sweep.home / "sessions"
    doc = json.loads(sweep.json_path.read_text())
    assert [r.to_dict() for r in load_session(path).runs] == doc["runs"]


def test_report_flag_writes_the_reports(sweep):
    written = re.findall(r"^report: (.+)$", sweep.result.out, flags=re.M)
    assert sorted(Path(p).name for p in written) == ["report.html", "report.md", "session.json"]
    assert all(Path(p).parent == sweep.report_dir and Path(p).stat().st_size > 0 for p in written)


def test_quiet_prints_only_the_table(cli, tmp_path):
    res = cli(["run", "--quiet", "--train-limit", "100", "--epochs", "1", "--device", "cpu"], tmp_path)
    assert res.code == 0, res.err
    assert "epoch:" not in res.out and "best val acc" in res.out


def test_an_unwritable_home_warns_trains_and_exits_1(cli, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    res = cli(["run", "--quiet", "--train-limit", "100", "--epochs", "1", "--device", "cpu"], blocker / "home")
    assert res.code == 1
    assert res.err.count("lrtui: warning: cannot save the session") == 1 and "Traceback" not in res.err
    assert "best val acc" in res.out and "session: NOT saved" in res.out


BAD_INPUT = [
    (["--lr", "abc"], "lr: 'abc' is not a number"),
    (["--lr", "0.5,,0.1"], "lr: has an empty item in the list"),
    (["--lr", "-1"], "lr: -1 is out of range"),
    (["--epochs", "0"], "epochs: 0 is out of range"),
    (["--optimizer", "sgdd"], "optimizer: 'sgdd' is unknown"),
    (["--batch-size", "5000", "--train-limit", "200"], "batch_size: 5000 is larger than the training set"),
    (["--val-fraction", "1.5"], "val_fraction: 1.5 is out of range"),
    (["--json", "/no/such/folder/x.json"], "--json: /no/such/folder/x.json: folder does not exist"),
]


@pytest.mark.parametrize("args, message", BAD_INPUT, ids=[m.split(":")[0] + "-" + a[-1] for a, m in BAD_INPUT])
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, args, message):
    res = cli(["run", *args], tmp_path)
    assert res.code == 2 and res.out == ""
    assert res.err.startswith("lrtui: error: ") and message in res.err and res.err.count("\n") == 1
    assert not (tmp_path / "sessions").exists(), "nothing ran, nothing saved"


def test_bad_input_and_help_import_neither_torch_nor_textual():
    code = (
        "import sys, contextlib, io\n"
        "from lrtui.cli import main\n"
        "err = io.StringIO()\n"
        "with contextlib.redirect_stderr(err):\n"
        "    rc = main(['run', '--lr', 'abc', '--epochs', '0'])\n"
        "try:\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        main(['run', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(rc, 'torch' in sys.modules, 'textual' in sys.modules)\n"
        "print(err.getvalue(), end='')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert (
        out
        == "2 False False\nlrtui: error: lr: 'abc' is not a number; epochs: 0 is out of range: must be between 1 and 1000\n"
    )


def test_real_process_bad_input_exit_code(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "lrtui", "run", "--epochs", "x"],
        capture_output=True,
        text=True,
        env={**os.environ, "LRTUI_HOME": str(tmp_path)},
    )
    assert proc.returncode == 2
    assert proc.stderr == "lrtui: error: epochs: 'x' is not a number\n" and "Traceback" not in proc.stderr


def test_sessions_lists_good_and_unreadable(cli, sweep, tmp_path):
    good = next((sweep.home / "sessions").iterdir())
    shutil.copytree(good, tmp_path / "sessions" / good.name)
    bad = tmp_path / "sessions" / "20000101-000000-0bad00"
    bad.mkdir()
    (bad / "session.json").write_text("{}")
    res = cli(["sessions"], tmp_path)
    assert res.code == 0
    assert "unreadable" in res.out and 'not an lrtui session (no "schema" field)' in res.out
    best = load_session(good).best
    row = next(line for line in res.out.splitlines() if good.name in line)
    assert f" {format_lr(best.config.lr)} " in row and " 2 " in row


def test_sessions_when_there_are_none(cli, tmp_path):
    res = cli(["sessions"], tmp_path)
    assert res.code == 0 and res.out.startswith("no saved sessions yet in")


def test_report_command_writes_what_is_asked(cli, sweep, tmp_path):
    res = cli(["report", "last", "--format", "md", "--format", "html", "--out", str(tmp_path / "r")], sweep.home)
    assert res.code == 0, res.err
    assert res.out.splitlines() == [str(tmp_path / "r" / "report.md"), str(tmp_path / "r" / "report.html")]
    assert "## Results" in (tmp_path / "r" / "report.md").read_text()


CORRUPT = {
    "truncated": ('{"schema": 1, "runs": [{"id": "r1", ', "truncated"),
    "non-json": ("<html>oops</html>", "not valid JSON"),
    "wrong-schema": ('{"runs": []}', "not an lrtui session"),
    "future-schema": ('{"schema": 99, "runs": []}', "schema 99 is newer than this lrtui understands"),
}


@pytest.mark.parametrize("kind", sorted(CORRUPT))
@pytest.mark.parametrize("command", [["report"], ["--open"]])
def test_bad_session_file_is_one_line_and_exit_2(cli, tmp_path, kind, command):
    text, reason = CORRUPT[kind]
    file = tmp_path / "session.json"
    file.write_text(text)
    res = cli([*command, str(file)], tmp_path)
    assert res.code == 2 and res.out == ""
    assert res.err == f"lrtui: error: {file}: {res.err.split(': ', 3)[-1]}" and reason in res.err
    assert res.err.count("\n") == 1 and "Traceback" not in res.err


def test_config_fields_keeps_only_the_flags_given():
    parser = build_parser()
    assert config_fields(parser.parse_args([])) == {}
    assert config_fields(parser.parse_args(["--lr", "0.1,0.01", "--epochs", "3"])) == {"lr": "0.1,0.01", "epochs": "3"}
    assert config_fields(parser.parse_args(["run", "--batch-size", "32", "--train-limit", "100"])) == {
        "batch_size": "32",
        "train_limit": "100",
    }
