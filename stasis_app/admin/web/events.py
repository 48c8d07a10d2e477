"""Server-sent events for pages that stay current (live calls, queues).

A stream outlives the request that opened it, so the check in front of every
page (:class:`~stasis_app.admin.web.auth.Gate`) is made again on every tick: when
the session ends (logout, expiry, a new password) or its user is removed or
loses the role, the stream sends a last ``ended`` event and closes, and the
page goes to the login form. Nothing more is sent after that.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from stasis_app.admin.web.html import NO_STORE

log = logging.getLogger(__name__)
KEEPALIVE = 15.0  # seconds without a change before the same data is sent again
ENDED = b"event: ended\ndata: {}\n\n"  # the session is over: the page leaves


class EventStreams:
    """Streams that end together when the admin server shuts down."""

    def __init__(self, every: float = 1.0) -> None:
        self.every = every
        self._closing = asyncio.Event()

    async def close(self, app: web.Application) -> None:
        """An ``on_shutdown`` hook: open streams end, so a stopping app need not wait."""
        self._closing.set()

    async def stream(
        self,
        request: web.Request,
        data: Callable[[], Awaitable[str]],
        allowed: Callable[[web.Request], Awaitable[bool]],
    ) -> web.StreamResponse:
        """Send ``data()`` (one line of text, e.g. JSON) as an event whenever
        it changes, looking every ``every`` seconds; the same again after
        :data:`KEEPALIVE` seconds, which notices a page that was closed.
        ``allowed(request)`` is asked before every look: once it says no, the
        stream ends."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no", **NO_STORE}
        )
        await response.prepare(request)
        last, quiet = None, 0.0
        while not self._closing.is_set():
            if not await allowed(request):
                log.info("admin page: a live stream ended with its session")
                await response.write(ENDED)
                break
            current = await data()
            if current != last or quiet >= KEEPALIVE:
                await response.write(f"data: {current}\n\n".encode())
                last, quiet = current, 0.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), self.every)
            quiet += self.every
        return response
