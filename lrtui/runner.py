"""The runner: the queue of runs, the thread that trains them, cancel and stop, and the session they go into.

Both front ends drive training through one :class:`Runner`; the app paints what it
reports, the CLI prints it. Keeping this out of the app means the rules (which runs
start when, what a cancel or a hangup does to each run, when the session is saved,
when the user is told it could not be) hold alike for every front end, and that
training can go on when the screen is gone (a dropped SSH link): the runner owns its
own thread, which outlives the app.

Flow: ``enqueue`` adds runs to the session as *queued* batches; one training thread
takes them in order and calls the engine's :func:`~lrtui.engine.sweep.run_many`.
Every engine event is first folded into the session (which saves at run start, epoch
end and run end) on the training thread, then handed to the ``listener`` together with
the runner's own notices (:class:`SaveProblem`, :class:`RunsDone`). The listener runs
on the training thread: a UI must hand it over to its own thread (the app posts a
message), and must never block in it.

While runs train, a :class:`~lrtui.system_load.SystemSampler` reads the machine once a second on
its own thread (``system`` is its latest sample, for a status line); at each epoch's end the runner
notes what the machine did during that epoch in the run's record, saved with the epoch.

This module imports neither Textual nor torch (the engine is imported by the training
thread when the first run starts).
"""

from __future__ import annotations

import contextlib
import gc
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace

from lrtui.engine.config import SESSION_ARG, RunConfig
from lrtui.engine.events import EpochEnd, Event, RunEnd, RunStarted, RunState
from lrtui.sessions.range_tests import with_range_tests
from lrtui.sessions.record import RunRecord
from lrtui.sessions.schema import SessionError
from lrtui.sessions.store import Session
from lrtui.sessions.writers import HEARTBEAT_EVERY_S
from lrtui.system_load import SystemSample, SystemSampler, cuda_index

_quiet_lock = threading.Lock()
_quiet_depth = 0
_thresholds = gc.get_threshold()
#: while training, a full collection only after this many collections of the middle generation
#: (Python's default is 10): in practice none until the runner is idle again
FULL_COLLECTION_WHILE_TRAINING = 1_000_000


@contextmanager
def quiet_collector() -> Iterator[None]:
    """Import torch and the engine (or do other heavy setup) with the garbage collector off.

    After torch is imported a process tracks ~365,000 objects and every full collection walks
    them all: measured 40-140 ms with the GIL held, on whichever thread it lands, four of them
    while torch loads and one every few seconds of training, each a pause of the screen. See
    also :func:`hold_full_collections`. (``gc.freeze()`` would hide them from the collector
    too: called from the training thread, it left later apps in the same process with an
    incomplete widget tree, seen in the tests and not explained; these are plain settings.)
    """
    global _quiet_depth
    with _quiet_lock:
        _quiet_depth += 1
        if _quiet_depth == 1:
            gc.disable()
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                gc.enable()
                gc.collect()  # one walk now (~150 ms, before any run) rather than three as they come


def hold_full_collections(hold: bool) -> None:
    """While training, no full (oldest-generation) collections: young garbage is still collected
    as usual, cycles among long-lived objects wait until the runner is idle."""
    young, middle, _ = _thresholds
    gc.set_threshold(young, middle, FULL_COLLECTION_WHILE_TRAINING if hold else _thresholds[2])


#: Set to ``stop`` to make a hangup stop training (saved interrupted) instead of going on without a terminal.
HANGUP_ENV = "LRTUI_ON_HANGUP"


def hangup_keeps_training() -> bool:
    """Whether a hangup (the terminal gone: a dropped SSH link) lets the runs go on: yes, unless opted out.

    On a remote GPU box the link dropping is the last reason a user wants a run to stop.
    """
    return os.environ.get(HANGUP_ENV, "").strip().lower() not in ("stop", "interrupt", "0", "no", "false")


#: Set to ``1`` to let provably dead runs of a sweep train all their epochs (``lrtui run --keep-dead``).
KEEP_DEAD_ENV = "LRTUI_KEEP_DEAD"


def keep_dead_from_env() -> bool:
    """Whether dead runs train on because the environment asks (the app has no flag of its own)."""
    return os.environ.get(KEEP_DEAD_ENV, "").strip().lower() in ("1", "yes", "true", "on")


@dataclass(frozen=True)
class SaveProblem:
    """The session could not be saved (``error``), or can be again (``error`` None). Sent once per change."""

    error: str | None


@dataclass(frozen=True)
class SweepNote:
    """One line about how a group of runs trains (a network that cannot be stacked trains one by one: why)."""

    text: str


@dataclass(frozen=True)
class RunsDone:
    """The training thread finished a group of runs it trained together (each has its final status now).

    Not a minibatch: the engine's ``BatchLog`` is about those; this is about runs.
    """

    run_ids: tuple[str, ...]
    error: str | None  #: set when the engine itself raised (it should not): the runs were marked failed
    idle: bool  #: nothing is queued after it: the runner is idle now


Notice = SaveProblem | RunsDone | SweepNote

#: the longest error text a run keeps (a traceback's message can be megabytes: a 100k-digit number, say)
ERROR_CHARS = 300


def one_line(error: BaseException) -> str:
    """``Type: message`` on one line of bounded length, whatever the exception holds."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


Listener = Callable[[Event | Notice], None]


def stackable_batches(records: Sequence[RunRecord]) -> list[list[RunRecord]]:
    """Group runs that differ only in their lr (an lr sweep), keeping the order of each group's first run."""
    groups: dict[RunConfig, list[RunRecord]] = {}
    for record in records:
        groups.setdefault(replace(record.config, lr=1.0), []).append(record)
    return list(groups.values())


class Runner:
    """Queue, train, cancel and stop runs of one session, from any front end.

    ``batched``: the engine's choice of stacking a sweep (None: where it measures faster).
    ``thread_setup``: called first on the training thread (the app caps torch's threads there).
    ``keep_dead``: False lets the engine stop a provably dead run of a request of several runs at its next
    epoch's end (:mod:`lrtui.engine.dead_stop`), so the rest get the machine sooner; a request of one run always
    trains on. None: False unless ``$LRTUI_KEEP_DEAD`` says otherwise.
    ``sampler``: reads the machine while runs train (default: once a second).
    """

    def __init__(
        self,
        session: Session,
        listener: Listener | None = None,
        *,
        batched: bool | None = None,
        thread_setup: Callable[[], None] | None = None,
        keep_dead: bool | None = None,
        sampler: SystemSampler | None = None,
    ) -> None:
        self.session = session
        self.listener: Listener = listener or (lambda item: None)
        self.batched = batched
        self.thread_setup = thread_setup
        self.keep_dead = keep_dead_from_env() if keep_dead is None else keep_dead
        self._in_several: set[str] = set()  #: ids of runs enqueued together with others (a sweep, a grid)
        self._lock = threading.RLock()
        self._queue: list[tuple[str, ...]] = []  #: batches of run ids waiting for the thread
        self._active: tuple[str, ...] = ()  #: the batch the thread is training now
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False  #: no new batch starts (quit, a signal)
        self._end_status = "cancelled"  #: what a run stopped by cancel() or stop() ends as
        self._frozen = False  #: interrupted: the session holds the final word, later events are dropped
        self._save_error: str | None = None
        self.sampler = sampler or SystemSampler()
        self.torch_threads: int | None = None  #: torch's CPU threads in the latest run (read on the training thread)
        self._epoch_began: dict[str, float] = {}  #: run id → when its current epoch began (monotonic clock)

    # -- state ------------------------------------------------------------------------------
    @property
    def training(self) -> bool:
        """A batch is being trained (or is about to report that it stopped)."""
        return bool(self._active)

    @property
    def waiting(self) -> bool:
        """Runs are queued behind the one training now."""
        return bool(self._queue)

    @property
    def busy(self) -> bool:
        return self.training or self.waiting

    @property
    def system(self) -> SystemSample | None:
        """The machine's latest figures while runs train (None when idle, or before the first sample)."""
        return self.sampler.latest

    @property
    def active(self) -> tuple[str, ...]:
        return self._active

    @property
    def queued(self) -> list[str]:
        with self._lock:
            return [run_id for batch in self._queue for run_id in batch]

    def running(self) -> list[RunRecord]:
        """The runs of the active batch that are training now (a one-by-one sweep's others wait)."""
        book = self.session.book
        return [r for r in map(book.get, self._active) if r is not None and r.status == "running"]

    def batch_label(self) -> str:
        """``r3``, or ``r3–r5`` when the engine trains a sweep's runs at once (before any has started: the batch)."""
        ids = [r.id for r in self.running()] or list(self._active)
        return ids[0] if len(ids) == 1 else f"{ids[0]}–{ids[-1]}" if ids else ""

    # -- starting ---------------------------------------------------------------------------
    def enqueue(self, configs: Sequence[RunConfig]) -> list[RunRecord]:
        """Add runs to the session as queued (ids in the given order) and start them when their turn comes.

        Runs that differ only in their lr share one batch, which the engine may train as one
        stacked model (same initial weights, same batch order); a grid's other runs form
        batches of their own, in the order of their first run.
        """
        if not configs:
            return []
        with self._lock:
            records = [self.session.add(config) for config in with_range_tests(self.session.path, configs)]
            if len(records) > 1:
                self._in_several.update(r.id for r in records)
            for batch in stackable_batches(records):
                self._queue.append(tuple(r.id for r in batch))
            self._start_thread()
        return records

    def _start_thread(self) -> None:
        if self._stopping or self._thread is not None:  # a live thread takes the new batch in its loop
            return
        self._idle.clear()
        self._thread = threading.Thread(target=self._work, name="lrtui-training", daemon=True)
        self._thread.start()
        self.sampler.start()
        threading.Thread(target=self._beat, name="lrtui-heartbeat", daemon=True).start()

    def _beat(self) -> None:
        """While training, tell other processes following the session that this writer is alive."""
        while not self._idle.wait(HEARTBEAT_EVERY_S):
            self.session.heartbeat()

    def _next_batch(self) -> tuple[tuple[str, ...], threading.Event] | None:
        with self._lock:
            if self._stopping or not self._queue:
                self._active = ()
                self._thread = None  # under the lock: an enqueue from now on starts a new thread
                self.sampler.stop()
                self._idle.set()
                return None
            self._active = self._queue.pop(0)
            self._cancel = threading.Event()
            return self._active, self._cancel

    def _work(self) -> None:
        """The training thread: batch after batch until the queue is empty or the runner stops.

        Nothing may escape it: a failure to start (an import, a broken torch, CUDA initialisation)
        or a bug ends every run it would have trained as *failed* with one line, and the runner
        goes idle, so that ``wait()`` always returns.
        """
        setup_error: str | None = None
        try:
            # the first run imports torch here; later threads must not pay quiet_collector's full collection again
            with quiet_collector() if "lrtui.engine.sweep" not in sys.modules else nullcontext():
                if self.thread_setup is not None:
                    self.thread_setup()
                from lrtui.engine import sweep  # noqa: F401
        except BaseException as e:  # noqa: BLE001 — an ImportError from a broken torch is an OSError's cousin
            setup_error = one_line(e)
        while (batch := self._next_batch()) is not None:
            hold_full_collections(True)  # until the runner is idle again
            ids, cancel = batch
            records = [r for r in map(self.session.book.get, ids) if r is not None]
            error = setup_error
            if error is None:
                try:
                    from lrtui.engine.sweep import run_many

                    run_many(
                        [r.config for r in records],
                        [r.id for r in records],
                        self._emit,
                        cancel,
                        batched=self.batched,
                        stop_dead=self.stops_dead(records),
                        note=lambda text: self.listener(SweepNote(text)),
                    )
                except BaseException as e:  # noqa: BLE001 — the engine reports its failures as events; a last resort
                    error = one_line(e)
            try:
                self._close_batch(records, error)
            except BaseException as e:  # noqa: BLE001 — a listener or a save that raised: never leave wait() hanging
                self._abandon(records, one_line(e))

    def stops_dead(self, records: Sequence[RunRecord]) -> bool:
        """Whether these runs may stop once provably dead: enqueued with others, and not kept by the user."""
        return not self.keep_dead and any(r.id in self._in_several for r in records)

    def _abandon(self, records: list[RunRecord], error: str) -> None:
        """Closing a batch itself failed: mark its runs failed in memory, go idle if nothing waits."""
        for record in records:
            if not record.done:
                record.status, record.error = RunState.FAILED, error
        with self._lock:
            if self._stopping or not self._queue:
                self._active = ()
        with contextlib.suppress(Exception):
            self.listener(RunsDone(tuple(r.id for r in records), error, not self._queue))

    def _close_batch(self, records: list[RunRecord], error: str | None) -> None:
        """Give every run of the batch a final status (one that never got its RunEnd), save, tell."""
        if self._frozen:
            return
        for record in records:
            if not record.done:
                record.status = RunState.FAILED if error else RunState(self._end_status)
                record.error = error
        if records:
            self.session.save()
            self._check_saved()
        with self._lock:
            idle = self._stopping or not self._queue
            if idle:
                self._active = ()  # so that a listener told "done" sees the runner idle
        if idle:
            hold_full_collections(False)
        self.listener(RunsDone(tuple(r.id for r in records), error, idle))

    def _emit(self, event: Event) -> None:
        """Every engine event: into the session (saved), then to the listener."""
        if self._frozen:
            return
        if isinstance(event, RunEnd) and event.status == "cancelled" and self._end_status != "cancelled":
            event = replace(event, status=self._end_status)  # type: ignore[arg-type]
        if isinstance(event, RunEnd) and event.verdict is not None and SESSION_ARG in event.verdict.hint:
            where = f"--open {shlex.quote(str(self.session.path))}"  # the command the hint gives, ready to run
            event = replace(event, verdict=replace(event.verdict, hint=event.verdict.hint.replace(SESSION_ARG, where)))
        if isinstance(event, (RunStarted, EpochEnd)):
            self._note_system(event)
        self.session.observe(event)
        self._check_saved()
        self.listener(event)

    def _note_system(self, event: RunStarted | EpochEnd) -> None:
        """A run starts: watch its GPU, note torch's threads. An epoch ends: its record keeps the machine's
        figures since the epoch began (saved with the epoch)."""
        now = time.monotonic()
        if isinstance(event, RunStarted):
            self.sampler.watch_gpu(cuda_index(event.device))
            torch = sys.modules.get("torch")  # imported by the engine by now; on this thread: the run's own count
            self.torch_threads = torch.get_num_threads() if torch is not None else None
        else:
            summary = self.sampler.summary_since(self._epoch_began.get(event.run_id, 0.0))
            record = self.session.book.get(event.run_id)
            if summary is not None and record is not None:
                record.note_system(event.epoch, summary)
        self._epoch_began[event.run_id] = now

    def _check_saved(self) -> None:
        """Tell the listener once when the session cannot be saved, and once when it can again."""
        error = self.session.save_error
        if error != self._save_error:
            self._save_error = error
            self.listener(SaveProblem(error))

    # -- stopping ---------------------------------------------------------------------------
    def cancel(self) -> list[RunRecord]:
        """Stop the training batch within a batch (finished epochs stay) and drop the queued runs.

        Returns the queued runs that were dropped (now ``cancelled``).
        """
        with self._lock:
            dropped = self._drop_queue()
            self._cancel.set()
        return dropped

    def _drop_queue(self) -> list[RunRecord]:
        ids = [run_id for batch in self._queue for run_id in batch]
        self._queue.clear()
        dropped = [r for r in map(self.session.book.get, ids) if r is not None]
        for record in dropped:
            record.status = RunState.CANCELLED
        if dropped:
            self.session.save()  # a queued run the user cancelled is part of the story
        return dropped

    def stop(self, status: str = "cancelled") -> list[RunRecord]:
        """Stop for good: no new batch, queued runs dropped, the training ones end as ``status``."""
        with self._lock:
            self._stopping = True
            self._end_status = status
            return self.cancel()

    def interrupt(self) -> list[RunRecord]:
        """Stop now without waiting for the engine: running runs are saved ``interrupted``, later events dropped."""
        self.stop("interrupted")
        self._frozen = True
        return self.session.interrupt() if self.session.runs else []

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the runner is idle (True) or ``timeout`` seconds passed (False)."""
        return self._idle.wait(timeout)

    # -- the comparison -------------------------------------------------------------------------
    def remove(self, run_id: str) -> str | None:
        """Take a run out of the session; returns why not (one line) when it cannot go."""
        record = self.session.book.get(run_id)
        if record is None:
            return None
        if record.id in self._active and not record.done:
            return f"{record.id} is {record.status}: cancel it first (ctrl+x)"
        try:
            self.session.remove(run_id)  # its file too; refused for another live process's run
        except SessionError as e:
            return str(e)
        with self._lock:
            self._queue = [b for b in (tuple(i for i in batch if i != run_id) for batch in self._queue) if b]
        self._check_saved()
        return None

    def close(self) -> None:
        """The front end is done: save, and take this process off the session's writers."""
        self.session.close()
