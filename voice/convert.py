"""Conversion of synthesized audio into the files Asterisk plays.

Each prompt becomes two files side by side: ``NAME.sln16`` (16 kHz signed
16-bit mono, raw) and ``NAME.wav`` (8 kHz 16-bit mono). Played as ``NAME``
without extension, Asterisk picks the one cheapest for the channel's codec.

Resampling happens inside ffmpeg's export (``-ar``), which filters before it
decimates. pydub's ``set_frame_rate()`` does not (a 6 kHz tone folds to 2 kHz
at 8 kHz) and ``from_file(parameters=[...])`` ignores ``-ar``.
"""

import os
from pathlib import Path

from pydub import AudioSegment

from voice.fragments import FragmentShape
from voice.loudness import leveled

# Bump when the conversion changes what Asterisk plays; it is part of cache keys.
# 2: every file brought to one loudness (voice.loudness).
CONVERSION_VERSION = "2"
EXTENSIONS = (".sln16", ".wav")


def convert_for_asterisk(
    source: Path, dest_base: Path, fragment: FragmentShape | None = None
) -> None:
    """Write ``dest_base.sln16`` and ``dest_base.wav`` from ``source`` (with
    ``fragment``: cut to its speech and followed by the pause between words),
    at the one loudness of everything a caller hears (:mod:`voice.loudness`).

    Each file is written under a temporary name and renamed into place, so a
    reader never sees half a file. The ``.sln16`` goes last: its presence
    means both are complete.
    """
    audio = AudioSegment.from_file(source)
    if fragment is not None:
        audio = fragment.cut(audio)
    audio = leveled(audio)
    pid = os.getpid()
    wav_tmp = dest_base.with_name(f".{dest_base.name}.{pid}.wav")
    sln_tmp = dest_base.with_name(f".{dest_base.name}.{pid}.sln16")
    try:
        audio.export(wav_tmp, format="wav", parameters=["-ar", "8000", "-ac", "1"])
        audio.export(
            sln_tmp, format="s16le", codec="pcm_s16le", parameters=["-ar", "16000", "-ac", "1"]
        )
        for tmp in (wav_tmp, sln_tmp):
            tmp.chmod(0o644)  # Asterisk runs as its own user and must read them
        wav_tmp.replace(dest_base.with_suffix(".wav"))
        sln_tmp.replace(dest_base.with_suffix(".sln16"))
    finally:
        wav_tmp.unlink(missing_ok=True)
        sln_tmp.unlink(missing_ok=True)


def is_complete(base: Path) -> bool:
    """Whether both files of a converted prompt are in place."""
    return all(base.with_suffix(ext).exists() for ext in EXTENSIONS)
