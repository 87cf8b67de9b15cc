"""The Textual front end: one screen that turns engine events into widgets.

Nothing here trains: the app validates the form with the engine's own
``parse_configs``, hands configs to ``lrtui.engine.sweep.run_many`` in a thread
worker, and folds the events it gets back into the session, the log, the charts
and the runs table. Torch is imported only inside that worker, so the first
frame appears before it loads.
"""
