"""The Textual front end: the main screen and its dialogs, a view of the runner.

Nothing here trains: the form is validated with the engine's own ``parse_configs``, the
configs go to :class:`lrtui.runner.Runner` (which trains on a thread of its own), and the
runner's events come back as messages that the screen folds into the log, the charts and the
runs table. Torch is imported only on the runner's thread and the device probe's worker, so
the first frame appears before it loads.
"""
