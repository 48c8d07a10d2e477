"""gTTS at its HTTP boundary, without the internet.

gTTS, requests, urllib3 and the sockets run for real; the one thing patched
is the address: requests' transport adapter (``HTTPAdapter.send``) sends what
gTTS meant for https://translate.google.com to a local HTTP server that
answers as Google's batchexecute endpoint does (base64 MP3 made here from
espeak-ng audio), or with 429, 500, no audio, or never.
"""

import asyncio
import base64
import json
import logging
import re
import socket
import subprocess
import sys
import threading
import time
import warnings
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
import requests
import requests.adapters
from urllib3.exceptions import InsecureRequestWarning

from voice.cache import PromptCache
from voice.chain import EngineChain, EngineHealth
from voice.convert import convert_for_asterisk
from voice.engine import SynthesisError
from voice.espeak import EspeakEngine
from voice.gtts_engine import GttsEngine, GttsSettings
from voice.prompts import PromptBook

pytestmark = pytest.mark.unit

SENTENCE = "Dzień dobry. Tu infolinia Banku Spółdzielczego w Izbicy."
LONG = (
    "Aby zablokować kartę lub dostęp do bankowości internetowej, naciśnij jeden. "
    "Aby poznać saldo i ostatnie operacje, naciśnij dwa. "
    "Aby połączyć się z konsultantem, naciśnij zero. Aby powtórzyć, naciśnij dziewięć."
)


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes() / audio.getframerate()


@pytest.fixture(scope="module")
def mp3_reply(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, float]:
    """Real MP3 audio as Google sends it (24 kHz mono), made locally from
    espeak-ng; and its length in seconds."""
    work = tmp_path_factory.mktemp("mp3")
    wav, mp3 = work / "reply.wav", work / "reply.mp3"
    asyncio.run(EspeakEngine(voice="pl", speed=300).synthesize("Dzień dobry.", wav))
    encode = ["-ar", "24000", "-ac", "1", "-codec:a", "libmp3lame", "-b:a", "32k"]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(wav), *encode, str(mp3)], check=True)
    decoded = work / "decoded.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(mp3), str(decoded)], check=True)
    return mp3.read_bytes(), wav_seconds(decoded)


class FakeGoogle:
    """A local stand-in for translate.google.com's TTS endpoint."""

    def __init__(self, mp3: bytes) -> None:
        self.mp3 = mp3
        self.answer = "audio"  # or "429", "500", "no-audio", "hang"
        self.chunks: list[str] = []  # the text of each request, in order
        self.langs: list[str] = []
        self.timeouts: list[Any] = []  # what requests was told to wait, per request
        self.release = threading.Event()
        google = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                rpc = json.loads(parse_qs(body)["f.req"][0])
                text, lang, _speed, _ = json.loads(rpc[0][0][1])
                google.chunks.append(text)
                google.langs.append(lang)
                google.reply(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def reply(self, handler: BaseHTTPRequestHandler) -> None:
        if self.answer == "hang":
            self.release.wait(10)
            return
        if self.answer in ("429", "500"):
            handler.send_response(int(self.answer))
            if self.answer == "429":
                handler.send_header("Retry-After", "120")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        audio = base64.b64encode(self.mp3).decode() if self.answer == "audio" else None
        inner = json.dumps([audio]) if audio is not None else None
        rpc = json.dumps(
            [["wrb.fr", "jQ1olc", inner, None, None, None, "generic"]], separators=(",", ":")
        )
        payload = f")]}}'\n\n{len(rpc)}\n{rpc}\n".encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def redirect_google(monkeypatch: pytest.MonkeyPatch, port: int, seen: list[Any]) -> None:
    """Send gTTS's requests to 127.0.0.1:port instead of Google, at requests'
    transport adapter; everything above and below it stays real."""
    real_send = requests.adapters.HTTPAdapter.send

    def send(
        adapter: requests.adapters.HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        url = urlsplit(request.url)
        assert url.scheme == "https" and url.hostname == "translate.google.com"
        seen.append(kwargs.get("timeout"))
        request.url = urlunsplit(("http", f"127.0.0.1:{port}", url.path, url.query, ""))
        kwargs["proxies"] = {}  # a developer's https_proxy must not get this
        return real_send(adapter, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch, mp3_reply: tuple[bytes, float]) -> Iterator[FakeGoogle]:
    fake = FakeGoogle(mp3_reply[0])
    redirect_google(monkeypatch, fake.port, fake.timeouts)
    yield fake
    fake.stop()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def failure(engine: GttsEngine, out: Path, text: str = SENTENCE) -> SynthesisError:
    # A generous bound: the point is that it does not hang, not how fast it is.
    with pytest.raises(SynthesisError) as caught:
        await asyncio.wait_for(engine.synthesize(text, out), 20)
    assert text not in str(caught.value) and "Izbic" not in str(caught.value)
    assert not out.exists() and list(out.parent.glob("*.mp3")) == []
    return caught.value


async def test_speaks_polish_with_a_finite_timeout_into_audio_asterisk_can_play(
    google: FakeGoogle, mp3_reply: tuple[bytes, float], tmp_path: Path
) -> None:
    engine = GttsEngine(lang="pl", timeout=2.5)
    out = tmp_path / "speech.wav"
    await engine.synthesize(SENTENCE, out)
    assert google.chunks == [SENTENCE] and google.langs == ["pl"]
    assert google.timeouts == [2.5]  # gTTS alone would wait forever (None)
    assert wav_seconds(out) == pytest.approx(mp3_reply[1], abs=0.1)
    convert_for_asterisk(out, tmp_path / "prompt")
    assert wav_seconds(tmp_path / "prompt.wav") == pytest.approx(mp3_reply[1], abs=0.1)
    sln16_seconds = (tmp_path / "prompt.sln16").stat().st_size / (2 * 16000)
    assert sln16_seconds == pytest.approx(mp3_reply[1], abs=0.1)


async def test_a_long_text_goes_in_chunks_of_at_most_100_characters_all_written(
    google: FakeGoogle, mp3_reply: tuple[bytes, float], tmp_path: Path
) -> None:
    out = tmp_path / "speech.wav"
    await GttsEngine(timeout=2.0).synthesize(LONG, out)
    assert len(google.chunks) >= 3
    assert all(len(chunk) <= 100 for chunk in google.chunks)
    words = re.findall(r"\w+", LONG)
    assert [w for chunk in google.chunks for w in re.findall(r"\w+", chunk)] == words
    assert google.timeouts == [2.0] * len(google.chunks)
    # One MP3 per chunk, one after another in the file (each with its encoder padding).
    chunks = len(google.chunks)
    assert wav_seconds(out) == pytest.approx(chunks * mp3_reply[1], abs=0.1 * chunks)


async def test_rate_limited_429_says_so_and_passes_on_retry_after(
    google: FakeGoogle, tmp_path: Path
) -> None:
    google.answer = "429"
    error = await failure(GttsEngine(timeout=2.0), tmp_path / "speech.wav")
    assert "429" in str(error) and error.retry_after == 120.0


async def test_server_error_500(google: FakeGoogle, tmp_path: Path) -> None:
    google.answer = "500"
    error = await failure(GttsEngine(timeout=2.0), tmp_path / "speech.wav")
    assert str(error) == "gTTS failed with HTTP 500"


async def test_an_answer_without_audio(google: FakeGoogle, tmp_path: Path) -> None:
    google.answer = "no-audio"
    error = await failure(GttsEngine(timeout=2.0), tmp_path / "speech.wav")
    assert "without audio" in str(error)


async def test_a_server_that_never_answers_times_out(google: FakeGoogle, tmp_path: Path) -> None:
    google.answer = "hang"
    started = time.monotonic()
    error = await failure(GttsEngine(timeout=0.3), tmp_path / "speech.wav")
    assert "timed out" in str(error) and "ReadTimeout" in str(error)
    assert time.monotonic() - started < 10  # the server would hold it for 10 s


async def test_connection_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    redirect_google(monkeypatch, closed_port(), [])
    error = await failure(GttsEngine(timeout=2.0), tmp_path / "speech.wav")
    assert "could not reach translate.google.com" in str(error)
    assert "ConnectionError" in str(error)


async def test_an_unresolvable_host_fails_without_any_patch(tmp_path: Path) -> None:
    # .invalid never resolves (RFC 6761): a real failure that sends nothing anywhere.
    error = await failure(GttsEngine(tld="invalid", timeout=2.0), tmp_path / "speech.wav")
    # At once where DNS answers; a resolver that does not answer meets the deadline instead.
    said = str(error)
    assert "could not reach translate.google.invalid" in said or "did not finish" in said


def test_identity_and_settings() -> None:
    engine = GttsEngine(lang="pl", tld="pl", slow=True, timeout=3)
    assert re.fullmatch(r"gtts 2\.5\.\d+ lang=pl tld=pl slow=True", engine.identity)
    assert engine.offline is False
    assert GttsEngine().identity != GttsEngine(tld="pl").identity
    with pytest.raises(ValueError, match="finite timeout"):
        GttsEngine(timeout=float("inf"))
    with pytest.raises(ValueError, match="no language 'xx'"):
        GttsSettings(lang="xx")
    with pytest.raises(ValueError, match="top-level domain"):
        GttsSettings(tld="evil.example/")
    with pytest.raises(ValueError, match="greater than 0"):
        GttsSettings(timeout=0)


async def test_rate_limited_gtts_falls_back_to_espeak_with_one_warning(
    google: FakeGoogle, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    google.answer = "429"
    health = EngineHealth(cooloff=60)
    gtts, espeak = GttsEngine(timeout=2.0), EspeakEngine(voice="pl", speed=300)
    cache = PromptCache(tmp_path, EngineChain([gtts, espeak], health))
    texts = {f"p{n}": f"Komunikat numer {n}." for n in range(6)}
    with caplog.at_level(logging.INFO):
        await PromptBook(texts, cache).render_all()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "TTS engine failed; the next engine of the chain speaks until it is retried"
    ]
    assert warnings[0].__dict__["retry_in"] == 120.0  # Google's Retry-After, not our 60 s
    assert len(google.chunks) <= 2  # the two workers' first attempts; then it rests
    assert all(cache.cached(text) == cache.base_path(text, espeak) for text in texts.values())


def insecure_request_warning_action() -> str:
    """What the process's warning filters do with urllib3's warning about an
    unverified HTTPS request (the first matching filter wins)."""
    for action, message, category, module, _line in warnings.filters:
        if (
            issubclass(InsecureRequestWarning, category)
            and (message is None or message.match("Unverified HTTPS request"))
            and (module is None or module.match("urllib3.connectionpool"))
        ):
            return str(action)
    return "default"


async def test_gtts_checks_the_certificate_and_leaves_the_insecure_warning_on(
    google: FakeGoogle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gTTS alone sends with verify=False and, on every request, turns
    urllib3's InsecureRequestWarning off for the whole process."""
    verify: list[Any] = []
    redirected = requests.adapters.HTTPAdapter.send

    def send(adapter: Any, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        verify.append(kwargs.get("verify"))
        return redirected(adapter, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    before = insecure_request_warning_action()
    assert before != "ignore"  # importing the engine switched nothing off
    await GttsEngine(timeout=2.0).synthesize(LONG, tmp_path / "speech.wav")
    assert len(verify) == len(google.chunks) >= 3
    assert all(v is True or (isinstance(v, str) and Path(v).is_file()) for v in verify)
    assert insecure_request_warning_action() == before  # still on, for everyone else


def test_importing_the_engine_leaves_the_insecure_warning_on() -> None:
    """In a fresh interpreter: nothing at import time silences urllib3."""
    check = (
        "import warnings, urllib3.exceptions as e\n"
        "import voice.gtts_engine\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.warn(e.InsecureRequestWarning('Unverified HTTPS request'))\n"
        "assert len(seen) == 1, seen\n"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-W", "default", "-c", check], cwd=root, check=True)
