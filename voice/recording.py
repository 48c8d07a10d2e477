"""Prompts recorded by a voice talent instead of synthesized.

A bank uploads a WAV or MP3. It is hostile until proven otherwise: its header
is read in Python first (:mod:`voice.upload_check`: really WAV or MP3,
8-48 kHz, 1-2 channels, 0.3 s to 3 minutes declared), then it is decoded by
a sandboxed ffmpeg told its format (:mod:`voice.upload_decode`), never by
a decoder that guesses. The decoded sound must not be silent and must keep
0.3 s to 3 minutes once silence at both ends is trimmed; it is brought to
the loudness of the synthesized prompts (:data:`TARGET_RMS_DBFS`, peaks kept
below :data:`PEAK_CEILING_DBFS`), then converted like synthesized audio
(:mod:`voice.convert`: 16 kHz ``.sln16`` and 8 kHz ``.wav``).

All of that happens in a private work folder (:func:`render_upload`); only
:func:`install` puts the files into the prompt cache, under
``<prompt cache>/recordings/``, content-addressed by a hash of the upload and
of this processing. :class:`~stasis_app.admin.prompts.PromptAdmin` installs
an upload only to publish it, and takes it out again when the publication
is refused.

A prompt that plays a recording keeps a text: the transcript, which the
admin page and the call simulator show. Inside a prompt book such a prompt's
text is written ``@recording:<sha256> <transcript>`` (see :func:`marker`);
nobody types that form: :func:`is_marker` lets editors refuse it.
"""

import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from pydub import AudioSegment
from pydub.silence import detect_leading_silence

from voice import loudness, upload_decode
from voice.convert import CONVERSION_VERSION, EXTENSIONS, convert_for_asterisk, is_complete
from voice.upload_check import MAX_BYTES, MAX_SECONDS, MIN_SECONDS, BadRecording, check_upload

__all__ = ["MAX_BYTES", "BadRecording", "Recording", "import_recording", "render_upload"]

# Bump when the processing below changes what Asterisk plays.
PROCESSING_VERSION = "1"
# A recording is brought to the loudness of the synthesized prompts (the
# conversion then levels every file the same way: voice.loudness). Its
# peaks stay at or below the ceiling before the conversion to 8 kHz, whose
# filter can overshoot on sharp edges by up to about 2 dB: no clipping.
TARGET_RMS_DBFS = loudness.TARGET_DBFS
PEAK_CEILING_DBFS = loudness.PEAK_CEILING_DBFS
SILENCE_DBFS = -50.0  # quieter than this throughout: refused as silent
PREFIX = "@recording:"
FOLDER = "recordings"
WORK_FOLDER = ".uploads"  # inside the prompt folder: same disk, so install is a rename
STALE_SECONDS = 3600.0  # work folders and unpublished files older than this are leftovers


@dataclass(frozen=True)
class Recording:
    sha: str  # names the files
    base: Path  # ROOT/recordings/ab/abcd... (without extension), or in a work folder
    kind: str  # "wav" or "mp3"
    seconds: float  # after trimming
    gain_db: float  # applied to reach the target loudness


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


def render_upload(data: bytes, work: Path) -> Recording:
    """Check, decode, trim, normalize and convert an upload into ``work`` (a
    private, empty folder): ``work/<sha>.{wav,sln16}``. BadRecording says
    why an upload is refused; nothing outside ``work`` is touched."""
    header = check_upload(data)
    source = work / f"upload.{header.kind}"
    source.write_bytes(data)
    try:
        pcm = upload_decode.decode(source, header)
    finally:
        source.unlink(missing_ok=True)
    audio = AudioSegment(data=pcm, sample_width=2, frame_rate=header.rate, channels=1)
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
    normalized = work / "normalized.wav"
    audio.export(normalized, format="wav")  # pydub writes a WAV itself: no ffmpeg
    base = work / sha
    convert_for_asterisk(normalized, base)  # our own WAV: trusted input
    normalized.unlink()
    return Recording(sha, base, header.kind, round(seconds, 2), round(gain, 2))


def install(made: Recording, root: Path) -> tuple[Recording, bool]:
    """Move a rendered recording's files from its work folder into ``root``'s
    recordings folder. Returns it with its new base and whether its files
    were put there now (False: the same upload was already there)."""
    dest = base_path(root, made.sha)
    if is_complete(dest):
        return replace(made, base=dest), False
    dest.parent.mkdir(parents=True, exist_ok=True)
    for ext in EXTENSIONS:  # .sln16 last: its presence means both are in place
        made.base.with_suffix(ext).replace(dest.with_suffix(ext))
    return replace(made, base=dest), True


def uninstall(root: Path, sha: str) -> None:
    """Take a recording's files out of ``root`` (an upload that was not published)."""
    base = base_path(root, sha)
    for ext in reversed(EXTENSIONS):  # .sln16 first: the pair is no longer complete
        base.with_suffix(ext).unlink(missing_ok=True)


def work_folder(root: Path) -> Path:
    """A new private folder for one upload, on the prompt cache's disk."""
    parent = root / WORK_FOLDER
    parent.mkdir(parents=True, exist_ok=True)
    parent.chmod(0o700)
    return Path(tempfile.mkdtemp(prefix="upload-", dir=parent))


def import_recording(data: bytes, root: Path) -> Recording:
    """Check, trim, normalize and convert an upload into ``root``'s recordings
    folder (nothing is left behind for an upload that is refused)."""
    work = work_folder(root)
    try:
        return install(render_upload(data, work), root)[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def forget_leftovers(root: Path, keep: frozenset[str], now: float | None = None) -> int:
    """Remove what uploads interrupted by a crash left in ``root``: work
    folders, and recordings whose sha is not in ``keep`` (no prompt text or
    edit names them), when older than :data:`STALE_SECONDS`. Returns how many
    were removed."""
    cutoff = (time.time() if now is None else now) - STALE_SECONDS
    removed = 0
    works = root / WORK_FOLDER
    for folder in works.iterdir() if works.is_dir() else ():
        if folder.lstat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    for file in (root / FOLDER).glob("*/*"):
        sha = file.name.split(".")[0] if not file.name.startswith(".") else ""
        if sha and sha in keep:
            continue
        try:
            if file.lstat().st_mtime < cutoff:
                file.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


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
