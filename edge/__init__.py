"""edge: photos -> a fast, verified image classifier on a Raspberry Pi or a laptop."""

__version__ = "0.1.0"
