"""The drawing and report wings: no module over 600 lines, and a short chart is asked for, not smuggled in."""

from __future__ import annotations

from pathlib import Path

import pytest

import lrtui.plots
import lrtui.reports
from lrtui.engine.config import RunConfig
from lrtui.engine.records import EpochRecord
from lrtui.plots import probe_lr_charts
from lrtui.plots import terminal_charts as charts
from lrtui.sessions.record import RunRecord

MAX_LINES = 600
PACKAGES = (Path(lrtui.plots.__file__).parent, Path(lrtui.reports.__file__).parent)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_no_module_is_over_600_lines(package: Path) -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines()) for p in package.glob("*.py")}
    assert sizes and not {name: n for name, n in sizes.items() if n > MAX_LINES}


def _run() -> RunRecord:
    epochs = [
        EpochRecord(e, val_acc=a, train_acc=a, val_loss=1 - a, train_loss=1 - a)
        for e, a in ((1, 0.4), (2, 0.7), (3, 0.9))
    ]
    return RunRecord(id="r1", config=RunConfig(lr=0.1, epochs=3), status="finished", epochs=epochs)


def _y_labels(text: str) -> list[str]:
    """The y tick labels of a plain plotext chart: what stands left of the frame's ┤ on each row."""
    return [line.split("┤")[0].strip() for line in text.splitlines() if "┤" in line]


def test_a_short_chart_drops_its_title_and_x_label_and_gives_their_rows_to_the_axis() -> None:
    """``short=True`` (the app's low panes): no title, no x label, and the 0-100% axis uses the two rows they
    freed (9 rows tick every 25; the 6 of a titled chart 12 lines tall tick every 20)."""
    run = _run()
    titled = charts.render(charts.plot_accuracy, [run], width=60, height=12)
    short = charts.render(charts.plot_accuracy, [run], width=60, height=12, short=True)
    assert "Accuracy per epoch" in titled and "epoch" in titled.splitlines()[-1]
    assert "Accuracy per epoch" not in short and "epoch" not in short
    assert _y_labels(titled) == ["100", "80", "60", "40", "20", "0"]
    assert _y_labels(short) == ["100", "75", "50", "25", "0"]
    for draw in (
        charts.plot_loss,
        charts.plot_batch_loss,
        charts.plot_update_ratio,
        charts.plot_dead_fraction,
        probe_lr_charts.plot_probe,
        probe_lr_charts.plot_lr,
    ):
        title = charts.render(draw, [run], width=60, height=12).splitlines()[0].strip()
        assert title and title not in charts.render(draw, [run], width=60, height=12, short=True), draw.__name__


def test_a_count_in_a_narrow_place_keeps_three_figures() -> None:
    from lrtui.plots.formatting import count

    assert [count(n) for n in (1_539, 9_999, 10_000, 235_146, 999_499, 999_500, 11_172_490)] == [
        "1,539",
        "9,999",
        "10k",
        "235k",
        "999k",
        "1.0M",
        "11.2M",
    ]
