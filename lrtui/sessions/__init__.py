"""Storage: the session store shared by processes (files, store, follow, listing, schema, writers), run records,
safe outputs.

Imports the engine's pure modules (config, events) and nothing that draws: the runner, the
front ends and the reports sit above it.
"""
