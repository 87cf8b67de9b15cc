"""The story line: why the selected (or latest) run went the way it did, on the main screen.

The verdict and its reason, then what was measured inside the network that explains
it: the size of fc1's steps against the healthy band (another network's: the layer furthest
from it), the share of dead ReLUs (of many layers, the ones furthest from their band and how
many more there are), how much of the validation set gets the same answer, against a uniform
guess over the run's classes. All of it is text from the run record (a file, a user's model
names the layers), so it is built as rich ``Text`` from plain text, never markup.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual.app import RenderResult
from textual.widget import Widget

from lrtui.engine.bands import SGD
from lrtui.engine.config import uniform_loss
from lrtui.engine.numbers import as_float
from lrtui.engine.records import Diagnostics
from lrtui.engine.trace_story import trace_facts
from lrtui.engine.verdict_words import layer_text, share
from lrtui.plots.layers import KEY_LAYER, epoch_values, hidden_note, key_layer, pick
from lrtui.plots.palette import HEALTHY_UPDATE, VERDICT_COLORS, family_of, healthy_update, run_color
from lrtui.printable import plain_text
from lrtui.sessions.record import RunRecord


def step_size(
    ratio: float | None, layer: str = KEY_LAYER, band: tuple[float, float] = HEALTHY_UPDATE, family: str = ""
) -> tuple[str, str]:
    """(``fc1 steps 1.5e-03``, where that is against the healthy band of the run's optimizer family: ``family``
    names it where it is not plain SGD's) and the style to show it in."""
    if ratio is None:
        return "", ""
    low, high = band
    healthy = f"healthy for {family}" if family else "healthy"
    layer = plain_text(layer_text(layer))  # a user's model names it
    if ratio <= 0:
        return f"{layer} steps 0 (frozen)", "red"
    if ratio < low:
        return f"{layer} steps {ratio:.1e}: {low / ratio:.0f}× below the {healthy} {low:.0e}–{high:.0e}", "yellow"
    if ratio > high:
        return f"{layer} steps {ratio:.1e}: {ratio / high:.0f}× above the {healthy} {low:.0e}–{high:.0e}", "red"
    return f"{layer} steps {ratio:.1e}: {healthy} ({low:.0e}–{high:.0e})", "green"


def latest_diagnostics(run: RunRecord) -> Diagnostics:
    """The last epoch's diagnostics, if any epoch measured them (else an empty one)."""
    return next((e.diagnostics for e in reversed(run.epochs) if e.diagnostics is not None), Diagnostics())


def _key_ratios(run: RunRecord, layer: str) -> list[float | None]:
    """The key layer's update ratio of every epoch that measured it."""
    return [e.diagnostics.update_ratio.get(layer) for e in run.epochs if e.diagnostics is not None]


def diagnostics_line(run: RunRecord, live_ratio: Mapping[str, float] | None = None, all_layers: bool = False) -> Text:
    """``fc1 steps 1.5e-03: healthy · dead fc1 10% conv2 0% · top class 28% · entropy 2.29 of ln 10 = 2.30``;
    of a network with many layers, the dead shares of those furthest from the band (``all_layers``: all) and how
    many are left out."""
    diag = latest_diagnostics(run)
    ratios = live_ratio or diag.update_ratio
    parts: list[tuple[str, str]] = []
    key = key_layer(pick(epoch_values([run], "update_ratio"), "update_ratio"))
    ratio = as_float(ratios.get(key))
    largest = max((r for r in _key_ratios(run, key) if r is not None), default=None)
    family = family_of([run])  # the band the verdict judges this run's steps by
    band, name = healthy_update([run]), ("" if family is SGD else family.name)
    if ratio is not None and largest is not None and largest > band[1] >= ratio:
        ratio = largest  # steps too large killed the units, and dead units take small steps: say the cause
        step, style = step_size(ratio, key, band, name)
        step = step.replace(" steps ", " steps up to ", 1)
    else:
        step, style = step_size(ratio, key, band, name)
    if step:
        parts.append((step, style))
    dead = diag.dead_fraction
    if dead:
        layers = pick(epoch_values([run], "dead_fraction"), "dead_fraction", all_layers)
        # the later layers first: the gradient reaches them first (fc1, conv2, conv1)
        shares = [(layer, dead.get(layer)) for layer in reversed(layers.shown)]
        shown = " ".join(f"{plain_text(layer_text(layer))} {share(x)}" for layer, x in shares if x is not None)
        worst = max((x for _, x in shares if x is not None), default=0.0)
        note = hidden_note(layers, all_layers)
        if shown:
            parts.append((f"dead {shown}" + (f" ({note})" if note else ""), "red" if worst >= 0.5 else ""))
    top = diag.top_class_share
    if top is not None:
        parts.append(
            (f"top class {top:.0%}" + (" (one answer for all)" if top >= 0.95 else ""), "red" if top >= 0.95 else "")
        )
    entropy = diag.pred_entropy
    if entropy is not None:
        classes = run.config.classes
        parts.append((f"entropy {entropy:.2f} of ln {classes} = {uniform_loss(classes):.2f}", "dim"))
    # first: what single steps did, from the step trace (when a layer died, the largest step)
    parts[:0] = [
        (plain_text(f.text), "red" if f.alarming else "")  # (a file names the layers)
        for f in trace_facts(run.step_trace, run.config.optimizer)
    ]
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
    return Text(f"hint: {hint}" if hint else "", style="italic", no_wrap=True, overflow="ellipsis")


class Story(Widget):
    """Two or three lines under the charts: verdict and reason (wrapped), diagnostics, hint when room."""

    DEFAULT_CSS = """
    Story { height: 3; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run: RunRecord | None = None
        self.live_ratio: Mapping[str, float] | None = None  #: update ratios of the epoch in progress
        self.all_layers = False  #: every layer's dead share, not only the ones furthest from the band (a)

    def show(self, run: RunRecord | None, live_ratio: Mapping[str, float] | None = None) -> None:
        self.run, self.live_ratio = run, live_ratio
        self.refresh()

    def lines(self, width: int, height: int) -> list[Text]:
        """What fits: the headline wrapped to the rows left after the diagnostics (and the hint)."""
        run = self.run
        if run is None:
            return [
                Text(
                    "No runs yet: ctrl+r trains; the verdict and what happened inside the network show here.",
                    style="dim",
                )
            ]
        diag = diagnostics_line(run, self.live_ratio if run.status == "running" else None, self.all_layers)
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
        for line in out[len(head_lines) :]:
            line.truncate(max(width, 1), overflow="ellipsis")
        return out

    def render(self) -> RenderResult:
        width, height = self.content_size.width, self.content_size.height
        return Text("\n").join(self.lines(width, max(height, 1)))
