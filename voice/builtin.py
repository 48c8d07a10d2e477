"""The TTS engines that ship with infolinia, registered through the same
hook as any plugin's (:mod:`voice.hookspecs`)."""

from voice.espeak import EspeakEngine, EspeakSettings
from voice.gtts_engine import GttsEngine, GttsSettings
from voice.hookspecs import EngineFactory, hookimpl


def _espeak(settings: EspeakSettings) -> EspeakEngine:
    return EspeakEngine(voice=settings.voice, speed=settings.speed)


def _gtts(settings: GttsSettings) -> GttsEngine:
    return GttsEngine(
        lang=settings.lang, tld=settings.tld, slow=settings.slow, timeout=settings.timeout
    )


@hookimpl
def infolinia_register_engines() -> list[EngineFactory]:
    return [
        EngineFactory(
            name="espeak-ng",
            settings=EspeakSettings,
            create=_espeak,
            description="offline, robotic but clear (Debian package espeak-ng)",
        ),
        EngineFactory(
            name="gtts",
            settings=GttsSettings,
            create=_gtts,
            description="Google Translate's voice, online: never speaks customer data",
        ),
    ]
