"""The ARI gateway against a scripted fake of aioari (the real-Asterisk side
of the same behaviour is in test_real_faults.py)."""

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import aiohttp
import pytest
from aiohttp import web_exceptions

from stasis_app.config import AriSettings
from stasis_app.errors import AriUnavailable, CallHungUp
from stasis_app.telephony.gateway import (
    APP_EVENTS,
    CHANNEL_GONE,
    RESYNCED,
    AriGateway,
    Backoff,
    CallHandler,
    ChannelHandle,
    channel_of,
)

pytestmark = pytest.mark.unit

FAST = AriSettings(password="pw", ping_interval=0.02, ping_timeout=0.05, request_timeout=0.5)
NO_WAIT = Backoff(initial=0.001, maximum=0.002)


# (method, path shape) -> the operation's name in aioari, as FakeClient records it.
_CHANNEL_OPS = {
    ("GET", ""): "get",
    ("DELETE", ""): "hangup",
    ("POST", "answer"): "answer",
    ("POST", "play"): "play",
    ("POST", "continue"): "continueInDialplan",
}


class FakeAsterisk:
    """Scripted Asterisk: hands out fake clients and records what they did."""

    def __init__(self) -> None:
        self.clients: list[FakeClient] = []
        self.in_stasis: list[str] = []
        self.ping_ok = True
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.playbacks: set[str] = set()
        self.cut_next_request: str | None = None
        self.during_get: Callable[[FakeClient], None] | None = None

    async def connect(self) -> "FakeClient":
        client = FakeClient(self)
        self.clients.append(client)
        return client


class FakeClient:
    def __init__(self, asterisk: FakeAsterisk) -> None:
        self.asterisk_state = asterisk
        self.websockets: set[object] = set()
        self.listener: Callable[[dict[str, Any]], Any] | None = None
        self.closed = asyncio.Event()
        self.close_websocket = asyncio.Event()
        self.event_filters: list[Any] = []

    async def use_websocket_requests(self, timeout: float) -> bool:
        return False  # requests as calls to rest(), as over HTTP

    def link_lost(self) -> None:
        pass

    async def rest(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> Any:
        """Stands in for AriClient.rest: the request by its path."""
        kind, _, rest = path.partition("/")
        target, _, action = rest.partition("/")
        if kind == "asterisk":
            if not self.asterisk_state.ping_ok:
                raise OSError("no route")
            return {"ping": "pong"}
        if kind == "applications" and action == "eventFilter":
            self.event_filters.append(body)
            return body
        if kind == "applications":
            return {"channel_ids": list(self.asterisk_state.in_stasis)}
        if kind == "channels":
            name = _CHANNEL_OPS[(method, action)]
            return self._channel_op(name, {"channelId": target, **(params or {})})
        if kind == "playbacks":
            return self._playback_op("get" if method == "GET" else "stop", {"playbackId": target})
        raise AssertionError(f"unexpected request {method} {path}")

    def _channel_op(self, name: str, kwargs: dict[str, Any]) -> Any:
        self._check_link()
        state = self.asterisk_state
        state.requests.append((name, kwargs))
        cut, state.cut_next_request = state.cut_next_request, None
        if cut == "transient":  # one failed request; the link stays up
            raise aiohttp.ServerDisconnectedError()
        if name == "get" and state.during_get is not None:
            state.during_get(self)
        if cut == "before":  # the link drops before Asterisk sees the request
            self.close_websocket.set()
            raise aiohttp.ServerDisconnectedError()
        if name == "play":
            state.playbacks.add(kwargs["playbackId"])
        if cut == "after":  # Asterisk acted, but the answer is lost
            self.close_websocket.set()
            raise aiohttp.ServerDisconnectedError()
        channel_id = kwargs.get("channelId")
        if channel_id is not None and channel_id not in self.asterisk_state.in_stasis:
            raise web_exceptions.HTTPNotFound()
        if name == "get":
            return {"id": channel_id, "dialplan": {"exten": "101"}, "caller": {}}
        return None

    def _check_link(self) -> None:
        if self.close_websocket.is_set():  # this client's link is down
            raise aiohttp.ServerDisconnectedError()

    def _playback_op(self, name: str, kwargs: dict[str, Any]) -> Any:
        self._check_link()
        if kwargs["playbackId"] not in self.asterisk_state.playbacks:
            raise web_exceptions.HTTPNotFound()
        return {"id": kwargs["playbackId"]}

    def on_event(self, event_type: str, callback: Callable[[dict[str, Any]], Any]) -> None:
        self.listener = callback

    def emit(self, event: dict[str, Any]) -> None:
        assert self.listener is not None
        self.listener(event)

    async def run(self, apps: str) -> None:
        self.websockets.add(object())
        await self.close_websocket.wait()  # aioari returns silently when the socket closes

    async def close(self) -> None:
        self.closed.set()
        self.close_websocket.set()


def stasis_start(channel_id: str, line: str = "100") -> dict[str, Any]:
    return {
        "type": "StasisStart",
        "args": [line],
        "channel": {"id": channel_id, "caller": {"number": "600100200"}},
    }


async def wait_until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


@pytest.fixture
def asterisk(monkeypatch: pytest.MonkeyPatch) -> FakeAsterisk:
    fake = FakeAsterisk()
    monkeypatch.setattr(AriGateway, "_connect", fake.connect)
    return fake


class StartGateway(Protocol):
    """The ``run_gateway`` fixture: a gateway connected to the fake Asterisk."""

    async def __call__(
        self,
        on_call: CallHandler | None = None,
        settings: AriSettings = FAST,
        on_full: Callable[[], None] | None = None,
    ) -> AriGateway: ...


@pytest.fixture
async def run_gateway(asterisk: FakeAsterisk) -> AsyncIterator[StartGateway]:
    """Starts gateways on the fake; stops them at the end whatever happened."""
    running: list[tuple[AriGateway, asyncio.Task[None]]] = []

    async def start(
        on_call: CallHandler | None = None,
        settings: AriSettings = FAST,
        on_full: Callable[[], None] | None = None,
    ) -> AriGateway:
        gateway = AriGateway(
            settings,
            on_call=on_call or (lambda h: asyncio.sleep(0)),
            backoff=NO_WAIT,
            on_full=on_full,
        )
        running.append((gateway, asyncio.create_task(gateway.run())))
        await connected(gateway, 1)
        return gateway

    yield start
    for gateway, task in running:
        await gateway.stop(grace=0.1)
        await asyncio.wait_for(task, 2)


async def connected(gateway: AriGateway, number: int) -> None:
    """Wait until the gateway's ``number``-th connection is up and reconciled."""
    await wait_until(lambda: gateway.connections == number and gateway.connected.is_set())


def test_backoff_grows_with_jitter_and_stays_bounded() -> None:
    backoff = Backoff()
    rng = random.Random(7)
    first = [backoff.delay(0, rng) for _ in range(200)]
    assert min(first) >= 0.25 and max(first) <= 0.5
    assert len({round(d, 4) for d in first}) > 100  # jittered, not one fixed value
    late = [backoff.delay(20, rng) for _ in range(200)]
    assert min(late) >= 15 and max(late) <= 30


def test_channel_of_reads_channels_and_playback_targets() -> None:
    assert channel_of({"type": "ChannelDtmfReceived", "channel": {"id": "c1"}}) == "c1"
    assert (
        channel_of({"type": "PlaybackFinished", "playback": {"target_uri": "channel:c2"}}) == "c2"
    )
    assert channel_of({"type": "PlaybackFinished", "playback": {"target_uri": "bridge:b"}}) is None


async def test_reconnects_with_a_fresh_client_when_the_websocket_closes(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    gateway = await run_gateway()
    first = asterisk.clients[0]
    first.close_websocket.set()  # the socket closes; aioari's run() just returns
    await connected(gateway, 2)
    assert asterisk.clients[1] is not first
    # Each connection asks Asterisk for the events the app reads, and no others.
    for client in asterisk.clients:
        assert client.event_filters == [{"allowed": [{"type": kind} for kind in APP_EVENTS]}]
    assert first.closed.is_set()


async def test_failed_heartbeat_forces_a_reconnect(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    gateway = await run_gateway()
    asterisk.ping_ok = False  # the websocket stays "open" but Asterisk is gone
    await wait_until(lambda: asterisk.clients[0].closed.is_set())
    asterisk.ping_ok = True
    await connected(gateway, 2)


async def test_failed_pings_while_events_still_arrive_do_not_reconnect(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    """An overloaded Asterisk answers pings late but still sends events: the
    link is kept (a reconnect would cut every call's requests in flight)."""
    gateway = await run_gateway()
    client = asterisk.clients[0]
    asterisk.ping_ok = False

    async def events() -> None:
        while True:
            client.emit({"type": "ChannelDtmfReceived", "channel": {"id": "nobody"}})
            await asyncio.sleep(0.005)

    flowing = asyncio.create_task(events())
    try:
        await asyncio.sleep(FAST.ping_interval * 15)  # many failed pings
        assert not client.closed.is_set()
        assert gateway.connections == 1
    finally:
        flowing.cancel()
    # Once nothing arrives either, the next failed ping ends the link.
    await wait_until(lambda: client.closed.is_set())
    asterisk.ping_ok = True
    await connected(gateway, 2)


async def test_a_slow_call_does_not_stall_another(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    seen: dict[str, list[str]] = {"slow": [], "fast": []}
    release = asyncio.Event()

    async def on_call(handle: ChannelHandle) -> None:
        if handle.channel_id == "slow":
            await release.wait()  # a handler stuck on something
        event = await handle.events.get()
        seen[handle.channel_id].append(event["type"])

    await run_gateway(on_call)
    client = asterisk.clients[0]
    asterisk.in_stasis += ["slow", "fast"]
    client.emit(stasis_start("slow"))
    client.emit(stasis_start("fast"))
    client.emit({"type": "ChannelDtmfReceived", "digit": "1", "channel": {"id": "fast"}})
    await wait_until(lambda: seen["fast"] == ["ChannelDtmfReceived"])
    assert seen["slow"] == []
    release.set()


async def test_requests_on_a_hung_up_channel_raise_call_hung_up(run_gateway: StartGateway) -> None:
    idle = AriGateway(FAST, on_call=lambda h: asyncio.sleep(0), backoff=NO_WAIT)
    with pytest.raises(AriUnavailable):
        await idle.answer("gone")  # never connected
    gateway = await run_gateway()
    with pytest.raises(CallHungUp):
        await gateway.answer("gone")
    await gateway.hangup("gone")  # hanging up a gone channel is not an error


async def test_reconnect_reconciles_calls_with_what_is_left_in_stasis(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    handles: dict[str, ChannelHandle] = {}
    got: dict[str, list[str]] = {}
    done = asyncio.Event()

    async def on_call(handle: ChannelHandle) -> None:
        handles[handle.channel_id] = handle
        event = await handle.events.get()
        got[handle.channel_id] = [event["type"]]
        if len(got) == 2:
            done.set()

    await run_gateway(on_call)
    asterisk.in_stasis += ["kept", "lost"]
    for channel_id in ("kept", "lost"):
        asterisk.clients[0].emit(stasis_start(channel_id))
    await wait_until(lambda: len(handles) == 2)
    # While disconnected, "lost" hangs up and "orphan" is left by an earlier app run.
    asterisk.in_stasis[:] = ["kept", "orphan"]
    asterisk.clients[0].close_websocket.set()
    await asyncio.wait_for(done.wait(), 2)
    assert got == {"kept": [RESYNCED], "lost": [CHANNEL_GONE]}
    await wait_until(lambda: "orphan" in handles)
    assert handles["orphan"].resumed and handles["orphan"].line == "101"
    assert not handles["kept"].resumed


async def test_a_request_cut_off_in_flight_is_sent_again_on_the_next_link(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    gateway = await run_gateway()
    asterisk.in_stasis.append("c1")
    asterisk.cut_next_request = "after"
    await gateway.answer("c1")
    answers = [kw for name, kw in asterisk.requests if name == "answer"]
    assert answers == [{"channelId": "c1"}, {"channelId": "c1"}]
    assert gateway.connections == 2


async def test_a_playback_cut_off_in_flight_is_not_started_twice(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    """Asterisk started the prompt but the answer was lost: the gateway checks
    on the next link and does not play it a second time."""
    gateway = await run_gateway()
    asterisk.in_stasis.append("c1")
    asterisk.cut_next_request = "after"
    await gateway.play("c1", ["sound:/p/greeting"], "c1-p1")
    assert [kw["playbackId"] for name, kw in asterisk.requests if name == "play"] == ["c1-p1"]
    assert gateway.connections == 2


async def test_a_playback_lost_on_the_way_is_started_on_the_next_link(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    gateway = await run_gateway()
    asterisk.in_stasis.append("c1")
    asterisk.cut_next_request = "before"
    await gateway.play("c1", ["sound:/p/greeting"], "c1-p1")
    plays = [kw["playbackId"] for name, kw in asterisk.requests if name == "play"]
    assert plays == ["c1-p1", "c1-p1"]
    assert asterisk.playbacks == {"c1-p1"}


async def test_a_transient_error_on_a_live_link_is_retried_on_it(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    gateway = await run_gateway()
    asterisk.in_stasis.append("c1")
    asterisk.cut_next_request = "transient"
    await gateway.answer("c1")
    answers = [kw for name, kw in asterisk.requests if name == "answer"]
    assert len(answers) == 2
    assert gateway.connections == 1  # no reconnect was needed


async def test_a_call_starting_during_reconcile_gets_one_task(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    """An orphan's StasisStart arrives while reconcile looks the channel up."""
    started: list[ChannelHandle] = []

    async def on_call(handle: ChannelHandle) -> None:
        started.append(handle)
        await asyncio.Event().wait()

    gateway = await run_gateway(on_call)
    asterisk.in_stasis.append("late")
    asterisk.during_get = lambda client: client.emit(stasis_start("late"))
    asterisk.clients[0].close_websocket.set()
    await connected(gateway, 2)
    await asyncio.sleep(0.05)
    assert [h.channel_id for h in started] == ["late"]
    assert gateway.active_calls == 1


async def test_stop_lets_calls_finish_within_the_grace_then_ends_the_rest(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    ended: dict[str, str] = {}

    async def on_call(handle: ChannelHandle) -> None:
        try:
            # c1 finishes by itself within the grace; c2 would go on forever.
            await asyncio.sleep(0.1 if handle.channel_id == "c1" else 3600)
            ended[handle.channel_id] = "finished"
        except asyncio.CancelledError:
            ended[handle.channel_id] = "ended by stop" if gateway.closing else "cancelled early"
            await gateway.continue_in_dialplan_after_stasis(handle.channel_id)
            raise

    gateway = await run_gateway(on_call)
    asterisk.in_stasis += ["c1", "c2"]
    asterisk.clients[0].emit(stasis_start("c1"))
    asterisk.clients[0].emit(stasis_start("c2"))
    await asyncio.sleep(0.02)
    await gateway.stop(grace=0.5)
    assert ended == {"c1": "finished", "c2": "ended by stop"}
    assert ("continueInDialplan", {"channelId": "c2"}) in asterisk.requests


async def test_calls_arriving_while_stopping_go_back_to_the_dialplan(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    release = asyncio.Event()

    async def on_call(handle: ChannelHandle) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await release.wait()  # a call that takes a while to end

    gateway = await run_gateway(on_call)
    asterisk.in_stasis += ["c1", "c2"]
    asterisk.clients[0].emit(stasis_start("c1"))
    await wait_until(lambda: gateway.active_calls == 1)
    stopping = asyncio.create_task(gateway.stop(grace=0.1))
    await asyncio.sleep(0.01)
    asterisk.clients[0].emit(stasis_start("c2"))
    await wait_until(lambda: any(name == "continueInDialplan" for name, _ in asterisk.requests))
    release.set()
    await stopping
    assert gateway.active_calls == 0


async def test_a_call_beyond_max_calls_goes_back_to_the_dialplan(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    finish = asyncio.Event()
    served: list[str] = []

    async def on_call(handle: ChannelHandle) -> None:
        served.append(handle.channel_id)
        await finish.wait()

    full: list[int] = []
    gateway = await run_gateway(
        on_call,
        settings=FAST.model_copy(update={"max_calls": 2}),
        on_full=lambda: full.append(gateway.active_calls),
    )
    client = asterisk.clients[0]
    asterisk.in_stasis += ["c1", "c2", "c3"]
    for channel in ("c1", "c2", "c3"):
        client.emit(stasis_start(channel))
    await wait_until(lambda: ("continueInDialplan", {"channelId": "c3"}) in asterisk.requests)
    assert served == ["c1", "c2"] and full == [2]
    finish.set()  # the two calls end: the next one is taken again
    await wait_until(lambda: gateway.active_calls == 0)
    asterisk.in_stasis.append("c4")
    client.emit(stasis_start("c4"))
    await wait_until(lambda: served == ["c1", "c2", "c4"])
    assert [r for r in asterisk.requests if r[0] == "continueInDialplan"] == [
        ("continueInDialplan", {"channelId": "c3"})
    ]


async def test_test_calls_do_not_take_a_callers_place_under_max_calls(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    finish = asyncio.Event()
    served: list[str] = []

    async def on_call(handle: ChannelHandle) -> None:
        served.append(handle.channel_id)
        await finish.wait()

    gateway = await run_gateway(on_call, settings=FAST.model_copy(update={"max_calls": 1}))
    gateway.uncounted = lambda line: line.startswith("test")  # the app's is_test_line
    client = asterisk.clients[0]
    asterisk.in_stasis += ["t1", "t2", "c1", "c2"]
    client.emit(stasis_start("t1", line="test" + "a" * 32))
    client.emit(stasis_start("t2", line="test" + "b" * 32))
    client.emit(stasis_start("c1"))
    await wait_until(lambda: served == ["t1", "t2", "c1"])
    assert gateway.active_calls == 1  # the bank's caller only
    client.emit(stasis_start("c2"))  # the line is full for callers
    await wait_until(lambda: ("continueInDialplan", {"channelId": "c2"}) in asterisk.requests)
    assert served == ["t1", "t2", "c1"]
    finish.set()


async def test_a_call_back_from_the_dialplan_is_a_new_call_after_the_old_one_ended(
    asterisk: FakeAsterisk, run_gateway: StartGateway
) -> None:
    """A transfer to another line: the channel leaves the app (StasisEnd) and
    comes back on the other line (StasisStart) while its first call's task
    still finishes; the second call starts when the first has ended, and
    gets its own events."""
    log: list[str] = []
    first_ends = asyncio.Event()

    async def on_call(handle: ChannelHandle) -> None:
        # (returned: its call record gets an id of its own, beside the first's)
        log.append(f"start {handle.line}" + (" returned" if handle.returned else ""))
        if handle.line == "140":
            await handle.events.get()  # its StasisEnd
            await first_ends.wait()  # its bookkeeping (records, the per-call folder)
        else:
            event = await handle.events.get()
            log.append(f"{handle.line} got {event['type']}")
        log.append(f"end {handle.line}")

    await run_gateway(on_call)
    client = asterisk.clients[0]
    asterisk.in_stasis.append("moving")
    client.emit(stasis_start("moving", "140"))
    await wait_until(lambda: log == ["start 140"])
    client.emit({"type": "StasisEnd", "channel": {"id": "moving"}})
    client.emit(stasis_start("moving", "141"))
    client.emit({"type": "ChannelDtmfReceived", "digit": "1", "channel": {"id": "moving"}})
    await asyncio.sleep(0.05)
    assert log == ["start 140"]  # the second waits for the first to end
    first_ends.set()
    await wait_until(lambda: len(log) == 5)
    assert log == [
        "start 140",
        "end 140",
        "start 141 returned",
        "141 got ChannelDtmfReceived",
        "end 141",
    ]
