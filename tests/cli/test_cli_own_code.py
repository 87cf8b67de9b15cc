"""``--model`` and ``--data``: the user's own network and data, through the CLI, and every bad factory as one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lrtui.sessions.listing import load_session

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _only_run(home: Path) -> dict:
    [folder] = (home / "sessions").iterdir()
    return json.loads((folder / "session.json").read_text())["runs"][0]


@pytest.mark.parametrize(
    "factory, name",
    [
        ("mlp.py:mlp", "mlp() → Sequential"),
        ("normed_cnn.py:normed_cnn", "normed_cnn() → Sequential"),
        ("resnet.py:tiny_resnet", "tiny_resnet() → TinyResNet"),
    ],
)
def test_each_example_network_trains_an_epoch_of_digits(cli, tmp_path, factory, name):
    spec = f"{EXAMPLES / factory}"
    result = cli(
        [
            "run",
            "--model",
            spec,
            "--epochs",
            "1",
            "--train-limit",
            "200",
            "--device",
            "cpu",
            "--quiet",
            "--lr",
            "0.05,0.01",
        ],
        tmp_path,
    )
    assert result.code == 0, result.err
    session = load_session(str(next((tmp_path / "sessions").iterdir())))  # a session with a foreign model opens
    runs = session.book.runs
    assert [r.status for r in runs] == ["finished", "finished"]
    for run in runs:
        assert run.config.model == spec and run.config.model_name == name and run.config.model_params > 0
        assert run.config.classes == 10 and run.epochs and run.test is not None
        diagnostics = run.epochs[-1].diagnostics
        assert diagnostics and diagnostics.update_ratio and diagnostics.dead_fraction, "diagnostics expected"
        assert run.verdict is not None and "calibrated on the reference CNN" in run.verdict.reason
        assert f"lrtui find-lr --model {spec}" in run.verdict.hint
    assert runs[0].epochs[0].train_loss != runs[1].epochs[0].train_loss


def test_a_seed_gives_every_run_of_a_sweep_the_same_initial_weights(tmp_path):
    from lrtui.engine.config import parse_configs
    from lrtui.engine.model_factory import build_network

    spec = str(EXAMPLES / "resnet.py:tiny_resnet")
    a, b, c = parse_configs({"model": spec, "lr": "0.1,0.01", "seed": "0,1"})[:3]
    first, second, other = (build_network(x).state_dict() for x in (a, b, c))  # seeds 0, 1, then 0 again
    assert all((first[k] == other[k]).all() for k in first)  # a: lr 0.1 seed 0; c: lr 0.01 seed 0
    assert any((first[k] != second[k]).any() for k in first)


def test_own_data_and_network_train_and_report(cli, tmp_path):
    """Three classes of 20 features: no pictures, a 3×3 confusion matrix, chance and ln C of three classes."""
    out = tmp_path / "report"
    result = cli(
        [
            "run",
            "--data",
            f"{EXAMPLES / 'blobs.py:blobs'}",
            "--model",
            f"{EXAMPLES / 'blobs.py:classifier'}",
            "--epochs",
            "1",
            "--train-limit",
            "300",
            "--device",
            "cpu",
            "--quiet",
            "--report",
            str(out),
        ],
        tmp_path / "home",
    )
    assert result.code == 0, result.err
    run = _only_run(tmp_path / "home")
    assert run["config"]["classes"] == 3 and run["config"]["dataset"] == "custom"
    assert len(run["test"]["confusion_matrix"]) == 3 and run["test"]["samples"]["images"] == []
    assert run["sizes"]["train"] == 300
    report = (out / "report.md").read_text()
    assert "classifier() → Sequential (1,539 parameters)" in report and "blobs.py:blobs" in report


def test_datasets_are_read_like_tensors(cli, tmp_path):
    """``(train_dataset, test_dataset)`` gives the same split and the same first epoch as the tensors."""
    losses = []
    for func in ("blobs", "blob_datasets"):
        home = tmp_path / func
        result = cli(
            [
                "run",
                "--data",
                f"{EXAMPLES / 'blobs.py'}:{func}",
                "--model",
                f"{EXAMPLES / 'blobs.py:classifier'}",
                "--epochs",
                "1",
                "--train-limit",
                "200",
                "--device",
                "cpu",
                "--quiet",
            ],
            home,
        )
        assert result.code == 0, result.err
        losses.append(_only_run(home)["epochs"][0]["train_loss"])
    assert math.isclose(losses[0], losses[1], rel_tol=1e-6)


def test_the_reference_cnn_on_own_image_data(cli, tmp_path):
    """A data factory of 28×28 images trains the reference CNN (its pictures are drawn)."""
    (tmp_path / "digits.py").write_text(
        "import torch\n"
        "def digits():\n"
        "    x = torch.rand(60, 1, 28, 28)\n"
        "    return x, torch.arange(60) % 10, x[:20], torch.arange(20) % 10\n"
    )
    result = cli(
        ["run", "--data", f"{tmp_path / 'digits.py'}:digits", "--epochs", "1", "--device", "cpu", "--quiet"],
        tmp_path / "home",
    )
    assert result.code == 0, result.err
    run = _only_run(tmp_path / "home")
    assert run["config"]["model_name"] == "ConvNet" and len(run["test"]["samples"]["images"]) == 16


def test_the_shifted_digits_example_trains_with_a_new_draw_every_epoch(cli, tmp_path):
    """examples/shifted_digits.py: datasets with torchvision's RandomAffine train, reproducibly for a seed."""
    losses = []
    for seed in ("0", "0", "1"):
        home = tmp_path / f"home{len(losses)}"
        args = ["run", "--data", f"{EXAMPLES / 'shifted_digits.py:shifted_digits'}", "--epochs", "2"]
        result = cli([*args, "--train-limit", "200", "--seed", seed, "--device", "cpu", "--quiet"], home)
        assert result.code == 0, result.err
        run = _only_run(home)
        assert run["status"] == "finished" and len(run["epochs"]) == 2
        assert run["config"]["classes"] == 10 and len(run["test"]["samples"]["images"]) == 16
        losses.append(tuple(e["train_loss"] for e in run["epochs"]))
    assert losses[0] == losses[1] and losses[0] != losses[2]  # a seed gives the same run again (its draws too)


BAD_MODELS = {
    "missing.py:f": (None, "model: {dir}/missing.py does not exist"),
    "nofunc.py:f": ("x = 1\n", "has no f"),
    "syntax.py:f": ("def f(:\n", "cannot be loaded (SyntaxError"),
    "raises.py:f": ("def f():\n    raise ValueError('no\\nnetwork')\n", "raised ValueError: no network"),
    "notmodule.py:f": ("def f():\n    return 42\n", "returned a int, not a torch.nn.Module"),
    "shape.py:f": ("from torch import nn\ndef f():\n    return nn.Linear(5, 10)\n", "does not take the data's inputs"),
    "classes.py:f": (
        "from torch import nn\ndef f():\n    return nn.Sequential(nn.Flatten(), nn.Linear(784, 7))\n",
        "gives 7 outputs per sample but the data have 10 classes",
    ),
    "noparams.py:f": (
        "from torch import nn\ndef f():\n    return nn.Sequential(nn.Flatten(), nn.AdaptiveAvgPool1d(10))\n",
        "has no trainable parameters",
    ),
    "outshape.py:f": (
        "from torch import nn\ndef f():\n    return nn.Identity()\n",
        "returns (2, 1, 28, 28) for a batch of 2: expected (2, 10) class scores",
    ),
}


@pytest.mark.parametrize("command", ["run", "find-lr"])
@pytest.mark.parametrize("spec", sorted(BAD_MODELS))
def test_a_bad_network_is_one_line_and_nothing_is_created(cli, tmp_path, spec, command):
    code, needle = BAD_MODELS[spec]
    if code is not None:
        (tmp_path / spec.split(":")[0]).write_text(code)
    out = tmp_path / "result.json"
    result = cli([command, "--model", f"{tmp_path}/{spec}", "--device", "cpu", "--json", str(out)], tmp_path / "home")
    assert result.code == 2
    assert result.err.startswith("lrtui: error: model: ") and result.err.count("\n") == 1, result.err
    assert needle.format(dir=tmp_path) in result.err
    assert not (tmp_path / "home" / "sessions").exists() and not out.exists()


BAD_DATA = {
    "missing.py:f": (None, "data: {dir}/missing.py does not exist"),
    "raises.py:f": ("def f():\n    raise OSError('gone')\n", "raised OSError: gone"),
    "kind.py:f": ("def f():\n    return 3\n", "returned a int, not (train_x, train_y, test_x, test_y)"),
    "count.py:f": (
        "import torch\ndef f():\n    return torch.zeros(5, 3), torch.zeros(4).long(), torch.zeros(2, 3), "
        "torch.zeros(2).long()\n",
        "train_x holds 5 inputs but train_y 4 labels",
    ),
    "labels.py:f": (
        "import torch\ndef f():\n    return torch.zeros(5, 3), torch.rand(5), torch.zeros(2, 3), "
        "torch.zeros(2).long()\n",
        "labels must be integer class numbers",
    ),
    "shapes.py:f": (
        "import torch\ndef f():\n    y = torch.arange(4) % 2\n    return torch.zeros(4, 3), y, torch.zeros(4, 5), y\n",
        "train inputs are (3,) but test inputs (5,)",
    ),
}


@pytest.mark.parametrize("spec", sorted(BAD_DATA))
def test_bad_data_is_one_line_and_nothing_is_created(cli, tmp_path, spec):
    code, needle = BAD_DATA[spec]
    if code is not None:
        (tmp_path / spec.split(":")[0]).write_text(code)
    result = cli(["run", "--data", f"{tmp_path}/{spec}", "--device", "cpu"], tmp_path / "home")
    assert result.code == 2
    assert result.err.startswith("lrtui: error: data: ") and result.err.count("\n") == 1, result.err
    assert needle.format(dir=tmp_path) in result.err
    assert not (tmp_path / "home" / "sessions").exists()


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--data", "x.py:f", "--dataset", "mnist"], "data: takes the place of the dataset ('mnist')"),
        (["--model", "no-colon"], "model: 'no-colon' is not FILE.py:FUNC or package.module:FUNC"),
    ],
)
def test_flag_misuse_is_one_line(cli, tmp_path, args, needle):
    result = cli(["run", *args], tmp_path)
    assert result.code == 2 and needle in result.err


def test_flags_are_never_abbreviated(capsys):
    from lrtui.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["run", "--mod", "x.py:f"])
    assert stop.value.code == 2 and "unrecognized arguments: --mod" in capsys.readouterr().err


def test_data_is_a_flag_of_its_own(cli, tmp_path):
    """``--data`` was an ambiguous abbreviation of --dataset/--data-dir; now it is exact."""
    result = cli(["run", "--data", "nowhere.py:f"], tmp_path)
    assert result.code == 2 and result.err.startswith("lrtui: error: data: nowhere.py does not exist")


def test_a_package_module_factory(cli, tmp_path, monkeypatch):
    (tmp_path / "mynets.py").write_text(
        "from torch import nn\ndef small():\n    return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    result = cli(
        ["run", "--model", "mynets:small", "--epochs", "1", "--train-limit", "100", "--device", "cpu", "--quiet"],
        tmp_path / "home",
    )
    assert result.code == 0, result.err
    assert _only_run(tmp_path / "home")["config"]["model_params"] == 7850


def test_find_lr_with_an_own_network(cli, tmp_path):
    result = cli(["find-lr", "--model", str(EXAMPLES / "mlp.py:mlp"), "--steps", "40", "--device", "cpu"], tmp_path)
    assert result.code == 0, result.err
    assert "suggested lr" in result.out or "no suggestion" in result.out


def test_a_network_that_cannot_stack_trains_one_by_one_and_says_why(cli, tmp_path):
    """Batch norm's running statistics cannot be kept per stacked copy: the sweep trains one by one, one line says so."""
    result = cli(
        [
            "run",
            "--model",
            f"{EXAMPLES / 'normed_cnn.py:normed_cnn'}",
            "--lr",
            "0.05,0.01",
            "--epochs",
            "1",
            "--train-limit",
            "100",
            "--device",
            "cpu",
            "--quiet",
            "--batched",
        ],
        tmp_path,
    )
    assert result.code == 0, result.err
    notes = [line for line in result.err.splitlines() if line.startswith("lrtui: note: ")]
    assert len(notes) == 1 and "trained one by one, not stacked" in notes[0] and "BatchNorm" in notes[0], result.err
    runs = load_session(str(next((tmp_path / "sessions").iterdir()))).book.runs
    assert [r.status for r in runs] == ["finished", "finished"]
