"""gTTS: Google Translate's voice, through the ``gTTS`` package. Online.

Natural Polish, but it needs translate.google.<tld> over HTTPS, is
rate-limited (HTTP 429) and may vanish at any time: it belongs at the head
of a chain with an offline engine after it, and it never hears customer
data (``offline = False``; see :mod:`voice.live`).

gTTS itself waits forever by default (``timeout=None``); this engine always
passes a finite timeout, runs the blocking requests in a thread, and turns
every failure into :class:`~voice.engine.SynthesisError` with a message that
names the cause but never the text. gTTS returns MP3 (24 kHz mono); the
engine decodes it to WAV so the file is what its name says.

gTTS sends its requests with ``verify=False`` (for users behind intercepting
proxies) and, on every request, switches urllib3's ``InsecureRequestWarning``
off for the whole process (``warnings.simplefilter("ignore", ...)``). Here
neither happens: gTTS's module gets a ``requests`` whose sessions always
verify the certificate (against ``REQUESTS_CA_BUNDLE`` when set, as requests
itself does) and whose warning switch does nothing (:data:`_GTTS_REQUESTS`).
Without that, anyone on the path to Google could choose what callers hear.
"""

import asyncio
import logging
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests
import urllib3
from gtts import gTTS, gTTSError
from gtts import tts as gtts_tts
from gtts.lang import tts_langs
from gtts.version import __version__ as GTTS_VERSION
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydub import AudioSegment
from pydub.exceptions import CouldntDecodeError

from voice.engine import SynthesisError


class _VerifyingSession(requests.Session):
    """The session gTTS gets: the certificate is checked whatever gTTS asks."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        proxies = kwargs.get("proxies") or {}
        # What requests' own Session.request would use: REQUESTS_CA_BUNDLE or
        # CURL_CA_BUNDLE when set (an intercepting proxy's CA), else certifi's.
        settings = self.merge_environment_settings(request.url or "", proxies, None, True, None)
        kwargs["verify"] = settings["verify"]
        return super().send(request, **kwargs)


def _leave_warnings_alone(*categories: type[Warning]) -> None:
    """Stands for urllib3's ``disable_warnings`` in gTTS: does nothing."""


# gTTS's module uses requests.Request, .Session, .exceptions and, to silence
# warnings process-wide, .packages.urllib3; it gets this instead of requests.
_GTTS_REQUESTS = SimpleNamespace(
    Request=requests.Request,
    Session=_VerifyingSession,
    exceptions=requests.exceptions,
    packages=SimpleNamespace(
        urllib3=SimpleNamespace(
            disable_warnings=_leave_warnings_alone, exceptions=urllib3.exceptions
        )
    ),
)
gtts_tts.requests = _GTTS_REQUESTS


class GttsSettings(BaseModel):
    """A tenant's or deployment's gTTS settings (``voice.engines[].settings``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lang: str = Field(default="pl", description="gTTS language tag")
    tld: str = Field(default="com", description="translate.google.<tld> serves the voice")
    slow: bool = False
    timeout: float = Field(
        default=5.0, gt=0, le=60, description="seconds to connect, and to wait for each answer"
    )

    @field_validator("lang")
    @classmethod
    def _known_lang(cls, lang: str) -> str:
        if lang not in tts_langs():
            raise ValueError(f"gTTS has no language {lang!r}")
        return lang

    @field_validator("tld")
    @classmethod
    def _plain_tld(cls, tld: str) -> str:
        if not tld or not all(part.isalnum() for part in tld.split(".")):
            raise ValueError(f"not a top-level domain: {tld!r}")
        return tld


class GttsEngine:
    """Speaks through Google Translate's text-to-speech (gTTS)."""

    offline = False  # sends the text to Google: never customer data

    def __init__(
        self, lang: str = "pl", tld: str = "com", slow: bool = False, timeout: float = 5.0
    ) -> None:
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError("gTTS needs a finite timeout (its own default waits forever)")
        self.lang = lang
        self.tld = tld
        self.slow = slow
        self.timeout = timeout
        # gTTS logs each text chunk at debug level; prompts may not end up in logs.
        logging.getLogger("gtts").setLevel(logging.INFO)

    @property
    def identity(self) -> str:
        return f"gtts {GTTS_VERSION} lang={self.lang} tld={self.tld} slow={self.slow}"

    async def synthesize(self, text: str, out: Path) -> None:
        # requests times out each connect and each read, but not a DNS lookup
        # or a server that drips bytes: bound the whole job as well.
        chunks = math.ceil(len(text) / gTTS.GOOGLE_TTS_MAX_CHARS) or 1
        deadline = self.timeout * (2 * chunks + 1)
        try:
            await asyncio.wait_for(asyncio.to_thread(self._synthesize, text, out), deadline)
        except TimeoutError:
            raise SynthesisError(f"gTTS did not finish within {deadline:g} s") from None

    def _synthesize(self, text: str, out: Path) -> None:
        mp3 = out.with_name(out.name + ".mp3")
        try:
            tts = gTTS(
                text,
                lang=self.lang,
                tld=self.tld,
                slow=self.slow,
                lang_check=False,  # checked once, in GttsSettings
                timeout=self.timeout,
            )
            tts.save(str(mp3))
            AudioSegment.from_file(mp3, format="mp3").export(out, format="wav")
        except gTTSError as exc:
            raise _synthesis_error(exc, self.tld) from None
        except AssertionError:  # gTTS asserts there is something left to speak
            raise SynthesisError("gTTS found nothing to speak in the text") from None
        except CouldntDecodeError:
            raise SynthesisError("gTTS answered with audio ffmpeg cannot decode") from None
        finally:
            mp3.unlink(missing_ok=True)


def _synthesis_error(exc: gTTSError, tld: str) -> SynthesisError:
    """Say what went wrong from the HTTP answer or the requests exception,
    never quoting the request (its body is the text)."""
    response: requests.Response | None = exc.rsp
    if response is None:
        cause = exc.__context__
        kind = type(cause).__name__ if cause is not None else "unknown error"
        if isinstance(cause, requests.Timeout):
            return SynthesisError(f"gTTS timed out ({kind})")
        return SynthesisError(f"gTTS could not reach translate.google.{tld} ({kind})")
    status = response.status_code
    if status == 429:
        return SynthesisError(
            "gTTS is rate-limited (HTTP 429)",
            retry_after=_seconds(response.headers.get("Retry-After")),
        )
    if status == 200:
        return SynthesisError("gTTS answered without audio")
    return SynthesisError(f"gTTS failed with HTTP {status}")


def _seconds(header: str | None) -> float | None:
    """A ``Retry-After`` given in seconds (the date form is ignored)."""
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None
