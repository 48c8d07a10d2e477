"""The interface every text-to-speech engine implements."""

from pathlib import Path
from typing import Protocol


class SynthesisError(Exception):
    """An engine could not turn a text into audio."""


class TtsEngine(Protocol):
    """Turns Polish text into an audio file that ffmpeg can read."""

    @property
    def identity(self) -> str:
        """Everything about this engine that changes the audio (name, version,
        voice, speed), as one string; part of every cache key."""
        ...

    async def synthesize(self, text: str, out: Path) -> None:
        """Write ``text`` spoken to ``out`` (any format ffmpeg reads)."""
        ...
