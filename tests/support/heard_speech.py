"""How long a value lasted on a real call, and its longest silence, from the
recording the call simulator made and the ARI events a witness saw.

The witness sees when Asterisk started the recording (``RecordingStarted``),
when the value's first word started (``PlaybackStarted`` of its media) and
when it ended (the playback's next item started, or the playback finished);
those moments, on Asterisk's own clock, cut the value out of the recording.
Used by ``tests/test_real_voice_fragments.py`` and ``bench/voice_demo_call.py``.
"""

import asyncio
import tempfile
import wave
from datetime import datetime
from pathlib import Path

from tests.support.ari_client import Event
from voice.convert import convert_for_asterisk
from voice.engine import TtsEngine
from voice.pauses import SpeechSpan, pcm_span

# After PlaybackFinished: what Asterisk may still have written of the last frame.
END_SLACK_MS = 20


def _at(event: Event) -> datetime:
    return datetime.strptime(str(event["timestamp"]), "%Y-%m-%dT%H:%M:%S.%f%z")


def _ms(since: datetime, event: Event) -> int:
    return round((_at(event) - since).total_seconds() * 1000)


def value_heard(events: list[Event], recording: Path, media: list[str]) -> SpeechSpan:
    """The speech of ``media`` (the URIs of a value's words, the end of one
    playback) in ``recording``; ``start_ms`` counts from the value's first word."""
    recorded = next(e for e in events if e["type"] == "RecordingStarted")
    first = next(
        e
        for e in events
        if e["type"] == "PlaybackStarted" and e["playback"]["media_uri"] == media[0]
    )
    playback = first["playback"]["id"]
    of_playback = [e for e in events if (e.get("playback") or {}).get("id") == playback]
    starts = [e for e in of_playback if e["type"] == "PlaybackStarted"]
    started = [e["playback"]["media_uri"] for e in starts]
    at = next((n for n in range(len(started)) if started[n : n + len(media)] == media), None)
    if at is None:
        raise AssertionError(f"the playback did not have the value's words in a row: {started}")
    # The value ends where the playback's next item starts (another account's
    # balance may follow it), else where the playback finished.
    following = starts[at + len(media)] if at + len(media) < len(starts) else None
    finished = following or next(e for e in of_playback if e["type"] == "PlaybackFinished")
    with wave.open(str(recording)) as audio:
        if (audio.getnchannels(), audio.getsampwidth()) != (1, 2):
            raise AssertionError("not a 16-bit mono recording")
        rate = audio.getframerate()
        pcm = audio.readframes(audio.getnframes())
    since = _at(recorded)
    start, end = _ms(since, first), _ms(since, finished) + (0 if following else END_SLACK_MS)
    bytes_per_ms = rate * 2 // 1000
    span = pcm_span(pcm[start * bytes_per_ms : end * bytes_per_ms], rate)
    if span is None:
        raise AssertionError("the value was not heard")
    return span


def spoken_whole(engine: TtsEngine, words: list[str]) -> SpeechSpan:
    """``words`` as one sentence by ``engine``, converted as for Asterisk, at 8 kHz."""
    with tempfile.TemporaryDirectory(prefix="infolinia-whole-") as work:
        raw, base = Path(work) / "raw.wav", Path(work) / "whole"
        asyncio.run(engine.synthesize(" ".join(words), raw))
        convert_for_asterisk(raw, base)
        with wave.open(str(base.with_suffix(".wav"))) as audio:
            span = pcm_span(audio.readframes(audio.getnframes()), audio.getframerate())
    if span is None:
        raise AssertionError("the engine produced silence")
    return span
