"""What an uploaded WAV or MP3 says about itself, read in Python before any
decoder sees a byte of it.

An upload is hostile until proven otherwise. Handed to ffprobe or pydub as
"some audio file", an ``ID3`` header followed by an HLS playlist makes
ffprobe fetch the playlist's URLs (a blind request from the bank's network),
a 20 MB MP3 at 8 kbit/s decodes to hours of sound (gigabytes of memory), and
a WAV whose header says 1 Hz costs seconds of CPU per kilobyte. So
:func:`check_upload` reads the header itself and refuses, with a reason fit
for the admin, anything that is not plainly one of:

- **WAV**: a RIFF/WAVE file whose ``fmt`` chunk (before its ``data`` chunk)
  says integer PCM (or WAVE_FORMAT_EXTENSIBLE with the PCM sub-format),
  8-48 kHz, 1 or 2 channels, 8/16/24/32 bits, with a consistent block size
  and byte rate, and whose ``data`` chunk is all in the file and lasts
  :data:`MIN_SECONDS` to :data:`MAX_SECONDS`.
- **MP3**: ID3v2 tags (skipped by their declared, syncsafe size), then an
  MPEG-1/2/2.5 Layer III frame header (8-48 kHz; no free-format bitrate),
  followed by another frame or the end of the file. Frames are walked (a
  prompt is a few thousand frames at most): a file whose frames, or whose
  Xing/Info header, add up to more than :data:`MAX_SECONDS` is refused
  before it is decoded.

Only then does :mod:`voice.upload_decode` decode it, with the format forced
(``-f wav``/``-f mp3``) in a sandboxed ffmpeg. :class:`BadRecording` is the
only exception :func:`check_upload` raises (a fuzz test holds it to that).
"""

import struct
from dataclasses import dataclass

MAX_BYTES = 20 * 1024 * 1024
MIN_SECONDS, MAX_SECONDS = 0.3, 180.0
MIN_RATE, MAX_RATE = 8000, 48000
MAX_WAV_CHUNKS = 64  # before the data chunk: fmt, LIST, bext, ...: a handful in practice
MAX_ID3_TAGS = 4
MAX_ID3_PADDING = 64 * 1024  # zero bytes some taggers leave after the tag's declared size

# WAVE_FORMAT_EXTENSIBLE's sub-format GUID for PCM, after its first two bytes (the tag).
PCM_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
WAVE_FORMAT_PCM, WAVE_FORMAT_EXTENSIBLE = 0x0001, 0xFFFE

# MPEG audio, Layer III only. Index: the header's version bits (0 = 2.5, 2 = 2, 3 = 1).
MPEG_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
MPEG1_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
MPEG2_KBPS = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
TRAILING_TAGS = (b"TAG", b"APETAGEX", b"LYRICSBEGIN")


class BadRecording(ValueError):
    """The upload cannot be a prompt; the message says why, for the admin."""


@dataclass(frozen=True)
class AudioHeader:
    """What the upload declares about itself, every value checked in range."""

    kind: str  # "wav" or "mp3": the format ffmpeg is told to read (never guessed)
    rate: int  # samples per second, MIN_RATE..MAX_RATE
    channels: int  # 1 or 2
    seconds: float  # WAV: data size / byte rate; MP3: Xing/Info's frame count, else the frames


def check_upload(data: bytes) -> AudioHeader:
    """The header of an uploaded WAV or MP3, or BadRecording saying why not."""
    if not data:
        raise BadRecording("the file is empty")
    if len(data) > MAX_BYTES:
        raise BadRecording(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _wav(data)
    if data[:3] == b"ID3" or _frame(data, 0) is not None:
        return _mp3(data)
    raise BadRecording("the file is neither WAV nor MP3")


def _duration_ok(seconds: float) -> None:
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise BadRecording(
            f"the recording lasts {seconds:.1f} s; a prompt lasts {MIN_SECONDS} s to "
            f"{MAX_SECONDS / 60:.0f} minutes"
        )


def _rate_ok(rate: int, kind: str) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise BadRecording(
            f"the {kind} file says {rate} Hz; a recording is sampled at "
            f"{MIN_RATE // 1000} to {MAX_RATE // 1000} kHz"
        )


# --- WAV ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Format:
    channels: int
    rate: int
    byte_rate: int
    block_align: int


def _wav(data: bytes) -> AudioHeader:
    fmt: _Format | None = None
    pos = 12
    for _ in range(MAX_WAV_CHUNKS):
        if pos + 8 > len(data):
            break
        chunk, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = pos + 8
        if chunk == b"fmt ":
            if fmt is not None:
                raise BadRecording("the WAV file has two format (fmt) chunks")
            if body + size > len(data):
                raise BadRecording("the WAV file's format (fmt) chunk is cut short")
            fmt = _wav_format(data[body : body + size])
        elif chunk == b"data":
            if fmt is None:
                raise BadRecording("the WAV file has no format (fmt) chunk before its sound")
            return _wav_data(fmt, size, len(data) - body)
        pos = body + size + (size & 1)  # chunks are padded to an even length
    else:
        raise BadRecording(f"the WAV file has more than {MAX_WAV_CHUNKS} chunks before its sound")
    raise BadRecording("the WAV file has no sound (data) chunk")


def _wav_format(fmt: bytes) -> _Format:
    if len(fmt) < 16:
        raise BadRecording("the WAV file's format (fmt) chunk is too short")
    tag, channels, rate, byte_rate, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if len(fmt) < 40 or int.from_bytes(fmt[16:18], "little") < 22:
            raise BadRecording("the WAV file's extensible format chunk is too short")
        sub_tag, tail = int.from_bytes(fmt[24:26], "little"), fmt[26:40]
        tag = sub_tag if tail == PCM_GUID_TAIL else -1
    if tag != WAVE_FORMAT_PCM:
        raise BadRecording("the WAV file is not plain PCM (compressed or floating-point sound)")
    if channels not in (1, 2):
        raise BadRecording(f"the WAV file has {channels} channels; a recording has 1 or 2")
    _rate_ok(rate, "WAV")
    if bits not in (8, 16, 24, 32):
        raise BadRecording(f"the WAV file has {bits}-bit samples; 8, 16, 24 or 32 are read")
    if block_align != channels * bits // 8 or byte_rate != rate * block_align:
        raise BadRecording("the WAV file's header contradicts itself (block size, byte rate)")
    return _Format(channels, rate, byte_rate, block_align)


def _wav_data(fmt: _Format, size: int, present: int) -> AudioHeader:
    if size > present:
        raise BadRecording(
            f"the WAV header announces {size} bytes of sound but the file holds {present} "
            "(cut short, or written to a pipe: save it to a file again)"
        )
    seconds = size / fmt.byte_rate
    _duration_ok(seconds)
    return AudioHeader("wav", fmt.rate, fmt.channels, seconds)


# --- MP3 ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    version: int  # header bits: 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5
    rate: int
    channels: int
    length: int  # bytes, header included
    samples: int  # per channel
    side_info: int  # bytes after the 4-byte header (no CRC), where Xing/Info sits


def _frame(data: bytes, pos: int) -> _Frame | None:
    """The Layer III frame header at ``pos``, or None when there is none."""
    if pos + 4 > len(data):
        return None
    b1, b2, b3 = data[pos + 1], data[pos + 2], data[pos + 3]
    if data[pos] != 0xFF or b1 & 0xE0 != 0xE0:
        return None
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    bitrate_index, rate_index, padding = b2 >> 4, (b2 >> 2) & 3, (b2 >> 1) & 1
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return None  # reserved version, not Layer III, free-format/bad bitrate, bad rate
    if b3 & 3 == 2:
        return None  # reserved emphasis
    rate = MPEG_RATES[version][rate_index]
    channels = 1 if b3 >> 6 == 3 else 2
    if version == 3:
        length = 144 * MPEG1_KBPS[bitrate_index] * 1000 // rate + padding
        samples, side_info = 1152, 17 if channels == 1 else 32
    else:
        length = 72 * MPEG2_KBPS[bitrate_index] * 1000 // rate + padding
        samples, side_info = 576, 9 if channels == 1 else 17
    return _Frame(version, rate, channels, length, samples, side_info)


def _after_id3(data: bytes) -> int:
    """Where the audio starts: after every ID3v2 tag and the zeros padding it."""
    pos = 0
    for _ in range(MAX_ID3_TAGS):
        if data[pos : pos + 3] != b"ID3":
            break
        header = data[pos : pos + 10]
        if len(header) < 10 or header[3] not in (2, 3, 4) or header[4] == 0xFF:
            raise BadRecording("the MP3 file's ID3 tag is damaged")
        if any(byte & 0x80 for byte in header[6:10]):
            raise BadRecording("the MP3 file's ID3 tag has a damaged size")
        size = (header[6] << 21) | (header[7] << 14) | (header[8] << 7) | header[9]
        footer = 10 if header[3] == 4 and header[5] & 0x10 else 0
        pos += 10 + size + footer
        if pos > len(data):
            raise BadRecording("the MP3 file's ID3 tag is longer than the file")
    else:
        if data[pos : pos + 3] == b"ID3":
            raise BadRecording(f"the MP3 file has more than {MAX_ID3_TAGS} ID3 tags")
    window = data[pos : pos + MAX_ID3_PADDING]
    return pos + len(window) - len(window.lstrip(b"\x00"))


def _xing_frames(data: bytes, pos: int, frame: _Frame) -> int | None:
    """The frame count a Xing/Info header in the frame at ``pos`` declares."""
    at = pos + 4 + frame.side_info
    if data[at : at + 4] not in (b"Xing", b"Info") or at + 12 > len(data):
        return None
    flags = int.from_bytes(data[at + 4 : at + 8], "big")
    return int.from_bytes(data[at + 8 : at + 12], "big") if flags & 1 else None


def _mp3(data: bytes) -> AudioHeader:
    start = _after_id3(data)
    first = _frame(data, start)
    if first is None:
        raise BadRecording("the MP3 file has no MPEG audio (Layer III) frame where sound starts")
    declared = _xing_frames(data, start, first)
    declared_seconds = None if declared is None else declared * first.samples / first.rate
    if declared_seconds is not None:
        _duration_ok(declared_seconds)
    limit = MAX_SECONDS * first.rate
    pos, samples, frames = start, 0, 0
    while pos < len(data):
        frame = _frame(data, pos)
        if frame is None or (frame.version, frame.rate) != (first.version, first.rate):
            if frames == 1 and not data.startswith(TRAILING_TAGS, pos):
                raise BadRecording("the MP3 file's first frame is not followed by another")
            break  # a trailing tag, or damage the decoder resynchronizes over (-t bounds it)
        pos, samples, frames = pos + frame.length, samples + frame.samples, frames + 1
        if samples > limit:
            raise BadRecording(
                f"the recording lasts more than {MAX_SECONDS:.0f} s; a prompt lasts "
                f"{MIN_SECONDS} s to {MAX_SECONDS / 60:.0f} minutes"
            )
    seconds = samples / first.rate if declared_seconds is None else declared_seconds
    _duration_ok(seconds)
    return AudioHeader("mp3", first.rate, first.channels, seconds)
