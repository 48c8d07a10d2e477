"""Numbers flow: each word fragment is cut to its speech and followed by the
short pause between words (voice.fragments), so an amount played word by word
is about as long as the same words spoken whole, with no stutter inside."""

import math
import struct
import wave
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydub import AudioSegment

from stasis_app.config import load_settings
from stasis_app.errors import ConfigError
from voice.cache import PromptCache
from voice.convert import convert_for_asterisk
from voice.espeak import EspeakEngine
from voice.fragments import DEFAULT_PAUSE_MS, FragmentShape
from voice.pauses import SpeechSpan, frame_levels, pcm_span, speech_span
from voice.polish import amount_words, date_words, digit_words, fragment_key
from voice.prompts import PromptBook

pytestmark = pytest.mark.unit

RATE = 16000  # the .sln16 Asterisk reads


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache folder for the module: each word is synthesized once."""
    return tmp_path_factory.mktemp("fragments")


def sln16_span(base: Path) -> SpeechSpan:
    span = pcm_span(base.with_suffix(".sln16").read_bytes(), RATE)
    assert span is not None
    return span


def tone(ms: int, rate: int = RATE) -> AudioSegment:
    samples = (int(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(rate * ms // 1000))
    return AudioSegment(
        b"".join(struct.pack("<h", v) for v in samples), frame_rate=rate, sample_width=2, channels=1
    )


def test_speech_span_finds_the_speech_and_the_longest_silence_inside() -> None:
    audio = AudioSegment.silent(100, RATE) + tone(200) + AudioSegment.silent(70, RATE)
    audio += tone(100) + AudioSegment.silent(300, RATE)
    span = speech_span(frame_levels(audio.raw_data, RATE))
    assert span == SpeechSpan(start_ms=100, end_ms=470, longest_pause_ms=70)
    assert speech_span(frame_levels(AudioSegment.silent(200, RATE).raw_data, RATE)) is None


def test_a_fragment_keeps_its_speech_a_margin_and_the_pause() -> None:
    audio = AudioSegment.silent(50, RATE) + tone(300) + AudioSegment.silent(330, RATE)
    cut = FragmentShape(pause_ms=40, margin_ms=5).cut(audio)
    assert len(cut) == 5 + 300 + 5 + 40
    span = speech_span(frame_levels(cut.raw_data, RATE))
    assert span is not None and span.start_ms == 5 and span.duration_ms == 300
    silent = AudioSegment.silent(200, RATE)
    assert len(FragmentShape().cut(silent)) == 200  # nothing to find: left alone


async def test_espeak_fragments_lose_the_third_of_a_second_after_each_word(
    tmp_path: Path,
) -> None:
    cache = PromptCache(tmp_path, EspeakEngine("pl", 165), FragmentShape(pause_ms=40))
    prompt = await cache.render("tysiąc")
    fragment = await cache.render("tysiąc", fragment=True)
    assert fragment != prompt  # a fragment and a prompt of the same text are two files
    as_prompt, as_fragment = sln16_span(prompt), sln16_span(fragment)
    prompt_ms = len(prompt.with_suffix(".sln16").read_bytes()) * 1000 // (2 * RATE)
    fragment_ms = len(fragment.with_suffix(".sln16").read_bytes()) * 1000 // (2 * RATE)
    assert prompt_ms - as_prompt.end_ms >= 250  # what the caller heard after every word
    assert as_fragment.start_ms <= 10
    assert fragment_ms - as_fragment.end_ms == pytest.approx(40 + 5, abs=6)
    assert as_fragment.duration_ms == pytest.approx(as_prompt.duration_ms, abs=10)  # no speech cut


def test_the_pause_is_part_of_a_fragments_key(tmp_path: Path) -> None:
    engine = EspeakEngine("pl", 165)
    short = PromptCache(tmp_path, engine, FragmentShape(pause_ms=40))
    long = PromptCache(tmp_path, engine, FragmentShape(pause_ms=80))
    assert short.key("zero", fragment=True) != long.key("zero", fragment=True)
    assert short.key("zero", fragment=True) != short.key("zero")
    assert short.key("zero") == long.key("zero")  # prompts do not change


async def test_the_prompt_book_renders_word_keys_as_fragments(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path, EspeakEngine("pl", 165))
    book = PromptBook({"zero": "zero", fragment_key("zero"): "zero"}, cache)
    await book.render_all()
    assert book.media(fragment_key("zero")) == f"sound:{cache.base_path('zero', fragment=True)}"
    assert book.media("zero") == f"sound:{cache.base_path('zero')}"
    assert book.media_uris()[fragment_key("zero")] == book.media(fragment_key("zero"))
    assert book.engines_used() == {cache.chain.engines[0].identity: 2}


@pytest.mark.parametrize(
    "words",
    [
        pytest.param(amount_words(Decimal("1234.56")), id="the demo balance"),
        pytest.param(amount_words(Decimal("987654.32")), id="a large amount"),
        pytest.param(digit_words("4821"), id="a card ending"),
        pytest.param(digit_words("482913"), id="a reference"),
        pytest.param(digit_words("20261206"), id="a long reference"),
        pytest.param(amount_words(Decimal("0.01")), id="one grosz"),
        pytest.param(date_words(date(2026, 11, 22)), id="a date"),
        pytest.param(digit_words("600123456"), id="a callback number"),
    ],
)
async def test_a_number_from_fragments_lasts_about_as_long_as_spoken_whole(
    tmp_path: Path, shared_cache: Path, words: list[str]
) -> None:
    """At the shipped config's espeak-ng speed and pause: at most 1.25 times
    the whole sentence, no silence over 100 ms inside (issue 22). The files
    are laid end to end as one ARI playback plays them (Asterisk adds no gap
    between them: tests/test_real_voice_fragments.py hears it on a call)."""
    engine = EspeakEngine("pl", 165)
    cache = PromptCache(shared_cache, engine, FragmentShape(pause_ms=DEFAULT_PAUSE_MS))
    played = b""
    for word in words:
        played += (await cache.render(word, fragment=True)).with_suffix(".sln16").read_bytes()
    heard = pcm_span(played, RATE)
    raw = tmp_path / "whole.wav"
    await engine.synthesize(" ".join(words), raw)
    convert_for_asterisk(raw, tmp_path / "whole")
    whole = sln16_span(tmp_path / "whole")
    assert heard is not None
    assert heard.duration_ms <= 1.25 * whole.duration_ms
    assert heard.longest_pause_ms <= 100


def test_the_pause_is_configured_in_milliseconds_within_bounds(tmp_path: Path) -> None:
    config = tmp_path / "infolinia.yaml"
    config.write_text("ari: {password: x}\nvoice: {fragment_pause_ms: 60}\n")
    assert load_settings(config, env={}).voice.fragment_pause_ms == 60
    config.write_text("ari: {password: x}\n")
    assert load_settings(config, env={}).voice.fragment_pause_ms == DEFAULT_PAUSE_MS
    config.write_text("ari: {password: x}\nvoice: {fragment_pause_ms: 500}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert caught.value.field == "voice.fragment_pause_ms"
    assert "less than or equal to 300" in caught.value.problem
    with pytest.raises(ValueError, match="0 to 300 ms"):
        FragmentShape(pause_ms=-1)


def test_wave_helper_agrees_with_sln16(tmp_path: Path) -> None:
    source = tmp_path / "in.wav"
    with wave.open(str(source), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((AudioSegment.silent(100, RATE) + tone(300)).raw_data)
    convert_for_asterisk(source, tmp_path / "out")
    with wave.open(str(tmp_path / "out.wav")) as narrow:
        at8k = pcm_span(narrow.readframes(narrow.getnframes()), narrow.getframerate())
    assert at8k is not None and at8k.start_ms == pytest.approx(100, abs=5)
    assert sln16_span(tmp_path / "out").start_ms == pytest.approx(100, abs=5)
