"""``python -m lrtui`` is the same as the ``lrtui`` console script."""

from lrtui.cli import main

raise SystemExit(main())
