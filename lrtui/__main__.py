"""``python -m lrtui`` and the ``lrtui`` console script.

Ctrl+C while the interpreter is still importing lrtui (a fraction of a second, longer on a
busy machine) ends with one line, like Ctrl+C at any later moment, never a traceback.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_early(signum: int, frame: object) -> None:
    os.write(2, b"lrtui: interrupted\n")
    os._exit(128 + signum)


def entry() -> int:
    """Import the CLI with Ctrl+C answered in one line, then hand Ctrl+C back to the CLI's own handling."""
    previous = signal.signal(signal.SIGINT, _interrupted_early)
    from lrtui.cli import main

    signal.signal(signal.SIGINT, previous)
    code = main()
    if code == 128 + signal.SIGINT:
        # Ctrl+C may have cut an import (torch's) short: the interpreter's teardown of a half-loaded
        # extension can die of the same signal (exit -2). The one line is printed; leave now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(entry())
