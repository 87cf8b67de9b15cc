"""What decoding an MNIST-format set costs: lrtui's IDX reader (plain and .gz) against torchvision's MNIST class.

    python benchmarks/data_load.py [--data-dir ../shared/data] [--repeats 5]

Each row decodes the whole set (train + test) in this process, after one untimed warm-up, and reports
the median; the last column is the ratio to torchvision's reader (which lrtui used before). The .gz row
reads a gzipped copy made in a temporary folder. The tensors of every row are checked to be identical.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import tempfile
import time
from collections.abc import Callable

import torch

from lrtui.engine.data import IDX_FILES, Raw, load_raw, raw_folder


def torchvision_reader(data_dir: str) -> Raw:
    import torchvision.datasets as tvd

    parts: list[torch.Tensor] = []
    for train in (True, False):
        ds = tvd.MNIST(data_dir, train=train, download=False)
        parts += [ds.data.to(torch.uint8).contiguous(), ds.targets.to(torch.int64).contiguous()]
    return Raw(*parts)


def lrtui_reader(data_dir: str) -> Raw:
    load_raw.cache_clear()
    return load_raw("mnist", data_dir)


def median_s(fn: Callable[[str], Raw], data_dir: str, repeats: int) -> tuple[float, Raw]:
    result = fn(data_dir)  # warm-up: imports, page cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(data_dir)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        gz = raw_folder("mnist", tmp)
        gz.mkdir(parents=True)
        for name in IDX_FILES:
            (gz / f"{name}.gz").write_bytes(gzip.compress((raw_folder("mnist", args.data_dir) / name).read_bytes(), 6))
        rows = [
            ("torchvision MNIST (before)", torchvision_reader, args.data_dir),
            ("lrtui IDX reader, plain", lrtui_reader, args.data_dir),
            ("lrtui IDX reader, .gz only", lrtui_reader, tmp),
        ]
        results = [(label, *median_s(fn, where, args.repeats)) for label, fn, where in rows]
    base, reference = results[0][1], results[0][2]
    print(f"{'reader':<30} {'median s':>9} {'vs before':>10}")
    for label, seconds, raw in results:
        same = all(torch.equal(a, b) for a, b in zip(reference.tensors(), raw.tensors(), strict=True))
        print(f"{label:<30} {seconds:>9.3f} {seconds / base:>9.2f}x{'' if same else '  TENSORS DIFFER'}")
    print(f"train {tuple(reference.train_x.shape)}, test {tuple(reference.test_x.shape)}")


if __name__ == "__main__":
    main()
