"""The pitch (F0) of a short piece of speech, for measuring prosody: does a
word fragment fall at its end, as the last word of a number should, or
stay up, as a word the number continues after should (bench/voice_prosody.py,
tests/test_voice_prosody.py).

A plain autocorrelation tracker over 8 kHz 16-bit mono PCM (the ``.wav``
next to every rendered prompt): 40 ms frames every 10 ms; a frame is voiced
when it is loud enough and its best normalized autocorrelation between 60
and 400 Hz is over 0.5. Good enough for espeak-ng's steady voice; not a
general pitch tracker.
"""

import math
import statistics
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

RATE = 8000
FRAME = 320  # 40 ms
HOP = 80  # 10 ms
LOW_HZ, HIGH_HZ = 60, 400


def samples(wav: Path) -> "array[int]":
    """The 16-bit samples of an 8 kHz mono WAV."""
    with wave.open(str(wav), "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE, 1, 2):
            raise ValueError(f"{wav} is not 8 kHz 16-bit mono")
        data = array("h", w.readframes(w.getnframes()))
    return data


def track(pcm: "array[int]") -> list[float]:
    """F0 in Hz of each voiced frame, in order (unvoiced frames left out)."""
    f0 = []
    for start in range(0, len(pcm) - FRAME, HOP):
        frame = pcm[start : start + FRAME]
        mean = sum(frame) / FRAME
        x = [s - mean for s in frame]
        energy = sum(v * v for v in x)
        if energy / FRAME < 200.0**2:  # quieter than about -44 dBFS: not speech
            continue
        best, best_lag = 0.0, 0
        for lag in range(RATE // HIGH_HZ, RATE // LOW_HZ + 1):
            a, b = x[:-lag], x[lag:]
            num = sum(p * q for p, q in zip(a, b, strict=True))
            den = math.sqrt(sum(p * p for p in a) * sum(q * q for q in b)) or 1.0
            if num / den > best:
                best, best_lag = num / den, lag
        if best > 0.5:
            f0.append(RATE / best_lag)
    return f0


@dataclass(frozen=True)
class Contour:
    """Where a word's pitch starts, ends, and its lowest point, in Hz."""

    start_hz: float
    end_hz: float
    low_hz: float

    @property
    def fall(self) -> float:
        """How far the end is below the start, as a fraction (0.3: 30 % lower)."""
        return round(1 - self.end_hz / self.start_hz, 3)

    @property
    def rise_at_end(self) -> float:
        """How far the end is above the lowest point, as a fraction."""
        return round(self.end_hz / self.low_hz - 1, 3)


def contour(wav: Path, edge: int = 3) -> Contour:
    """The contour of the speech in ``wav``: medians of its first and last
    ``edge`` voiced frames, and its lowest voiced frame."""
    f0 = track(samples(wav))
    if len(f0) < 2 * edge:
        raise ValueError(f"{wav.name}: too little voiced speech to measure")
    return Contour(
        round(statistics.median(f0[:edge]), 1),
        round(statistics.median(f0[-edge:]), 1),
        round(min(f0), 1),
    )
