"""The ARI connection's HTTP side: aioari's client with three changes.

* **Websocket heartbeat.** The REST heartbeat keeps the HTTP connection busy,
  so it cannot notice a websocket that died silently (a NAT or firewall
  dropping it): aiohttp's websocket heartbeat closes it when a pong does not
  come back in time.
* **A bounded connection pool.** aioswagger's session may open 100
  connections, as many as Asterisk's HTTP server allows sessions
  (``sessionlimit`` in ``http.conf``, 100 by default); with the websocket and
  anyone else's requests that is over the limit, and under load Asterisk
  drops the surplus (``ServerDisconnectedError``). The app keeps to
  :data:`ARI_CONNECTIONS`; more requests at once wait for a free connection.
* **Direct requests** (:meth:`AriClient.rest`): aioari builds each request
  from the swagger model and wraps each answer in an object, which costs
  about twice the CPU of the request itself (``docs/performance.md``).
  Failures raise the same aiohttp exceptions as aioari's, so the gateway
  maps both alike.
* **Requests over the events websocket** (ARI "REST over WebSocket",
  Asterisk 22.3 and later): a ``RESTRequest`` message, answered by a
  ``RESTResponse`` on the same socket, instead of an HTTP request per step
  of a call; cheaper for the app and for Asterisk. Used once Asterisk has
  answered a first one (:meth:`AriClient.use_websocket_requests`); an older
  Asterisk gets HTTP, and so do requests with a body (the event filter):
  Asterisk 22.10 carries those out but never answers. Requests waiting when
  the socket closes fail as a dropped HTTP connection does, so the gateway
  retries them alike.
"""

import asyncio
import itertools
import json
import urllib.parse
from base64 import b64encode
from collections.abc import Mapping, Sequence
from typing import Any

import aioari
import aiohttp
from aiohttp import web_exceptions
from aioswagger11.http_client import ApiKeyAuthenticator, AsynchronousHttpClient

from stasis_app.telephony.ari_traffic import AriTraffic

# HTTP connections to Asterisk at most (the websocket is one more).
ARI_CONNECTIONS = 16

_JSON = {"Content-Type": "application/json"}
Params = Mapping[str, str | int | Sequence[str]]


class AriHttpClient(AsynchronousHttpClient):  # type: ignore[misc]
    """aioswagger's HTTP client, with a websocket heartbeat and a bounded pool."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        heartbeat: float,
        traffic: AriTraffic | None = None,
    ) -> None:
        # Not super().__init__(): it makes a session with aiohttp's default
        # pool of 100 connections.
        host = urllib.parse.urlsplit(url).hostname or ""
        self.authenticator = ApiKeyAuthenticator(host, f"{user}:{password}")
        self.websockets: set[_CountedSocket] = set()
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=ARI_CONNECTIONS))
        self.heartbeat = heartbeat
        self.base = url.rstrip("/") + "/ari/"
        token = b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self._socket: _CountedSocket | None = None  # the events websocket
        self.over_websocket = False  # requests go as RESTRequest messages on it
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._request_ids = itertools.count(1)
        self.traffic = traffic or AriTraffic()

    async def ws_connect(self, url: str, params: dict[str, str] | None = None) -> Any:
        if self.authenticator is not None and self.authenticator.matches(url):
            params = dict(params or {})
            self.authenticator.apply(params, params)
        socket = _CountedSocket(
            await self.session.ws_connect(url, params=params, heartbeat=self.heartbeat),
            self.traffic,
        )
        self.websockets.add(socket)
        self._socket = socket
        return socket

    def answered(self, message: dict[str, Any]) -> None:
        """A ``RESTResponse`` from the websocket (called by aioari's reader)."""
        waiter = self._waiting.get(str(message.get("request_id")))
        if waiter is not None and not waiter.done():
            waiter.set_result(message)

    def link_lost(self) -> None:
        """The websocket closed: requests waiting on it fail as a dropped connection."""
        self.over_websocket = False
        for waiter in self._waiting.values():
            if not waiter.done():
                waiter.set_exception(aiohttp.ServerDisconnectedError())
        self._waiting.clear()

    async def close(self) -> None:
        self.link_lost()
        await super().close()

    async def rest(
        self, method: str, path: str, params: Params | None = None, body: Any = None
    ) -> Any:
        """One ARI request (``path`` under ``/ari/``); the decoded JSON answer,
        or None when there is none. A status of 400 or more raises aiohttp's
        exception for it, as aioari does."""
        query = {
            key: ",".join(value) if isinstance(value, list | tuple) else str(value)
            for key, value in (params or {}).items()
        }
        socket = self._socket
        # Asterisk 22.10 carries out a request with a body sent over the
        # websocket but never answers it (seen here): those go over HTTP.
        if self.over_websocket and body is None and socket is not None and not socket.closed:
            self.traffic.sent("websocket")
            return await self._over_websocket(socket, method, path, query)
        self.traffic.sent("http")
        headers = self._headers if body is None else {**self._headers, **_JSON}
        data = None if body is None else json.dumps(body)
        async with self.session.request(
            method, self.base + path, params=query, headers=headers, data=data
        ) as answer:
            text = await answer.text()
            if answer.status >= 400:
                raise _STATUS_ERRORS.get(answer.status, web_exceptions.HTTPError)(
                    reason=answer.reason
                )
            return json.loads(text) if text else None

    async def download(self, path: str) -> bytes:
        """A GET whose answer is a file (a stored recording), always over
        HTTP: its bytes. A status of 400 or more raises as :meth:`rest` does."""
        async with self.session.get(self.base + path, headers=self._headers) as answer:
            if answer.status >= 400:
                raise _STATUS_ERRORS.get(answer.status, web_exceptions.HTTPError)(
                    reason=answer.reason
                )
            return await answer.read()

    async def _over_websocket(
        self,
        socket: "_CountedSocket",
        method: str,
        path: str,
        query: dict[str, str],
    ) -> Any:
        request_id = f"r{next(self._request_ids)}"
        uri = path + ("?" + urllib.parse.urlencode(query, safe=",:/") if query else "")
        message: dict[str, str] = {
            "type": "RESTRequest",
            "request_id": request_id,
            "method": method,
            "uri": uri,
        }
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = waiter
        try:
            await socket.send_str(json.dumps(message))
            answer = await waiter
        finally:
            self._waiting.pop(request_id, None)
        status = int(answer.get("status_code") or 500)
        if status >= 400:
            raise _STATUS_ERRORS.get(status, web_exceptions.HTTPError)(
                reason=answer.get("reason_phrase")
            )
        text = answer.get("message_body") or ""
        return json.loads(text) if text else None


_CLOSING = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)


class _CountedSocket:
    """The events websocket, telling :class:`AriTraffic` the size of each
    message it hands aioari's reader; everything else is aiohttp's socket."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse, traffic: AriTraffic) -> None:
        self._socket = socket
        self._traffic = traffic

    async def receive(self, timeout: float | None = None) -> aiohttp.WSMessage:
        message = await self._socket.receive(timeout)
        if message.type is aiohttp.WSMsgType.TEXT:
            self._traffic.received(len(message.data))
        return message

    def __aiter__(self) -> "_CountedSocket":
        return self

    async def __anext__(self) -> aiohttp.WSMessage:
        message = await self.receive()
        if message.type in _CLOSING:
            raise StopAsyncIteration
        return message

    @property
    def closed(self) -> bool:
        return self._socket.closed

    async def send_str(self, data: str) -> None:
        await self._socket.send_str(data)

    async def close(self) -> bool:
        return await self._socket.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._socket, name)


class AriClient(aioari.Client):  # type: ignore[misc]
    """aioari's client, with :meth:`rest` for the hot requests."""

    def __init__(self, url: str, http: AriHttpClient) -> None:
        super().__init__(url, http)
        self.http = http

    async def rest(
        self, method: str, path: str, params: Params | None = None, body: Any = None
    ) -> Any:
        return await self.http.rest(method, path, params, body)

    async def download(self, path: str) -> bytes:
        return await self.http.download(path)

    async def process_ws(self, msg: dict[str, Any]) -> None:
        """aioari's dispatch of one message to its listeners (its type's, then
        every type's), less its debug line per listener, which was formatted
        for every event even with debug logs off."""
        listeners = (*self.event_listeners.get(msg["type"], ()), *self.event_listeners.get("*", ()))
        for callback, args, kwargs in listeners:
            try:
                result = callback(msg, *(args or ()), **(kwargs or {}))
                if hasattr(result, "__await__"):
                    await result
            except Exception as exc:  # as aioari: one listener's error stops no other
                self.exception_handler(exc)

    async def use_websocket_requests(self, timeout: float) -> bool:
        """Send requests over the events websocket from now on, if Asterisk
        answers a ping sent that way within ``timeout`` seconds."""
        self.on_event("RESTResponse", self.http.answered)
        self.http.over_websocket = True
        try:
            async with asyncio.timeout(timeout):
                await self.rest("GET", "asterisk/ping")
        except Exception:
            self.http.over_websocket = False
        return bool(self.http.over_websocket)

    def link_lost(self) -> None:
        self.http.link_lost()


# Each error status -> aiohttp's exception for it, as aioswagger maps them.
_STATUS_ERRORS: dict[int, type[web_exceptions.HTTPException]] = {
    error.status_code: error
    for error in (getattr(web_exceptions, name) for name in web_exceptions.__all__)
    if isinstance(error, type)
    and issubclass(error, web_exceptions.HTTPError)
    and isinstance(getattr(error, "status_code", None), int)
}
