"""Prompts recorded by a voice talent instead of synthesized.

A bank uploads a WAV or MP3; it is checked (really WAV or MP3, decodable,
0.3 s to 3 minutes of sound, not silent), silence at both ends is trimmed,
it is mixed to mono and brought to the loudness of the synthesized prompts
(:data:`TARGET_RMS_DBFS`, peaks kept below :data:`PEAK_CEILING_DBFS`), then
converted like synthesized audio (:mod:`voice.convert`: 16 kHz ``.sln16`` and
8 kHz ``.wav``). Files are content-addressed by a hash of the upload and of
this processing, under ``<prompt cache>/recordings/``.

A prompt that plays a recording keeps a text: the transcript, which the
admin page and the call simulator show. Inside a prompt book such a prompt's
text is written ``@recording:<sha256> <transcript>`` (see :func:`marker`);
nobody types that form: :func:`is_marker` lets editors refuse it.
"""

import hashlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError
from pydub.silence import detect_leading_silence

from voice.convert import CONVERSION_VERSION, convert_for_asterisk, is_complete

# Bump when the processing below changes what Asterisk plays.
PROCESSING_VERSION = "1"
MAX_BYTES = 20 * 1024 * 1024
MIN_SECONDS, MAX_SECONDS = 0.3, 180.0
# The synthesized prompts (espeak-ng, converted) measure about -22 dBFS RMS
# with peaks near -2 dBFS: a recording is brought to the same loudness. Its
# peaks stay at or below the ceiling before the conversion to 8 kHz, whose
# filter can overshoot on sharp edges by up to about 2 dB: no clipping.
TARGET_RMS_DBFS = -22.0
PEAK_CEILING_DBFS = -3.0
SILENCE_DBFS = -50.0  # quieter than this throughout: refused as silent
PREFIX = "@recording:"
FOLDER = "recordings"


class BadRecording(ValueError):
    """The upload cannot be a prompt; the message says why, for the admin."""


@dataclass(frozen=True)
class Recording:
    sha: str  # names the files
    base: Path  # ROOT/recordings/ab/abcd... (without extension)
    kind: str  # "wav" or "mp3"
    seconds: float  # after trimming
    gain_db: float  # applied to reach the target loudness


def sniff(data: bytes) -> str:
    """ "wav" or "mp3" from the file's first bytes, else BadRecording."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    raise BadRecording("the file is neither WAV nor MP3")


def sha_of(data: bytes) -> str:
    material = b"\n".join(
        (PROCESSING_VERSION.encode(), CONVERSION_VERSION.encode(), hashlib.sha256(data).digest())
    )
    return hashlib.sha256(material).hexdigest()


def base_path(root: Path, sha: str) -> Path:
    return root / FOLDER / sha[:2] / sha


def _trimmed(audio: AudioSegment) -> AudioSegment:
    start = detect_leading_silence(audio, silence_threshold=SILENCE_DBFS)
    end = detect_leading_silence(audio.reverse(), silence_threshold=SILENCE_DBFS)
    return audio[start : len(audio) - end]


def import_recording(data: bytes, root: Path) -> Recording:
    """Check, trim, normalize and convert an upload into ``root``'s recordings
    folder (nothing is written for an upload that is refused)."""
    if not data:
        raise BadRecording("the file is empty")
    if len(data) > MAX_BYTES:
        raise BadRecording(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    kind = sniff(data)
    try:
        audio = AudioSegment.from_file(io.BytesIO(data), format=kind)
    except (CouldntDecodeError, IndexError, OSError) as exc:
        raise BadRecording(f"the {kind.upper()} file cannot be decoded") from exc
    if audio.channels > 1:
        audio = audio.set_channels(1)
    if audio.max_dBFS < SILENCE_DBFS:
        raise BadRecording("the recording is silent")
    audio = _trimmed(audio)
    seconds = len(audio) / 1000
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise BadRecording(
            f"the recording lasts {seconds:.1f} s of sound; a prompt lasts "
            f"{MIN_SECONDS} s to {MAX_SECONDS / 60:.0f} minutes"
        )
    gain = min(TARGET_RMS_DBFS - audio.dBFS, PEAK_CEILING_DBFS - audio.max_dBFS)
    audio = audio.apply_gain(gain)
    sha = sha_of(data)
    base = base_path(root, sha)
    if not is_complete(base):
        base.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="infolinia-recording-") as tmp:
            source = Path(tmp) / "normalized.wav"
            audio.export(source, format="wav")
            convert_for_asterisk(source, base)
    return Recording(sha, base, kind, round(seconds, 2), round(gain, 2))


def marker(sha: str, transcript: str) -> str:
    """A prompt book's text for a prompt that plays recording ``sha``."""
    return f"{PREFIX}{sha} {transcript}"


def is_marker(text: str) -> bool:
    return text.startswith(PREFIX)


def parse_marker(text: str) -> tuple[str, str]:
    """(sha, transcript) of a marker text."""
    sha, _, transcript = text.removeprefix(PREFIX).partition(" ")
    return sha, transcript


def transcript(text: str) -> str:
    """What a prompt says, for people: the transcript of a recording, else the text."""
    return parse_marker(text)[1] if is_marker(text) else text
