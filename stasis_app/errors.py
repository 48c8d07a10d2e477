"""Exceptions of the Stasis application.

The whole tree::

    InfoliniaError
    ├── ConfigError            a config file or setting is wrong (names file and field)
    ├── PlaybackFailed         Asterisk could not play a prompt (missing or unreadable file)
    └── AriError               talking to Asterisk failed
        ├── CallHungUp         the caller's channel is gone; unwinds the call's task
        ├── AriUnavailable     Asterisk did not answer (down, restarting, timed out)
        └── AriRequestFailed   Asterisk answered a request with an error
            └── AriRefusedLogin  ...refusing our user and password at the first connect

Only :mod:`stasis_app.ari` raises the ``AriError`` family: it turns aiohttp's and
aioari's exceptions into these, so nothing else needs to know about them.
"""


class InfoliniaError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(InfoliniaError):
    """A configuration problem, with the file and field it is about."""

    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file = file
        self.field = field
        self.problem = problem
        super().__init__(f"{file}: {field}: {problem}")


class PlaybackFailed(InfoliniaError):
    """Asterisk reported a prompt as failed: the caller did not hear it."""


class AriError(InfoliniaError):
    """Talking to Asterisk over ARI failed."""


class CallHungUp(AriError):
    """The call's channel has hung up or no longer exists."""


class AriUnavailable(AriError):
    """Asterisk did not answer (connection refused, dropped or timed out)."""


class AriRequestFailed(AriError):
    """Asterisk answered an ARI request with an error status."""

    def __init__(self, status: int, operation: str, detail: str = "") -> None:
        self.status = status
        self.operation = operation
        super().__init__(f"ARI {operation} failed with HTTP {status} {detail}".rstrip())


class AriRefusedLogin(AriRequestFailed):
    """Asterisk refused the ARI user and password before the app ever
    connected: a configuration error, so start-up stops (a later refusal,
    e.g. a password rotated on the Asterisk side, is retried like an outage)."""
