"""infolinia's Asterisk ARI (Stasis) application: connection, one task per call, flows."""

from importlib.metadata import PackageNotFoundError, version

try:  # pyproject.toml is the one place the version is written
    __version__ = version("infolinia")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
