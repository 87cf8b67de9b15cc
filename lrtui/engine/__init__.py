"""The training engine: pure torch, no UI imports.

Flow: a validated :class:`~lrtui.engine.config.RunConfig` goes into
:func:`lrtui.engine.trainer.train` (one run) or :func:`lrtui.engine.sweep.run_many`
(any list of runs), which emit typed events (:mod:`lrtui.engine.events`) through one
callback. Front ends (the Textual app, the headless CLI) and the session store are
consumers of those events. Every run, stacked sweep and range test trains through the
one batch loop of :mod:`lrtui.engine.loop`, with a step from :mod:`lrtui.engine.steps`.

Nothing in this package imports torch at module import time except ``data``,
``diagnostics``, ``loop``, ``lrfind``, ``model``, ``probe``, ``stack_choice``,
``stacked_model``, ``steps``, ``sweep`` and ``trainer``; ``config``, ``events``,
``schedule`` and ``verdict`` stay importable before the UI's first frame (``idx``
needs numpy only).
"""
