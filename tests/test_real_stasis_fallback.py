"""The app is not connected: a caller is told so in Polish and goes to a
consultant, instead of silence or a hang-up (the dialplan after a failed
``Stasis()``, docker/asterisk/etc/extensions.conf).

The app is stopped for this test and started again at its end. The line's
channel is watched by a witness (what the dialplan ran, the variables it
set) and by a snoop that records what the caller heard.
"""

import asyncio
import contextlib
import json
import math
import struct
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from devtools.sandbox import SOUNDS_DIR, Sandbox
from tests.conftest import wait_registered
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari, Event, Witness
from voice import fallback

pytestmark = pytest.mark.asterisk

LINE = "100"
APP = "infolinia"


@dataclass
class CallRecord:
    """What the witness saw on the line's channel, and what the caller heard."""

    events: list[Event]
    wav: Path
    app_was_registered: bool

    def dialplan(self) -> list[tuple[str, str, str]]:
        """(context, application, data), in the order the channel ran them."""
        return [
            (e["channel"]["dialplan"]["context"], e["dialplan_app"], e["dialplan_app_data"])
            for e in self.events
            if e["type"] == "ChannelDialplan"
        ]

    def variable(self, name: str) -> str | None:
        """The last value the channel's dialplan gave ``name``."""
        values = [
            e["value"]
            for e in self.events
            if e["type"] == "ChannelVarset" and e["variable"] == name
        ]
        return values[-1] if values else None


@dataclass
class Ear:
    """A Stasis app of the test's own, for the snoop channel that records."""

    ari: Ari
    name: str
    events: list[Event] = field(default_factory=list)
    _reader: "asyncio.Task[None] | None" = None

    async def open(self, http: aiohttp.ClientSession) -> None:
        ws = await http.ws_connect(self.ari.url + "ari/events", params={"app": self.name})

        async def read() -> None:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self.events.append(json.loads(message.data))

        self._reader = asyncio.create_task(read())

    def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()

    async def wait_for(self, kinds: tuple[str, ...], channel_id: str, timeout: float) -> Event:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events:
                about = (event.get("channel") or {}).get("id") or (
                    (event.get("recording") or {}).get("target_uri", "").removeprefix("channel:")
                )
                if event["type"] in kinds and about == channel_id:
                    return event
            await asyncio.sleep(0.05)
        raise AssertionError(
            f"no {kinds} for {channel_id} within {timeout}s: {[e['type'] for e in self.events]}"
        )


async def app_gone(ari: Ari, timeout: float = 10) -> bool:
    """Wait until Asterisk has forgotten the stopped app; whether it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not await ari.app_registered(APP):
            return True
        await asyncio.sleep(0.1)
    return False


async def call_while_the_app_is_down(ari: Ari, wav: Path) -> CallRecord:
    run = uuid.uuid4().hex[:10]
    caller_id, line_id, ear_id = f"fb-{run}", f"fb-{run}-line", f"fb-{run}-ear"
    recording = f"fallback-test-{run}"
    gone = await app_gone(ari)
    ear = Ear(ari, f"fallback-ear-{run}")
    async with Witness(ari) as witness, aiohttp.ClientSession(headers=ari.headers) as http:
        await ear.open(http)
        try:
            # The caller half runs the tests' dialplan caller: it answers and
            # waits (longer than the fallback and a ringing consultant take);
            # the line half runs infolinia-lines like any call.
            await ari.request(
                "POST",
                "channels",
                params={
                    "endpoint": f"Local/{LINE}@infolinia-lines",
                    "context": "infolinia-test-caller",
                    "extension": "s",
                    "priority": "1",
                    "channelId": caller_id,
                    "otherChannelId": line_id,
                },
                json={"variables": {"CALLER_WAIT": "75", "CALLER_KEYS": "0", "CALLER_HOLD": "1"}},
            )
            # What the line sends out is what the caller hears (as the simulator does).
            await ari.request(
                "POST",
                f"channels/{line_id}/snoop",
                params={"spy": "out", "app": ear.name, "snoopId": ear_id},
            )
            await ear.wait_for(("StasisStart",), ear_id, timeout=10)
            await ari.request(
                "POST",
                f"channels/{ear_id}/record",
                params={"name": recording, "format": "wav", "ifExists": "overwrite"},
            )
            # Fallback (about 7 s), a consultant's Dial (fails at once with no
            # softphone registered, rings 30 s with one), congestion tone (4 s).
            await witness.hangup_of(line_id, timeout=75)
            finished = await ear.wait_for(
                ("RecordingFinished", "RecordingFailed"), ear_id, timeout=10
            )
            assert finished["type"] == "RecordingFinished", finished
            url = ari.url + f"ari/recordings/stored/{recording}"
            async with http.get(url + "/file") as response:
                assert response.status == 200, await response.text()
                wav.write_bytes(await response.read())
            async with http.delete(url):
                pass
            events = witness.on_channel(line_id)
        finally:
            ear.close()
            # Already gone when all went well; otherwise no call is left behind.
            with contextlib.suppress(aiohttp.ClientError):
                async with http.delete(ari.url + f"ari/channels/{caller_id}"):
                    pass
    return CallRecord(events, wav, app_was_registered=not gone)


def loud_seconds(path: Path, start: float = 0.0, end: float | None = None) -> float:
    """Seconds of ``path`` (between ``start`` and ``end``) in 20 ms windows
    louder than near-silence."""
    with wave.open(str(path), "rb") as audio:
        assert (audio.getnchannels(), audio.getsampwidth()) == (1, 2)
        rate = audio.getframerate()
        frames = audio.readframes(audio.getnframes())
    samples = [v for (v,) in struct.iter_unpack("<h", frames)]
    samples = samples[int(start * rate) : None if end is None else int(end * rate)]
    window = rate // 50
    loud = 0
    for at in range(0, len(samples) - window + 1, window):
        chunk = samples[at : at + window]
        if math.sqrt(sum(v * v for v in chunk) / window) > 300:
            loud += 1
    return loud / 50


def seconds_of(path: Path) -> float:
    with wave.open(str(path), "rb") as audio:
        return audio.getnframes() / audio.getframerate()


def test_with_the_app_down_a_caller_hears_the_polish_fallback_and_goes_to_a_consultant(
    live_app: AppProcess, ari: Ari, sandbox: Sandbox, tmp_path: Path
) -> None:
    # `sandbox up` put the fallback into Asterisk's own sounds folder.
    for ext in (".wav", ".sln16"):
        installed = (sandbox.root / SOUNDS_DIR / fallback.SOUND_NAME).with_suffix(ext)
        assert installed.read_bytes() == fallback.SHIPPED.with_suffix(ext).read_bytes()

    live_app.stop()
    try:
        call = asyncio.run(call_while_the_app_is_down(ari, tmp_path / "heard.wav"))
    finally:
        live_app.start()
        asyncio.run(wait_registered(ari, APP))

    ran = call.dialplan()
    apps = [app for _, app, _ in ran]
    assert call.variable("STASISSTATUS") == "FAILED", (
        f"Stasis() did not fail (app still registered: {call.app_was_registered}); "
        f"the dialplan ran {ran}"
    )

    def step(context: str, app: str, data: str) -> int:
        assert (context, app, data) in ran, f"no {app}({data}) in {context}; it ran {ran}"
        return ran.index((context, app, data))

    stasis = step("infolinia-lines", "Stasis", f"{APP},{LINE}")
    answer = step("infolinia-lines", "Answer", "")
    playback = step("infolinia-lines", "Playback", fallback.SOUND_NAME)
    goto = step("infolinia-lines", "Goto", f"infolinia-consultants,{LINE},1")
    dial = step("infolinia-consultants", "Dial", "PJSIP/softphone,30")
    assert stasis < answer < playback < goto < dial
    assert "Hangup" not in apps[stasis:dial], ran
    # Asterisk found the file and played it to its end.
    assert call.variable("PLAYBACKSTATUS") == "SUCCESS"
    # Nobody answered (no softphone registered here): a congestion tone, then
    # the hangup; never silence.
    if call.variable("DIALSTATUS") != "ANSWER":
        # (Asterisk reports the application as spelled in its own registry: PlayTones.)
        after = [(context, app.lower(), data) for context, app, data in ran[dial + 1 : dial + 3]]
        assert after == [
            ("infolinia-consultants", "playtones", "congestion"),
            ("infolinia-consultants", "wait", "4"),
        ]

    # The caller heard the fallback: about as much sound, over its length, as the file has.
    shipped = fallback.SHIPPED.with_suffix(".wav")
    length = seconds_of(shipped)
    assert seconds_of(call.wav) > length
    assert loud_seconds(call.wav, end=length) > 0.7 * loud_seconds(shipped)
