"""Your machine while it trains: the process's CPU and memory, the machine's load and, on CUDA, the GPU's.

A :class:`SystemSampler` is one small daemon thread that the runner starts while runs train and
stops after: it reads the figures at most once a second (:data:`SAMPLE_EVERY_S`) into a frozen
:class:`SystemSample`, off the UI thread and off the training thread, so neither ever waits on a
system call. The app's status line shows the latest sample; at each epoch's end the runner keeps
:meth:`SystemSampler.summary_since` the epoch began (:func:`summarise`) in the run's record, and the
HTML report plots those per epoch.

psutil (a required dependency) and pynvml (``pip install lrtui[gpu]``: the nvidia-ml-py package) are
imported lazily, on the sampler's own thread: an absent or failing library, a machine without a GPU
or a GPU that stops answering give None figures, never an error. Nothing here imports torch or
Textual (an import-linter contract says so).
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Seconds between two samples: often enough for a status line, rare enough to cost nothing measurable.
SAMPLE_EVERY_S = 1.0
#: Samples kept for the epoch summaries (an hour at one a second); an epoch longer than that is summed over its last hour.
KEEP_SAMPLES = 3600
MB = 1024 * 1024


@dataclass(frozen=True)
class SystemSample:
    """One reading of the machine. Each figure is None where it is unknown (no GPU, no NVML, a failed read)."""

    cpu_percent: float | None = None  #: this process, % of one core (187 = nearly two cores busy)
    rss_mb: float | None = None  #: this process's resident memory, MiB
    load1: float | None = None  #: the machine's 1-minute load average (runnable processes)
    gpu_util: float | None = None  #: the training GPU's utilisation, %
    gpu_mem_mb: float | None = None  #: memory in use on that GPU (by every process), MiB
    gpu_temp_c: float | None = None  #: that GPU's temperature, °C

    @property
    def has_gpu(self) -> bool:
        return any(v is not None for v in (self.gpu_util, self.gpu_mem_mb, self.gpu_temp_c))

    def to_dict(self) -> dict[str, float | None]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> SystemSample:
        """Inverse of :meth:`to_dict`; other keys are ignored. Raises ValueError on a figure that is not a
        finite number >= 0 or null (a session file may come from anywhere)."""
        values: dict[str, float | None] = {}
        for f in fields(cls):
            v = raw.get(f.name)
            if v is not None and (
                isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0
            ):
                raise ValueError(f"system.{f.name} must be a number >= 0 or null, not {str(v)[:40]!r}")
            values[f.name] = None if v is None else float(v)
        return cls(**values)


FIGURES: tuple[str, ...] = tuple(f.name for f in fields(SystemSample))
#: Figures an epoch keeps at their peak (memory only grows into what a run needs); the others are averaged.
PEAK_FIGURES = frozenset({"rss_mb", "gpu_mem_mb"})


def summarise(samples: Sequence[SystemSample]) -> SystemSample | None:
    """An epoch's figures from its samples: the mean of each (the peak for memory), over the samples that have it."""
    if not samples:
        return None
    values: dict[str, float | None] = {}
    for name in FIGURES:
        known = [v for s in samples if (v := getattr(s, name)) is not None]
        values[name] = None if not known else max(known) if name in PEAK_FIGURES else sum(known) / len(known)
    return SystemSample(**values)


def cuda_index(device: str) -> int | None:
    """``cuda:1`` → 1, ``cuda`` → 0; any other device → None (no GPU to watch)."""
    kind, _, index = device.partition(":")
    if kind != "cuda":
        return None
    return int(index) if index.isdigit() else 0


class _Probe:
    """The readers, on the sampler's thread: psutil for the process and the machine, NVML for the GPU."""

    def __init__(self) -> None:
        self.process: Any = None
        self.psutil: Any = None
        self.nvml: Any = None  #: the pynvml module once initialised, else None
        self.gpu: Any = None  #: the NVML handle of the GPU being watched
        self.gpu_index: int | None = None
        with contextlib.suppress(Exception):
            import psutil

            self.psutil, self.process = psutil, psutil.Process()
            self.process.cpu_percent(None)  # the first call only starts the clock

    def watch(self, index: int | None) -> None:
        """Read GPU ``index`` (as CUDA numbers it) from now on; None: no GPU figures."""
        if index == self.gpu_index:
            return
        self.gpu_index, self.gpu = index, None
        if index is None:
            return
        try:
            if self.nvml is None:
                import pynvml

                pynvml.nvmlInit()
                self.nvml = pynvml
            self.gpu = _nvml_handle(self.nvml, index)
        except Exception:  # noqa: BLE001 — no NVML library, no driver, no such GPU: no GPU figures
            self.gpu = None

    def read(self) -> SystemSample:
        cpu = rss = load = util = mem = temp = None
        if self.process is not None:
            with contextlib.suppress(Exception):
                cpu = float(self.process.cpu_percent(None))
            with contextlib.suppress(Exception):
                rss = self.process.memory_info().rss / MB
            with contextlib.suppress(Exception):
                load = float(self.psutil.getloadavg()[0])
        if self.gpu is not None:
            nvml = self.nvml
            with contextlib.suppress(Exception):
                util = float(nvml.nvmlDeviceGetUtilizationRates(self.gpu).gpu)
            with contextlib.suppress(Exception):
                mem = nvml.nvmlDeviceGetMemoryInfo(self.gpu).used / MB
            with contextlib.suppress(Exception):
                temp = float(nvml.nvmlDeviceGetTemperature(self.gpu, nvml.NVML_TEMPERATURE_GPU))
        return SystemSample(cpu, rss, load, util, mem, temp)

    def close(self) -> None:
        if self.nvml is not None:
            with contextlib.suppress(Exception):
                self.nvml.nvmlShutdown()
        self.nvml = self.gpu = None


def _nvml_handle(nvml: Any, index: int) -> Any:
    """NVML numbers every GPU of the machine; CUDA only those in ``CUDA_VISIBLE_DEVICES``, in its order."""
    visible = [v.strip() for v in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if v.strip()]
    if visible:
        which = visible[index]
        if not which.isdigit():
            return nvml.nvmlDeviceGetHandleByUUID(which)
        index = int(which)
    return nvml.nvmlDeviceGetHandleByIndex(index)


class SystemSampler:
    """A daemon thread that samples the machine every ``interval_s`` between :meth:`start` and :meth:`stop`.

    It never keeps the process alive (a daemon, woken by its stop event) and never raises: a
    figure it cannot read is None. ``latest`` is None until the first sample and after stop.
    """

    def __init__(self, interval_s: float = SAMPLE_EVERY_S) -> None:
        self.interval_s = interval_s
        self.latest: SystemSample | None = None
        self._lock = threading.Lock()
        self._history: deque[tuple[float, SystemSample]] = deque(maxlen=KEEP_SAMPLES)
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._gpu_index: int | None = None

    @property
    def running(self) -> bool:
        return self._stop is not None

    def start(self) -> None:
        """Start sampling (a no-op while running). Each start has its own stop event: a stopped thread that
        has not woken yet never takes over from the new one."""
        with self._lock:
            if self._stop is not None:
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._loop, args=(self._stop,), name="lrtui-system-load", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop sampling: the thread ends at its next wake-up (never waited for here); the samples are dropped."""
        with self._lock:
            if self._stop is not None:
                self._stop.set()
            self._stop = None  # the thread is kept for join()
            self.latest = None
            self._history.clear()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the last started thread to end (tests; shutting down needs no wait)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def watch_gpu(self, index: int | None) -> None:
        """Sample the GPU CUDA calls ``cuda:<index>`` from the next sample on (None: no GPU figures)."""
        self._gpu_index = index

    def summary_since(self, since: float) -> SystemSample | None:
        """The figures of the samples taken since ``since`` (``time.monotonic()``), or the latest sample
        when none was (an epoch shorter than a second), or None before the first sample."""
        with self._lock:
            window = [s for t, s in self._history if t >= since]
            latest = self.latest
        return summarise(window) if window else latest

    def _loop(self, stop: threading.Event) -> None:
        probe: _Probe | None = None
        try:
            probe = _Probe()
            while not stop.wait(self.interval_s):
                probe.watch(self._gpu_index)
                sample = probe.read()
                with self._lock:
                    if stop.is_set():  # stopped while reading: this sample belongs to no run
                        return
                    self._history.append((time.monotonic(), sample))
                    self.latest = sample
        except Exception:  # noqa: BLE001 — the figures are a nicety: a sampler that fails just stops
            pass
        finally:
            if probe is not None:
                probe.close()
