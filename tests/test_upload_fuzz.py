"""The upload checker under fuzzing (hypothesis; issue 17, "Done when").

Whatever bytes it is given, :func:`voice.upload_check.check_upload` answers
with a header whose every value is in range, or raises BadRecording: never
another exception (an IndexError or struct.error would be a 500 for the
admin, and a sign the parser trusts the file). And it never accepts a file
whose declared parameters are out of range: the generators below write
headers whose sample rate, channels, sample format, sizes and durations
they know, and check the verdict against what they wrote.

Bounded (300 examples each by default, no deadline: the machine is
shared), so it runs in every unit test run.
"""

import os
import struct
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voice import upload_check
from voice.upload_check import (
    MAX_RATE,
    MAX_SECONDS,
    MIN_RATE,
    MIN_SECONDS,
    MPEG1_KBPS,
    MPEG2_KBPS,
    MPEG_RATES,
    PCM_GUID_TAIL,
    AudioHeader,
    BadRecording,
    check_upload,
)

pytestmark = pytest.mark.unit
FUZZ = settings(
    # More for a longer hunt: INFOLINIA_FUZZ_EXAMPLES=20000 pytest tests/test_upload_fuzz.py
    max_examples=int(os.environ.get("INFOLINIA_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def verdict(data: bytes) -> AudioHeader | None:
    """The checker's answer: a header in range, or None for a refusal."""
    try:
        header = check_upload(data)
    except BadRecording as exc:
        assert str(exc)  # a reason for the admin
        return None
    assert header.kind in ("wav", "mp3")
    assert MIN_RATE <= header.rate <= MAX_RATE
    assert header.channels in (1, 2)
    assert MIN_SECONDS <= header.seconds <= MAX_SECONDS
    return header


# --- WAV ----------------------------------------------------------------------

U16, U32 = st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF)
RATES = st.one_of(
    st.sampled_from([0, 1, 7999, 8000, 11025, 16000, 44100, 48000, 48001, 96000]), U32
)


@dataclass(frozen=True)
class Wav:
    tag: int
    sub_tag: int  # for WAVE_FORMAT_EXTENSIBLE
    channels: int
    rate: int
    byte_rate: int
    align: int
    bits: int
    data_size: int
    body: int  # bytes of sound actually present

    def declared_ok(self) -> bool:
        pcm = self.tag == 1 or (self.tag == 0xFFFE and self.sub_tag == 1)
        consistent = (
            self.align == self.channels * self.bits // 8
            and self.byte_rate == self.rate * self.align
        )
        return (
            pcm
            and self.channels in (1, 2)
            and MIN_RATE <= self.rate <= MAX_RATE
            and self.bits in (8, 16, 24, 32)
            and consistent
            and self.data_size <= self.body
            and MIN_SECONDS <= self.data_size / self.byte_rate <= MAX_SECONDS
        )


@st.composite
def wavs(draw: st.DrawFn) -> tuple[Wav, bytes]:
    channels = draw(st.one_of(st.sampled_from([0, 1, 2, 3, 6]), U16))
    bits = draw(st.one_of(st.sampled_from([0, 8, 12, 16, 24, 32]), U16))
    rate = draw(RATES)
    align = (channels * bits // 8 if draw(st.booleans()) else draw(U16)) & 0xFFFF
    byte_rate = rate * align if draw(st.booleans()) else draw(U32)
    byte_rate &= 0xFFFFFFFF
    # Up to ~3.5 MB of zeros: enough for more than 3 minutes at 8 kHz, 8-bit mono.
    body = draw(st.integers(0, 3_500_000))
    data_size = body if draw(st.booleans()) else draw(st.one_of(st.integers(0, body + 10), U32))
    tag = draw(st.sampled_from([1, 1, 3, 0x55, 0xFFFE, 0xFFFE]))
    sub_tag = draw(st.sampled_from([1, 3]))
    wav = Wav(tag, sub_tag, channels, rate, byte_rate, align, bits, data_size, body)
    fmt = struct.pack("<HHIIHH", tag, channels, rate, byte_rate, align, bits)
    if tag == 0xFFFE:
        fmt += struct.pack("<HHI", 22, bits, 3) + struct.pack("<H", sub_tag) + PCM_GUID_TAIL
    chunks = []
    for _ in range(draw(st.integers(0, 3))):  # LIST, bext, junk... before the format
        extra = draw(st.binary(max_size=40))
        chunks.append(b"LIST" + struct.pack("<I", len(extra)) + extra + b"\0" * (len(extra) & 1))
    chunks.append(b"fmt " + struct.pack("<I", len(fmt)) + fmt)
    chunks.append(b"data" + struct.pack("<I", data_size) + bytes(body))
    riff = b"".join(chunks)
    return wav, b"RIFF" + struct.pack("<I", (4 + len(riff)) & 0xFFFFFFFF) + b"WAVE" + riff


@FUZZ
@given(wavs())
def test_a_wav_is_accepted_only_when_what_it_declares_is_in_range(made: tuple[Wav, bytes]) -> None:
    wav, data = made
    header = verdict(data)
    if header is None:
        assert not wav.declared_ok() or len(data) > upload_check.MAX_BYTES
        return
    assert wav.declared_ok()
    assert (header.kind, header.rate, header.channels) == ("wav", wav.rate, wav.channels)
    assert header.seconds == wav.data_size / wav.byte_rate


# --- MP3 ----------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    version: int  # header bits: 0 = MPEG-2.5, 1 reserved, 2 = MPEG-2, 3 = MPEG-1
    layer: int  # header bits: 1 = Layer III
    bitrate: int
    rate: int
    padding: int
    mode: int
    emphasis: int

    def header(self) -> bytes:
        b1 = 0xE0 | self.version << 3 | self.layer << 1 | 1
        b2 = self.bitrate << 4 | self.rate << 2 | self.padding << 1
        return bytes((0xFF, b1, b2, self.mode << 6 | self.emphasis))

    def valid(self) -> bool:
        return (
            self.version != 1
            and self.layer == 1
            and self.bitrate not in (0, 15)
            and self.rate != 3
            and self.emphasis != 2
        )

    def hz(self) -> int:
        return MPEG_RATES[self.version][self.rate]

    def length(self) -> int:
        if self.version == 3:
            return 144 * MPEG1_KBPS[self.bitrate] * 1000 // self.hz() + self.padding
        return 72 * MPEG2_KBPS[self.bitrate] * 1000 // self.hz() + self.padding

    def samples(self) -> int:
        return 1152 if self.version == 3 else 576


frames = st.builds(
    Frame,
    version=st.sampled_from([0, 2, 3, 3, 1]),
    layer=st.sampled_from([1, 1, 1, 2, 3]),
    bitrate=st.integers(0, 15),
    rate=st.sampled_from([0, 1, 2, 3]),
    padding=st.integers(0, 1),
    mode=st.integers(0, 3),
    emphasis=st.sampled_from([0, 0, 1, 2, 3]),
)


def syncsafe(n: int) -> bytes:
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


@dataclass(frozen=True)
class Mp3:
    first: Frame
    count: int  # identical frames back to back
    xing: int | None  # frames a Xing header in the first frame declares
    honest: bool  # every ID3 tag's size is its own: the audio starts where the model thinks


@st.composite
def mp3s(draw: st.DrawFn) -> tuple[Mp3, bytes]:
    parts, honest = [], True
    for _ in range(draw(st.integers(0, 2))):
        body = draw(st.binary(max_size=64))
        size = len(body) if draw(st.booleans()) else draw(st.integers(0, 2**28 - 1))
        honest = honest and size == len(body)
        parts.append(b"ID3" + bytes((draw(st.integers(2, 5)), 0, 0)) + syncsafe(size) + body)
    parts.append(b"\0" * draw(st.integers(0, 8)))
    first = draw(frames)
    count = draw(st.integers(1, 6000))  # 6000 frames: up to ~7 minutes at 8 kHz
    xing = draw(st.one_of(st.none(), st.integers(0, 100_000)))
    if first.valid():
        size = first.length()
        mono = first.mode == 3
        side = (17 if mono else 32) if first.version == 3 else (9 if mono else 17)
        frame = bytearray(first.header() + bytes(max(0, size - 4)))
        if xing is not None and 4 + side + 12 <= size:
            frame[4 + side : 4 + side + 12] = b"Xing" + struct.pack(">II", 1, xing)
        else:
            xing = None
        plain = first.header() + bytes(max(0, size - 4))
        parts.append(bytes(frame) + plain * (count - 1))
    else:
        xing = None
        parts.append(first.header() + draw(st.binary(max_size=2000)))
    parts.append(draw(st.sampled_from([b"", b"TAG" + bytes(125), b"garbage"])))
    return Mp3(first, count, xing, honest), b"".join(parts)


@FUZZ
@given(mp3s())
def test_an_mp3_is_accepted_only_when_what_it_declares_is_in_range(made: tuple[Mp3, bytes]) -> None:
    mp3, data = made
    header = verdict(data)
    if header is None or not mp3.honest:
        return  # a tag that claims bytes of the audio: only the ranges above can be said
    assert header.kind == "mp3"
    assert mp3.first.valid(), "accepted a first frame that is not a Layer III header"
    assert header.rate == mp3.first.hz()
    assert header.channels == (1 if mp3.first.mode == 3 else 2)
    walked = mp3.count * mp3.first.samples() / mp3.first.hz()
    assert walked <= MAX_SECONDS + 0.1  # every frame is there: the walk sees them all
    if mp3.xing is not None:
        assert MIN_SECONDS <= mp3.xing * mp3.first.samples() / mp3.first.hz() <= MAX_SECONDS


# --- anything at all ----------------------------------------------------------

PREFIXES = st.sampled_from(
    [
        *(b"", b"RIFF", b"RIFF\0\0\0\0WAVE", b"RIFF\0\0\0\0WAVEfmt "),
        *(b"ID3", b"ID3\x04\0\0", b"\xff\xfb", b"\xff\xe3"),
    ]
)


@FUZZ
@given(PREFIXES, st.binary(max_size=4096))
def test_any_bytes_get_a_verdict_or_a_reason(prefix: bytes, rest: bytes) -> None:
    verdict(prefix + rest)


@FUZZ
@given(st.data())
def test_damaged_real_headers_get_a_verdict_or_a_reason(data: st.DataObject) -> None:
    """Valid files, then a few bytes of the first hundred changed."""
    wav = data.draw(wavs())[1][:20_000]
    mp3 = data.draw(mp3s())[1][:20_000]
    for original in (wav, mp3):
        damaged = bytearray(original)
        for _ in range(data.draw(st.integers(1, 8))):
            if damaged:
                at = data.draw(st.integers(0, min(len(damaged), 100) - 1))
                damaged[at] = data.draw(st.integers(0, 255))
        verdict(bytes(damaged))
