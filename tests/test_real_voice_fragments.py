"""The demo balance on a real call flows: its amount, played word by word from
fragments, lasts at most 1.25 times the same words synthesized whole by the
same engine, with no silence over 100 ms inside it (issue 22).

Measured on what the caller heard: the simulator records the line's audio
(a snoop), a witness notes when Asterisk started the recording and the
amount's first word, and when that playback finished; the amount is the
speech between those two moments of the recording.
"""

import asyncio
import wave
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from devtools.simulator import CallSimulator
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from tests.conftest import TEST_CONFIG
from tests.support.ari_client import Ari, Event, Witness
from voice.convert import convert_for_asterisk
from voice.pauses import SpeechSpan, pcm_span
from voice.polish import amount_words, fragment_key

pytestmark = pytest.mark.asterisk

BALANCE = Decimal("1234.56")  # the demo bank's first customer (adapters/demo.py)
MAX_RATIO = 1.25
MAX_SILENCE_MS = 100


def _at(event: Event) -> datetime:
    return datetime.strptime(str(event["timestamp"]), "%Y-%m-%dT%H:%M:%S.%f%z")


def _ms(since: datetime, event: Event) -> int:
    return round((_at(event) - since).total_seconds() * 1000)


def _wav_span(path: Path) -> SpeechSpan:
    with wave.open(str(path)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth()) == (1, 2)
        span = pcm_span(audio.readframes(audio.getnframes()), audio.getframerate())
        rate = audio.getframerate()
    assert span is not None, "silence"
    assert rate == 8000
    return span


def test_the_demo_balance_is_spoken_without_gaps(
    simulator: CallSimulator, ari: Ari, tmp_path: Path
) -> None:
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    book = build_deployment(settings, with_adapters=False).tenants["izbica"].prompts
    words = amount_words(BALANCE)
    uris = book.media_uris()
    amount = [uris[fragment_key(word)] for word in words]
    heard = tmp_path / "demo-call.wav"

    async def call() -> list[Event]:
        async with Witness(ari) as witness:
            await simulator.call("100", ["2", "12345678", "1234#"], wav=heard, hangup_after=0.3)
            return list(witness.events)

    events = asyncio.run(call())
    recorded = next(e for e in events if e["type"] == "RecordingStarted")
    first = next(
        e
        for e in events
        if e["type"] == "PlaybackStarted" and e["playback"]["media_uri"] == amount[0]
    )
    playback = first["playback"]["id"]
    of_playback: list[dict[str, Any]] = [
        e for e in events if e.get("playback", {}).get("id") == playback
    ]
    started = [e["playback"]["media_uri"] for e in of_playback if e["type"] == "PlaybackStarted"]
    assert started[-len(amount) :] == amount  # the balance's playback ends with the amount
    finished = next(e for e in of_playback if e["type"] == "PlaybackFinished")

    # The recording's samples between the amount's first word and the end of its playback.
    with wave.open(str(heard)) as audio:
        rate = audio.getframerate()
        pcm = audio.readframes(audio.getnframes())
    start_ms, end_ms = _ms(_at(recorded), first), _ms(_at(recorded), finished) + 20
    span = pcm_span(pcm[start_ms * rate // 500 : end_ms * rate // 500], rate)
    assert span is not None, "the amount was not heard"
    assert span.start_ms <= 60, "the recording and the events disagree on when the amount began"

    # The same words as one sentence, by the same engine, as Asterisk reads them (8 kHz).
    engine = book.cache.chain.engines[0]
    raw = tmp_path / "whole-raw.wav"
    asyncio.run(engine.synthesize(" ".join(words), raw))
    convert_for_asterisk(raw, tmp_path / "whole")
    whole = _wav_span(tmp_path / "whole.wav")

    ratio = span.duration_ms / whole.duration_ms
    print(
        f"\nthe demo balance on a real call ({engine.identity}, "
        f"pause {settings.voice.fragment_pause_ms} ms): {span.duration_ms} ms through fragments, "
        f"{whole.duration_ms} ms whole, ratio {ratio:.2f}, "
        f"longest silence inside {span.longest_pause_ms} ms"
    )
    assert ratio <= MAX_RATIO
    assert span.longest_pause_ms <= MAX_SILENCE_MS
