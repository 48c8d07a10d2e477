"""Where speech is, and how long it pauses, in 16-bit mono audio.

Used to trim pre-rendered fragments to their speech (:mod:`voice.fragments`)
and to measure what a caller hears: how long a number lasts and the longest
silence inside it (``bench/voice_fragments.py``, the real-call test of the
demo balance). Pure Python over 5 ms frames: a fragment is a second of audio,
a recorded call a minute; both take milliseconds.
"""

import itertools
import math
import operator
from array import array
from dataclasses import dataclass

FRAME_MS = 5
# Quieter than this is silence: synthesized speech falls to digital zero
# between words and in stop closures; an MP3 engine's floor is near -90 dBFS.
SILENCE_DBFS = -55.0


def frame_levels(pcm: bytes, rate: int, frame_ms: int = FRAME_MS) -> list[float]:
    """The RMS level of each ``frame_ms`` frame of 16-bit mono ``pcm``, in dBFS."""
    samples = array("h", pcm[: len(pcm) // 2 * 2])
    size = max(1, rate * frame_ms // 1000)
    levels = []
    for start in range(0, len(samples) - size + 1, size):
        frame = samples[start : start + size]
        power = sum(map(operator.mul, frame, frame)) / size
        levels.append(10 * math.log10(power / 32768**2) if power else -120.0)
    return levels


@dataclass(frozen=True)
class SpeechSpan:
    """Where speech starts and ends in some audio, and its longest inner pause (ms)."""

    start_ms: int
    end_ms: int
    longest_pause_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


def speech_span(
    levels: list[float], frame_ms: int = FRAME_MS, threshold: float = SILENCE_DBFS
) -> SpeechSpan | None:
    """The span from the first to the last frame louder than ``threshold``
    (None: all silence), with the longest run of quiet frames inside it."""
    loud = [i for i, level in enumerate(levels) if level > threshold]
    if not loud:
        return None
    longest = max((b - a - 1 for a, b in itertools.pairwise(loud)), default=0)
    return SpeechSpan(loud[0] * frame_ms, (loud[-1] + 1) * frame_ms, longest * frame_ms)


def pcm_span(pcm: bytes, rate: int, threshold: float = SILENCE_DBFS) -> SpeechSpan | None:
    """:func:`speech_span` of 16-bit mono ``pcm`` at ``rate`` Hz."""
    return speech_span(frame_levels(pcm, rate), FRAME_MS, threshold)
