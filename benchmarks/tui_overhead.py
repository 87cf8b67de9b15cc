"""What the app costs: training speed inside the app vs headless, time to first frame, time to quit.

    python benchmarks/tui_overhead.py [--epochs 1] [--train-limit N] [--repeats 2]

1. Throughput: the same config trained by ``run_many`` with a consumer that does nothing
   (what ``lrtui run`` does minus printing) and inside the app (``run_test``, headless, the
   real worker, messages, log, charts and table). Each measurement runs in its own process
   (torch thread settings are per process), alternating, and the median samples/s of each
   is compared. Goal: app ≥ 0.90 × headless.
   While the app trains, a 50 ms UI timer measures how late it fires (the wait a key press
   would see; goal ~100 ms at most).
2. Time to first frame of the real ``lrtui`` command in a pseudo-terminal (80x24): from
   process start until the parameters pane is on the screen. Goal: < 1.5 s. Then ctrl+q
   during a run: time until the process has exited. Goal: < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HEADLESS = """
import json, sys
from lrtui.engine.config import parse_configs
from lrtui.engine.sweep import run_many
config = parse_configs(json.loads(sys.argv[1]))[0]
end = run_many([config], ["r1"], lambda event: None)[0]
import torch
print(json.dumps({"samples_per_s": end.samples_per_s, "status": end.status, "threads": torch.get_num_threads()}))
"""

IN_APP = """
import asyncio, json, sys, time
from lrtui.tui.app import LRTuiApp, ui_torch_threads

async def main():
    app = LRTuiApp(initial=json.loads(sys.argv[1]), probe_devices=False, cursor_blink=False)
    lags, last = [], [0.0]

    def tick():  # how late a 50 ms timer fires while training: what a key press would wait
        now = time.perf_counter()
        if last[0] and app.session.runs and app.session.runs[0].status == "running":
            lags.append(now - last[0] - 0.05)
        last[0] = now

    async with app.run_test(size=(160, 48)) as pilot:
        app.set_interval(0.05, tick)
        await pilot.press("ctrl+r")
        while app.training or app.waiting or not app.session.runs:
            await app.workers.wait_for_complete()
            await pilot.pause()
        run = app.session.runs[0]
        lags.sort()
        print(json.dumps({"samples_per_s": run.samples_per_s, "status": run.status, "threads": ui_torch_threads(),
                          "lag_p95_ms": 1000 * lags[int(0.95 * (len(lags) - 1))], "lag_max_ms": 1000 * lags[-1]}))

asyncio.run(main())
"""


def measure(script: str, raw: dict[str, str], env: dict[str, str]) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", script, json.dumps(raw)], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def throughput(raw: dict[str, str], repeats: int, env: dict[str, str]) -> None:
    headless: list[float] = []
    in_app: list[float] = []
    for i in range(repeats):
        h = measure(HEADLESS, raw, env)
        a = measure(IN_APP, raw, env)
        headless.append(h["samples_per_s"])
        in_app.append(a["samples_per_s"])
        print(f"  round {i + 1}: headless {h['samples_per_s']:8.0f} samples/s ({h['status']}, torch threads "
              f"{h['threads']}) | "
              f"app {a['samples_per_s']:8.0f} samples/s ({a['status']}, torch threads {a['threads']}) | "
              f"UI timer lag p95 {a['lag_p95_ms']:.0f} ms, max {a['lag_max_ms']:.0f} ms")
    h_med, a_med = statistics.median(headless), statistics.median(in_app)
    print(f"throughput: headless {h_med:.0f} samples/s, app {a_med:.0f} samples/s, "
          f"ratio {a_med / h_med:.3f} (goal >= 0.90)")


def _read_until(fd: int, needle: bytes, timeout: float) -> bool:
    """Read a pty until ``needle`` has appeared (True) or the time is up / the process is gone (False)."""
    seen = b""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        ready, _, _ = select.select([fd], [], [], 0.02)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return False
        if not chunk:
            return False
        seen = (seen + chunk)[-200_000:]
        if needle in seen:
            return True
    return False


def _drain_until_exit(proc: subprocess.Popen[bytes], fd: int, timeout: float) -> float | None:
    """Keep reading the pty (so the app never blocks on output) until the process exits."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            return time.perf_counter() - start
        ready, _, _ = select.select([fd], [], [], 0.02)
        if ready:
            try:
                os.read(fd, 65536)
            except OSError:
                pass
    return None


def first_frame_and_quit(raw: dict[str, str], env: dict[str, str]) -> None:
    """The real ``lrtui`` in a pseudo-terminal: time to the first frame, then ctrl+q during a run."""
    import fcntl
    import struct
    import termios

    exe = shutil.which("lrtui")
    cmd = [exe] if exe else [sys.executable, "-m", "lrtui"]
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in raw.items() if k in ("lr", "epochs", "train_limit")]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    start = time.perf_counter()
    proc = subprocess.Popen([*cmd, *flags], stdin=slave, stdout=slave, stderr=slave, env={**env, "TERM": "xterm-256color"},
                            close_fds=True, start_new_session=True)
    os.close(slave)
    try:
        shown = _read_until(master, b"parameters", timeout=20)
        first = time.perf_counter() - start
        print(f"first frame: {first:.2f} s after start (goal < 1.5 s)" if shown else "first frame: never seen")
        os.write(master, b"\x12")  # ctrl+r: start a run
        trained = _read_until(master, b"batch:", timeout=60)
        print("  run started, its first log line is on screen" if trained else "  run did not log in 60 s")
        time.sleep(0.5)
        os.write(master, b"\x11")  # ctrl+q
        took = _drain_until_exit(proc, master, timeout=15)
        print(f"quit during a run: process gone {took:.2f} s after ctrl+q (goal < 2 s), exit code {proc.returncode}"
              if took is not None else "quit during a run: still running after 15 s")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", default="1")
    parser.add_argument("--train-limit", default="")
    parser.add_argument("--batch-size", default="10")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    raw = {"lr": "0.01", "epochs": args.epochs, "batch_size": args.batch_size, "device": "cpu",
           "train_limit": args.train_limit}
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "LRTUI_HOME": home}
        print(f"config: {raw}, {os.cpu_count()} cores")
        throughput(raw, args.repeats, env)
        first_frame_and_quit({**raw, "epochs": "3"}, env)


if __name__ == "__main__":
    main()
