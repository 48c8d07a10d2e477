"""The bank's own voice, as a vendor's TTS engine would plug in: here espeak-ng
at the bank's chosen speed (a vendor calls their speech service instead)."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from voice.espeak import EspeakEngine


class ExampleVoiceSettings(BaseModel):
    """What a chain entry ``{name: example-voice, settings: {...}}`` may set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    speed: int = Field(default=150, ge=80, le=450, description="words per minute")


class ExampleVoice:
    """A TTS engine: an ``identity`` that changes whenever its sound would, and
    an async ``synthesize`` that writes a WAV file."""

    offline = True  # never sends text off the machine: may speak customer data

    def __init__(self, settings: ExampleVoiceSettings) -> None:
        self._espeak = EspeakEngine(voice="pl", speed=settings.speed)

    @property
    def identity(self) -> str:
        return f"example-voice 1 ({self._espeak.identity})"

    async def synthesize(self, text: str, out: Path) -> None:
        await self._espeak.synthesize(text, out)
