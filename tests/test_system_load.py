"""The machine's figures: the sample, the sampler thread (real psutil; NVML absent, failing or faked), the runner's
per-epoch record of them in the run files, and sessions with and without them."""

from __future__ import annotations

import json
import sys
import threading
import types
from pathlib import Path

import pytest

from lrtui.engine.config import parse_configs
from lrtui.engine.events import RunState
from lrtui.runner import Runner
from lrtui.sessions.listing import load_session
from lrtui.sessions.record import RunRecord
from lrtui.sessions.schema import SessionError
from lrtui.sessions.store import Session
from lrtui.system_load import SystemSample, SystemSampler, cuda_index, summarise

FAST = 0.01  #: seconds between samples in these tests (the runner's default is one a second)


def until(condition, what: str, limit: float = 10.0) -> None:
    done = threading.Event()
    for _ in range(int(limit / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError(f"timed out waiting for {what}")


# -- the sample ------------------------------------------------------------------------------------
def test_a_sample_round_trips_through_a_dict_and_refuses_what_is_not_a_figure() -> None:
    sample = SystemSample(187.0, 1228.5, 1.9, 93.0, 4198.0, 61.0)
    assert SystemSample.from_dict({"epoch": 3, **sample.to_dict()}) == sample
    assert SystemSample.from_dict({}) == SystemSample()  # every figure unknown
    assert sample.has_gpu and not SystemSample(cpu_percent=100.0).has_gpu
    for bad in (-1, True, "90%", [1.0], float("nan"), float("inf")):
        with pytest.raises(ValueError, match="system.cpu_percent"):
            SystemSample.from_dict({"cpu_percent": bad})


def test_an_epoch_keeps_the_mean_of_each_figure_and_the_peak_of_memory() -> None:
    a = SystemSample(cpu_percent=100.0, rss_mb=500.0, load1=1.0, gpu_mem_mb=2000.0)
    b = SystemSample(cpu_percent=200.0, rss_mb=700.0, load1=None, gpu_mem_mb=1000.0)
    assert summarise([a, b]) == SystemSample(cpu_percent=150.0, rss_mb=700.0, load1=1.0, gpu_mem_mb=2000.0)
    assert summarise([]) is None


def test_cuda_index_reads_the_device_name() -> None:
    assert (cuda_index("cuda"), cuda_index("cuda:2"), cuda_index("cpu"), cuda_index("mps")) == (0, 2, None, None)


# -- the sampler ------------------------------------------------------------------------------------
def test_the_sampler_reads_this_process_and_the_machine_on_a_daemon_thread_until_stopped() -> None:
    sampler = SystemSampler(FAST)
    sampler.start()
    try:
        thread = sampler._thread
        assert thread is not None and thread.daemon and thread.name == "lrtui-system-load"
        until(lambda: sampler.latest is not None, "a first sample")
        sample = sampler.latest
        assert sample is not None
        assert sample.cpu_percent is not None and sample.cpu_percent >= 0
        assert sample.rss_mb is not None and sample.rss_mb > 10  # a Python process with pytest loaded
        assert sample.load1 is not None and sample.load1 >= 0
        assert not sample.has_gpu  # no GPU asked for
        assert sampler.summary_since(0.0) is not None
    finally:
        sampler.stop()
    sampler.join(5)
    assert not thread.is_alive() and not sampler.running
    assert sampler.latest is None and sampler.summary_since(0.0) is None


def _fake_nvml(fail_init: bool = False, fail_util: bool = False) -> tuple[types.ModuleType, list[object]]:
    """A stand-in for pynvml: the handles asked for are recorded; either part can be made to fail."""
    asked: list[object] = []
    nvml = types.ModuleType("pynvml")

    def init() -> None:
        if fail_init:
            raise RuntimeError("NVML Shared Library Not Found")

    def util(handle: object) -> object:
        if fail_util:
            raise RuntimeError("GPU is lost")
        return types.SimpleNamespace(gpu=93)

    nvml.nvmlInit = init  # type: ignore[attr-defined]
    nvml.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetHandleByIndex = lambda i: asked.append(i) or f"gpu{i}"  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetHandleByUUID = lambda u: asked.append(u) or u  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetUtilizationRates = util  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=4198 * 2**20)  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetTemperature = lambda h, kind: 61  # type: ignore[attr-defined]
    nvml.NVML_TEMPERATURE_GPU = 0  # type: ignore[attr-defined]
    return nvml, asked


def _one_sample(gpu: int | None) -> SystemSample:
    sampler = SystemSampler(FAST)
    sampler.watch_gpu(gpu)
    sampler.start()
    try:
        until(lambda: sampler.latest is not None, "a sample")
        sample = sampler.latest
        assert sample is not None
        return sample
    finally:
        sampler.stop()
        sampler.join(5)


def test_the_gpu_figures_come_from_nvml_for_the_gpu_cuda_calls_by_that_number(monkeypatch) -> None:
    nvml, asked = _fake_nvml()
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    sample = _one_sample(1)
    assert (sample.gpu_util, sample.gpu_mem_mb, sample.gpu_temp_c) == (93.0, 4198.0, 61.0)
    assert sample.cpu_percent is not None and asked == [5]  # cuda:1 is the machine's GPU 5
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-8f3c")
    _one_sample(0)
    assert asked[-1] == "GPU-8f3c"


@pytest.mark.parametrize("how", ["absent", "failing init", "failing read"])
def test_without_a_working_nvml_there_are_simply_no_gpu_figures(monkeypatch, how: str) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    if how == "absent":
        monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    else:
        monkeypatch.setitem(
            sys.modules, "pynvml", _fake_nvml(fail_init=how == "failing init", fail_util=how == "failing read")[0]
        )
    sample = _one_sample(0)
    assert sample.gpu_util is None
    assert sample.cpu_percent is not None and sample.rss_mb is not None
    if how == "failing read":  # the figures NVML still gives are kept
        assert (sample.gpu_mem_mb, sample.gpu_temp_c) == (4198.0, 61.0)
    else:
        assert not sample.has_gpu


# -- the runner and the session ----------------------------------------------------------------------
def test_the_runner_samples_while_it_trains_and_each_epoch_keeps_the_figures_in_its_run_file(tmp_path: Path) -> None:
    session = Session.create(tmp_path / "sessions")
    runner = Runner(session, sampler=SystemSampler(FAST))
    assert not runner.sampler.running and runner.system is None
    [record] = runner.enqueue(parse_configs({"train_limit": "300", "epochs": "2", "device": "cpu"}))
    assert runner.sampler.running
    assert runner.wait(120)
    assert not runner.sampler.running and runner.system is None  # stopped with the runs
    assert record.status == "finished" and sorted(record.system) == [1, 2]
    assert all(s.cpu_percent is not None and s.rss_mb is not None for s in record.system.values())
    assert runner.torch_threads is not None and runner.torch_threads >= 1
    on_disk = json.loads((session.path / "runs" / f"{record.id}.json").read_text())
    rows = (on_disk.get("run") or on_disk)["system"]
    assert [row["epoch"] for row in rows] == [1, 2] and rows[0]["rss_mb"] == record.system[1].rss_mb
    runner.close()
    assert load_session(session.path).book.get(record.id).system == record.system  # type: ignore[union-attr]


def test_sessions_without_the_figures_open_and_bad_figures_are_refused_in_one_line(tmp_path: Path) -> None:
    session = Session.create(tmp_path / "sessions")
    record = session.add(parse_configs({"train_limit": "100", "epochs": "1", "device": "cpu"})[0])
    record.status = RunState.FINISHED
    record.note_system(1, SystemSample(cpu_percent=99.0, rss_mb=700.0))
    data = record.to_dict()
    assert RunRecord.from_dict(data).system == record.system
    del data["system"]  # as lrtui wrote it before these figures
    assert RunRecord.from_dict(data).system == {}
    doc = session.to_dict()
    assert doc["runs"][0]["system"] == [{"epoch": 1, **record.system[1].to_dict()}]
    for bad in ([{"epoch": 1, "rss_mb": -5}], [{"epoch": "one"}], "lots", [3]):
        doc["runs"][0]["system"] = bad
        folder = tmp_path / f"bad{len(str(bad))}"
        folder.mkdir()
        (folder / "session.json").write_text(json.dumps(doc))
        with pytest.raises(SessionError, match="system") as caught:
            load_session(folder)
        assert "\n" not in str(caught.value)
    del doc["runs"][0]["system"]
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "session.json").write_text(json.dumps(doc))
    assert load_session(folder).runs[0].system == {}
