"""An online TTS engine's stand-in, for the real calls of issue 25: load it
with ``INFOLINIA_PLUGINS=tests.support.online_standin`` (the tests' app and
the tests' own in-process deployments do) and put
``{name: online-standin, settings: {record: FILE}}`` first in a chain.

It is not marked offline (``offline`` is False, as gTTS's), so the app
treats it as an online service: only texts that may go online reach it.
It writes every text it is asked to render to ``record`` (one JSON string a
line), as an online service's request log would show it, and sends nothing
anywhere: the audio is espeak-ng's, with the test config's voice and speed,
so it shares espeak-ng's identity and cache keys (its renderings sound
exactly alike), and test prompts are not rendered twice."""

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from voice.espeak import EspeakEngine
from voice.hookspecs import EngineFactory, hookimpl

NAME = "online-standin"


class StandinSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    record: Path


class OnlineStandin:
    offline = False  # an online engine: never asked to speak customer data

    def __init__(self, settings: StandinSettings) -> None:
        self.record = settings.record
        self.voice = EspeakEngine(voice="pl", speed=300)

    @property
    def identity(self) -> str:
        return self.voice.identity

    async def synthesize(self, text: str, out: Path) -> None:
        self.record.parent.mkdir(parents=True, exist_ok=True)
        with self.record.open("a", encoding="utf-8") as requests:
            requests.write(json.dumps(text, ensure_ascii=False) + "\n")
        await self.voice.synthesize(text, out)


def requested(record: Path) -> list[str]:
    """Every text the stand-in writing ``record`` was asked to render."""
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]


@hookimpl
def infolinia_register_engines() -> list[EngineFactory]:
    return [
        EngineFactory(NAME, StandinSettings, OnlineStandin, "an online engine's stand-in, tests")
    ]
