"""Hostile uploads (issue 17, point 9): files made to hurt the decoder are
refused with a reason the admin can read, before any decoder guesses what
they are, and nothing leaves the machine while they are looked at.

The three attacks that worked against the old import (pydub, which asked
ffprobe to guess the format): an ID3 header followed by an HLS playlist
(ffprobe fetched the playlist's URL: a blind request from the bank's
network), a 20 MB MP3 at 8 kbit/s (hours of sound, 2.8 GiB decoded) and a
4 KB WAV whose header says 1 Hz (seconds of CPU). Each listening socket here
is on 127.0.0.x: no test sends anything off this machine."""

import contextlib
import os
import socket
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from stasis_app.admin.api import AdminApi
from stasis_app.admin.prompts import BadText, PromptAdmin
from tests.support.isolated_admin import isolated_prompt_admin
from voice import upload_decode
from voice.recording import BadRecording, import_recording
from voice.upload_check import AudioHeader, check_upload

pytestmark = pytest.mark.unit


class Listener:
    """A TCP socket on a loopback address that records whoever connects."""

    def __init__(self, host: str = "127.0.0.29") -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"

    def connections(self) -> int:
        """How many connected (or are waiting to be accepted) so far."""
        count = 0
        while True:
            try:
                peer, _ = self.sock.accept()
            except BlockingIOError:
                return count
            peer.close()
            count += 1

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


def playlist(url: str) -> bytes:
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n"
        f"{url}/segment.ts\n#EXT-X-ENDLIST\n"
    ).encode()


def id3_then(body: bytes) -> bytes:
    """An empty ID3v2.4 tag, then ``body``: ffprobe skips the tag and guesses on."""
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + body


def wav_header(
    rate: int = 16000,
    channels: int = 1,
    bits: int = 16,
    tag: int = 1,
    data_size: int | None = None,
    frames: int = 0,
) -> bytes:
    """A RIFF/WAVE file whose header says what it is told to (and ``frames`` of zeros)."""
    align = channels * bits // 8
    body = bytes(frames * align)
    size = len(body) if data_size is None else data_size
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size)
    return b"RIFF" + struct.pack("<I", 4 + len(chunks) + len(body)) + b"WAVE" + chunks + body


def long_mp3(folder: Path, megabytes: int = 20) -> bytes:
    """An 8 kbit/s, 8 kHz MP3 of about ``megabytes`` (hours of sound): ten
    seconds of a tone, its frames repeated (no Xing header, no ID3 tag)."""
    short = folder / "short.mp3"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
         "sine=frequency=440:sample_rate=8000:duration=10", "-ac", "1", "-b:a", "8k",
         "-write_xing", "0", "-id3v2_version", "0", str(short)],
        check=True,
    )  # fmt: skip
    frames = short.read_bytes()
    return frames * (megabytes * 1024 * 1024 // len(frames))


def test_an_id3_header_before_a_playlist_is_refused_and_fetches_nothing(
    tmp_path: Path, listener: Listener
) -> None:
    with pytest.raises(BadRecording, match=r"no MPEG audio \(Layer III\) frame"):
        import_recording(id3_then(playlist(listener.url)), tmp_path / "cache")
    with pytest.raises(BadRecording, match="neither WAV nor MP3"):
        import_recording(playlist(listener.url), tmp_path / "cache")
    assert listener.connections() == 0


def test_a_playlist_behind_real_frames_reaches_nobody(tmp_path: Path, listener: Listener) -> None:
    """Frames the checker accepts, then a playlist: ffmpeg is told "mp3" and
    reads frames only; whatever it makes of the rest, no URL is opened."""
    frames = long_mp3(tmp_path, 1)[: 32 * 1024]  # half a minute of a tone
    data = frames + id3_then(playlist(listener.url)) + frames
    assert check_upload(data).kind == "mp3"
    with contextlib.suppress(BadRecording):  # refused or taken (the frames are sound),
        import_recording(data, tmp_path / "cache")
    assert listener.connections() == 0  # but nobody was asked for anything


def test_even_a_playlist_demuxer_in_the_box_reaches_nobody(
    tmp_path: Path, listener: Listener
) -> None:
    """Were the checker ever fooled into naming the wrong format, the
    decoder's box still has no protocol but files and pipes, and no network."""
    source = tmp_path / "list.m3u8"
    source.write_bytes(playlist(listener.url))
    with pytest.raises(BadRecording, match="cannot be decoded"):
        upload_decode.decode(source, AudioHeader("hls", 8000, 1, 10.0))
    assert listener.connections() == 0


def test_the_decoder_runs_without_a_network() -> None:
    """Where the machine allows it (root here), ffmpeg runs in an empty
    network namespace: not even loopback answers."""
    prefix = upload_decode._no_network()
    if not prefix:
        pytest.skip("this machine does not allow unshare -n")
    listener = Listener("127.0.0.30")
    probe = "import socket,sys; socket.create_connection(('127.0.0.30', int(sys.argv[1])), 2)"
    port = listener.url.rsplit(":", 1)[1]
    done = subprocess.run([*prefix, "python3", "-c", probe, port], capture_output=True)
    assert done.returncode != 0 and b"Network is unreachable" in done.stderr
    assert listener.connections() == 0
    listener.close()


def test_a_decoder_taken_over_cannot_read_the_apps_secrets(tmp_path: Path) -> None:
    """An app run as root decodes as ``nobody``: a decoder an upload took over
    can read neither a 0600 key file nor the app's environment, where the
    audit key may be. (Before, ffmpeg ran as the app's own user.)"""
    prefix = upload_decode._as_nobody()
    if not prefix:
        pytest.skip("the app does not run as root here")
    key = tmp_path / "audit.key"
    key.write_text("secret")
    key.chmod(0o600)
    for target in (key, Path(f"/proc/{os.getpid()}/environ")):
        done = subprocess.run([*prefix, "cat", str(target)], capture_output=True)
        assert done.returncode != 0 and b"Permission denied" in done.stderr, target
    assert "-i" in (cmd := upload_decode.command(AudioHeader("wav", 8000, 1, 1.0)))
    assert cmd[cmd.index("-i") + 1] == "pipe:0"  # the app opens the upload, not ffmpeg
    assert cmd[cmd.index("-protocol_whitelist") + 1] == "pipe"


def test_a_20_mb_mp3_of_hours_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    data = long_mp3(tmp_path)
    assert len(data) > 19 * 1024 * 1024
    with pytest.raises(BadRecording, match="lasts more than 180 s"):
        check_upload(data)
    with pytest.raises(BadRecording, match="lasts more than 180 s"):
        import_recording(data, tmp_path / "cache")


def test_a_long_mp3_that_hides_its_length_is_cut_and_refused(tmp_path: Path) -> None:
    """Frames, one damaged byte, then hours more: the checker stops walking at
    the damage, the decoder resynchronizes, and -t 181 stops it."""
    data = long_mp3(tmp_path, 2)
    hidden = data[:4000] + b"\x00" * 7 + data[4000:]
    assert check_upload(hidden).seconds < 180
    with pytest.raises(BadRecording, match="lasts more than 180 s"):
        import_recording(hidden, tmp_path / "cache")


def test_a_4_kb_wav_whose_header_says_1_hz_is_refused(tmp_path: Path) -> None:
    data = wav_header(rate=1, frames=2048)
    assert len(data) < 4200
    with pytest.raises(BadRecording, match="says 1 Hz; a recording is sampled at 8 to 48 kHz"):
        import_recording(data, tmp_path / "cache")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (wav_header(rate=96000, frames=16000), "says 96000 Hz"),
        (wav_header(rate=7999, frames=16000), "says 7999 Hz"),
        (wav_header(channels=6, frames=16000), "has 6 channels"),
        (wav_header(channels=0, frames=16000), "has 0 channels"),
        (wav_header(tag=3, bits=32, frames=16000), "not plain PCM"),
        (wav_header(tag=0x55, frames=16000), "not plain PCM"),
        (wav_header(bits=12, frames=16000), "12-bit samples"),
        (wav_header(data_size=0xFFFFFFFF, frames=16000), "announces 4294967295 bytes"),
        (wav_header(rate=8000, frames=8000 * 181), "lasts 181.0 s"),
        (wav_header(frames=800), "lasts 0.1 s"),
        (b"RIFF\x00\x00\x00\x00WAVEdata\x10\x00\x00\x00" + bytes(16), "no format .fmt. chunk"),
        (b"RIFF\x00\x00\x00\x00WAVE" + b"junk\x00\x00\x00\x00" * 70, "more than 64 chunks"),
        (b"ID3\x03\x00\x00\x7f\x7f\x7f\x7f", "ID3 tag is longer than the file"),
        (b"ID3\x03\x00\x00\x80\x00\x00\x00", "damaged size"),
        (b"\xff\xfb\x90\x64" + bytes(413) + b"<html></html>", "not followed by another"),
        (b"\xff\xf3\x00\x64" + bytes(4000), "neither WAV nor MP3"),  # free-format bitrate
    ],
)
def test_a_header_out_of_range_is_refused_with_the_reason(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    with pytest.raises(BadRecording, match=reason):
        import_recording(data, tmp_path / "cache")
    assert not [p for p in (tmp_path / "cache").rglob("*") if not p.is_dir()]


@pytest.fixture
def admin(tmp_path: Path) -> PromptAdmin:
    return isolated_prompt_admin(tmp_path)


async def test_the_api_refuses_the_ssrf_file_with_the_reason_and_fetches_nothing(
    admin: PromptAdmin, listener: Listener
) -> None:
    auth = {"Authorization": f"Bearer {admin.store.create_token('anna', 'cieszyn')}"}
    async with TestClient(TestServer(AdminApi(admin).app())) as client:
        answer = await client.put(
            "/api/tenants/cieszyn/prompts/greeting/recording",
            params={"transcript": "Dzień dobry."},
            data=id3_then(playlist(listener.url)),
            headers=auth,
        )
        assert answer.status == 400
        assert "no MPEG audio" in (await answer.json())["error"]
    assert listener.connections() == 0
    with pytest.raises(BadText, match="says 1 Hz"):
        await admin.set_recording("cieszyn", "greeting", wav_header(rate=1, frames=2048), "x", "a")


@pytest.mark.parametrize(
    ("limit", "value", "reason"),
    [
        ("MEMORY_BYTES", 48 * 1024 * 1024, "cannot be decoded"),  # ffmpeg cannot even load
        ("WALL_SECONDS", 0.001, "took too long to decode"),
    ],
)
def test_the_decoder_is_held_to_its_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: str, value: float, reason: str
) -> None:
    """A good file, decoded in a box made too small: refused with the reason
    (the limits are really applied to ffmpeg, not only written down)."""
    data = wav_header(rate=16000, frames=16000)
    source = tmp_path / "ok.wav"
    source.write_bytes(data)
    header = check_upload(data)
    assert len(upload_decode.decode(source, header)) == 32000  # fits the usual box
    monkeypatch.setattr(upload_decode, limit, value)
    with pytest.raises(BadRecording, match=reason):
        upload_decode.decode(source, header)
