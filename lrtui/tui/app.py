"""The lrtui app: a view of a :class:`~lrtui.runner.Runner`, like the CLI, on one main screen.

The runner queues the runs, trains them on its own thread, folds every event into the
session (which saves itself) and tells its listener, which here posts a :class:`RunnerUpdate`
to the UI thread; the main screen (:mod:`lrtui.tui.screens.main`) only redraws what changed.
Because the runner's thread is not one of the app's workers, training can outlive the
screen: when the terminal goes away (SIGHUP), the app closes and the process finishes its
runs headless (see :func:`lrtui.tui.process.run_app`).

What is here is app-wide: the runner and its session, the messages from its thread,
quitting, the command palette and the toasts. This module must not import torch: the first
frame appears before it loads.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import partial

from textual.app import App, SystemCommand
from textual.notifications import SeverityLevel
from textual.screen import Screen

from lrtui.engine.events import Event, Progress
from lrtui.printable import printable
from lrtui.runner import Runner, RunsDone, SaveProblem, SweepNote, hangup_keeps_training
from lrtui.sessions.listing import load_session
from lrtui.sessions.store import Session
from lrtui.tui.keys import palette_entries
from lrtui.tui.messages import RunnerUpdate
from lrtui.tui.process import limit_torch_threads
from lrtui.tui.screens.main import MainScreen
from lrtui.tui.widgets.runlog import RunLog

QUIT_WAIT_S = 1.5  #: how long quitting waits for the running run to report its end


class LRTuiApp(App[None]):
    """One screen to train the MNIST CNN and see what the learning rate does."""

    CSS_PATH = "app.tcss"
    TITLE = "lrtui"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-mid"), (160, "-wide")]
    # no BINDINGS: the keys are the main screen's (lrtui.tui.keys); Textual's own ctrl+q quits from any screen

    def __init__(
        self,
        initial: Mapping[str, object] | None = None,
        session: Session | str | os.PathLike[str] | None = None,
        *,
        detect_devices: bool = True,
        cursor_blink: bool = True,
    ) -> None:
        super().__init__()
        self.runner = self._new_runner(session if isinstance(session, Session) else Session.create())
        self.main = MainScreen(
            initial or {},
            session if not isinstance(session, Session) else None,
            detect_devices=detect_devices,
            cursor_blink=cursor_blink,
        )
        self.quitting = False  #: ctrl+q: leave once the runner has stopped
        self.detached = False  #: the terminal went away with runs left: the process trains on without a screen

    def get_default_screen(self) -> MainScreen:
        return self.main

    def _new_runner(self, session: Session) -> Runner:
        return Runner(session, self._relay, thread_setup=limit_torch_threads)

    def _relay(self, item: Event | SaveProblem | RunsDone | SweepNote) -> None:
        """The runner's listener, on the training thread: hand over to the UI thread (a no-op once closing)."""
        self.post_message(RunnerUpdate(item))

    def open(self, spec: str | os.PathLike[str]) -> None:
        """Train into a saved session from now on (raises :class:`SessionError`): new runs append to it."""
        self.runner = self._new_runner(load_session(spec))

    @property
    def session(self) -> Session:
        return self.runner.session

    @property
    def training(self) -> bool:
        """The runner is training a batch (or is about to report that it stopped)."""
        return self.runner.training

    # -- what the runner reports ---------------------------------------------------------
    def on_runner_update(self, message: RunnerUpdate) -> None:
        item = message.item
        if not self.screen_stack or self.detached:  # shutting down: the runner and the session have it
            return
        if not self.main.query(RunLog):  # the app is closing and took the screen's widgets down first
            return
        if isinstance(item, RunsDone):
            self.main.batch_done(item)
        elif isinstance(item, SaveProblem):
            self._save_problem(item)
        elif isinstance(item, SweepNote):
            self.main.log_view.note(item.text)
        elif isinstance(item, Progress):
            self.main.redraw.progress = item  # drawn by the next redraw
        else:
            self.main.show_event(item)

    def _save_problem(self, problem: SaveProblem) -> None:
        """Tell the user once when the session cannot be saved (and once when it can again)."""
        if problem.error:
            self.notify(
                f"{problem.error}. Training goes on; the runs are kept in memory.",
                title="Not saved",
                severity="warning",
                timeout=10,
                markup=False,
            )
        else:
            self.notify(f"Session saved again: {self.session.file}", timeout=4, markup=False)

    # -- stopping and quitting -----------------------------------------------------------
    def stop(self) -> None:
        """Stop everything for good: no new runs, queued ones cancelled, the training ones stop within a batch."""
        for record in self.runner.stop():
            self.main.runs_table.show_run(record)

    async def action_quit(self) -> None:
        """Stop training and leave once the run has reported its end (so it is saved as cancelled).

        The engine stops within a batch, so this is quick; if it is not, the run is saved
        as interrupted after QUIT_WAIT_S and the app leaves anyway.
        """
        self.quitting = True
        self.stop()
        if not self.training:
            self.exit()
            return
        self.main.log_view.note("stopping the run before quitting…", style="yellow")
        self.set_timer(QUIT_WAIT_S, lambda: self.interrupt(0))

    def interrupt(self, signum: int) -> None:
        """SIGTERM (or a run slow to stop on quit): mark running runs ``interrupted``, save, leave."""
        self.runner.interrupt()
        self.exit(return_code=128 + signum if signum else 0)

    def hang_up(self, signum: int) -> None:
        """SIGHUP: the terminal is gone. Runs left go on without a screen (unless the user opted out)."""
        if not hangup_keeps_training() or not self.runner.busy:
            self.interrupt(signum)
            return
        self.detached = True
        self.exit(return_code=0)

    # -- app-wide ------------------------------------------------------------------------
    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast shows text from outside (paths, errors) with its control characters spelled out."""
        super().notify(printable(message), title=printable(title), severity=severity, timeout=timeout, markup=markup)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette offers every action of the keyboard, named by its key's tooltip.

        Only over the main screen: a dialog's palette offers no action of the screen under it.
        """
        yield from super().get_system_commands(screen)  # Textual's own include Quit
        if screen is self.main:
            for name, key, action in palette_entries():
                yield SystemCommand(name, key, partial(self.run_action, action, self.main))
