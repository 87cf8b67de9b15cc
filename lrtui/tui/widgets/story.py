"""The story line: why the selected (or latest) run went the way it did, on the main screen.

The verdict and its reason, then what was measured inside the network that explains
it: the size of fc1's steps against the healthy band, the share of dead ReLUs, how
much of the validation set gets the same answer. All of it is text from the run
record (a file may hold anything), so it is built as rich ``Text``, never markup.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from lrtui.engine.numbers import as_float
from lrtui.engine.records import Diagnostics
from lrtui.engine.trace_story import trace_facts
from lrtui.plots.palette import HEALTHY_UPDATE, VERDICT_COLORS, run_color
from lrtui.plots.terminal_charts import KEY_LAYER
from lrtui.printable import plain_text
from lrtui.sessions.record import RunRecord

LN10 = math.log(10)  #: the entropy of a uniform guess over ten classes




def step_size(ratio: float | None) -> tuple[str, str]:
    """(``fc1 steps 1.5e-03``, where that is against the healthy band) and the style to show it in."""
    if ratio is None:
        return "", ""
    low, high = HEALTHY_UPDATE
    if ratio <= 0:
        return f"{KEY_LAYER} steps 0 (frozen)", "red"
    if ratio < low:
        return f"{KEY_LAYER} steps {ratio:.1e}: {low / ratio:.0f}× below the healthy {low:.0e}–{high:.0e}", "yellow"
    if ratio > high:
        return f"{KEY_LAYER} steps {ratio:.1e}: {ratio / high:.0f}× above the healthy {low:.0e}–{high:.0e}", "red"
    return f"{KEY_LAYER} steps {ratio:.1e}: healthy ({low:.0e}–{high:.0e})", "green"


def latest_diagnostics(run: RunRecord) -> Diagnostics:
    """The last epoch's diagnostics, if any epoch measured them (else an empty one)."""
    return next((e.diagnostics for e in reversed(run.epochs) if e.diagnostics is not None), Diagnostics())


def _key_ratios(run: RunRecord) -> list[float | None]:
    """fc1's update ratio of every epoch that measured it."""
    return [e.diagnostics.update_ratio.get(KEY_LAYER) for e in run.epochs if e.diagnostics is not None]


def diagnostics_line(run: RunRecord, live_ratio: Mapping[str, float] | None = None) -> Text:
    """``fc1 steps 1.5e-03: healthy · dead fc1 10% conv2 0% · top class 28% · entropy 2.29 of 2.30``."""
    diag = latest_diagnostics(run)
    ratios = live_ratio or diag.update_ratio
    parts: list[tuple[str, str]] = []
    ratio = as_float(ratios.get(KEY_LAYER))
    largest = max((r for r in _key_ratios(run) if r is not None), default=None)
    if ratio is not None and largest is not None and largest > HEALTHY_UPDATE[1] >= ratio:
        ratio = largest  # steps too large killed the units, and dead units take small steps: say the cause
        step, style = step_size(ratio)
        step = step.replace(" steps ", " steps up to ", 1)
    else:
        step, style = step_size(ratio)
    if step:
        parts.append((step, style))
    dead = diag.dead_fraction
    if dead:
        shares = [(layer, dead.get(layer)) for layer in ("fc1", "conv2", "conv1")]
        shown = " ".join(f"{layer} {share:.0%}" for layer, share in shares if share is not None)
        worst = max((s for _, s in shares if s is not None), default=0.0)
        if shown:
            parts.append((f"dead {shown}", "red" if worst >= 0.5 else ""))
    top = diag.top_class_share
    if top is not None:
        parts.append((f"top class {top:.0%}" + (" (one answer for all)" if top >= 0.95 else ""),
                      "red" if top >= 0.95 else ""))
    entropy = diag.pred_entropy
    if entropy is not None:
        parts.append((f"entropy {entropy:.2f} of ln 10 = {LN10:.2f}", "dim"))
    # first: what single steps did, from the step trace (when a layer died, the largest step)
    parts[:0] = [(plain_text(f.text), "red" if f.alarming else "")  # (a file names the layers)
                 for f in trace_facts(run.step_trace, run.config.optimizer)]
    line = Text(no_wrap=True, overflow="ellipsis")
    if not parts:
        line.append("no diagnostics yet: they come at each epoch's end", style="dim")
        return line
    for i, (part, part_style) in enumerate(parts):
        if i:
            line.append(" · ", style="dim")
        line.append(part, style=part_style)
    return line


def headline(run: RunRecord) -> Text:
    """``■ r2 lr=0.01 sgd · still learning: <reason>`` (or its status while no verdict)."""
    text = Text()
    text.append("■ ", style=f"color({run_color(run)})")
    text.append(f"{run.id} {run.config.label}", style="bold")
    text.append(" · ")
    if run.verdict is not None:
        label = str(run.verdict.label)
        text.append(label, style=f"bold {VERDICT_COLORS.get(label, '')}".strip())
        if run.verdict.reason:
            text.append(f": {run.verdict.reason}")
    else:
        done = len(run.epochs)
        status = f"{run.status}" + (f", epoch {done}/{run.config.epochs}" if done else "")
        provisional = run.provisional
        if provisional is not None:  # judged again at each log point while it trains
            label = str(provisional.verdict.label)
            text.append(f"{status} · provisional at step {provisional.step:,}: ", style="dim")
            text.append(label, style=VERDICT_COLORS.get(label, ""))
            if provisional.verdict.reason:
                text.append(f": {provisional.verdict.reason}")
        else:
            text.append(f"{status} · no verdict yet", style="dim")
    return text


def hint_line(run: RunRecord) -> Text:
    verdict = run.verdict or (run.provisional.verdict if run.provisional else None)
    hint = verdict.hint if verdict else ""
    return Text(f"hint: {hint}" if hint else "", style="italic", no_wrap=True,
                overflow="ellipsis")


class Story(Widget):
    """Two or three lines under the charts: verdict and reason (wrapped), diagnostics, hint when room."""

    DEFAULT_CSS = """
    Story { height: 3; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run: RunRecord | None = None
        self.live_ratio: Mapping[str, float] | None = None  #: update ratios of the epoch in progress

    def show(self, run: RunRecord | None, live_ratio: Mapping[str, float] | None = None) -> None:
        self.run, self.live_ratio = run, live_ratio
        self.refresh()

    def lines(self, width: int, height: int) -> list[Text]:
        """What fits: the headline wrapped to the rows left after the diagnostics (and the hint)."""
        run = self.run
        if run is None:
            return [Text("No runs yet: ctrl+r trains; the verdict and what happened inside the network show here.",
                         style="dim")]
        diag = diagnostics_line(run, self.live_ratio if run.status == "running" else None)
        hint = hint_line(run)
        room = max(height - 1 - (1 if hint.plain and height >= 4 else 0), 1)
        head = headline(run).wrap(self.app.console, max(width, 10))
        head_lines = list(head)[:room]
        if len(head) > room:
            last = head_lines[-1]
            last.truncate(max(width - 1, 1))
            last.append("…")
        out = [*head_lines, diag]
        if len(out) < height and hint.plain:
            out.append(hint)
        for line in out[len(head_lines):]:
            line.truncate(max(width, 1), overflow="ellipsis")
        return out

    def render(self) -> RenderResult:
        width, height = self.content_size.width, self.content_size.height
        return Text("\n").join(self.lines(width, max(height, 1)))
