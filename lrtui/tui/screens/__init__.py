"""Dialogs pushed over the main screen: help, a run's details, the LR finder."""
