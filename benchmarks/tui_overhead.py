"""What the app costs: training speed inside the app vs headless, time to first frame, time to quit.

    python benchmarks/tui_overhead.py [--epochs 1] [--train-limit N] [--repeats 2]

1. Throughput: the same config trained by ``run_many`` with a consumer that does nothing
   (what ``lrtui run`` does minus printing) and inside the app (``run_test``, headless, the
   real worker, messages, log, charts and table). Each measurement runs in its own process
   (torch thread settings are per process), alternating, and the median samples/s of each
   is compared. Goal: app ≥ 0.95 × headless (the app coalesces its redraws: see
   ``lrtui.tui.redraw.REFRESH_S``). The app gives torch one thread less than the
   cores (for the UI), so headless is also measured with that many threads: that ratio is
   the cost of the UI itself.
   Then one more app run with instruments (left out of the throughput rounds: their own
   wakeups cost the training): a 50 ms UI timer measures how late it fires, and every 0.7 s
   a real key (1 or 2: switch the chart) is timed from the key event until the tab has
   switched, and until the new tab's chart is on the screen (if an epoch ended while it was
   hidden, its newest point follows from the charts' own thread). Goal: under 100 ms.
2. Keys on a saved session (no training), at 200x60, with 25 and with 256 runs: s (fold
   seeds, twice), l (log axis, twice), f and escape (full screen and back, twice), 2 (loss
   chart), space (hide a run, show it again) and down (select the next run), each timed from the
   key event until the last frame it caused is drawn (wall, and the process's CPU time meanwhile),
   with the chart builds and table rebuilds it caused. Goal: every key < 100 ms. Each session
   size runs in a process of its own, animations off (the glide of the tabs' underline would add
   frames for 0.3 s after a tab key's work is done).
3. Time to first frame of the real ``lrtui`` command in a pseudo-terminal (80x24): from
   process start until the parameters pane is on the screen. Goal: < 1.5 s. Then ctrl+q
   during a run: time until the process has exited. Goal: < 2 s.

``--only keys`` runs part 2 alone.
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
from collections.abc import Callable
from pathlib import Path

HEADLESS = """
import json, sys
import torch
if len(sys.argv) > 2:
    torch.set_num_threads(int(sys.argv[2]))
from lrtui.engine.config import parse_configs
from lrtui.engine.sweep import run_many
config = parse_configs(json.loads(sys.argv[1]))[0]
end = run_many([config], ["r1"], lambda event: None)[0]
print(json.dumps({"samples_per_s": end.samples_per_s, "status": end.status, "threads": torch.get_num_threads()}))
"""

IN_APP = """
import asyncio, json, sys, time
from lrtui.tui.app import LRTuiApp
from lrtui.tui.process import ui_torch_threads
from lrtui.tui.widgets.charts import Charts

PRESS_KEYS = len(sys.argv) > 2 and sys.argv[2] == "keys"


async def main():
    app = LRTuiApp(initial=json.loads(sys.argv[1]), detect_devices=False, cursor_blink=False)
    lags, last = [], [0.0]

    def tick():  # how late a 50 ms timer fires while training: what a key press would wait
        now = time.perf_counter()
        if last[0] and app.session.runs and app.session.runs[0].status == "running":
            lags.append(now - last[0] - 0.05)
        last[0] = now

    async with app.run_test(size=(160, 48)) as pilot:
        if PRESS_KEYS:  # the instruments run in the latency run only: their own wakeups would cost throughput
            app.set_interval(0.05, tick)
        await pilot.press("ctrl+r")
        # asyncio.sleep, not pilot.pause: a pause posts a callback to every widget and waits for the
        # screen (~1,600 messages a second at 20 pauses a second), a cost no real terminal session has
        keys, next_key, tab = [], time.perf_counter() + 1.0, 0
        while app.runner.busy or not app.runner.wait(0) or not app.session.runs:
            await asyncio.sleep(0.05)
            running = app.session.runs and app.session.runs[0].status == "running"
            if PRESS_KEYS and running and time.perf_counter() > next_key:  # a real key: switch the chart tab
                tab = 1 - tab
                charts = app.query_one(Charts)
                start = time.perf_counter()
                app.simulate_key("12"[tab])
                while charts.active != ("tab-accuracy", "tab-loss")[tab]:  # the key handled
                    await asyncio.sleep(0.002)
                handled = time.perf_counter()
                chart = charts.active_chart
                while chart._picture_of is None or chart._picture_of.size != tuple(chart.size):
                    await asyncio.sleep(0.002)  # that chart on the screen (its newest epoch may follow from its thread)
                keys.append((handled - start, time.perf_counter() - start))
                next_key = time.perf_counter() + 0.7
        await pilot.pause()
        run = app.session.runs[0]
        lags.sort()
        handled, drawn = sorted(k[0] for k in keys) or [0.0], sorted(k[1] for k in keys) or [0.0]
        print(json.dumps({"samples_per_s": run.samples_per_s, "status": run.status, "threads": ui_torch_threads(),
                          "lag_p95_ms": 1000 * lags[int(0.95 * (len(lags) - 1))] if lags else 0.0,
                          "lag_max_ms": 1000 * lags[-1] if lags else 0.0,
                          "keys": len(keys), "key_median_ms": 1000 * handled[len(handled) // 2],
                          "key_max_ms": 1000 * handled[-1], "drawn_median_ms": 1000 * drawn[len(drawn) // 2],
                          "drawn_max_ms": 1000 * drawn[-1]}))

asyncio.run(main())
"""


KEYS = """
import asyncio, json, math, statistics, sys, tempfile, time
from collections import Counter
from pathlib import Path
from lrtui.engine.config import RunConfig
from lrtui.engine.events import RunState
from lrtui.engine.records import EpochRecord
from lrtui.sessions.store import Session
from lrtui.tui.app import LRTuiApp
from lrtui.tui.widgets.charts import RunChart
from lrtui.tui.widgets.runs_table import RunsTable

N = int(sys.argv[1])
KEYS = ["s", "s", "l", "l", "f", "escape", "f", "escape", "2", "space", "space", "down", "1"]
REPEATS = 3
QUIET_S = 0.3  # no new frame for this long: the key is done


def saved_session(n):
    # n finished runs of 3 epochs (lrs from 0.5 down, seeds 0-2, four at a time side by side), no training
    session = Session.create(Path(tempfile.mkdtemp()))
    for i in range(n):
        lr = float(f"{0.5 / 1.3 ** (i % 40):.3g}")
        record = session.add(RunConfig(lr=lr, seed=i // 40 % 3, batch_size=(10, 32)[i // 120 % 2]))
        good = max(0.1, 0.95 - abs(math.log10(lr) + 2) / 3)
        record.status = RunState.FINISHED
        record.epochs = [EpochRecord(e, val_acc=good * e / 3, train_acc=good * e / 3, val_loss=2.3 * (1 - good * e / 3),
                                     train_loss=2.3 * (1 - good * e / 3), seconds=1.0) for e in (1, 2, 3)]
        record.batch_losses = [2.3 * (1 - good * b / 300) for b in range(300)]
        record.duration_s, record.started_at = 3.0, 1000.0 + 10 * (i // 4)
        record.ended_at = record.started_at + 5
    session.save()
    session.close()
    return session.file


async def main():
    counts = Counter()
    build, rebuild = RunChart._build, RunsTable.rebuild
    def counted_build(self, job):
        counts["chart builds"] += 1
        return build(self, job)
    def counted_rebuild(self, *args):
        counts["table rebuilds"] += 1
        return rebuild(self, *args)
    RunChart._build, RunsTable.rebuild = counted_build, counted_rebuild
    app = LRTuiApp(initial={"device": "cpu"}, session=str(saved_session(N)), detect_devices=False, cursor_blink=False)
    frames = []  # (wall, cpu) of each frame drawn
    display = app._display
    def timed_display(screen, renderable):
        display(screen, renderable)
        frames.append((time.perf_counter(), time.process_time()))
    app._display = timed_display
    times = {}
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        assert len(app.session.runs) == N and app.main.runs_table.row_count == N, "the session did not open"
        app.main.runs_table.focus()
        await pilot.pause()
        for _ in range(REPEATS):
            for i, key in enumerate(KEYS):
                await asyncio.sleep(QUIET_S)
                counts.clear()
                frames.clear()
                wall, cpu = time.perf_counter(), time.process_time()
                app.simulate_key(key)
                while (not frames or time.perf_counter() - frames[-1][0] < QUIET_S) and time.perf_counter() - wall < 5:
                    await asyncio.sleep(0.005)
                last = frames[-1] if frames else (wall, cpu)
                name = f"{key} ({KEYS[:i].count(key) + 1})" if KEYS.count(key) > 1 else key
                times.setdefault(name, []).append((1000 * (last[0] - wall), 1000 * (last[1] - cpu), dict(counts)))
    print(json.dumps({name: {"wall_median_ms": statistics.median(t[0] for t in v), "wall_max_ms": max(t[0] for t in v),
                             "cpu_median_ms": statistics.median(t[1] for t in v), "work": v[-1][2]}
                      for name, v in times.items()}))

asyncio.run(main())
"""


def keys(env: dict[str, str]) -> None:
    """Part 2: how long each key takes on a saved session of 25 and of 256 runs, and what work it did."""
    for n in (25, 256):
        out = subprocess.run(
            [sys.executable, "-c", KEYS, str(n)],
            capture_output=True,
            text=True,
            check=True,
            env={**env, "TEXTUAL_ANIMATIONS": "none"},
        )  # the tab underline's glide is no work
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"keys at 200x60, {n} runs (median of 3, from the key until the last frame it caused):")
        for name, r in result.items():
            work = ", ".join(f"{v} {k}" for k, v in r["work"].items()) or "no chart or table rebuilt"
            print(
                f"  {name:12} {r['wall_median_ms']:5.0f} ms (max {r['wall_max_ms']:4.0f}), "
                f"{r['cpu_median_ms']:5.0f} ms CPU; {work}"
            )


def measure(script: str, raw: dict[str, str], env: dict[str, str], *extra: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(raw), *extra], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def throughput(raw: dict[str, str], repeats: int, env: dict[str, str]) -> None:
    """Headless as ``lrtui run`` (torch's default threads), headless with the app's threads, and the app."""
    from lrtui.tui.process import ui_torch_threads

    runs: dict[str, list[float]] = {"headless": [], "headless, app threads": [], "app": []}
    for i in range(repeats):
        h = measure(HEADLESS, raw, env)
        t = measure(HEADLESS, raw, env, str(ui_torch_threads()))
        a = measure(IN_APP, raw, env)
        for name, m in zip(runs, (h, t, a)):
            runs[name].append(m["samples_per_s"])
        print(
            f"  round {i + 1}: headless {h['samples_per_s']:6.0f} samples/s ({h['threads']} threads) | "
            f"headless {t['samples_per_s']:6.0f} ({t['threads']} threads) | "
            f"app {a['samples_per_s']:6.0f} ({a['threads']} threads, {a['status']})"
        )
    med = {name: statistics.median(values) for name, values in runs.items()}
    print("throughput (median samples/s): " + ", ".join(f"{name} {value:.0f}" for name, value in med.items()))
    print(
        f"ratio app / headless lrtui run: {med['app'] / med['headless']:.3f} (goal >= 0.95); "
        f"app / headless with the same threads: {med['app'] / med['headless, app threads']:.3f}"
    )
    k = measure(IN_APP, raw, env, "keys")
    print(f"latency run: app {k['samples_per_s']:.0f} samples/s with the instruments below")
    print(
        f"keys while training (1 / 2 every 0.7 s, a run of its own): {k['keys']} keys handled in "
        f"{k['key_median_ms']:.0f} ms median, {k['key_max_ms']:.0f} ms max; the new tab's chart on the "
        f"screen {k['drawn_median_ms']:.0f} ms median, {k['drawn_max_ms']:.0f} ms max (goal < 100 ms); "
        f"UI timer lag p95 {k['lag_p95_ms']:.0f} ms, max {k['lag_max_ms']:.0f} ms"
    )


def _read_while(fd: int, proc: subprocess.Popen[bytes], done: Callable[[bytes], bool], timeout: float) -> float | None:
    """Keep reading a pty (so the app never blocks on its output) until ``done(output so far)``.

    Returns the seconds it took, or None when the time ran out.
    """
    seen = b""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if done(seen):
            return time.perf_counter() - start
        ready, _, _ = select.select([fd], [], [], 0.02)
        if ready:
            try:
                seen = (seen + os.read(fd, 65536))[-200_000:]
            except OSError:  # the process has closed the terminal
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
    sessions = Path(env["LRTUI_HOME"]) / "sessions"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(
        [*cmd, *flags],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**env, "TERM": "xterm-256color"},
        close_fds=True,
        start_new_session=True,
    )
    os.close(slave)
    try:
        first = _read_while(master, proc, lambda out: b"parameters" in out, timeout=20)
        print(
            f"first frame: {first:.2f} s after start (goal < 1.5 s)" if first is not None else "first frame: never seen"
        )
        os.write(master, b"\x12")  # ctrl+r: start a run; the session file says when it is running
        _read_while(
            master,
            proc,
            lambda out: any('"running"' in f.read_text() for f in sessions.glob("*/session.json")),
            timeout=60,
        )
        _read_while(master, proc, lambda out: False, timeout=1.0)  # a second into the run
        os.write(master, b"\x11")  # ctrl+q
        took = _read_while(master, proc, lambda out: proc.poll() is not None, timeout=15)
        print(
            f"quit during a run: process gone {took:.2f} s after ctrl+q (goal < 2 s), exit code {proc.returncode}"
            if took is not None
            else "quit during a run: still running after 15 s"
        )
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
    parser.add_argument("--only", choices=("keys",), help="run one part alone")
    args = parser.parse_args()
    raw = {
        "lr": "0.01",
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "device": "cpu",
        "train_limit": args.train_limit,
    }
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "LRTUI_HOME": home}
        print(f"config: {raw}, {os.cpu_count()} cores")
        if args.only == "keys":
            keys(env)
            return
        throughput(raw, args.repeats, env)
        keys(env)
        first_frame_and_quit({**raw, "epochs": "3"}, env)


if __name__ == "__main__":
    main()
