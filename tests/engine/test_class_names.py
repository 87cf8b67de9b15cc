"""Class names where the data give them: a factory's list, a dataset's ``.classes``, Fashion-MNIST's and KMNIST's
own; shown beside the class numbers in the confusion matrix and the per-class report (as text, never markup)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from rich.console import Console

from lrtui.engine.config import RunConfig
from lrtui.engine.data import CLASS_NAMES, DataUnavailable, check_data, load_splits
from lrtui.engine.evaluation import scored
from lrtui.engine.trainer import train
from lrtui.reports.blocks import Table
from lrtui.reports.run_details import best_run_blocks
from lrtui.sessions.record import RunRecord
from lrtui.tui.widgets.details import class_report_table, confusion_table

CPU = torch.device("cpu")

TENSORS = """
import torch
def f():
    x = torch.rand(40, 6)
    y = torch.arange(40) % 3
    return x, y, x[:9], y[:9], NAMES
"""

DATASETS = """
import torch
from torch.utils.data import TensorDataset

class Named(TensorDataset):
    classes = NAMES

def f():
    x = torch.rand(40, 6)
    y = torch.arange(40) % 3
    return Named(x, y), TensorDataset(x[:9], y[:9])
"""


def factory(tmp_path: Path, body: str, names: object, name: str = "named") -> RunConfig:
    path = tmp_path / f"{name}.py"
    path.write_text(f"NAMES = {names!r}\n{body}")
    return RunConfig(data=f"{path}:f", dataset="custom", epochs=1, batch_size=4, device="cpu", lr=0.1)


@pytest.mark.parametrize("body", [TENSORS, DATASETS], ids=["tensors", "dataset-classes"])
def test_a_factory_names_its_classes(tmp_path, body) -> None:
    cfg = factory(tmp_path, body, ["cat", "dog", "bird"])
    assert load_splits(cfg, CPU).class_names == ("cat", "dog", "bird")


def test_torchvision_style_names_lose_their_number_prefix(tmp_path) -> None:
    cfg = factory(tmp_path, DATASETS, ["0 - zero", "1 - one", "2 - two"])
    assert load_splits(cfg, CPU).class_names == ("zero", "one", "two")


def test_more_names_than_labels_make_more_classes_and_fewer_are_one_line(tmp_path) -> None:
    more = factory(tmp_path, TENSORS, ["a", "b", "c", "d"], "more")
    assert load_splits(more, CPU).classes == 4  # a class no sample has still gets its output
    fewer = factory(tmp_path, TENSORS, ["a", "b"], "fewer")
    with pytest.raises(DataUnavailable, match=r"^data: fewer\.py:f: 2 class names for labels up to 2$"):
        check_data([fewer])


@pytest.mark.parametrize(
    "names, words",
    [
        (["a", "b\x1b[2J"], "is empty or is not one line of text"),
        (["a", "b\u2028c"], "is empty or is not one line of text"),
        (["a", "x" * 41, "c"], "41 characters long; at most 40"),
    ],
)
def test_bad_names_are_one_line(tmp_path, names, words) -> None:
    with pytest.raises(DataUnavailable, match="^data: named.py:f: class name 1 ") as caught:
        check_data([factory(tmp_path, TENSORS, names)])
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_run_keeps_the_names_in_its_test_result_and_the_tables_show_them_as_text(tmp_path) -> None:
    cfg = factory(tmp_path, TENSORS, ["[bold]cat", "dog", "bird"])
    end = train(cfg, lambda event: None, probes=False, model_factory=lambda: torch.nn.Linear(6, 3))
    assert end.test is not None and end.test.class_names == ("[bold]cat", "dog", "bird")
    console = Console(width=120, record=True, color_system=None)
    console.print(confusion_table(end.test))
    console.print(class_report_table(end.test))
    shown = console.export_text()
    assert "0 [bold]cat" in shown and "1 dog" in shown and "2 bird" in shown and "macro avg" in shown
    saved = RunRecord(id="r1", config=cfg, status=end.status, test=end.test).to_dict()
    record = RunRecord.from_dict(saved)  # as a session keeps it: the names come back
    assert record.test is not None and record.test.class_names == end.test.class_names
    tables = [b for b in best_run_blocks(record) if isinstance(b, Table)]
    assert [row[0].text for row in tables[0].rows] == ["0 [bold]cat", "1 dog", "2 bird"]
    assert [row[0].text for row in tables[1].rows][:3] == ["0 [bold]cat", "1 dog", "2 bird"]


def test_digits_have_no_names_fashion_and_kmnist_have_their_own() -> None:
    pictures = torch.zeros(4, 28, 28, dtype=torch.uint8)
    y = torch.tensor([0, 1, 2, 3])
    digits = scored(0.5, y, y, 10, pictures)
    assert digits.class_names == () and digits.class_label(3) == "3" and digits.class_label("macro avg") == "macro avg"
    fashion = scored(0.5, y, y, 10, pictures, CLASS_NAMES["fashion-mnist"])
    assert fashion.class_label(3) == "3 Dress" and fashion.class_label("9") == "9 Ankle boot"
    assert len(CLASS_NAMES["kmnist"]) == 10


def test_a_built_in_set_gets_its_names_in_the_splits(idx_data_dir: str) -> None:
    cfg = replace(RunConfig(dataset="fashion-mnist", data_dir=idx_data_dir, device="cpu"), train_limit=50)
    assert load_splits(cfg, CPU).class_names[0] == "T-shirt/top"
    assert load_splits(replace(cfg, dataset="mnist"), CPU).class_names == ()


def test_a_datasets_own_classes_are_used_leniently_or_not_at_all(tmp_path) -> None:
    """A dataset's ``.classes`` was never asked for: a name that does not fit is cut or replaced by its number,
    and too few names for the labels leave the data without names (no error)."""
    long_name = "a folder name far longer than any table column can hold"
    cfg = factory(tmp_path, DATASETS, [long_name, "b\x1bc", "c"])
    names = load_splits(cfg, CPU).class_names
    assert names == (long_name[:39] + "…", "1", "c") and len(names[0]) == 40
    few = factory(tmp_path, DATASETS, ["a", "b"], "few")
    check_data([few])  # no error: the names are just not shown
    assert load_splits(few, CPU).class_names == ()


def test_a_factory_that_returns_a_wrong_shape_is_told_what_it_returned(tmp_path) -> None:
    path = tmp_path / "two.py"
    path.write_text("import torch\ndef f():\n    return torch.rand(4, 2), torch.arange(4), ['a', 'b']\n")
    cfg = RunConfig(data=f"{path}:f", dataset="custom", device="cpu")
    with pytest.raises(DataUnavailable, match=r"returned a tuple of 3 \(Tensor, Tensor, list\)"):
        check_data([cfg])


@pytest.mark.parametrize("key", ["²", "①", "١", "00", "-1", "3 "])
def test_a_report_key_that_is_no_class_number_as_lrtui_writes_one_is_shown_as_it_is(key) -> None:
    """A session file's report may hold any key: a Unicode digit must not crash int() nor pass for a class."""
    y = torch.tensor([0, 1, 2, 3])
    test = scored(0.5, y, y, 4, None, ("a", "b", "c", "d"))
    assert test.class_label(key) == key
    assert test.class_label("3") == "3 d" and test.class_label(2) == "2 c"


def test_plain_text_keeps_unicode_line_separators_off_a_one_line_cell() -> None:
    from lrtui.printable import plain_text

    assert plain_text("a\u2028b\u2029c\x1b[2Jd") == "a b c[2Jd"
