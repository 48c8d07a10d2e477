"""The ARI gateway: the only module that talks to aioari.

aioari (ari-py's asyncio port) gives the ARI object API; this module covers
its known defects so the rest of the app never sees them:

* ``Client.run()`` returns silently when the websocket closes or the TCP
  connection drops, and never reconnects. :meth:`AriGateway.run` reconnects
  with exponential backoff and jitter (0.5 s up to 30 s), with a fresh client
  each time.
* There is no heartbeat: a watchdog pings ``GET /asterisk/ping`` every
  ``ping_interval`` seconds and forces a reconnect when a ping fails.
* Event callbacks are awaited one after another on the websocket reader. Ours
  only puts each event on its channel's :class:`asyncio.Queue`; every call
  runs in its own task.
* Credentials travel unencoded in the websocket URL: the config loader
  rejects characters that would break it.
* A request on a channel that has hung up fails with aiohttp's 404
  exception: it becomes :class:`~stasis_app.errors.CallHungUp`.
* With ``max_calls`` set, a call beyond that many in progress is handed back
  to the dialplan at once (which says the automatic line is unavailable and
  transfers it): past what the machine carries, a caller reaches a
  consultant instead of a line too slow to answer.
* After a reconnect, channels still in the Stasis app are reconciled: calls
  that went away are told so, calls still held by a task get a ``Resynced``
  event (events may have been lost), and channels nobody holds (the app was
  restarted) get a new call task marked ``resumed``.

Data flows one way: Asterisk event -> :meth:`AriGateway._route` -> the call's
queue -> the call's task -> requests back through this gateway.
"""

import asyncio
import contextlib
import logging
import random
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web_exceptions

from stasis_app.config import AriSettings
from stasis_app.errors import (
    AriError,
    AriRefusedLogin,
    AriRequestFailed,
    AriUnavailable,
    CallHungUp,
)
from stasis_app.logs import call_id_var
from stasis_app.telephony.ari_http import AriClient, AriHttpClient, Params
from stasis_app.telephony.ari_traffic import AriTraffic
from stasis_app.telephony.proxy_phones import ProxyPhones, proxy_phone

log = logging.getLogger(__name__)

AriEvent = dict[str, Any]

# Synthetic events the gateway puts in a call's inbox (never sent by Asterisk).
CHANNEL_GONE = "ChannelGone"  # the channel no longer exists after a reconnect
RESYNCED = "Resynced"  # reconnected; events in between may be lost
# Added to each key event: time.monotonic() when it reached the app (the
# start of the key-to-prompt latency in stasis_app.metrics).
RECEIVED_AT = "infolinia_received_at"

# The events the app acts on; Asterisk is asked to send only these (a
# balance call: 25 of the 67 it would send; no ChannelVarset, PlaybackStarted,
# PlaybackContinuing, ChannelDialplan ...). Add a type here before reading it.
APP_EVENTS = (
    "StasisStart",
    "StasisEnd",
    "ChannelHangupRequest",
    "ChannelDestroyed",
    "ChannelDtmfReceived",
    "PlaybackFinished",
    "RESTResponse",  # answers to requests sent over the websocket (the filter applies)
)
# The body of ``PUT applications/{app}/eventFilter``: those events only.
EVENT_FILTER = {"allowed": [{"type": kind} for kind in APP_EVENTS]}

# A connection that stayed up this long resets the backoff.
STABLE_CONNECTION_SECONDS = 10.0
# Before re-sending a request cut off in flight.
RETRY_PAUSE_SECONDS = 0.2


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter between reconnect attempts."""

    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before attempt number ``attempt`` (0-based)."""
        ceiling = min(self.maximum, self.initial * self.factor**attempt)
        # "Equal jitter": at least half the ceiling, so retries never bunch at zero.
        return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


@dataclass
class ChannelHandle:
    """One channel in our Stasis app, and its inbox: the events its call reads, in order."""

    channel_id: str
    line: str  # the dialled number, which picks the bank
    caller: str
    resumed: bool = False  # picked up again after the app (re)connected
    returned: bool = False  # back from the dialplan (transferred to another line)
    events: asyncio.Queue[AriEvent] = field(default_factory=asyncio.Queue)
    # A channel the app made itself (an agent's or a supervisor's leg, a
    # snoop): its owner reads its events; on stop it is hung up, not handed
    # back to the dialplan.
    leg: bool = False
    label: str = ""  # what a leg is for ("snoop", "supervisor", its queue): no line

    @classmethod
    def from_channel(
        cls, channel: dict[str, Any], args: Sequence[str], resumed: bool
    ) -> "ChannelHandle":
        dialplan = channel.get("dialplan") or {}
        line = args[0] if args else str(dialplan.get("exten", ""))
        return cls(
            channel_id=str(channel["id"]),
            line=line,
            caller=str((channel.get("caller") or {}).get("number", "")),
            resumed=resumed,
        )


CallHandler = Callable[[ChannelHandle], Awaitable[None]]


def channel_of(event: AriEvent) -> str | None:
    """The id of the channel an event is about, if any."""
    channel = event.get("channel")
    if isinstance(channel, dict) and "id" in channel:
        return str(channel["id"])
    for key in ("playback", "recording"):
        target = (event.get(key) or {}).get("target_uri", "")
        if isinstance(target, str) and target.startswith("channel:"):
            return target.removeprefix("channel:")
    return None


class AriGateway:
    """Keeps one ARI connection alive and runs a task per call."""

    def __init__(
        self,
        settings: AriSettings,
        on_call: CallHandler,
        backoff: Backoff = Backoff(),
        on_full: Callable[[], None] | None = None,
        phones: ProxyPhones | None = None,
        traffic: AriTraffic | None = None,
        uncounted: Callable[[str], bool] = lambda line: False,
    ) -> None:
        self.settings = settings
        # Lines whose calls ``max_calls`` does not count (the admin page's
        # test calls: the app caps those itself, so they never take a
        # caller's place on the bank's line).
        self.uncounted = uncounted
        # Requests and events counted (stasis_app/telephony/ari_traffic.py).
        self.traffic = traffic or AriTraffic()
        self.on_call = on_call
        # Consultants' phones at the cluster's SIP proxy (``Proxy/<name>``).
        self.phones = phones or ProxyPhones(None)
        self.backoff = backoff
        self.on_full = on_full  # told of each call handed back for max_calls
        self.connected = asyncio.Event()
        self.connections = 0  # how many times the websocket came up
        self._client: Any = None
        self._calls: dict[str, ChannelHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # A call's task by channel, and the calls that left the app into the
        # dialplan (StasisEnd) while their task still runs: a transfer to
        # another line brings the channel back with a new StasisStart.
        self._call_tasks: dict[str, asyncio.Task[None]] = {}
        self._left: set[str] = set()
        self._side_tasks: set[asyncio.Future[None]] = set()
        self._stopping = asyncio.Event()
        self._draining = False  # stop() is ending the calls; no new ones
        self.closing = False  # the grace period is over: calls in progress are being ended
        self._connected_at: float | None = None
        self._last_message = 0.0  # time.monotonic() of the last websocket message

    # --- connection -------------------------------------------------------

    async def run(self) -> None:
        """Stay connected until :meth:`stop`; reconnect whenever the link drops."""
        attempt = 0
        while not self._stopping.is_set():
            self._connected_at = None
            try:
                await self._run_once()
            except AriRequestFailed as exc:
                if exc.status == 401 and self.connections == 0:
                    raise AriRefusedLogin(401, "connect", "(wrong ARI user or password)") from None
                log.warning("ARI connection failed", extra={"error": str(exc), "attempt": attempt})
            except AriUnavailable as exc:
                log.warning("ARI connection failed", extra={"error": str(exc), "attempt": attempt})
            except Exception as exc:  # whatever happens, the line must come back
                log.warning(
                    "ARI connection failed", extra={"error": type(exc).__name__, "attempt": attempt}
                )
            if self._stopping.is_set():
                break
            stable = (
                self._connected_at is not None
                and time.monotonic() - self._connected_at > STABLE_CONNECTION_SECONDS
            )
            attempt = 0 if stable else attempt + 1
            delay = self.backoff.delay(attempt)
            log.info("ARI reconnecting", extra={"in_seconds": round(delay, 2), "attempt": attempt})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    @property
    def draining(self) -> bool:
        """:meth:`stop` has begun: no new calls are taken."""
        return self._draining

    async def stop(self, grace: float = 5.0, cleanup: float = 5.0) -> None:
        """Stop gracefully: take no new calls (they go back to the dialplan,
        which says the automatic line is unavailable and transfers them), let
        the calls in progress finish for up to ``grace`` seconds, then end the
        rest (each call's task hands its caller back to the dialplan while the
        link is still up, within ``cleanup`` seconds), then disconnect."""
        self._draining = True
        if self._tasks:
            log.info(
                "stopping: letting calls finish", extra={"calls": len(self._tasks), "grace": grace}
            )
            await asyncio.wait(self._tasks, timeout=grace)
        self.closing = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=cleanup)
        # A task cancelled before it ever ran never reached its own cleanup.
        leftovers = list(self._calls.values())
        self._calls.clear()
        await asyncio.gather(
            *(
                self.hangup(h.channel_id) if h.leg else self._send_back(h.channel_id)
                for h in leftovers
            ),
            return_exceptions=True,
        )
        self._stopping.set()
        await self._close_client()

    async def _run_once(self) -> None:
        client = await self._connect_or_fail()
        self._client = client
        client.on_event("*", self._route)
        reader = asyncio.create_task(client.run(apps=self.settings.app), name="ari-websocket")
        watchdog: asyncio.Task[None] | None = None
        try:
            await wait_for_websocket(client, reader, self.settings.request_timeout)
            self.connections += 1
            self._connected_at = time.monotonic()
            over_websocket = await client.use_websocket_requests(self.settings.request_timeout)
            log.info(
                "ARI connected",
                extra={
                    "app": self.settings.app,
                    "connection": self.connections,
                    "requests": "websocket" if over_websocket else "http",
                },
            )
            await self._filter_events(client)
            await self._reconcile(client)
            self.connected.set()
            watchdog = asyncio.create_task(self._heartbeat(), name="ari-heartbeat")
            stopping = asyncio.create_task(self._stopping.wait())
            done, _ = await asyncio.wait(
                {reader, watchdog, stopping}, return_when=asyncio.FIRST_COMPLETED
            )
            stopping.cancel()
            if reader in done:
                log.warning("ARI websocket closed")
        finally:
            self.connected.clear()
            client.link_lost()  # requests waiting for an answer on the socket fail now
            if watchdog is not None:
                watchdog.cancel()
            await self._close_client()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _connect(self) -> Any:
        http = AriHttpClient(
            self.settings.url,
            self.settings.user,
            self.settings.password or "",
            heartbeat=self.settings.ping_interval,
            traffic=self.traffic,
        )
        client = AriClient(self.settings.url, http)
        try:
            await asyncio.wait_for(client.init(), self.settings.request_timeout * 2)
            return client
        except BaseException:
            await http.close()  # no unclosed session left behind
            raise

    async def _connect_or_fail(self) -> Any:
        try:
            return await self._connect()
        except web_exceptions.HTTPUnauthorized:
            raise AriRequestFailed(401, "connect", "(wrong ARI user or password)") from None
        except web_exceptions.HTTPException as exc:
            raise AriRequestFailed(exc.status, "connect") from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            # Only the type: aiohttp's messages can quote the websocket URL, and
            # aioari puts the credentials in its query string.
            raise AriUnavailable(
                f"cannot reach ARI at {_safe_url(self.settings.url)}: {type(exc).__name__}"
            ) from None

    async def _heartbeat(self) -> None:
        """Return (forcing a reconnect) when a ping fails and nothing came
        over the websocket since the one before.

        A ping that times out while events still arrive means Asterisk is
        slow (overloaded), not gone: reconnecting then would cut every
        call's requests in flight and turn a slowdown into failed calls
        (seen at 400 calls in progress, docs/performance.md).
        """
        slow = False
        while True:
            since = time.monotonic()  # events from here on show the link alive
            await asyncio.sleep(self.settings.ping_interval)
            try:
                await asyncio.wait_for(
                    self._client.rest("GET", "asterisk/ping"), self.settings.ping_timeout
                )
            except Exception as exc:
                if self._last_message > since:
                    if not slow:
                        log.warning(
                            "ARI slow: a ping timed out while events still arrive",
                            extra={"error": type(exc).__name__},
                        )
                    slow = True
                    continue
                log.warning("ARI heartbeat failed", extra={"error": type(exc).__name__})
                return
            if slow:
                log.info("ARI answers pings in time again")
            slow = False

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await asyncio.wait_for(client.close(), 2)
            except Exception as exc:
                log.debug("closing ARI client failed", extra={"error": type(exc).__name__})

    async def _filter_events(self, client: Any) -> None:
        """Ask Asterisk for the events in :data:`APP_EVENTS` only (for this
        connection's app). Should it refuse, every event keeps coming."""
        try:
            await self._request(
                "applications.filter",
                "PUT",
                f"applications/{_part(self.settings.app)}/eventFilter",
                body=EVENT_FILTER,
                on=client,
            )
        except AriRequestFailed as exc:
            log.warning(
                "ARI event filter refused; taking every event", extra={"status": exc.status}
            )

    async def _reconcile(self, client: Any) -> None:
        """Match our call tasks with the channels Asterisk still has in the app."""
        app = await self._request(
            "applications.get", "GET", f"applications/{_part(self.settings.app)}", on=client
        )
        in_stasis = {str(cid) for cid in app.get("channel_ids", [])}
        for channel_id, handle in list(self._calls.items()):
            handle.events.put_nowait(
                {"type": RESYNCED if channel_id in in_stasis else CHANNEL_GONE}
            )
        for channel_id in in_stasis - self._calls.keys():
            try:
                channel = await self._request(
                    "channels.get", "GET", f"channels/{_part(channel_id)}", on=client
                )
            except CallHungUp:
                continue
            if channel_id in self._calls:  # its StasisStart arrived meanwhile
                continue
            log.warning("resuming a call left in Stasis", extra={"channel": channel_id})
            self._start_call(ChannelHandle.from_channel(channel, [], resumed=True))

    # --- events -----------------------------------------------------------

    def _route(self, event: AriEvent) -> None:
        """Put an event in its call's inbox; start a call on a new StasisStart.

        Runs on aioari's websocket reader: it must never block or await.
        """
        self._last_message = time.monotonic()
        kind = event.get("type")
        self.traffic.event(str(kind))
        channel_id = channel_of(event)
        if channel_id is None:
            return
        handle = self._calls.get(channel_id)
        returned = False
        if kind == "StasisEnd" and handle is not None and not handle.leg:
            self._left.add(channel_id)
        elif kind == "StasisStart" and channel_id in self._left:
            # Back from the dialplan (transferred to another line): a new call.
            self._left.discard(channel_id)
            handle, returned = None, True
        if handle is None:
            if event.get("type") == "StasisStart" and self._draining:
                self._spawn(self._send_back(channel_id))
            elif event.get("type") == "StasisStart" and self._full(event):
                log.warning(
                    "line full: call handed back to the dialplan",
                    extra={"channel": channel_id, "max_calls": self.settings.max_calls},
                )
                if self.on_full is not None:
                    self.on_full()
                self._spawn(self._send_back(channel_id))
            elif event.get("type") == "StasisStart":
                handle = ChannelHandle.from_channel(
                    event["channel"], event.get("args") or [], resumed=False
                )
                handle.returned = returned
                self._start_call(handle)
            return
        if event.get("type") == "ChannelDtmfReceived":
            event[RECEIVED_AT] = time.monotonic()
        handle.events.put_nowait(event)

    def _start_call(self, handle: ChannelHandle) -> None:
        channel_id = handle.channel_id
        self._calls[channel_id] = handle
        # The same channel's earlier call (it left the app and came back):
        # its end (records, the per-call folder) comes before this call.
        earlier = self._call_tasks.get(channel_id)

        async def run_call() -> None:
            call_id_var.set(channel_id)
            try:
                if earlier is not None:
                    await asyncio.wait({earlier})
                await self.on_call(handle)
            finally:
                if self._calls.get(channel_id) is handle:
                    del self._calls[channel_id]
                    self._left.discard(channel_id)
                if self._call_tasks.get(channel_id) is task:
                    del self._call_tasks[channel_id]

        task = asyncio.create_task(run_call(), name=f"call-{channel_id}")
        self._call_tasks[channel_id] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    def _full(self, event: AriEvent) -> bool:
        limit = self.settings.max_calls
        if limit is None:
            return False
        line = ChannelHandle.from_channel(event["channel"], event.get("args") or [], False).line
        return not self.uncounted(line) and self.active_calls >= limit

    async def _send_back(self, channel_id: str) -> None:
        """A call the app does not take (it is stopping, or has ``max_calls``
        in progress): the dialplan after Stasis() speaks."""
        with contextlib.suppress(AriError):
            await self.continue_in_dialplan_after_stasis(channel_id)

    async def continue_in_dialplan_after_stasis(self, channel_id: str) -> None:
        """Hand the call back to the dialplan at the priority after Stasis()."""
        await self._request(
            "channels.continueInDialplan", "POST", f"channels/{_part(channel_id)}/continue"
        )

    @property
    def active_calls(self) -> int:
        return sum(
            1
            for handle in self._calls.values()
            if not handle.leg and not self.uncounted(handle.line)
        )

    # --- channels the app makes (agents, supervisors, snoops) ---------------

    def expect(self, channel_id: str, label: str = "") -> ChannelHandle:
        """Register a channel the app is about to create, so that its events
        (from its very first one) reach the returned handle's inbox."""
        handle = ChannelHandle(channel_id=channel_id, line="", caller="", leg=True, label=label)
        self._calls[channel_id] = handle
        return handle

    def release(self, channel_id: str) -> None:
        """Forget a channel registered with :meth:`expect`."""
        handle = self._calls.get(channel_id)
        if handle is not None and handle.leg:
            del self._calls[channel_id]

    async def originate(
        self, endpoint: str, channel_id: str, *, timeout: float, caller_id: str, args: str
    ) -> None:
        """Ring ``endpoint``; when it answers, the channel enters this app
        (StasisStart with ``args``). Register it with :meth:`expect` first."""
        await self._request(
            "channels.originate",
            "POST",
            "channels",
            {
                "endpoint": self.phones.dial_string(endpoint),
                "app": self.settings.app,
                "appArgs": args,
                "channelId": channel_id,
                "timeout": max(1, round(timeout)),
                "callerId": caller_id,
            },
            retry=False,
        )

    async def snoop(self, channel_id: str, snoop_id: str, *, spy: str, whisper: str) -> None:
        """A snoop channel on ``channel_id``: it hears (``spy``) and speaks
        into (``whisper``) the directions given: none, in, out or both."""
        await self._request(
            "channels.snoopChannel",
            "POST",
            f"channels/{_part(channel_id)}/snoop",
            {
                "app": self.settings.app,
                "appArgs": "snoop",
                "snoopId": snoop_id,
                "spy": spy,
                "whisper": whisper,
            },
            retry=False,
        )

    async def create_bridge(self, bridge_id: str, kind: str, name: str) -> None:
        """A bridge: ``holding`` (waiting callers) or ``mixing`` (a conversation)."""
        await self._request(
            "bridges.create", "POST", f"bridges/{_part(bridge_id)}", {"type": kind, "name": name}
        )

    async def destroy_bridge(self, bridge_id: str) -> None:
        with contextlib.suppress(CallHungUp):
            await self._request("bridges.destroy", "DELETE", f"bridges/{_part(bridge_id)}")

    async def add_to_bridge(self, bridge_id: str, channel_id: str) -> None:
        await self._request(
            "bridges.addChannel",
            "POST",
            f"bridges/{_part(bridge_id)}/addChannel",
            {"channel": channel_id},
        )

    async def remove_from_bridge(self, bridge_id: str, channel_id: str) -> None:
        await self._request(
            "bridges.removeChannel",
            "POST",
            f"bridges/{_part(bridge_id)}/removeChannel",
            {"channel": channel_id},
        )

    async def start_bridge_moh(self, bridge_id: str, moh_class: str) -> None:
        await self._request(
            "bridges.startMoh", "POST", f"bridges/{_part(bridge_id)}/moh", {"mohClass": moh_class}
        )

    async def record_bridge(self, bridge_id: str, name: str) -> None:
        """Record what a bridge mixes into the stored recording ``name`` (a
        WAV in Asterisk's recording spool) until :meth:`stop_recording` or
        the bridge's end."""
        await self._request(
            "bridges.record",
            "POST",
            f"bridges/{_part(bridge_id)}/record",
            {
                "name": name,
                "format": "wav",
                "ifExists": "fail",
                "beep": "false",
                "terminateOn": "none",
            },
            retry=False,
        )

    async def stop_recording(self, name: str) -> None:
        """Stop a live recording (one already finished is fine): its file is complete."""
        with contextlib.suppress(CallHungUp):
            await self._request(
                "recordings.stop", "POST", f"recordings/live/{_part(name)}/stop", retry=False
            )

    async def stored_recording(self, name: str) -> bytes:
        """A stored recording's file (CallHungUp: there is none)."""
        data: bytes = await self._request(
            "recordings.getStoredFile",
            "GET",
            f"recordings/stored/{_part(name)}/file",
            download=True,
        )
        return data

    async def delete_stored_recording(self, name: str) -> None:
        """Delete a stored recording from Asterisk's spool (one gone is fine)."""
        with contextlib.suppress(CallHungUp):
            await self._request(
                "recordings.deleteStored", "DELETE", f"recordings/stored/{_part(name)}"
            )

    # --- requests ---------------------------------------------------------

    async def _request(
        self,
        operation: str,
        method: str,
        path: str,
        params: Params | None = None,
        *,
        body: Any = None,
        retry: bool = True,
        on: Any = None,
        download: bool = False,
    ) -> Any:
        """Send one ARI request, mapping failures onto our exception tree.

        While the link is being re-established the request waits for it (up to
        ``request_timeout``). A request cut off in flight is sent once more on
        the new link when ``retry`` is set (for requests that may be repeated).
        ``on`` sends on that client at once (while connecting, before calls resume).
        """
        failed_client: Any = None
        for _ in range(2):
            client = on or await self._wait_for_link(operation)
            self.traffic.request(method, operation)
            try:
                async with asyncio.timeout(self.settings.request_timeout):
                    if download:  # a file: its bytes (a GET without params)
                        return await client.download(path)
                    return await client.rest(method, path, params, body)
            except web_exceptions.HTTPNotFound:
                raise CallHungUp(f"{operation}: not found (hung up)") from None
            except web_exceptions.HTTPConflict:
                # ARI answers 409 "Channel not in Stasis application" once it has left.
                raise CallHungUp(f"{operation}: channel left the application") from None
            except web_exceptions.HTTPException as exc:
                raise AriRequestFailed(exc.status, operation) from None
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                if not retry or on is not None or failed_client is not None:
                    raise AriUnavailable(f"{operation}: {type(exc).__name__}") from None
                log.info(
                    "ARI request cut off; retrying",
                    extra={"operation": operation, "error": type(exc).__name__},
                )
                failed_client = client
                # A dropped link is noticed by the reader or the heartbeat within
                # moments; if this one is still up, the error was transient.
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
        raise AssertionError("unreachable")

    async def _wait_for_link(self, operation: str) -> Any:
        """The current client once connected (waits while reconnecting)."""
        deadline = time.monotonic() + self.settings.request_timeout
        while True:
            client = self._client
            if client is not None and self.connected.is_set():
                return client
            if time.monotonic() > deadline or self._stopping.is_set():
                raise AriUnavailable(f"{operation}: not connected to Asterisk")
            await asyncio.sleep(0.02)

    async def answer(self, channel_id: str) -> None:
        await self._request("channels.answer", "POST", f"channels/{_part(channel_id)}/answer")

    async def play(self, channel_id: str, media: Sequence[str], playback_id: str) -> None:
        """Start playing ``media`` (played one after another) on a channel.

        If the request is cut off in flight, the playback may or may not have
        started: on the next link, it is started again only if it does not exist.
        """

        path = f"channels/{_part(channel_id)}/play"
        params = {"media": list(media), "playbackId": playback_id}
        try:
            await self._request("channels.play", "POST", path, params, retry=False)
        except AriUnavailable:
            if self._stopping.is_set():
                raise
            if await self.playback_exists(playback_id):
                return  # it did start before the link dropped
            await self._request("channels.play", "POST", path, params, retry=False)

    async def stop_playback(self, playback_id: str) -> None:
        """Stop a playback; one that already finished is fine."""
        with contextlib.suppress(CallHungUp):
            await self._request("playbacks.stop", "DELETE", f"playbacks/{_part(playback_id)}")

    async def playback_exists(self, playback_id: str) -> bool:
        try:
            await self._request("playbacks.get", "GET", f"playbacks/{_part(playback_id)}")
        except CallHungUp:
            return False
        return True

    async def channel_exists(self, channel_id: str) -> bool:
        try:
            await self._request("channels.get", "GET", f"channels/{_part(channel_id)}")
        except CallHungUp:
            return False
        return True

    async def endpoint_state(self, endpoint: str) -> str | None:
        """An endpoint's state (online, offline, unknown), None when there is no such endpoint."""
        if proxy_phone(endpoint) is not None:  # registered at the proxy, not here
            return await self.phones.state(endpoint)
        tech, _, resource = endpoint.partition("/")
        try:
            found = await self._request(
                "endpoints.get", "GET", f"endpoints/{_part(tech)}/{_part(resource)}"
            )
        except CallHungUp:  # 404: no such endpoint
            return None
        return str(found.get("state", "unknown"))

    async def endpoint_online(self, endpoint: str) -> bool:
        """Whether an endpoint like ``PJSIP/softphone`` is reachable (registered)."""
        return await self.endpoint_state(endpoint) == "online"

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str) -> None:
        """Hand a channel back to the dialplan (it leaves the Stasis app)."""
        await self._request(
            "channels.continueInDialplan",
            "POST",
            f"channels/{_part(channel_id)}/continue",
            {"context": context, "extension": extension, "priority": 1},
        )

    async def sip_header(self, channel_id: str, name: str) -> str:
        """A header of the channel's SIP INVITE, read with the dialplan
        function PJSIP_HEADER; "" when it has none (or is no PJSIP channel)."""
        if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", name):
            raise ValueError(f"{name!r} is not a header name")
        try:
            found = await self._request(
                "channels.getChannelVar",
                "GET",
                f"channels/{_part(channel_id)}/variable",
                {"variable": f"PJSIP_HEADER(read,{name})"},
            )
        except AriRequestFailed:  # 400/500: not a PJSIP channel, no such header
            return ""
        return str((found or {}).get("value") or "")

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        """Hang up a channel; one that is already gone is fine."""
        with contextlib.suppress(CallHungUp):
            await self._request(
                "channels.hangup", "DELETE", f"channels/{_part(channel_id)}", {"reason": reason}
            )


def _part(value: str) -> str:
    """``value`` as one segment of a request path."""
    return urllib.parse.quote(value, safe="")


def _safe_url(url: str) -> str:
    """``url`` without user info or query (which may carry credentials)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


async def wait_for_websocket(client: Any, reader: asyncio.Task[None], timeout: float) -> None:
    """Until aioari's ``client.run()`` (``reader``) has its websocket open;
    AriUnavailable if it ends first or ``timeout`` seconds pass."""
    # aioari has no "connected" hook; it adds the socket to client.websockets.
    deadline = time.monotonic() + timeout
    while not client.websockets:
        if reader.done():
            exc = reader.exception()
            raise AriUnavailable(f"websocket did not open: {type(exc).__name__}")
        if time.monotonic() > deadline:
            raise AriUnavailable("websocket did not open in time")
        await asyncio.sleep(0.02)
