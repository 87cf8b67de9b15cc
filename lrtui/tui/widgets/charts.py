"""Live charts: the shared drawing functions of ``lrtui.plots.terminal_charts`` on textual-plotext widgets.

The app and the reports draw the same charts because both call the same
``plot_*`` functions; here they draw onto the widget's own ``plt`` (never the
global plotext module). Each redraw starts from ``clear_data()``.

Each chart has its own view (``zoom``: y fitted to the data; ``log``: log axis, for
accuracy the error rate) and draws its legend on its own line above the plot, so the
legend never covers data. The built picture is cached: a chart is only rebuilt when
its runs, view or size changed, and only when it is on screen; while the app trains, new
data are drawn on a thread of its own (see :class:`RunChart`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from queue import SimpleQueue
from threading import Lock, Thread

from rich.console import Console, ConsoleOptions, Group
from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.binding import Binding
from textual.message import Message
from textual.strip import Strip
from textual.widgets import TabbedContent, TabPane
from textual_plotext import PlotextPlot

from lrtui.plots import probe_lr_charts, step_charts
from lrtui.plots import terminal_charts as charts
from lrtui.plots.layers import chart_pick, hidden_note
from lrtui.sessions.record import RunRecord

Draw = Callable[..., None]
SHORT = 16  #: charts shorter than this many rows (80x24) drop their title, axis label, legend line and training curves
#: charts that can also draw the training curves, and draw runs that differ only in seed as one mean line and band
_WITH_TRAINING = (charts.plot_accuracy, charts.plot_loss)
#: charts of one statistic per layer, which show a network's layers furthest from the band (``a``: all of them)
_PER_LAYER: dict[Draw, str] = {
    charts.plot_update_ratio: "update_ratio",
    charts.plot_dead_fraction: "dead_fraction",
    step_charts.plot_update_ratio_steps: "update_ratio",
    step_charts.plot_dead_fraction_steps: "dead_fraction",
}


class ChartBuilder:
    """One thread that builds charts' pictures in turn, started before any training.

    Not a worker per build: starting a thread waits until the new thread holds the GIL,
    and with a training thread running that wait was measured at 150 ms, on the UI thread.
    """

    def __init__(self) -> None:
        self._jobs: SimpleQueue[Callable[[], None] | None] = SimpleQueue()
        self._thread: Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = Thread(target=self._work, name="lrtui-charts", daemon=True)
            self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self.start()
        self._jobs.put(job)

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread = None

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()  # each job reports its own errors in its chart (see RunChart._build_in_background)
            except Exception:  # noqa: BLE001, S112 - a last resort: the thread outlives any one chart
                continue


@dataclass(frozen=True)
class _Job:
    """What one build of a chart needs, read on the UI thread so the build itself touches no widget."""

    generation: int
    size: tuple[int, int]
    runs: tuple[RunRecord, ...]
    legend: Text | None
    short: bool
    plain: bool
    zoom: bool
    log: bool
    options: dict[str, bool]
    theme: str
    hidden_count: int
    console: Console
    console_options: ConsoleOptions
    style: Style

    @property
    def view(self) -> tuple[bool, bool, int, bool]:
        return self.zoom, self.log, self.hidden_count, bool(self.options.get("all_layers"))

    def strips(self, picture: Text) -> list[Strip]:
        """The picture as the widget's lines: turning ~2,000 coloured cells into segments, once per build."""
        lines = self.console.render_lines(picture, self.console_options, style=self.style, pad=True)
        return [Strip(line, self.size[0]) for line in lines]


class RunChart(PlotextPlot):
    """A plot that draws itself from run records with one of the shared chart functions.

    Drawing waits for the next render, so charts on hidden tabs cost nothing. While the
    app trains (``builder`` set), a rebuild for new data runs on the builder thread and the
    chart shows its previous picture until the new one is posted back: plotext takes ~40 ms
    for a 160x48 chart, which on the UI thread would hold up a key pressed meanwhile. A new
    view or size (zoom, log, full screen, a resize) is what a key asked for: built at once.
    """

    can_focus = True
    ALLOW_MAXIMIZE = False  #: the tabs around it are maximized instead (f / enter)
    BINDINGS = [Binding("enter", "screen.full_screen", "Full screen", show=False)]

    class Built(Message):
        """A picture built on a worker thread, for the chart to show (if nothing changed since)."""

        bubble = False

        def __init__(self, job: _Job, picture: Text, strips: list[Strip]) -> None:
            super().__init__()
            self.job, self.picture, self.strips = job, picture, strips

    def __init__(self, draw: Draw, *, id: str | None = None, log_name: str = "log") -> None:
        super().__init__(id=id)
        self.draw = draw
        self.runs: list[RunRecord] = []
        self.zoomed = False  #: y axis fitted to the data shown
        self.log_scale = False  #: log y axis (accuracy: error rate); always on for the update ratio
        self.log_name = log_name  #: what ``log`` means here, for the legend line
        self.all_layers = False  #: every layer of the network, not only the ones furthest from the band (a)
        self.draws = {
            probe_lr_charts.plot_probe: "probes",
            charts.plot_batch_loss: "batches",
            probe_lr_charts.plot_lr: "lr",
            step_charts.plot_update_ratio_steps: "steps",
            step_charts.plot_dead_fraction_steps: "steps",
        }.get(draw, "epochs")
        self.builder: ChartBuilder | None = None  #: builds off the UI thread (set by :class:`Charts` while training)
        self.hidden_count = 0  #: runs hidden from the charts (space in the table), said in the legend
        self._signature: tuple[tuple[object, ...], ...] | None = None  #: what the runs held when last replotted
        self._generation = 0  #: bumped by every change; a picture of an older one is stale
        self._picture: Text | None = None
        self._picture_of: _Job | None = None  #: what the picture was built from (generation, size, view)
        self._strips: list[Strip] | None = None  #: the picture as lines (render_line)
        #: the picture before, when it was of another size: full screen and back (f, escape) find it again
        self._other_size: tuple[_Job, Text, list[Strip]] | None = None
        self._building: int | None = None  #: generation a worker is building now
        self._plot_lock = Lock()  #: ``plt`` is one mutable figure: one build at a time

    def replot(self, runs: Sequence[RunRecord]) -> None:
        """Show these runs from now on (drawn from scratch when next on screen, if anything it draws changed).

        Most events change nothing a chart draws (a probe, the test result, a run's end for the epoch
        charts): comparing what each run has so far skips the ~40 ms rebuild they would cost.
        """
        signature = _signature(runs, self.draws)
        if signature == self._signature and len(runs) == len(self.runs):
            self.runs = list(runs)
            return
        self.runs = list(runs)
        self._signature = signature
        self._changed()

    def set_view(self, *, zoom: bool | None = None, log: bool | None = None, all_layers: bool | None = None) -> None:
        """Change the view (``None`` keeps a setting) and redraw."""
        self.zoomed = self.zoomed if zoom is None else zoom
        self.log_scale = self.log_scale if log is None else log
        self.all_layers = self.all_layers if all_layers is None else all_layers
        self._changed()

    def _changed(self) -> None:
        self._generation += 1
        self.refresh()

    def on_resize(self) -> None:
        self.refresh()  # a picture is of one size (see _current): the next render builds or finds the new one

    @property
    def shows_training(self) -> bool:
        """Training curves (dots) too: only on a tall chart, where a dot's row is close to its value.
        On a short one a dot rounds a whole row away and covers the validation lines."""
        return self.draw in _WITH_TRAINING and not self.short

    @property
    def short(self) -> bool:
        return self.size.height < SHORT and not getattr(self.screen, "full_screen", False)  # f: never short

    def legend(self) -> Text:
        """One line above the plot: each run's swatch and label, and the view (zoom, log)."""
        line = Text(no_wrap=True, overflow="ellipsis")
        view = [name for name, on in (("zoom", self.zoomed), (self.log_name, self.log_scale)) if on]
        if view:
            line.append(" · ".join(view) + "  ", style="bold")
        seeds = self.draw in _WITH_TRAINING  # these charts fold seed groups into one band
        for marker, color, label in charts.legend_entries(self.runs, plain=self.app.no_color, seeds=seeds):
            line.append(marker + " ", style=f"color({color})" if color is not None else "bold")
            line.append(label + "  ")
        if self.hidden_count:
            line.append(f"+{self.hidden_count} hidden  ", style="dim")
        note = self.layers_note()
        if note:
            line.append(note + "  ", style="bold")
        if self.shows_training:
            line.append("━ validation  • training  ", style="dim")
        if not view:
            line.append("z zoom · l log · f full screen · space hides a run", style="dim")
        return line

    def layers_note(self) -> str:
        """``+11 layers nearer the band (a: all)`` on a per-layer chart of a network with many layers, else ""."""
        statistic = _PER_LAYER.get(self.draw)
        if statistic is None:
            return ""
        steps = self.draws == "steps"
        return hidden_note(chart_pick(self.runs, statistic, steps=steps, all_layers=self.all_layers), self.all_layers)

    def _job(self) -> _Job:
        """Everything a build reads from the widget and the app, taken now (on the UI thread)."""
        width, height = self.size.width, self.size.height
        short = self.short
        legend = None
        if not short or self.app.no_color:  # NO_COLOR: letters, which only the legend explains
            legend = self.legend()
            legend.truncate(width, overflow="ellipsis")
        options = {"train": self.shows_training, "seeds": True} if self.draw in _WITH_TRAINING else {}
        if self.draw in _PER_LAYER:
            options["all_layers"] = self.all_layers
        console = self.app.console
        console_options = console.options.update(width=width, height=height, no_wrap=True, overflow="crop")
        return _Job(
            self._generation,
            (width, height),
            tuple(self.runs),
            legend,
            short,
            self.app.no_color,
            self.zoomed,
            self.log_scale,
            options,
            self._get_plotext_theme_name(self.app.theme),
            self.hidden_count,
            console,
            console_options,
            self.rich_style,
        )

    def _build(self, job: _Job) -> Text:
        """The plot (and its legend line) as text: plotext's ANSI output, parsed. Touches no widget."""
        width, height = job.size
        plot_height = max(height - int(job.legend is not None), 3)
        with self._plot_lock:
            plt = self.plt
            plt._limit_size(False, False)  # type: ignore[attr-defined]  # plotext would clip the plot to the size of the terminal it guesses
            plt.plotsize(width, plot_height)
            plt._set_size(width, plot_height)
            self.draw(
                plt, job.runs, plain=job.plain, legend=False, zoom=job.zoom, log=job.log, short=job.short, **job.options
            )  # short: the tab already names the chart, its rows go to the curves
            plt.theme(job.theme)
            plot = Text.from_ansi(plt.build())
        return plot if job.legend is None else Text("\n").join([job.legend, plot])

    def picture(self) -> Text:
        """The plot as text, built now if anything changed since the last build (on this thread); a chart
        that fails says so in one line instead of ending the app."""
        if not self._current:
            job = self._job()
            try:
                picture = self._build(job)
            except Exception as error:  # noqa: BLE001 - whatever a session file holds, the app goes on
                picture = _failed(error)
            self._show(job, picture, job.strips(picture))
        assert self._picture is not None
        return self._picture

    def _show(self, job: _Job, picture: Text, strips: list[Strip]) -> None:
        """The picture from now on; the one it replaces is kept if it was of another size."""
        if (
            self._picture_of is not None
            and self._picture is not None
            and self._strips is not None
            and (self._picture_of.size != job.size)
        ):
            self._other_size = (self._picture_of, self._picture, self._strips)
        self._picture, self._picture_of, self._strips = picture, job, strips

    @property
    def _current(self) -> bool:
        """The picture shows what the chart holds now, at its size (the one kept of another size is
        taken back if it is that: nothing changed since the chart last had this size)."""
        now = (self._generation, tuple(self.size))
        shown = self._picture_of
        if shown is not None and (shown.generation, shown.size) == now:
            return True
        other = self._other_size
        if other is not None and (other[0].generation, other[0].size) == now:
            self._show(*other)
            return True
        return False

    def _build_in_background(self) -> None:
        """Hand the current generation to the builder, unless it is building this chart already (that
        picture comes back, is found stale and the next build starts then)."""
        if self._building is not None or self.builder is None:
            return
        job = self._job()
        self._building = job.generation

        def work() -> None:
            try:
                picture = self._build(job)
                strips = job.strips(picture)
            except Exception as error:  # noqa: BLE001 - a failed chart must never end the app
                picture = _failed(error)
                strips = job.strips(picture)
            self.post_message(self.Built(job, picture, strips))

        # after this frame: a build alongside the frame's own work would halve the UI thread's share of the GIL
        self.call_after_refresh(self.builder.submit, work)

    def on_run_chart_built(self, message: Built) -> None:
        self._building = None
        if self._picture_of is None or message.job.generation > self._picture_of.generation:
            # (not older than a picture built here meanwhile)
            self._show(message.job, message.picture, message.strips)
        self.refresh()  # draws it, or (if something changed meanwhile) starts the next build

    @property
    def _only_new_data(self) -> bool:
        """The picture shown is this chart at this size and view, only without the newest data."""
        shown = self._picture_of
        return shown is not None and shown.size == tuple(self.size) and shown.view == self._view

    @property
    def _view(self) -> tuple[bool, bool, int, bool]:
        """What keys change: zoom, log axis, how many runs are hidden, every layer or the furthest."""
        return self.zoomed, self.log_scale, self.hidden_count, self.draw in _PER_LAYER and self.all_layers

    def render_line(self, y: int) -> Strip:
        """Lines of the cached picture: a repaint (after a layout, a frame that crosses the chart) costs
        nothing; turning the plot's ~2,000 coloured cells into segments is done once per build."""
        width = self.size.width
        if not self._current:
            if self.builder is not None and self._only_new_data:
                self._build_in_background()  # meanwhile: the last picture
            else:
                self.picture()
        if self._strips is not None and y < len(self._strips):
            return self._strips[y].crop_extend(0, width, self.rich_style)
        return Strip.blank(width, self.rich_style)

    def render(self) -> RenderResult:
        return Group(self.picture())


def _failed(error: Exception) -> Text:
    """What a chart shows instead of a picture it could not build (plain text: the error may quote a file)."""
    return Text(f"this chart could not be drawn: {error}", style="red")


def _signature(runs: Sequence[RunRecord], draws: str = "epochs") -> tuple[tuple[object, ...], ...]:
    """What a chart draws of each run, in brief: records only grow, so their lengths tell a change.

    ``draws``: ``epochs`` (the per-epoch charts), ``probes``, ``batches``, ``lr`` (the lr trace, set at a run's end)
    or ``steps`` (the step trace, which grows at log points, and the epochs a run without one falls back to).
    """
    if draws == "steps":
        return tuple((r.id, len(r.epochs), len(r.step_trace or ())) for r in runs)
    if draws == "lr":
        return tuple((r.id, len(r.lr_trace or [])) for r in runs)
    if draws == "probes":
        return tuple((r.id, len(getattr(r, "probes", None) or [])) for r in runs)
    if draws == "batches":
        return tuple((r.id, len(r.batch_losses), sum(1 for v in r.batch_losses[-64:] if v is not None)) for r in runs)
    return tuple((r.id, len(r.epochs)) for r in runs)


#: (tab title, pane id, drawing function, what "log" means)
CHARTS: tuple[tuple[str, str, Draw, str], ...] = (
    ("Accuracy", "accuracy", charts.plot_accuracy, "error rate, log"),
    ("Loss", "loss", charts.plot_loss, "log"),
    ("Batch", "batch-loss", charts.plot_batch_loss, "log"),
    ("Steps", "steps", step_charts.plot_update_ratio_steps, "log"),
    ("Dead", "dead", step_charts.plot_dead_fraction_steps, "log"),
    ("Probe", "probe", probe_lr_charts.plot_probe, "log loss"),
    ("LR", "lr", probe_lr_charts.plot_lr, "log"),
)
CHART_IDS = tuple(pane_id for _, pane_id, _, _ in CHARTS)
STEP_PANES = ("steps", "dead")  #: the charts of single steps (the step trace, which grows between epochs)


def chart_panes() -> list[TabPane]:
    """The tabs of :class:`Charts`: compose them inside it (``with Charts(): yield from chart_panes()``)."""
    return [
        TabPane(title, RunChart(draw, id=f"chart-{pane_id}", log_name=log_name), id=f"tab-{pane_id}")
        for title, pane_id, draw, log_name in CHARTS
    ]


class Charts(TabbedContent):
    """Accuracy and loss per epoch of every run, the current run's per-batch loss, what happens
    inside the network (update ratio, dead units), the step probe and the lr per step: one tab each.

    ``f`` (or enter on a chart): the app hides everything else; escape brings the screen back.
    """

    ALLOW_MAXIMIZE = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hidden: set[str] = set()  #: run ids left out of every chart (space in the runs table)
        self.builder = ChartBuilder()

    def on_mount(self) -> None:
        self.builder.start()  # now, while nothing trains (see ChartBuilder)

    def on_unmount(self) -> None:
        self.builder.stop()

    def update_runs(
        self, runs: Sequence[RunRecord], current: Sequence[RunRecord], panes: Sequence[str] | None = None
    ) -> None:
        """Every chart (or these ``panes``) gets every shown run, the per-step charts also those with only a step
        trace so far (a run in its first epoch); the per-batch chart only the ``current`` one(s)."""
        shown = [r for r in runs if r.id not in self.hidden]
        for pane_id in CHART_IDS if panes is None else panes:
            chart = self.chart(pane_id)
            hidden_count = len(runs) - len(shown) if pane_id != "batch-loss" else 0
            if hidden_count != chart.hidden_count:
                chart.hidden_count = hidden_count
                chart._signature = None  # the legend changes
            chart.replot(
                current
                if pane_id == "batch-loss"
                else shown
                if pane_id in STEP_PANES
                else [r for r in shown if r.epochs or r.probes]
            )

    def chart(self, pane_id: str) -> RunChart:
        return self.query_one(f"#chart-{pane_id}", RunChart)

    def build_in_background(self, on: bool) -> None:
        """While training, charts are built on worker threads (see :class:`RunChart`); idle, at once."""
        for chart in self.query(RunChart):
            chart.builder = self.builder if on else None

    @property
    def active_chart(self) -> RunChart:
        return self.chart(self.active.removeprefix("tab-") if self.active else "accuracy")


def live_batch_losses(run: RunRecord, logged: dict[int, float]) -> RunRecord:
    """A copy of ``run`` whose per-batch losses go on into the epoch in progress.

    Finished epochs have every batch loss (from EpochEnd); the epoch in progress
    only has the losses of its logged batches (``{batch number: loss}``), placed
    at their batch positions so the x axis stays right.
    """
    if not logged:
        return run
    tail: list[float | None] = [None] * max(logged)
    for batch, loss in logged.items():
        tail[batch - 1] = loss
    return replace(run, batch_losses=[*run.batch_losses, *tail])
