"""The interface every text-to-speech engine implements.

An engine that needs no network may say so with a class attribute
``offline = True``; only such an engine may speak customer data
(:mod:`voice.live`). An engine that does not say so is treated as online.
"""

from pathlib import Path
from typing import Protocol


class SynthesisError(Exception):
    """An engine could not turn a text into audio.

    The message says why (unreachable, HTTP 429, not installed...) and never
    contains the text. ``retry_after`` is how long the engine asked to be left
    alone (an HTTP ``Retry-After``), when it said so.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TtsEngine(Protocol):
    """Turns Polish text into an audio file that ffmpeg can read."""

    @property
    def identity(self) -> str:
        """Everything about this engine that changes the audio (name, version,
        voice, speed), as one string; part of every cache key."""
        ...

    async def synthesize(self, text: str, out: Path) -> None:
        """Write ``text`` spoken to ``out`` (any format ffmpeg reads);
        raise :class:`SynthesisError` when it cannot."""
        ...
