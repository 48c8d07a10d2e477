"""One loudness for everything a caller hears, whichever engine spoke it:
prompts, the word fragments of numbers, customer text spoken live, and
uploaded recordings all measure -22 dBFS over their speech (voice.loudness).

gTTS cannot be reached from these machines; two stand-in engines, one that
speaks at -40 dBFS and one at -4 dBFS, play the part of voices much quieter
and louder than espeak-ng."""

import math
import struct
import wave
from collections.abc import Callable
from pathlib import Path

import pytest
from pydub import AudioSegment

from voice import recording
from voice.cache import PromptCache
from voice.engine import TtsEngine
from voice.espeak import EspeakEngine
from voice.live import LiveSpeech
from voice.loudness import TARGET_DBFS, leveled, loudness

pytestmark = pytest.mark.unit

TOLERANCE_DB = 1.0


class ToneEngine:
    """A "voice" at a fixed level: two syllables of a vowel-like tone."""

    offline = True

    def __init__(self, level_dbfs: float) -> None:
        self.level = level_dbfs
        self.identity = f"tone-engine level={level_dbfs}"

    async def synthesize(self, text: str, out: Path) -> None:
        rate, amplitude = 22050, 32767 * 10 ** (self.level / 20) * math.sqrt(2)
        syllable = [
            int(amplitude * math.sin(2 * math.pi * 180 * n / rate)) for n in range(rate // 4)
        ]
        silence = [0] * (rate // 10)
        samples = silence + syllable + silence + syllable + silence * 3
        with wave.open(str(out), "wb") as audio:
            audio.setnchannels(1)
            audio.setsampwidth(2)
            audio.setframerate(rate)
            audio.writeframes(struct.pack(f"<{len(samples)}h", *samples))


def level_of(base: Path, suffix: str) -> float:
    if suffix == ".wav":
        audio = AudioSegment.from_wav(base.with_suffix(".wav"))
    else:
        data = base.with_suffix(".sln16").read_bytes()
        audio = AudioSegment(data, frame_rate=16000, sample_width=2, channels=1)
    level = loudness(audio)
    assert level is not None
    return level


ENGINES = [
    pytest.param(lambda: EspeakEngine("pl", 120), id="espeak-ng pl 120"),
    pytest.param(lambda: EspeakEngine("pl", 300), id="espeak-ng pl 300"),
    pytest.param(lambda: EspeakEngine("en", 165), id="espeak-ng en"),
    pytest.param(lambda: EspeakEngine("uk", 165), id="espeak-ng uk"),
    pytest.param(lambda: ToneEngine(-40.0), id="a quiet voice"),
    pytest.param(lambda: ToneEngine(-4.0), id="a loud voice"),
]


@pytest.mark.parametrize("make_engine", ENGINES)
async def test_prompts_and_fragments_of_every_engine_are_equally_loud(
    tmp_path: Path, make_engine: Callable[[], TtsEngine]
) -> None:
    engine = make_engine()
    cache = PromptCache(tmp_path, engine)
    prompt = await cache.render("Aby poznać saldo i ostatnie operacje, naciśnij dwa.")
    fragments = [await cache.render(word, fragment=True) for word in ("tysiąc", "sześć")]
    for base in (prompt, *fragments):
        for suffix in (".sln16", ".wav"):
            assert level_of(base, suffix) == pytest.approx(TARGET_DBFS, abs=TOLERANCE_DB)


async def test_customer_text_spoken_live_is_as_loud(tmp_path: Path) -> None:
    live = LiveSpeech(tmp_path / "live", ToneEngine(-35.0))
    uri = await live.media("call-1", "Biedronka")
    [played] = Path(uri.removeprefix("sound:")).parent.glob("t1.sln*")  # voice.slin
    rate = {".sln16": 16000, ".sln44": 44100, ".sln48": 48000}[played.suffix]
    audio = AudioSegment(played.read_bytes(), frame_rate=rate, sample_width=2, channels=1)
    assert loudness(audio) == pytest.approx(TARGET_DBFS, abs=TOLERANCE_DB)


def test_an_uploaded_recording_is_as_loud(tmp_path: Path, talent: bytes) -> None:
    made = recording.render_upload(talent, tmp_path)
    for suffix in (".sln16", ".wav"):
        assert level_of(made.base, suffix) == pytest.approx(TARGET_DBFS, abs=TOLERANCE_DB)


def test_silence_stays_silent_and_peaks_stay_under_the_ceiling() -> None:
    silent = AudioSegment.silent(500, 16000)
    assert loudness(silent) is None
    assert leveled(silent).max_dBFS == silent.max_dBFS
    # A click in quiet speech: bringing the speech up would clip the click.
    spiky = AudioSegment(
        struct.pack("<8000h", *([300, -300] * 3990 + [32000] * 20)),
        frame_rate=16000,
        sample_width=2,
        channels=1,
    )
    out = leveled(AudioSegment.silent(100, 16000) + spiky)
    assert out.max_dBFS <= -3.0 + 0.01
