"""The engine against the classic notebook loop, in one process, on the same data and device.

Reference = the notebook: torchvision ``MNIST(root, transform=ToTensor())`` +
``DataLoader(batch_size=10, shuffle=True)``, the notebook's own model class (same
initial weights as the engine's), SGD, train then validate each epoch at batch 10.
Its shuffle draws the engine's batch order (see :class:`EngineOrder`), so the
accuracies can be compared at any epoch count, not only after convergence.
Engine = :func:`lrtui.engine.trainer.train` with ``dataset="mnist"`` on the same IDX
files. Both see the embedded 5k digits written as IDX files into a temp dir, with the
engine's fixed 3,200/800 train/validation split, and run alternately (ref, engine,
ref, engine, ...) so machine load hits both alike.

Printed per run: samples/s (training samples per wall second of the training and
validation epochs, the engine's ``samples_per_s``), samples per CPU-second (less
sensitive to other processes on a shared machine), and the last validation accuracy.

    python benchmarks/vs_reference.py [--device cpu|cuda] [--epochs 2] [--repeats 2] [--threads N] [--profile]
                                      [--bare]

The engine runs as users get it, with its diagnostics and step probes (probes run between
epochs: outside samples/s, inside samples per CPU-second); ``--bare`` switches both off, as
the figures below were measured (diagnostics_overhead.py measures their cost alone).

What was tried on the 2-core CPU at batch 10 (ratio of the whole benchmark, before → after):
kept — data as one tensor, one gather per epoch (the DataLoader + ToTensor cost is the
reference's biggest line), channels-last weights (0.70x without), pool before ReLU (~10%),
eval at batch 200, a lean SGD step via ``autograd.grad`` + foreach ops (1.67x → 1.78x),
the CPU divergence check as one scalar read (→ 1.83-1.88x); dropped — ``torch.compile``
(slower), SGD foreach/fused flags (noise), flush-denormal (noise), oneDNN off (0.69x),
log_softmax + nll (0.99x), conv1 as a patch matmul (0.94x). What is left is oneDNN's
convolution forward/backward and max-pooling: ~2.6 of ~2.9 ms per step.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Sampler, Subset
from torchvision import datasets, transforms

from lrtui.engine.config import RunConfig, detect_devices, resolve_device
from lrtui.engine.data import export_mnist_5k, split_indices
from lrtui.engine.events import EpochEnd, RunStarted
from lrtui.engine.machine import cpu_threads, device_name
from lrtui.engine.model import build_model
from lrtui.engine.trainer import train

LR = 0.01
BATCH = 10


class NotebookCNN(nn.Module):
    """The notebook's model class, written the notebook's way (same layers as ``ConvNet``)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, 1, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, 1, padding=1)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        X = F.relu(self.conv1(X))
        X = F.max_pool2d(X, 2, 2)
        X = F.relu(self.conv2(X))
        X = F.max_pool2d(X, 2, 2)
        X = X.view(-1, 32 * 7 * 7)
        X = F.relu(self.fc1(X))
        return self.fc2(X)


class EngineOrder(Sampler[int]):
    """``shuffle=True`` with the engine's shuffle: one ``randperm`` per epoch from a generator seeded
    like the engine's, on the same device. Same batches in the same order, so the two loops
    must end at the same accuracy up to float rounding; a bug in either shows up as a gap.
    """

    def __init__(self, n: int, seed: int, device: torch.device) -> None:
        self.n, self.device = n, device
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        return iter(torch.randperm(self.n, generator=self.generator, device=self.device).tolist())


@dataclass
class Result:
    samples_per_s: float
    samples_per_cpu_s: float
    val_acc: float


def reference(root: str, device: torch.device, epochs: int, seed: int) -> Result:
    """The notebook loop, timed over its training and validation epochs."""
    train_data = datasets.MNIST(root=root, train=True, download=False, transform=transforms.ToTensor())
    train_idx, val_idx = split_indices(len(train_data), 0.2)
    train_loader = DataLoader(
        Subset(train_data, train_idx.tolist()), batch_size=BATCH, sampler=EngineOrder(len(train_idx), seed, device)
    )
    val_loader = DataLoader(Subset(train_data, val_idx.tolist()), batch_size=BATCH, shuffle=False)
    model = NotebookCNN()
    model.load_state_dict(build_model(seed).state_dict())
    model.to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(epochs):
        model.train()
        trn_corr = 0
        for X_train, y_train in train_loader:
            X_train, y_train = X_train.to(device), y_train.to(device)
            y_pred = model(X_train)
            loss = criterion(y_pred, y_train)
            predicted = torch.max(y_pred.data, 1)[1]
            trn_corr += (predicted == y_train).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        tst_corr = 0
        with torch.no_grad():
            for X_test, y_test in val_loader:
                X_test, y_test = X_test.to(device), y_test.to(device)
                y_val = model(X_test)
                loss = criterion(y_val, y_test)
                tst_corr += (torch.max(y_val.data, 1)[1] == y_test).sum()
        val_acc = int(tst_corr) / len(val_idx)  # int() syncs the device: the epoch is really done
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    samples = len(train_idx) * epochs
    return Result(samples / wall, samples / cpu, val_acc)


#: Whether the engine measures diagnostics and runs step probes (``--bare`` turns this off).
MEASURE = True


def engine(root: str, device: torch.device, epochs: int, seed: int) -> Result:
    """One engine run on the same IDX files; CPU time from RunStarted to the last EpochEnd."""
    marks: dict[str, float] = {}
    accs: list[float] = []

    def emit(event: object) -> None:
        if isinstance(event, RunStarted):
            marks["start"] = time.process_time()
        elif isinstance(event, EpochEnd):
            marks["end"] = time.process_time()
            accs.append(event.val_acc)

    config = RunConfig(
        lr=LR,
        batch_size=BATCH,
        epochs=epochs,
        dataset="mnist",
        data_dir=root,
        device=str(device),
        seed=seed,
        log_every=10**9,
    )
    end = train(config, emit, diagnostics=MEASURE, probes=MEASURE)
    if end.status != "finished":
        sys.exit(f"engine run {end.status}: {end.error}")
    samples = end.samples_per_s * end.duration_s
    return Result(end.samples_per_s, samples / (marks["end"] - marks["start"]), accs[-1])


def profile(root: str, device: torch.device, seed: int) -> None:
    """Where the time goes: the top operators of one epoch of each loop."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    for name, fn in (("reference", reference), ("engine", engine)):
        with torch_profile(activities=activities) as prof:
            fn(root, device, 1, seed)
        print(f"\n== {name}: top operators of one epoch ==")
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch threads of the reference (default: the engine's choice)")
    parser.add_argument("--profile", action="store_true", help="also profile one epoch of each")
    parser.add_argument("--bare", action="store_true", help="engine without diagnostics and step probes")
    args = parser.parse_args(argv)
    global MEASURE
    MEASURE = not args.bare
    # the reference runs at --threads, or else at the engine's own choice (cores - 1), so the
    # loops are compared, not thread counts; the engine caps what it is given at cores - 1
    torch.set_num_threads(args.threads or cpu_threads())
    threads = f"reference {torch.get_num_threads()}, engine {cpu_threads()} threads"
    device = torch.device(resolve_device(args.device, detect_devices()))
    with tempfile.TemporaryDirectory() as root:
        export_mnist_5k(root)
        n_train, n_val = (len(i) for i in split_indices(4000, 0.2))
        print(
            f"device {device} ({device_name(device)}), torch {torch.__version__}, {threads}; "
            f"{n_train} train / {n_val} val digits as IDX; batch {BATCH}, SGD lr {LR}, {args.epochs} epochs"
        )
        if args.profile:
            profile(root, device, args.seed)
        # warm-up (kernels, caches, lazy imports), not timed
        reference(root, device, 1, args.seed)
        engine(root, device, 1, args.seed)
        results: dict[str, list[Result]] = {"reference": [], "engine": []}
        for rep in range(1, args.repeats + 1):
            for name, fn in (("reference", reference), ("engine", engine)):
                r = fn(root, device, args.epochs, args.seed)
                results[name].append(r)
                print(
                    f"run {rep}  {name:9s}  {r.samples_per_s:8.0f} samples/s  "
                    f"{r.samples_per_cpu_s:8.0f} samples/CPU-s  val acc {100 * r.val_acc:5.1f}%",
                    flush=True,
                )
    med = {k: statistics.median(r.samples_per_s for r in v) for k, v in results.items()}
    med_cpu = {k: statistics.median(r.samples_per_cpu_s for r in v) for k, v in results.items()}
    acc = {k: statistics.mean(r.val_acc for r in v) for k, v in results.items()}
    goal = 10 if device.type == "cuda" else 2
    ratio = med["engine"] / med["reference"]
    print(
        f"median samples/s: reference {med['reference']:.0f}, engine {med['engine']:.0f} -> "
        f"{ratio:.2f}x (goal >= {goal}x: {'met' if ratio >= goal else 'NOT met'})"
    )
    print(
        f"median samples/CPU-s: reference {med_cpu['reference']:.0f}, engine {med_cpu['engine']:.0f} -> "
        f"{med_cpu['engine'] / med_cpu['reference']:.2f}x"
    )
    gap = 100 * abs(acc["engine"] - acc["reference"])
    print(
        f"mean val acc after {args.epochs} epochs: reference {100 * acc['reference']:.1f}%, "
        f"engine {100 * acc['engine']:.1f}% (gap {gap:.1f} points: {'equal' if gap <= 1 else 'DIFFERENT'} within 1 point)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
