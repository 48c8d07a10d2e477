"""infolinia's Asterisk ARI (Stasis) application: connection, one task per call, flows."""

__version__ = "0.1.0"
