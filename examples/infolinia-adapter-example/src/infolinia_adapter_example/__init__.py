"""An example infolinia adapter (see README.md)."""

__version__ = "0.1.0"
