"""Speech rendered during a call, made playable in-process: an offline
engine's 16-bit mono WAV becomes one signed-linear file Asterisk plays
(``NAME.slnNN``), with no ffmpeg.

Starting ffmpeg twice (:func:`voice.convert.convert_for_asterisk`, for the
8 kHz ``.wav`` and the 16 kHz ``.sln16``) took about 160 ms of the 180 ms a
number spoken whole cost a caller; the engine itself takes 15 to 25 ms. So a
file spoken for one call (:mod:`voice.live`) is written here instead, in a
few milliseconds of pure Python (no audioop, which Python 3.13 drops; no
numpy):

- at a rate Asterisk has a signed-linear format for (piper's 16 kHz voices:
  ``.sln16``), the samples as they are;
- at half of one (espeak-ng's and piper's 22050 Hz: ``.sln44`` at 44100 Hz),
  doubled: every sample kept, one between each two by the 4-point halfband
  interpolator ``(-1, 9, 9, -1) / 16``. Its mirror images lie above 11 kHz,
  35 dB down at 4 kHz of speech and far more below, and Asterisk's own
  resampler (codec_resample) takes the file to the channel's rate with a
  proper low-pass filter, which removes them.

Either way the speech is brought to the one loudness of everything a caller
hears (:mod:`voice.loudness`: :data:`~voice.loudness.TARGET_DBFS` over the
speech span, peaks at most :data:`~voice.loudness.PEAK_CEILING_DBFS`; the
interpolator overshoots a peak by at most 1.25 times, so nothing clips).
Anything else (another rate, stereo, 8-bit) returns None: the caller
converts it the slow way.
"""

import math
import operator
import os
import sys
import wave
from array import array
from pathlib import Path

from voice.loudness import PEAK_CEILING_DBFS, TARGET_DBFS
from voice.pauses import frame_levels, speech_span

# Asterisk's signed-linear file formats (format_sln): rate -> extension.
SLIN_FORMATS = {
    8000: ".sln",
    12000: ".sln12",
    16000: ".sln16",
    24000: ".sln24",
    32000: ".sln32",
    44100: ".sln44",
    48000: ".sln48",
}
FULL_SCALE = 32768


def write_slin(source: Path, dest_base: Path) -> Path | None:
    """Write ``source`` (a 16-bit mono WAV) as ``dest_base.slnNN`` at the one
    loudness; returns the file written, or None when ``source`` is not audio
    this module converts (the caller then uses
    :func:`voice.convert.convert_for_asterisk`). The file appears complete
    or not at all (written under a temporary name, then renamed)."""
    with wave.open(str(source), "rb") as wav:
        if wav.getsampwidth() != 2 or wav.getnchannels() != 1:
            return None
        rate = wav.getframerate()
        pcm = wav.readframes(wav.getnframes())
    if rate not in SLIN_FORMATS and 2 * rate not in SLIN_FORMATS:
        return None
    samples = array("h", pcm[: len(pcm) // 2 * 2])
    if sys.byteorder == "big":
        samples.byteswap()  # WAV is little-endian
    gain = level_gain(samples, rate)
    if rate in SLIN_FORMATS:
        out = array("h", [int(s * gain) for s in samples])
    else:
        out = doubled(samples, gain)
        rate *= 2
    if sys.byteorder == "big":
        out.byteswap()  # .slnNN is read in the host's order; keep it little-endian like WAV
    dest = dest_base.with_suffix(SLIN_FORMATS[rate])
    tmp = dest_base.with_name(f".{dest.name}.{os.getpid()}")
    try:
        tmp.write_bytes(out.tobytes())
        tmp.chmod(0o644)  # Asterisk runs as its own user and must read it
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def level_gain(samples: "array[int]", rate: int) -> float:
    """The factor that brings ``samples`` to :data:`~voice.loudness.TARGET_DBFS`
    over their speech span, kept so that peaks stay at or below the ceiling
    (silence: only the ceiling applies)."""
    peak = max(max(samples, default=0), -min(samples, default=0))
    ceiling = FULL_SCALE * 10 ** (PEAK_CEILING_DBFS / 20) / peak if peak else 1.0
    span = speech_span(frame_levels(samples.tobytes(), rate))
    if span is None:
        return min(1.0, ceiling)
    speech = samples[span.start_ms * rate // 1000 : span.end_ms * rate // 1000]
    power = sum(map(operator.mul, speech, speech)) / max(1, len(speech))
    if not power:
        return min(1.0, ceiling)
    level = 10 * math.log10(power / FULL_SCALE**2)
    return min(10 ** ((TARGET_DBFS - level) / 20), ceiling)


def doubled(samples: "array[int]", gain: float) -> "array[int]":
    """``samples`` times ``gain``, at twice their rate: each sample kept, and
    between each two the halfband interpolation ``(-a + 9b + 9c - d) / 16``
    (at the ends the missing neighbour is the nearest sample)."""
    x = [int(s * gain) for s in samples]
    if not x:
        return array("h")
    padded = [x[0], *x, x[-1], x[-1]]
    inner = map(operator.add, padded[1:], padded[2:])  # b + c
    outer = map(operator.add, padded, padded[3:])  # a + d
    out = array("h", bytes(4 * len(x)))
    out[0::2] = array("h", x)
    out[1::2] = array("h", [(9 * bc - ad) >> 4 for bc, ad in zip(inner, outer, strict=False)])
    return out
