"""Servers on 127.0.0.1 for tests of the app's outbound HTTP clients (the
webhook verb and the webservice adapter): a bank that answers in pieces
with pauses between them, and a bystander listener that records every
connection made to it (the "other host" a redirect points at)."""

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress

from aiohttp import web


class Bystander:
    """A TCP listener that accepts and records whatever reaches it."""

    def __init__(self) -> None:
        self.connections = 0
        self.received = b""
        self.port = 0

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with suppress(TimeoutError):
            self.received += await asyncio.wait_for(reader.read(65536), 1)
        writer.close()

    @asynccontextmanager
    async def running(self) -> AsyncIterator["Bystander"]:
        server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


async def answer_in_pieces(
    request: web.Request,
    body: bytes,
    headers: Mapping[str, str],
    *,
    pieces: int = 4,
    pause: float = 0.05,
    chunked: bool = True,
    status: int = 200,
) -> web.StreamResponse:
    """Send ``body`` as ``pieces`` separate writes, flushed, with a pause
    between them: each arrives in its own TCP segment. ``chunked`` picks
    chunked transfer encoding, else a ``Content-Length`` body."""
    response = web.StreamResponse(status=status, headers={**headers})
    response.content_type = "application/json"
    if chunked:
        response.enable_chunked_encoding()
    else:
        response.content_length = len(body)
    await response.prepare(request)
    size = -(-len(body) // pieces)
    for start in range(0, len(body), size):
        await response.write(body[start : start + size])
        await asyncio.sleep(pause)
    await response.write_eof()
    return response
