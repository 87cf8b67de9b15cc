"""The first frame must not wait for torch (seconds to import): the app's import path stays torch-free."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_app_does_not_import_torch() -> None:
    code = (
        "import sys, lrtui.tui.app, lrtui.tui.screens.find_lr\n"
        "heavy = sorted(m for m in ('torch', 'torchvision', 'sklearn', 'mlxtend') if m in sys.modules)\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
