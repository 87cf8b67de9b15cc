"""A factory's training *dataset* is read again every epoch: its random transforms stay random, reproducibly."""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from engine_helpers import Recorder

from lrtui.engine.config import RunConfig
from lrtui.engine.data import load_splits, raw_of, split_indices
from lrtui.engine.data_stream import READ_BATCH, TrainStream
from lrtui.engine.events import EpochEnd, RunState
from lrtui.engine.sweep import run_many
from lrtui.engine.trainer import train
from lrtui.engine.user_code import _import

FACTORY = '''
import torch
from torch.utils.data import Dataset

READS = []          # every item index read, in order
HOOK = [None]       # called with the number of reads so far, before each read (a test's cancel or fault)


class Noisy(Dataset):
    """Ten classes of 28x28 images, each read with fresh noise from torch's generator (a random transform)."""

    def __init__(self, n, seed, noise):
        g = torch.Generator().manual_seed(seed)
        self.y = torch.arange(n) % 10
        self.x = torch.rand(n, 1, 28, 28, generator=g) * 0.2 + self.y.view(-1, 1, 1, 1) / 10
        self.noise = noise

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        if HOOK[0] is not None:
            out = HOOK[0](len(READS))
            if out is not None:
                return out
        READS.append(i)
        x = self.x[i] + torch.rand(1, 28, 28) * self.noise
        return x, int(self.y[i])


def noisy():
    return Noisy(POOL, 1, 0.3), Noisy(40, 2, 0.0)
'''


def factory(tmp_path: Path, pool: int = 100) -> tuple[str, ModuleType]:
    path = tmp_path / "noisy.py"
    path.write_text(f"POOL = {pool}\n" + FACTORY)
    spec = f"{path}:noisy"
    return spec, _import(str(path))


def config(spec: str, **changes) -> RunConfig:
    base = RunConfig(data=spec, epochs=2, batch_size=10, train_limit=60, device="cpu", seed=0, lr=0.05)
    return replace(base, **changes)


def test_every_epoch_reads_the_training_items_again_in_the_splits_order(tmp_path) -> None:
    spec, module = factory(tmp_path)
    cfg = config(spec)
    raw_of(cfg)  # the first read: the whole training pool and the test set, once per process
    module.READS.clear()
    end = train(cfg, Recorder(), probes=False)
    assert end.status == RunState.FINISHED
    rows = split_indices(100, cfg.val_fraction, cfg.train_limit)[0].tolist()
    assert module.READS == rows * 2  # two epochs, the 60 training items each time; validation and test not again


def test_draws_are_new_each_epoch_the_same_for_a_seed_and_leave_the_callers_generators(tmp_path) -> None:
    spec, _ = factory(tmp_path)
    splits = load_splits(config(spec), torch.device("cpu"))
    stream = splits.stream
    assert stream is not None and stream.classes == 10
    first = splits.train_x.clone()

    def read(seed: int, epoch: int) -> torch.Tensor:
        x, y = torch.empty_like(splits.train_x), torch.empty_like(splits.train_y)
        stream.refill(x, y, seed, epoch, threading.Event())
        assert torch.equal(y, splits.train_y)  # the same items, in the same order
        return x

    torch.manual_seed(7), random.seed(7), np.random.seed(7)
    states = torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy()
    one, two = read(0, 1), read(0, 2)
    assert not torch.equal(one, two) and not torch.equal(one, first)  # each epoch another draw
    assert torch.equal(read(0, 1), one)  # reproducible: the run's seed and the epoch fix the draw
    assert not torch.equal(read(1, 1), one)  # another seed, another draw
    assert torch.equal(torch.get_rng_state(), states[0]) and random.getstate() == states[1]
    assert np.array_equal(np.random.get_state()[1], states[2])


def test_tensors_from_a_factory_are_not_read_again(tmp_path) -> None:
    path = tmp_path / "tensors.py"
    path.write_text(
        "import torch\ndef t():\n    return torch.rand(50, 4), torch.arange(50) % 2, torch.rand(9, 4), torch.arange(9) % 2\n"
    )
    assert load_splits(config(f"{path}:t", train_limit=None), torch.device("cpu")).stream is None


def test_a_stacked_sweep_trains_on_the_draws_its_runs_see_one_by_one(tmp_path) -> None:
    spec, _ = factory(tmp_path)
    configs = [config(spec, lr=lr) for lr in (0.1, 0.02)]
    results = []
    for batched in (False, True):
        events = Recorder()
        ends = run_many(configs, ["a", "b"], events, batched=batched)
        assert [e.status for e in ends] == [RunState.FINISHED] * 2
        results.append([(e.run_id, e.train_loss, e.val_loss) for e in events.of(EpochEnd)])
    alone, stacked = (sorted(r) for r in results)
    assert len(alone) == 4
    for (ra, ta, va), (rb, tb, vb) in zip(alone, stacked, strict=True):
        assert ra == rb and tb == pytest.approx(ta, abs=1e-4) and vb == pytest.approx(va, abs=1e-4)


def test_a_cancel_during_a_read_stops_it_and_the_run_ends_cancelled(tmp_path) -> None:
    spec, module = factory(tmp_path, pool=1400)
    cfg = config(spec, train_limit=None)
    raw_of(cfg)
    module.READS.clear()
    cancel = threading.Event()
    module.HOOK[0] = lambda reads: cancel.set() if reads == 20 else None
    events = Recorder()
    end = train(cfg, events, cancel, probes=False)
    assert end.status == RunState.CANCELLED and not events.of(EpochEnd)
    assert len(module.READS) == 21 < READ_BATCH  # the read stopped at the next item, not at the chunk's end


@pytest.mark.parametrize(
    "fault, words",
    [
        (
            lambda: (_ for _ in ()).throw(ValueError("disk gone")),
            "reading the train dataset failed (ValueError: disk gone)",
        ),
        (lambda: (torch.zeros(1, 27, 28), 1), "inputs are now (1, 27, 28), at the first read (1, 28, 28)"),
        (lambda: (torch.zeros(1, 28, 28), 12), "a label outside the classes 0..9"),
        (lambda: (torch.full((1, 28, 28), float("nan")), 1), "NaN or infinite inputs"),
    ],
    ids=["raises", "shape", "label", "nan"],
)
def test_an_epoch_whose_read_fails_ends_the_run_failed_in_one_line(tmp_path, fault, words) -> None:
    spec, module = factory(tmp_path)
    cfg = config(spec)
    raw_of(cfg)
    module.READS.clear()
    module.HOOK[0] = lambda reads: fault() if reads >= 60 else None  # epoch 1 reads well, epoch 2 does not
    events = Recorder()
    end = train(cfg, events, probes=False)
    assert end.status == RunState.FAILED and len(events.of(EpochEnd)) == 1
    assert end.error is not None and "\n" not in end.error
    assert end.error.startswith("data: noisy.py:noisy: epoch 2: ") and words in end.error


def test_a_stream_names_its_factory_and_keeps_the_split_rows(tmp_path) -> None:
    spec, _ = factory(tmp_path)
    stream = load_splits(config(spec), torch.device("cpu")).stream
    assert isinstance(stream, TrainStream) and stream.name == "noisy.py:noisy"
    assert list(stream.rows) == split_indices(100, 0.2, 60)[0].tolist()


def test_a_huge_seed_reads_like_any_other(tmp_path) -> None:
    """Seeds go up to 2**63: the epoch's seed derived from one must still seed the generators."""
    spec, _ = factory(tmp_path)
    splits = load_splits(config(spec), torch.device("cpu"))
    assert splits.stream is not None
    x, y = splits.train_x.clone(), splits.train_y.clone()
    splits.stream.refill(x, y, 2**63 - 1, 5, threading.Event())
    assert torch.equal(y, splits.train_y) and not torch.equal(x, splits.train_x)


NUMPY_NOISE = """
import numpy as np
import torch
from torch.utils.data import Dataset

class Jitter(Dataset):
    def __init__(self, n):
        self.n = n
    def __len__(self):
        return self.n
    def __getitem__(self, i):
        x = np.full(4, i % 3, dtype=np.float32) + np.random.rand(4).astype(np.float32) + float(torch.rand(()))
        return torch.from_numpy(x), i % 3

def f():
    return Jitter(60), Jitter(12)
"""


def test_the_first_read_is_the_same_whatever_the_global_generators_held(tmp_path) -> None:
    """The validation images and the test set come from the first read: seeded, so every process (the app, the
    CLI, a rerun) validates on the same inputs, whatever was drawn before it."""
    from lrtui.engine.data_factory import factory_tensors

    path = tmp_path / "jitter.py"
    path.write_text(NUMPY_NOISE)
    reads = []
    for state in (1, 2):
        np.random.seed(state), torch.manual_seed(state), random.seed(state)
        reads.append(factory_tensors(f"{path}:f", 7))
    assert all(torch.equal(a, b) for a, b in zip(reads[0][:4], reads[1][:4], strict=True))
    assert not torch.equal(reads[0].train_x, factory_tensors(f"{path}:f", 8).train_x)  # the seed decides


MLP = "import torch\ndef mlp():\n    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))\n"


def test_an_own_networks_sweep_one_by_one_probes_what_its_stack_probes(tmp_path) -> None:
    """One by one, the runs of a sweep share the training tensor that each epoch reads again: each run's probe
    (before training too) must see the first read, as the stack's does, not what the run before left there."""
    from lrtui.engine.events import ProbeResult

    spec, _ = factory(tmp_path)
    (tmp_path / "net.py").write_text(MLP)
    configs = [config(spec, lr=lr, model=f"{tmp_path / 'net.py'}:mlp") for lr in (0.1, 0.02)]
    probes = []
    for batched in (False, True):
        events = Recorder()
        ends = run_many(configs, ["a", "b"], events, batched=batched, model_factory=_load(configs[0].model))
        assert [e.status for e in ends] == [RunState.FINISHED] * 2
        probes.append({(p.run_id, p.epoch): p.losses for p in events.of(ProbeResult)})
    alone, stacked = probes
    assert alone.keys() == stacked.keys() and ("b", 0) in alone
    for key in alone:
        assert stacked[key] == pytest.approx(alone[key], rel=1e-3, abs=1e-3), key


def _load(spec: str):
    from lrtui.engine.user_code import load_factory

    return load_factory(spec, "model")


def _read_threads(module: ModuleType) -> list[str]:
    """Record, for every item read from now on, the name of the thread that read it."""
    names: list[str] = []
    module.HOOK[0] = lambda reads: names.append(threading.current_thread().name)
    return names


def test_the_next_epoch_is_read_ahead_on_a_thread_and_trains_the_same(tmp_path, monkeypatch) -> None:
    """Epoch 2's items are read while epoch 1 trains; the run's numbers are those of reading each epoch in turn."""
    import lrtui.engine.data_stream as data_stream

    spec, module = factory(tmp_path)
    cfg = config(spec, epochs=3)
    raw_of(cfg)
    threads = _read_threads(module)
    ahead = Recorder()
    assert train(cfg, ahead, probes=False).status == RunState.FINISHED
    assert {name for name in threads[60:120]} == {"lrtui-read-epoch-2"} and threads[120:] == ["lrtui-read-epoch-3"] * 60
    assert threading.current_thread().name in threads[:60]  # epoch 1: read before training, on the run's thread
    monkeypatch.setattr(data_stream, "draws_randomness", lambda model, x: True)  # as for dropout: read in turn
    threads.clear()
    in_turn = Recorder()
    assert train(cfg, in_turn, probes=False).status == RunState.FINISHED
    assert set(threads) == {threading.current_thread().name}
    assert [e.batch_losses for e in ahead.of(EpochEnd)] == [e.batch_losses for e in in_turn.of(EpochEnd)]


def test_a_network_that_draws_randomness_on_the_cpu_is_read_in_turn(tmp_path) -> None:
    """Dropout draws from the global generator a read ahead would reseed: its masks must not depend on timing."""
    spec, module = factory(tmp_path)
    (tmp_path / "drop.py").write_text(
        "import torch\ndef net():\n    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.2),"
        " torch.nn.Linear(784, 10))\n"
    )
    cfg = config(spec, model=f"{tmp_path / 'drop.py'}:net")
    raw_of(cfg)
    threads = _read_threads(module)
    end = train(cfg, Recorder(), probes=False, model_factory=_load(cfg.model))
    assert end.status == RunState.FINISHED and set(threads) == {threading.current_thread().name}


def test_a_run_that_ends_early_leaves_no_read_behind(tmp_path) -> None:
    """Cancelled while epoch 2 is being read ahead: the read stops at its next item and is waited for."""
    spec, module = factory(tmp_path, pool=1400)
    cfg = config(spec, train_limit=None, epochs=3)
    raw_of(cfg)
    cancel = threading.Event()
    seen = threading.Event()

    def hook(reads: int) -> None:
        if threading.current_thread().name.startswith("lrtui-read-epoch"):
            seen.set()
            cancel.set()  # the first item read ahead cancels the run

    module.HOOK[0] = hook
    end = train(cfg, Recorder(), cancel, probes=False)
    assert seen.is_set() and end.status == RunState.CANCELLED
    assert not [t for t in threading.enumerate() if t.name.startswith("lrtui-read-epoch")]
