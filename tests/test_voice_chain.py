"""Engine chains: fallback in order, one warning per outage, the cache keyed
by the engine that spoke, recovery, and the shipped apology when none can."""

import asyncio
import logging
import math
import struct
import wave
from pathlib import Path

import pytest

from voice import apology
from voice.cache import PromptCache
from voice.chain import AllEnginesFailed, EngineChain, EngineHealth
from voice.convert import is_complete
from voice.engine import SynthesisError
from voice.espeak import EspeakEngine
from voice.gtts_engine import GttsEngine
from voice.live import LiveSpeech
from voice.prompts import PromptBook

pytestmark = pytest.mark.unit

FAILED = "TTS engine failed; the next engine of the chain speaks until it is retried"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ToneEngine:
    """Speaks every text as a tone of its own pitch, or fails while ``down``."""

    def __init__(self, name: str, hz: int, *, offline: bool = False) -> None:
        self.name = name
        self.hz = hz
        self.offline = offline
        self.down = False
        self.texts: list[str] = []

    @property
    def identity(self) -> str:
        return f"{self.name} 1"

    async def synthesize(self, text: str, out: Path) -> None:
        self.texts.append(text)
        await asyncio.sleep(0.01)  # concurrent renders overlap, as with a network
        if self.down:
            raise SynthesisError(f"{self.name} is unreachable")
        rate = 8000
        with wave.open(str(out), "wb") as audio:
            audio.setnchannels(1)
            audio.setsampwidth(2)
            audio.setframerate(rate)
            audio.writeframes(
                b"".join(
                    struct.pack("<h", int(8000 * math.sin(2 * math.pi * self.hz * n / rate)))
                    for n in range(rate // 10)
                )
            )


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def online() -> ToneEngine:
    return ToneEngine("cloud", 440)


@pytest.fixture
def offline() -> ToneEngine:
    return ToneEngine("local", 660, offline=True)


@pytest.fixture
def cache(tmp_path: Path, clock: FakeClock, online: ToneEngine, offline: ToneEngine) -> PromptCache:
    health = EngineHealth(cooloff=60, max_cooloff=600, clock=clock)
    return PromptCache(tmp_path, EngineChain([online, offline], health))


async def test_the_first_engine_speaks_when_it_can(
    cache: PromptCache, online: ToneEngine, offline: ToneEngine
) -> None:
    base = await cache.render("Dzień dobry.")
    assert base == cache.base_path("Dzień dobry.", online) == cache.base_path("Dzień dobry.")
    assert online.texts == ["Dzień dobry."] and offline.texts == []


async def test_when_the_first_fails_the_next_speaks_under_its_own_key(
    cache: PromptCache, online: ToneEngine, offline: ToneEngine
) -> None:
    online.down = True
    base = await cache.render("Dzień dobry.")
    assert base == cache.base_path("Dzień dobry.", offline) != cache.base_path("Dzień dobry.")
    assert cache.engine_of("Dzień dobry.", base) is offline
    assert cache.cached("Dzień dobry.") == base
    assert not is_complete(cache.base_path("Dzień dobry.", online))  # not taken for cloud audio


async def test_an_outage_over_a_whole_prompt_book_is_one_warning(
    cache: PromptCache,
    online: ToneEngine,
    offline: ToneEngine,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def quick_convert(raw: Path, base: Path, fragment: object = None) -> None:  # not about ffmpeg
        for ext in (".wav", ".sln16"):
            base.with_suffix(ext).write_bytes(raw.read_bytes())

    monkeypatch.setattr("voice.cache.convert_for_asterisk", quick_convert)
    online.down = True
    texts = {f"p{n}": f"Komunikat numer {n}." for n in range(120)}
    book = PromptBook(texts, cache)
    with caplog.at_level(logging.INFO):
        await book.render_all(workers=2)
    assert warnings(caplog) == [FAILED]
    [record] = [r for r in caplog.records if r.getMessage() == FAILED]
    assert record.__dict__["engine"] == "cloud 1"
    assert record.__dict__["error"] == "cloud is unreachable"
    assert len(online.texts) == 2  # the two workers' first tries; then it rests
    assert len(offline.texts) == 120
    assert book.engines_used() == {"local 1": 120}


async def test_a_rested_engine_is_probed_once_and_backs_off_while_it_still_fails(
    cache: PromptCache, clock: FakeClock, online: ToneEngine, caplog: pytest.LogCaptureFixture
) -> None:
    online.down = True
    with caplog.at_level(logging.WARNING):
        await cache.render("jeden")
        clock.now += 59
        await cache.render("dwa")
        assert online.texts == ["jeden"]  # resting: skipped without a word
        clock.now += 2
        await asyncio.gather(cache.render("trzy"), cache.render("cztery"))
        assert online.texts == ["jeden", "trzy"]  # one probe, not one per render
        clock.now += 61
        await cache.render("pięć")
        assert len(online.texts) == 2  # the cool-off doubled to 120 s
        clock.now += 60
        await cache.render("sześć")
    assert online.texts == ["jeden", "trzy", "sześć"]
    assert warnings(caplog) == [FAILED, "TTS engine still failing", "TTS engine still failing"]
    assert [r.__dict__["retry_in"] for r in caplog.records][1:] == [120.0, 240.0]


async def test_once_it_is_back_prompts_are_rendered_again_by_the_first_engine(
    cache: PromptCache,
    clock: FakeClock,
    online: ToneEngine,
    offline: ToneEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    online.down = True
    fallback = await cache.render("Do widzenia.")
    online.down = False
    assert await cache.render("Do widzenia.") == fallback  # still resting: the cached fallback
    clock.now += 61
    with caplog.at_level(logging.INFO):
        again = await cache.render("Do widzenia.")
    assert again == cache.base_path("Do widzenia.", online) != fallback
    assert cache.cached("Do widzenia.") == again
    assert "TTS engine back" in [r.getMessage() for r in caplog.records]
    assert offline.texts == ["Do widzenia."]


async def test_an_engine_that_raises_anything_is_a_failure_named_by_type_only(
    tmp_path: Path, offline: ToneEngine, caplog: pytest.LogCaptureFixture
) -> None:
    class Buggy:
        identity = "buggy 1"

        async def synthesize(self, text: str, out: Path) -> None:
            raise RuntimeError(f"cannot say {text}")

    cache = PromptCache(tmp_path, EngineChain([Buggy(), offline]))
    with caplog.at_level(logging.WARNING):
        base = await cache.render("Saldo wynosi")
    assert cache.engine_of("Saldo wynosi", base) is offline
    assert caplog.records[0].__dict__["error"] == "RuntimeError"


async def test_an_outage_is_shared_by_every_chain_with_that_engine(
    tmp_path: Path, online: ToneEngine, offline: ToneEngine, caplog: pytest.LogCaptureFixture
) -> None:
    health = EngineHealth()
    one = PromptCache(tmp_path, EngineChain([online, offline], health))
    other = PromptCache(tmp_path, EngineChain([online, ToneEngine("other", 550)], health))
    online.down = True
    with caplog.at_level(logging.WARNING):
        await one.render("raz")
        await other.render("dwa")
    assert warnings(caplog) == [FAILED]
    assert online.texts == ["raz"]


async def test_when_every_engine_fails_the_book_plays_the_shipped_apology(
    tmp_path: Path, online: ToneEngine, offline: ToneEngine, caplog: pytest.LogCaptureFixture
) -> None:
    online.down = offline.down = True
    cache = PromptCache(tmp_path, EngineChain([online, offline]))
    with pytest.raises(AllEnginesFailed, match=r"cloud 1 \(down\), local 1 \(down\)"):
        await cache.render("Witamy.")
    book = PromptBook({"greeting": "Witamy.", "menu": "Naciśnij jeden."}, cache)
    with caplog.at_level(logging.WARNING):
        await book.render_all()
    shipped = tmp_path / "shipped" / "apology"
    assert book.media("greeting") == book.media("menu") == f"sound:{shipped}"
    for ext in (".sln16", ".wav"):
        copy = shipped.with_suffix(ext)
        assert copy.read_bytes() == apology.SHIPPED.with_suffix(ext).read_bytes()
        assert copy.stat().st_mode & 0o777 == 0o644
    assert warnings(caplog) == [
        FAILED,
        FAILED,
        "some prompts could not be rendered (no engine could, or no room); "
        "they play the shipped apology",
    ]
    assert book.engines_used() == {"apology": 2}


def test_the_shipped_apology_is_in_the_format_asterisk_plays(tmp_path: Path) -> None:
    with wave.open(str(apology.SHIPPED.with_suffix(".wav")), "rb") as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        seconds = audio.getnframes() / 8000
        samples = struct.unpack(f"<{audio.getnframes()}h", audio.readframes(audio.getnframes()))
    assert 2 < seconds < 10
    assert math.sqrt(sum(v * v for v in samples) / len(samples)) > 300  # speech, not silence
    sln16 = apology.SHIPPED.with_suffix(".sln16").stat().st_size
    assert sln16 / (2 * 16000) == pytest.approx(seconds, abs=0.05)
    # Installing twice leaves one intact copy.
    assert (
        apology.install(tmp_path) == apology.install(tmp_path) == apology.installed_base(tmp_path)
    )
    assert sorted(p.name for p in (tmp_path / "shipped").iterdir()) == [
        "apology.sln16",
        "apology.wav",
    ]


async def test_the_shipped_apology_is_what_its_script_renders(tmp_path: Path) -> None:
    await apology.regenerate(tmp_path / "apology")
    with wave.open(str(tmp_path / "apology.wav"), "rb") as fresh:
        fresh_seconds = fresh.getnframes() / fresh.getframerate()
    with wave.open(str(apology.SHIPPED.with_suffix(".wav")), "rb") as shipped:
        shipped_seconds = shipped.getnframes() / shipped.getframerate()
    # Byte equality would tie the test to one espeak-ng version.
    assert fresh_seconds == pytest.approx(shipped_seconds, rel=0.1)


def test_live_speech_takes_the_first_offline_engine_never_gtts(tmp_path: Path) -> None:
    espeak = EspeakEngine(voice="pl", speed=300)
    chain = EngineChain([GttsEngine(), espeak])
    assert chain.first_offline() is espeak
    with pytest.raises(SynthesisError, match="offline"):
        EngineChain([GttsEngine()]).first_offline()
    with pytest.raises(SynthesisError, match="offline"):
        LiveSpeech(tmp_path, GttsEngine())
    assert LiveSpeech(tmp_path, chain.first_offline()).engine is espeak
