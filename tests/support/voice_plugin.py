"""A third-party TTS engine as a plugin would ship it, for the tests: load it
with ``INFOLINIA_PLUGINS=tests.support.voice_plugin`` and name it in a chain
as ``{name: test-tone, settings: {hz: 440}}``. It speaks every text as a
short sine tone, offline."""

import math
import struct
import wave
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from voice.hookspecs import EngineFactory, hookimpl


class ToneSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hz: int = Field(default=440, gt=0, lt=4000)


class ToneEngine:
    offline = True

    def __init__(self, settings: ToneSettings) -> None:
        self.hz = settings.hz
        self.spoken: list[str] = []

    @property
    def identity(self) -> str:
        return f"test-tone 1 hz={self.hz}"

    async def synthesize(self, text: str, out: Path) -> None:
        self.spoken.append(text)
        rate = 16000
        with wave.open(str(out), "wb") as audio:
            audio.setnchannels(1)
            audio.setsampwidth(2)
            audio.setframerate(rate)
            audio.writeframes(
                b"".join(
                    struct.pack("<h", int(8000 * math.sin(2 * math.pi * self.hz * n / rate)))
                    for n in range(rate // 5)
                )
            )


@hookimpl
def infolinia_register_engines() -> list[EngineFactory]:
    return [EngineFactory("test-tone", ToneSettings, ToneEngine, "a sine tone, for tests")]
