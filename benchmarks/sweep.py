"""Sweeps on one device: the notebook loop, one engine run, K runs one by one, K runs stacked.

    python benchmarks/sweep.py [--device auto] [--epochs 1] [--train-limit N] [--ks 4,8] [--seed 0]

Every row trains SGD at batch 10 on the embedded 5k digits (written as IDX files, the
engine's fixed train/validation split); rows run one after another in one process,
after a short untimed warm-up. samples/s = training samples of all the row's runs per
wall second of the whole call (training, validation and the final test of every run).
The reference loop always trains on the full 3,200 digits (``--train-limit`` only
shortens the engine rows). Goals on a GPU (H200): one run >= 10x the reference loop; a
K=8 stacked sweep in <= 1.5x the wall time of one run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: import the sibling benchmark

from vs_reference import BATCH, LR, reference  # noqa: E402 — the reference loop lives there, once

from lrtui.engine.config import RunConfig, probe_devices, resolve_device, split_sizes  # noqa: E402
from lrtui.engine.data import export_mnist_5k  # noqa: E402
from lrtui.engine.sweep import run_many  # noqa: E402
from lrtui.engine.trainer import device_name  # noqa: E402


def timed(configs: list[RunConfig], batched: bool | None) -> tuple[float, list[str]]:
    """Wall seconds of one run_many call, and the runs' statuses."""
    ids = [f"r{i + 1}" for i in range(len(configs))]
    start = time.perf_counter()
    ends = run_many(configs, ids, lambda event: None, batched=batched)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, [e.status for e in ends]


def lrs(k: int) -> list[float]:
    """K learning rates spread over the useful range (0.003 .. 0.3), so no model diverges."""
    return [0.003 * 100 ** (i / max(1, k - 1)) for i in range(k)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--train-limit", type=int, help="training digits per engine run (default: all 3,200)")
    parser.add_argument("--ks", default="4,8", help="sweep sizes, comma separated")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    device = torch.device(resolve_device(args.device, probe_devices()))
    ks = [int(k) for k in args.ks.split(",")]
    with tempfile.TemporaryDirectory() as root:
        export_mnist_5k(root)
        base = RunConfig(lr=LR, batch_size=BATCH, epochs=args.epochs, dataset="mnist", data_dir=root,
                         device=str(device), seed=args.seed, train_limit=args.train_limit, log_every=10**9)
        n_train = split_sizes(4000, base.val_fraction, args.train_limit)[0]
        print(f"device {device} ({device_name(device)}), torch {torch.__version__}, {torch.get_num_threads()} threads; "
              f"batch {BATCH}, {args.epochs} epoch(s), {n_train} training digits per engine run")
        reference(root, device, 1, args.seed)  # warm-up: kernels, caches, lazy imports
        timed([replace(base, epochs=1, train_limit=200)] * 2, batched=True)
        rows: list[tuple[str, float, int]] = []
        ref = reference(root, device, args.epochs, args.seed)
        rows.append(("reference notebook loop", 3200 * args.epochs / ref.samples_per_s, 3200 * args.epochs))
        one_modes = [("one run (train)", False)] + ([("one run (stacked, K=1)", True)] if device.type == "cuda" else [])
        for name, batched in one_modes:
            wall, _ = timed([base], batched)
            rows.append((name, wall, n_train * args.epochs))
        for k in ks:
            configs = [base.with_lr(lr) for lr in lrs(k)]
            for name, batched in (("sequential", False), ("stacked", True)):
                wall, statuses = timed(configs, batched)
                rows.append((f"K={k} {name}", wall, k * n_train * args.epochs))
                if set(statuses) != {"finished"}:
                    print(f"  note: K={k} {name}: {statuses}")
    ref_rate = rows[0][2] / rows[0][1]
    one_wall = rows[1][1]
    print(f"{'':26s} {'wall s':>8s} {'samples/s':>10s} {'x reference':>12s} {'wall / one run':>15s}")
    for i, (name, wall, samples) in enumerate(rows):
        rate = samples / wall
        vs_one = f"{wall / one_wall:15.2f}" if i else f"{'':15s}"  # the reference trains on more digits
        print(f"{name:26s} {wall:8.2f} {rate:10.0f} {rate / ref_rate:12.2f} {vs_one}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
