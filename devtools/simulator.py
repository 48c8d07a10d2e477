"""Hearing the line without a phone: ``infolinia call LINE --keys "..."``.

Places a real call through Asterisk: a Local channel is originated to the
line; its caller half (``;1``) enters a Stasis app of the simulator's own, the
line half (``;2``) goes through the dialplan into infolinia like any call.
The simulator watches the line half's playbacks and, each time the line falls
quiet after a prompt, presses the next group of keys on the caller half.
It prints a transcript (each prompt's text as it played, each key group, the
outcome, the duration) and can record what the caller heard to a WAV file.

This is a developer's and tester's tool that speaks plain ARI over aiohttp;
the app itself talks to Asterisk only through :mod:`stasis_app.telephony.gateway`.
"""

import asyncio
import base64
import contextlib
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from stasis_app.config import AriSettings
from voice.live import shown_words


@dataclass
class Step:
    """One thing that happened on the simulated call."""

    at: float  # seconds since the line answered
    kind: str  # "prompt", "keys", "hangup"
    text: str


@dataclass
class Transcript:
    line: str
    steps: list[Step] = field(default_factory=list)
    outcome: str = "unknown"
    seconds: float = 0.0
    recording: str | None = None

    def as_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    def as_text(self) -> str:
        lines = [f"call to {self.line}"]
        for step in self.steps:
            marker = {"prompt": "<<", "keys": ">>", "hangup": "--"}.get(step.kind, "  ")
            lines.append(f"{step.at:6.1f}s {marker} {step.text}")
        lines.append(f"outcome: {self.outcome} after {self.seconds:.1f}s")
        if self.recording:
            lines.append(f"recording: {self.recording}")
        return "\n".join(lines)


class CallSimulator:
    """Calls a line through ARI and plays the caller's part."""

    def __init__(self, ari: AriSettings, prompt_texts: dict[str, str]) -> None:
        """``prompt_texts`` maps media URIs the line plays to their texts."""
        self.ari = ari
        self.prompt_texts = prompt_texts
        token = base64.b64encode(f"{ari.user}:{ari.password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}

    async def call(
        self,
        line: str,
        key_groups: list[str],
        *,
        wav: Path | None = None,
        quiet_gap: float = 0.6,
        timeout: float = 120.0,
        hangup_after: float | None = None,
        caller_number: str = "600000000",
    ) -> Transcript:
        """Call ``line`` from ``caller_number``; press each key group when the
        line falls quiet.

        With ``hangup_after``, the caller hangs up that many seconds after the
        last keys once the line is quiet (0: right after pressing them);
        otherwise the call lasts until the line hangs up or ``timeout``.
        """
        run = uuid.uuid4().hex[:10]
        app = f"infolinia-caller-{run}"
        caller_id, line_id = f"sim-{run}", f"sim-{run}-line"
        transcript = Transcript(line=line)
        async with aiohttp.ClientSession(headers=self._headers) as http:
            ws = await http.ws_connect(self.ari.url + "ari/events", params={"app": app})
            try:
                await self._post(
                    http,
                    "channels",
                    endpoint=f"Local/{line}@infolinia-lines",
                    app=app,
                    channelId=caller_id,
                    otherChannelId=line_id,
                    callerId=f"infolinia simulator <{caller_number}>",
                )
                await self._post(
                    http, f"applications/{app}/subscription", eventSource=f"channel:{line_id}"
                )
                await self._converse(
                    http,
                    ws,
                    app,
                    caller_id,
                    line_id,
                    key_groups,
                    wav,
                    quiet_gap,
                    timeout,
                    hangup_after,
                    transcript,
                )
                with contextlib.suppress(aiohttp.ClientError):
                    await http.delete(self.ari.url + f"ari/channels/{caller_id}")
                if wav is not None and transcript.outcome != "not answered":
                    await _recording_finished(ws, timeout=5)
                    await self._fetch_recording(http, caller_id, wav)
                    transcript.recording = str(wav)
            finally:
                await ws.close()
        return transcript

    async def _converse(
        self,
        http: aiohttp.ClientSession,
        ws: aiohttp.ClientWebSocketResponse,
        app: str,
        caller_id: str,
        line_id: str,
        key_groups: list[str],
        wav: Path | None,
        quiet_gap: float,
        timeout: float,
        hangup_after: float | None,
        transcript: Transcript,
    ) -> None:
        pending = list(key_groups)
        answered_at: float | None = None
        playing: set[str] = set()
        quiet_since: float | None = None
        deadline = time.monotonic() + timeout

        def now() -> float:
            return round(time.monotonic() - (answered_at or time.monotonic()), 2)

        while time.monotonic() < deadline:
            wait = quiet_gap / 4
            try:
                message = await ws.receive(timeout=wait)
            except TimeoutError:
                message = None
            if message is not None and message.type != aiohttp.WSMsgType.TEXT:
                transcript.outcome = "ARI connection lost"
                break
            event: dict[str, Any] = json.loads(message.data) if message is not None else {}
            kind = event.get("type")
            channel = (event.get("channel") or {}).get("id")
            if kind == "StasisStart" and channel == caller_id:
                answered_at = time.monotonic()  # keys wait for the first prompt to end
                if wav is not None:
                    # Record a snoop on what the line sends out: recording the
                    # caller half itself would stop when it sends keys.
                    await self._post(
                        http,
                        f"channels/{line_id}/snoop",
                        spy="out",
                        app=app,
                        snoopId=f"{caller_id}-ear",
                    )
            elif kind == "StasisStart" and channel == f"{caller_id}-ear":
                await self._post(
                    http,
                    f"channels/{channel}/record",
                    name=caller_id,
                    format="wav",
                    ifExists="overwrite",
                )
            elif kind in ("PlaybackStarted", "PlaybackContinuing"):
                playback = event["playback"]
                if kind == "PlaybackStarted":
                    uri = playback["media_uri"]
                    text = self.prompt_texts.get(uri, uri)
                    if "/live/" in uri:  # customer text rendered for this call only
                        # A number spoken whole is named by its words, as a
                        # fragment is by its word; a name stays unnamed.
                        text = shown_words(uri) or "(spoken live)"
                    transcript.steps.append(Step(now(), "prompt", text))
                playing.add(playback["id"])
                quiet_since = None
            elif kind == "PlaybackFinished":
                playing.discard(event["playback"]["id"])
                if not playing:
                    quiet_since = time.monotonic()
            elif kind in ("ChannelDestroyed", "StasisEnd", "ChannelHangupRequest") and channel in (
                caller_id,
                line_id,
            ):
                who = "the line" if channel == line_id else "the caller"
                transcript.steps.append(Step(now(), "hangup", f"{who} hung up"))
                transcript.outcome = f"{who} hung up"
                break
            if (
                answered_at is not None
                and pending
                and quiet_since is not None
                and time.monotonic() - quiet_since >= quiet_gap
            ):
                keys = pending.pop(0)
                transcript.steps.append(Step(now(), "keys", keys))
                await self._post(
                    http, f"channels/{caller_id}/dtmf", dtmf=keys, between="150", duration="120"
                )
                quiet_since = None
                if not pending and hangup_after == 0:
                    # The keys go out one by one; let them all reach the line first.
                    await asyncio.sleep(0.3 * len(keys) + 0.2)
                    transcript.steps.append(Step(now(), "hangup", "the caller hung up"))
                    transcript.outcome = "the caller hung up"
                    break
            if (
                hangup_after is not None
                and not pending
                and quiet_since is not None
                and time.monotonic() - quiet_since >= max(hangup_after, quiet_gap)
            ):
                transcript.steps.append(Step(now(), "hangup", "the caller hung up"))
                transcript.outcome = "the caller hung up"
                break
        else:
            transcript.outcome = "timed out" if answered_at else "not answered"
        transcript.seconds = now()

    async def _fetch_recording(self, http: aiohttp.ClientSession, name: str, wav: Path) -> None:
        url = self.ari.url + f"ari/recordings/stored/{name}"
        async with http.get(url + "/file") as response:
            if response.status != 200:
                raise RuntimeError(f"recording {name} not found: {response.status}")
            wav.write_bytes(await response.read())
        with contextlib.suppress(aiohttp.ClientError):
            await http.delete(url)

    async def _post(self, http: aiohttp.ClientSession, path: str, **params: str) -> Any:
        async with http.post(self.ari.url + "ari/" + path, params=params) as response:
            text = await response.text()
            if response.status >= 300:
                raise RuntimeError(f"ARI POST {path} failed: {response.status} {text}")
            return json.loads(text) if text else None


async def _recording_finished(ws: aiohttp.ClientWebSocketResponse, timeout: float) -> None:
    """Wait for the snoop's recording to be finalized (its WAV header written)."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            message = await ws.receive(timeout=remaining)
        except TimeoutError:
            break
        if message.type != aiohttp.WSMsgType.TEXT:
            break
        if json.loads(message.data).get("type") in ("RecordingFinished", "RecordingFailed"):
            return
