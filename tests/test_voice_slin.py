"""Speech rendered during a call is made playable in-process (voice/slin.py):
the file Asterisk plays has the right format and length, the one loudness,
no clipping, the same pitch, and no audible mirror image of the doubling."""

import asyncio
import itertools
import math
import shutil
import wave
from array import array
from pathlib import Path

import pytest
from pydub import AudioSegment
from pydub.generators import Sine

from voice.convert import convert_for_asterisk
from voice.espeak import EspeakEngine
from voice.live import LiveSpeech
from voice.loudness import PEAK_CEILING_DBFS, TARGET_DBFS, loudness
from voice.slin import write_slin

pytestmark = pytest.mark.unit


def wav_of(path: Path, samples: list[int], rate: int, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(array("h", samples).tobytes())
    return path


def tone(freq: float, rate: int, seconds: float, amplitude: float = 3000) -> list[int]:
    return [
        int(amplitude * math.sin(2 * math.pi * freq * n / rate)) for n in range(int(rate * seconds))
    ]


def level_at(samples: list[int], freq: float, rate: int) -> float:
    """The amplitude of ``freq`` in ``samples`` (Goertzel), relative to full scale."""
    coefficient = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coefficient * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
    return 2 * math.sqrt(max(power, 0.0)) / len(samples) / 32768


def read_slin(path: Path) -> list[int]:
    return array("h", path.read_bytes()).tolist()


def db(ratio: float) -> float:
    return 20 * math.log10(ratio)


def test_espeak_ngs_speech_becomes_one_sln44_file_at_the_one_loudness(tmp_path: Path) -> None:
    raw = tmp_path / "speech.wav"
    asyncio.run(EspeakEngine("uk", 165).synthesize("чотири вісім два один", raw))
    with wave.open(str(raw)) as source:
        assert source.getframerate() == 22050
        frames = source.getnframes()
    written = write_slin(raw, tmp_path / "t1")
    assert written == tmp_path / "t1.sln44"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("t1")] == ["t1.sln44"]
    samples = read_slin(written)
    assert len(samples) == 2 * frames  # the same duration at twice the rate
    heard = AudioSegment(written.read_bytes(), sample_width=2, frame_rate=44100, channels=1)
    level = loudness(heard)
    # At the target, unless the peaks' ceiling held it back (as the slow path does).
    assert level is not None and level <= TARGET_DBFS + 0.5
    assert level >= TARGET_DBFS - 0.5 or heard.max_dBFS >= PEAK_CEILING_DBFS - 0.5
    assert heard.max_dBFS <= PEAK_CEILING_DBFS + 2  # the interpolation's overshoot, no clipping
    # As loud as the same speech through the slow path (ffmpeg, .sln16).
    convert_for_asterisk(raw, tmp_path / "slow")
    slow = AudioSegment.from_file(tmp_path / "slow.wav")
    slow_level = loudness(slow)
    assert slow_level is not None and abs(level - slow_level) < 1.0


def test_doubling_keeps_the_pitch_and_its_mirror_image_is_far_down(tmp_path: Path) -> None:
    for freq, image_down_db in ((440.0, 55.0), (3000.0, 30.0)):
        source = wav_of(tmp_path / f"{freq}.wav", tone(freq, 22050, 0.5), 22050)
        written = write_slin(source, tmp_path / f"t{int(freq)}")
        assert written is not None and written.suffix == ".sln44"
        samples = read_slin(written)
        tone_level = level_at(samples, freq, 44100)
        image_level = level_at(samples, 22050 - freq, 44100)
        assert db(tone_level / image_level) > image_down_db, (freq, tone_level, image_level)
        # Leveled, not distorted: a sine stays a sine of the same frequency.
        crossings = sum(1 for a, b in itertools.pairwise(samples) if a < 0 <= b)
        assert abs(crossings - freq * 0.5) <= 2


def test_a_rate_asterisk_plays_is_kept_and_anything_else_is_left_to_ffmpeg(
    tmp_path: Path,
) -> None:
    source = wav_of(tmp_path / "piper.wav", tone(300, 16000, 0.4), 16000)
    written = write_slin(source, tmp_path / "t1")
    assert written == tmp_path / "t1.sln16"
    assert len(read_slin(written)) == int(16000 * 0.4)
    assert (
        write_slin(wav_of(tmp_path / "odd.wav", tone(300, 11025, 0.2), 11025), tmp_path / "a")
        is None
    )
    stereo = wav_of(tmp_path / "st.wav", tone(300, 22050, 0.2) * 2, 22050, channels=2)
    assert write_slin(stereo, tmp_path / "b") is None
    assert not list(tmp_path.glob("[ab].*"))


def test_silence_stays_silence(tmp_path: Path) -> None:
    written = write_slin(wav_of(tmp_path / "quiet.wav", [0] * 2205, 22050), tmp_path / "t1")
    assert written is not None and set(read_slin(written)) == {0}


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg converts what slin does not")
async def test_live_speech_writes_the_fast_file_or_falls_back_to_ffmpeg(tmp_path: Path) -> None:
    class Tone:
        offline = True
        identity = "tone"

        def __init__(self, rate: int) -> None:
            self.rate = rate

        async def synthesize(self, text: str, out: Path) -> None:
            Sine(440, sample_rate=self.rate).to_audio_segment(duration=200).export(
                out, format="wav"
            )

    live = LiveSpeech(tmp_path / "live", Tone(22050))
    uri = await live.media("c1", "cztery")
    base = Path(uri.removeprefix("sound:"))
    assert sorted(p.suffix for p in base.parent.iterdir()) == [".sln44"]
    odd = await live.media("c2", "cztery", Tone(11025))
    base = Path(odd.removeprefix("sound:"))
    assert sorted(p.suffix for p in base.parent.iterdir()) == [".sln16", ".wav"]
