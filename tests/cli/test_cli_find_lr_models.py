"""``lrtui find-lr --model``: the range test suggests an lr for each example network, not only the reference CNN."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("factory", ["mlp.py:mlp", "normed_cnn.py:normed_cnn", "resnet.py:tiny_resnet"])
def test_each_example_network_gets_a_suggestion(cli, tmp_path, factory) -> None:
    out = tmp_path / "found.json"
    result = cli(
        [
            "find-lr",
            "--model",
            str(EXAMPLES / factory),
            "--train-limit",
            "1000",
            "--steps",
            "100",
            "--device",
            "cpu",
            "--json",
            str(out),
        ],
        tmp_path,
    )
    assert result.code == 0, result.err
    assert "suggested lr: " in result.out, result.out
    lr = json.loads(out.read_text())["suggestion"]["lr"]
    assert math.isfinite(lr) and 1e-6 < lr < 10  # inside the tested range
    assert not (tmp_path / "sessions").exists()  # without --open, nothing lands in a session
