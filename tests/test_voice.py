"""Speech: espeak-ng synthesis, conversion for Asterisk, the prompt cache."""

import asyncio
import math
import struct
import wave
from pathlib import Path

import pytest

from voice.cache import PromptCache
from voice.convert import convert_for_asterisk
from voice.espeak import EspeakEngine
from voice.prompts import PromptBook

pytestmark = pytest.mark.unit


def write_tone(path: Path, hz: float, rate: int = 24000, seconds: float = 0.5) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        frames = (
            int(12000 * math.sin(2 * math.pi * hz * n / rate)) for n in range(int(rate * seconds))
        )
        out.writeframes(b"".join(struct.pack("<h", v) for v in frames))


def rms(samples: list[int]) -> float:
    return math.sqrt(sum(v * v for v in samples) / max(1, len(samples)))


def wav_samples(path: Path) -> tuple[int, list[int]]:
    with wave.open(str(path), "rb") as audio:
        assert audio.getnchannels() == 1 and audio.getsampwidth() == 2
        raw = audio.readframes(audio.getnframes())
        return audio.getframerate(), list(struct.unpack(f"<{len(raw) // 2}h", raw))


class CountingEngine:
    """An engine that writes a tone and counts how often it was asked."""

    identity = "counting-engine 1"

    def __init__(self) -> None:
        self.calls = 0

    async def synthesize(self, text: str, out: Path) -> None:
        self.calls += 1
        await asyncio.sleep(0.05)  # long enough for concurrent requests to overlap
        write_tone(out, 440)


def test_conversion_writes_16k_sln16_and_8k_wav_side_by_side(tmp_path: Path) -> None:
    source = tmp_path / "in.wav"
    write_tone(source, 440, rate=24000, seconds=1.0)
    base = tmp_path / "prompt"
    convert_for_asterisk(source, base)
    rate, samples = wav_samples(base.with_suffix(".wav"))
    assert rate == 8000
    assert len(samples) == pytest.approx(8000, rel=0.01)
    sln16 = base.with_suffix(".sln16").read_bytes()
    assert len(sln16) / 2 == pytest.approx(16000, rel=0.01)  # raw 16-bit at 16 kHz: 1 s
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "prompt.sln16", "prompt.wav"]
    assert base.with_suffix(".wav").stat().st_mode & 0o777 == 0o644


def test_resampling_filters_what_8k_cannot_carry(tmp_path: Path) -> None:
    """A 6 kHz tone cannot exist at 8 kHz; without an anti-alias filter it
    would fold to 2 kHz at nearly full strength."""
    source = tmp_path / "tone.wav"
    write_tone(source, 6000)
    convert_for_asterisk(source, tmp_path / "tone8k")
    _, original = wav_samples(source)
    _, narrow = wav_samples((tmp_path / "tone8k").with_suffix(".wav"))
    assert rms(narrow) < 0.05 * rms(original)


async def test_espeak_speaks_polish_into_the_cache(tmp_path: Path) -> None:
    engine = EspeakEngine(voice="pl", speed=200)
    assert engine.identity.startswith("espeak-ng ") and "voice=pl speed=200" in engine.identity
    cache = PromptCache(tmp_path, engine)
    base = await cache.render("Dzień dobry, tu infolinia banku.")
    rate, samples = wav_samples(base.with_suffix(".wav"))
    assert rate == 8000
    assert len(samples) / rate > 1.0  # a real sentence, not a click
    assert rms(samples) > 300  # and not silence
    assert base.parent.parent == tmp_path and base.name.startswith(base.parent.name)
    assert cache.cached("Dzień   dobry, tu infolinia banku. ") == base  # spacing does not matter


def test_cache_key_covers_text_and_engine_identity(tmp_path: Path) -> None:
    slow = PromptCache(tmp_path, EspeakEngine(voice="pl", speed=150))
    fast = PromptCache(tmp_path, EspeakEngine(voice="pl", speed=250))
    assert slow.key("Do widzenia.") != fast.key("Do widzenia.")
    assert slow.key("Do widzenia.") != slow.key("Do widzenia!")
    assert slow.key("Do  widzenia.") == slow.key("Do widzenia.")


async def test_concurrent_requests_for_one_text_synthesize_once(tmp_path: Path) -> None:
    engine = CountingEngine()
    cache = PromptCache(tmp_path, engine)
    results = await asyncio.gather(*(cache.render("Ten sam tekst.") for _ in range(5)))
    assert engine.calls == 1
    assert len(set(results)) == 1
    await cache.render("Ten sam tekst.")
    assert engine.calls == 1  # a cache hit
    leftovers = [p.name for p in tmp_path.rglob(".*")]
    assert leftovers == []  # no temporary files left behind


async def test_prompt_book_renders_everything_and_gives_media_uris(tmp_path: Path) -> None:
    engine = CountingEngine()
    book = PromptBook(
        {"greeting": "Dzień dobry.", "goodbye": "Do widzenia."}, PromptCache(tmp_path, engine)
    )
    await book.render_all()
    assert engine.calls == 2
    uri = book.media("greeting")
    assert uri.startswith(f"sound:{tmp_path}/") and not uri.endswith((".wav", ".sln16"))
    with pytest.raises(KeyError, match="not rendered"):
        book.media("missing")
