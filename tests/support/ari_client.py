"""A small ARI client for tests, independent of the app's gateway: it places
calls and watches everything Asterisk does to channels as a second Stasis app
subscribed to all of them (the "witness")."""

import asyncio
import base64
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

Event = dict[str, Any]
_witness_ids = itertools.count(1)


@dataclass
class Ari:
    """REST calls to the sandbox's ARI."""

    url: str
    user: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        async with (
            aiohttp.ClientSession(headers=self.headers) as session,
            session.request(method, self.url + "ari/" + path, **kwargs) as response,
        ):
            text = await response.text()
            if response.status >= 400:
                raise AssertionError(f"ARI {method} {path}: {response.status} {text}")
            return json.loads(text) if text else None

    async def call_with_keys(self, line: str, keys: str, wait: float, hold: float = 20.0) -> str:
        """Originate Local/LINE@infolinia-lines; the caller half (in dialplan)
        waits ``wait`` s, sends ``keys`` with SendDTMF, holds ``hold`` s.
        Returns the name of the half that enters the app (``...;2``)."""
        channel = await self.request(
            "POST",
            "channels",
            params={
                "endpoint": f"Local/{line}@infolinia-lines",
                "context": "infolinia-test-caller",
                "extension": "s",
                "priority": "1",
            },
            json={
                "variables": {
                    "CALLER_WAIT": str(wait),
                    "CALLER_KEYS": keys,
                    "CALLER_HOLD": str(hold),
                }
            },
        )
        return str(channel["name"]).removesuffix(";1") + ";2"

    async def app_channel_ids(self, app: str) -> list[str]:
        try:
            info = await self.request("GET", f"applications/{app}")
        except AssertionError:
            return []
        return list(info["channel_ids"])

    async def app_registered(self, app: str) -> bool:
        try:
            await self.request("GET", f"applications/{app}")
        except AssertionError:
            return False
        return True

    async def channels(self) -> list[Event]:
        return list(await self.request("GET", "channels"))


@dataclass
class Witness:
    """Records every ARI event on the sandbox while open."""

    ari: Ari
    events: list[Event] = field(default_factory=list)
    _session: aiohttp.ClientSession | None = None
    _reader: "asyncio.Task[None] | None" = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> "Witness":
        self._session = aiohttp.ClientSession(headers=self.ari.headers)
        app = f"witness-{next(_witness_ids)}"
        ws = await self._session.ws_connect(self.ari.url + "ari/events", params={"app": app})
        self._reader = asyncio.create_task(self._read(ws))
        # "channel:" without an id subscribes to every channel. Not subscribeAll:
        # with it, closing the websocket can deadlock Asterisk 22.10 (seen here:
        # stasis_app_unregister waits on res_stasis_device_state forever).
        async with self._session.post(
            self.ari.url + f"ari/applications/{app}/subscription",
            params={"eventSource": "channel:"},
        ) as response:
            assert response.status == 200, await response.text()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader:
            self._reader.cancel()
        if self._session:
            await self._session.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                self.events.append(json.loads(message.data))
                self._changed.set()

    async def wait_for(self, predicate: Callable[[Event], bool], timeout: float) -> Event:
        """The first recorded event matching ``predicate``, waiting up to ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if predicate(event):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kinds = [e.get("type") for e in self.events[-30:]]
                raise AssertionError(f"no matching ARI event within {timeout}s; last: {kinds}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def channel_named(self, name: str, timeout: float = 10) -> str:
        """The id of the channel called ``name``, once Asterisk created it."""
        event = await self.wait_for(
            lambda e: e["type"] == "ChannelCreated" and e["channel"]["name"] == name, timeout
        )
        return str(event["channel"]["id"])

    async def prompt_started(self, channel_id: str, timeout: float) -> Event:
        """Wait until a prompt starts playing to the channel."""
        return await self.wait_for(
            lambda e: (
                e["type"] == "PlaybackStarted"
                and e["playback"]["target_uri"] == f"channel:{channel_id}"
            ),
            timeout,
        )

    async def hangup_of(self, channel_id: str, timeout: float) -> Event:
        """Wait until the channel is destroyed; returns the ChannelDestroyed event."""
        return await self.wait_for(
            lambda e: e["type"] == "ChannelDestroyed" and e["channel"]["id"] == channel_id, timeout
        )

    def on_channel(self, channel_id: str) -> list[Event]:
        return [e for e in self.events if channel_of(e) == channel_id]


def channel_of(event: Event) -> str | None:
    if "channel" in event and isinstance(event["channel"], dict):
        return str(event["channel"]["id"])
    target = (event.get("playback") or {}).get("target_uri", "")
    return target.removeprefix("channel:") if target.startswith("channel:") else None


def heard(events: list[Event]) -> list[str]:
    """Media URIs in the order they started playing on a channel."""
    return [e["playback"]["media_uri"] for e in events if e["type"] == "PlaybackStarted"]


def digits_received(events: list[Event]) -> str:
    return "".join(e["digit"] for e in events if e["type"] == "ChannelDtmfReceived")
