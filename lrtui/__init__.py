"""lrtui: learn what the learning rate does to training, in the terminal."""

__version__ = "0.1.0"
