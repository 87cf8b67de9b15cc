"""Test digits drawn with half-block characters, so a run's mistakes can be seen, not only counted."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widget import Widget

from lrtui.engine.records import Samples

SIDE = 28
SCALE = 2  #: 28×28 pixels pooled 2×2 → 14 columns × 7 rows: small enough for a row of digits at 80 columns
THRESHOLD = 0.3  #: mean brightness (0..1) of a pooled pixel that counts as ink
_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def _flat(image: Any) -> list[float]:
    """Accept 784 values or 28 rows of 28 (as the session JSON may hold either)."""
    values = [v for row in image for v in row] if image and isinstance(image[0], (list, tuple)) else list(image)
    if len(values) != SIDE * SIDE:
        raise ValueError(f"a digit needs {SIDE * SIDE} pixels, got {len(values)}")
    return [float(v) for v in values]


def digit_lines(image: Any, scale: int = SCALE) -> list[str]:
    """A 28×28 grey digit (0-255) as text: each character cell holds two pooled pixels, top and bottom."""
    pixels = _flat(image)
    side = SIDE // scale

    def ink(r: int, c: int) -> bool:
        block = [pixels[(r * scale + i) * SIDE + c * scale + j] for i in range(scale) for j in range(scale)]
        return sum(block) / len(block) / 255.0 > THRESHOLD

    return ["".join(_BLOCKS[ink(r, c), ink(r + 1, c)] for c in range(side)) for r in range(0, side, 2)]


class DigitStrip(Widget):
    """As many sample digits per line as fit, each captioned ``true→pred`` (red when wrong)."""

    DEFAULT_CSS = "DigitStrip { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.images: list[Any] = []
        self.true: list[int] = []
        self.pred: list[int] = []

    def show(self, samples: Samples | None) -> None:
        samples = samples or Samples()
        self.images, self.true, self.pred = list(samples.images), list(samples.true), list(samples.pred)
        self.refresh(layout=True)

    def _per_line(self, width: int) -> int:
        return max(1, (width + 2) // (SIDE // SCALE + 2))

    def get_content_height(self, container: Any, viewport: Any, width: int) -> int:
        if not self.images:
            return 1
        lines = -(-len(self.images) // self._per_line(width))
        return lines * (SIDE // SCALE // 2 + 1)

    def render(self) -> Text:
        if not self.images:
            return Text("no sample digits (the run has no test result)", style="dim")
        per_line = self._per_line(self.size.width)
        cell = SIDE // SCALE
        out = Text()
        for start in range(0, len(self.images), per_line):
            group = range(start, min(start + per_line, len(self.images)))
            drawn = {i: digit_lines(self.images[i]) for i in group}
            for row in range(cell // 2):
                out.append("  ".join(drawn[i][row] for i in group) + "\n")
            for n, i in enumerate(group):
                wrong = self.true[i] != self.pred[i]
                caption = f"{self.true[i]}→{self.pred[i]} {'✗' if wrong else '✓'}".ljust(cell)
                out.append(caption + ("  " if n < len(group) - 1 else ""), style="bold red" if wrong else "green")
            out.append("\n")
        out.rstrip()
        return out
