"""The TTS engines that ship with infolinia, registered through the same
hook as any plugin's (:mod:`voice.hookspecs`)."""

from voice.espeak import EspeakEngine, EspeakSettings
from voice.gtts_engine import GttsEngine, GttsSettings
from voice.hookspecs import EngineFactory, hookimpl
from voice.neural import PiperEngine, PiperSettings, VoiceFileError
from voice.registry import EngineSetupError


def _espeak(settings: EspeakSettings) -> EspeakEngine:
    return EspeakEngine(voice=settings.voice, speed=settings.speed)


def _gtts(settings: GttsSettings) -> GttsEngine:
    return GttsEngine(
        lang=settings.lang, tld=settings.tld, slow=settings.slow, timeout=settings.timeout
    )


def _piper(settings: PiperSettings) -> PiperEngine:
    try:
        return PiperEngine(
            settings.model,
            settings.config,
            espeak_voice=settings.espeak_voice,
            speaker=settings.speaker,
            speed=settings.speed,
            threads=settings.threads,
        )
    except VoiceFileError as exc:  # names the setting at fault, not the engine
        raise EngineSetupError(exc.field, str(exc)) from None


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
        EngineFactory(
            name="piper",
            settings=PiperSettings,
            create=_piper,
            description="a Piper neural voice the bank supplies, offline (sherpa-onnx)",
        ),
    ]
