"""One loudness for everything a caller hears: prompts whichever engine spoke
them, the word fragments of numbers, customer text spoken live, recordings.

Loudness here is the RMS level over the speech span (from the first to the
last 5 ms frame louder than :data:`voice.pauses.SILENCE_DBFS`), so the
silence an engine leaves around a sentence, or the pause after a fragment,
does not make it count as quieter. Every file is brought to
:data:`TARGET_DBFS` by :func:`voice.convert.convert_for_asterisk`, its peaks
kept at or below :data:`PEAK_CEILING_DBFS` (the conversion to 8 kHz can
overshoot sharp edges by about 2 dB: no clipping). -22 dBFS is where
espeak-ng's prompts and the uploaded recordings already were.
"""

import math

from pydub import AudioSegment

from voice.pauses import FRAME_MS, frame_levels, speech_span

TARGET_DBFS = -22.0
PEAK_CEILING_DBFS = -3.0


def loudness(audio: AudioSegment) -> float | None:
    """The RMS level of ``audio``'s speech span in dBFS (None: all silence)."""
    mono = audio.set_channels(1).set_sample_width(2)
    span = speech_span(frame_levels(mono.raw_data, mono.frame_rate), FRAME_MS)
    if span is None:
        return None
    speech = mono[span.start_ms : span.end_ms]
    return 20 * math.log10(speech.rms / 32768) if speech.rms else None


def leveled(audio: AudioSegment) -> AudioSegment:
    """``audio`` at :data:`TARGET_DBFS` over its speech, peaks under the ceiling
    (silent audio is returned as it is)."""
    level = loudness(audio)
    if level is None:
        return audio
    gain = min(TARGET_DBFS - level, PEAK_CEILING_DBFS - audio.max_dBFS)
    return audio.apply_gain(gain)
