"""The ARI HTTP client's own requests, against a small aiohttp stand-in for
Asterisk: over HTTP, over the events websocket (REST over WebSocket), and
what a closed websocket does to requests waiting on it. The same against the
real Asterisk: tests/test_real_calls.py and tests/test_real_faults.py."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web, web_exceptions

from stasis_app.telephony.ari_http import ARI_CONNECTIONS, AriHttpClient

pytestmark = pytest.mark.unit


class StandIn:
    """Answers GET/POST over HTTP and RESTRequest messages on /ari/events."""

    def __init__(self) -> None:
        self.http: list[tuple[str, str, dict[str, str], str]] = []
        self.over_websocket: list[dict[str, Any]] = []
        self.answer_on_websocket = True
        self.sockets: list[web.WebSocketResponse] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ari/events", self._events)
        app.router.add_route("*", "/ari/{path:.*}", self._http)
        return app

    async def _http(self, request: web.Request) -> web.Response:
        body = await request.text()
        path = request.match_info["path"]
        self.http.append((request.method, path, dict(request.query), body))
        if path.startswith("playbacks/"):
            raise web_exceptions.HTTPNotFound()
        return web.json_response({"via": "http", "auth": request.headers.get("Authorization")})

    async def _events(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        async for message in socket:
            sent = json.loads(message.data)
            self.over_websocket.append(sent)
            if not self.answer_on_websocket:
                continue
            missing = sent["uri"].startswith("playbacks/")
            await socket.send_str(
                json.dumps(
                    {
                        "type": "RESTResponse",
                        "request_id": sent["request_id"],
                        "status_code": 404 if missing else 200,
                        "reason_phrase": "Not Found" if missing else "OK",
                        "message_body": json.dumps({"via": "websocket", "uri": sent["uri"]}),
                    }
                )
            )
        return socket


@pytest.fixture
async def stand_in() -> AsyncIterator[tuple[StandIn, str]]:
    fake = StandIn()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield fake, f"http://127.0.0.1:{port}/"
    await runner.cleanup()


async def reader(client: AriHttpClient, socket: Any) -> None:
    """What aioari's reader does with each message: hand answers to the client."""
    async for message in socket:
        client.answered(json.loads(message.data))


async def test_requests_go_over_http_with_basic_auth_and_a_bounded_pool(
    stand_in: tuple[StandIn, str],
) -> None:
    fake, url = stand_in
    client = AriHttpClient(url, "infolinia", "pw", heartbeat=30)
    try:
        answer = await client.rest("POST", "channels/c1/play", {"media": ["sound:a", "sound:b"]})
        assert answer["via"] == "http"
        assert answer["auth"].startswith("Basic ")  # not the password in the URL
        method, path, query, _ = fake.http[0]
        assert (method, path, query) == ("POST", "channels/c1/play", {"media": "sound:a,sound:b"})
        with pytest.raises(web_exceptions.HTTPNotFound):
            await client.rest("GET", "playbacks/gone")
        assert client.session.connector is not None
        assert client.session.connector.limit == ARI_CONNECTIONS
    finally:
        await client.close()


async def test_requests_go_over_the_websocket_once_enabled_except_with_a_body(
    stand_in: tuple[StandIn, str],
) -> None:
    fake, url = stand_in
    client = AriHttpClient(url, "infolinia", "pw", heartbeat=30)
    socket = await client.ws_connect(url.replace("http", "ws") + "ari/events")
    reading = asyncio.create_task(reader(client, socket))
    try:
        client.over_websocket = True
        answer = await client.rest("POST", "channels/c1/play", {"media": ["sound:/p/a", "b"]})
        assert answer == {"via": "websocket", "uri": "channels/c1/play?media=sound:/p/a,b"}
        assert fake.over_websocket[0]["method"] == "POST"
        with pytest.raises(web_exceptions.HTTPNotFound):
            await client.rest("GET", "playbacks/gone")
        # A request with a body goes over HTTP (Asterisk does not answer it on the socket).
        answer = await client.rest("PUT", "applications/a/eventFilter", body={"allowed": []})
        assert answer["via"] == "http"
        assert fake.http[-1][3] == '{"allowed": []}'
        assert [m["uri"] for m in fake.over_websocket] == [
            "channels/c1/play?media=sound:/p/a,b",
            "playbacks/gone",
        ]
    finally:
        reading.cancel()
        await client.close()


async def test_a_closed_websocket_fails_the_requests_waiting_on_it(
    stand_in: tuple[StandIn, str],
) -> None:
    fake, url = stand_in
    fake.answer_on_websocket = False  # the answer never comes: the link goes first
    client = AriHttpClient(url, "infolinia", "pw", heartbeat=30)
    await client.ws_connect(url.replace("http", "ws") + "ari/events")
    client.over_websocket = True
    try:
        waiting = asyncio.create_task(client.rest("POST", "channels/c1/answer"))
        while not fake.over_websocket:
            await asyncio.sleep(0.01)
        client.link_lost()  # what the gateway does when the reader ends
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await waiting
        assert not client.over_websocket  # the next link probes again
        answer = await client.rest("POST", "channels/c1/answer")
        assert answer["via"] == "http"
    finally:
        await client.close()


async def test_each_message_reaches_its_types_listeners_then_every_types() -> None:
    """The client's own dispatch (in place of aioari's): a message goes to the
    listeners of its type, then to those of every type; a coroutine listener
    is awaited; one listener's error reaches the error handler and stops no
    other."""
    from stasis_app.telephony.ari_http import AriClient

    client = AriClient.__new__(AriClient)  # no connection: only the dispatch
    client.event_listeners = {}
    errors: list[BaseException] = []
    client.exception_handler = errors.append
    seen: list[tuple[str, str]] = []

    def typed(msg: dict[str, Any], tag: str) -> None:
        seen.append((tag, msg["type"]))

    async def every(msg: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        seen.append(("every", msg["type"]))

    def broken(msg: dict[str, Any]) -> None:
        raise RuntimeError("listener failed")

    client.on_event("ChannelDtmfReceived", typed, "keys")
    client.on_event("ChannelDtmfReceived", broken)
    client.on_event("*", every)
    await client.process_ws({"type": "ChannelDtmfReceived", "digit": "5"})
    await client.process_ws({"type": "PlaybackFinished"})
    assert seen == [
        ("keys", "ChannelDtmfReceived"),
        ("every", "ChannelDtmfReceived"),
        ("every", "PlaybackFinished"),
    ]
    assert [str(e) for e in errors] == ["listener failed"]
