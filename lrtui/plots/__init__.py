"""Drawing for the terminal: charts (plotext), palette and axes, cell formatting, seed grouping, printout.

Used by the app, the CLI and the reports; reads run records, never writes them.
"""
