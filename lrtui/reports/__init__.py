"""Products of a session: Markdown and HTML reports (with SVG charts), CSV and TensorBoard exports."""
