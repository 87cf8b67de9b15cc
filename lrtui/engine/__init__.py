"""The training engine: pure torch, no UI imports.

Flow: a validated :class:`~lrtui.engine.config.RunConfig` goes into
:func:`lrtui.engine.trainer.train`, which emits typed events
(:mod:`lrtui.engine.events`) through one callback. Front ends (the Textual app,
the headless CLI) and the session store are consumers of those events.

Nothing in this package imports torch at module import time except ``data``,
``model``, ``trainer``, ``lrfind`` and ``sweep``; ``config``, ``events`` and
``verdict`` stay importable before the UI's first frame.
"""
