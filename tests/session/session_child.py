"""A second lrtui process for the shared-session tests: it opens a session and writes runs through the real API.

Events are the engine's own dataclasses, built by hand (no training needed to exercise the store).

    python session_child.py add FOLDER N GO_FILE   wait for GO_FILE, then add and finish N runs; print their ids
    python session_child.py slow FOLDER            add one run and start it; then obey stdin lines:
                                                   ``epoch`` (one more epoch), ``end``, ``close``, ``beat``
    python session_child.py spin FOLDER            add one run and save epochs as fast as it can, printing each
Options (before the mode): ``--host NAME`` plays a process on another machine (a folder shared over NFS).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    if argv[0] == "--host":
        import lrtui.sessions.writers

        lrtui.sessions.writers.HOST = argv[1]
        argv = argv[2:]
    from lrtui.engine.config import parse_configs
    from lrtui.engine.events import EpochEnd, RunEnd, RunStarted, Verdict
    from lrtui.sessions.listing import load_session

    mode, folder = argv[0], Path(argv[1])
    session = load_session(folder)
    config = parse_configs({"lr": "0.01", "epochs": "1000", "train_limit": "100", "device": "cpu"})[0]

    def start() -> str:
        record = session.add(config)
        session.observe(RunStarted(record.id, config, "cpu", "test CPU", 100, 25, 1000, 10, 10))
        return record.id

    def epoch(run_id: str, n: int) -> None:
        session.observe(EpochEnd(run_id, n, 2.0 / n, 0.1 * (n % 10), 2.1 / n, 0.1 * (n % 10), 0.01, (2.0, 1.9)))

    def end(run_id: str, n: int) -> None:
        session.observe(RunEnd(run_id, "finished", Verdict("converged", "it learned", "none"), None, 0.5, 200.0, n))

    if mode == "add":
        go = Path(argv[3])
        while not go.exists():
            time.sleep(0.005)
        for _ in range(int(argv[2])):
            run_id = start()
            epoch(run_id, 1)
            end(run_id, 1)
            print(run_id, flush=True)
        session.close()
    elif mode == "slow":
        run_id, n = start(), 0
        print(f"started {run_id}", flush=True)
        for line in sys.stdin:
            word = line.strip()
            if word == "epoch":
                n += 1
                epoch(run_id, n)
            elif word == "end":
                end(run_id, n)
            elif word == "beat":
                session.heartbeat()
            elif word == "close":
                session.close()
            print(f"done {word}", flush=True)
    elif mode == "spin":
        run_id = start()
        print(f"started {run_id}", flush=True)
        for n in range(1, 1_000_000):
            epoch(run_id, n)
            print(n, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
