"""The idle screen at the two sizes the app is designed for (80x24 over SSH, 160x48 comfortable).

Update after an intended change with ``pytest tests/tui/test_app_snapshots.py --snapshot-update``
and look at the SVGs under ``__snapshots__``. Nothing machine-specific is on this screen: the
device field says ``auto`` and devices are not probed, the cursor does not blink.
"""

from __future__ import annotations

from typing import Any

import pytest
from tui_helpers import make_app


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_idle_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(train_limit="", epochs="5"), terminal_size=size)
