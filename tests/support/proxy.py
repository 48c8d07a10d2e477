"""A TCP proxy between the app and Asterisk's ARI, so tests can cut or freeze
the app's connections for real (the websocket included)."""

import asyncio
import threading
from contextlib import suppress


class AriProxy:
    """Forwards 127.0.0.1:<port> to the ARI port, in a thread of its own.

    ``cut()`` closes every open connection (as a network drop or an Asterisk
    HTTP restart would); ``freeze()`` keeps them open but stops forwarding
    (a half-dead TCP link only a heartbeat notices). New connections always work.
    """

    def __init__(self, target_port: int = 8088) -> None:
        self.target_port = target_port
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._links: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._frozen: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="ari-proxy")

    def start(self) -> "AriProxy":
        self._thread.start()
        self._ready.wait(5)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        link = (writer, up_writer)
        self._links.add(link)
        await asyncio.gather(
            self._pump(reader, up_writer, writer),
            self._pump(up_reader, writer, writer),
            return_exceptions=True,
        )
        self._links.discard(link)
        for w in link:
            w.close()

    async def _pump(
        self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, client: asyncio.StreamWriter
    ) -> None:
        try:
            while data := await src.read(65536):
                while client in self._frozen:
                    await asyncio.sleep(0.05)
                dst.write(data)
                await dst.drain()
            dst.write_eof()
        except (OSError, RuntimeError):
            pass  # a cut link: the other side sees it closed

    def cut(self) -> int:
        """Close every open connection; returns how many were cut."""
        return asyncio.run_coroutine_threadsafe(self._cut(), self._loop).result(5)

    async def _cut(self) -> int:
        links = list(self._links)
        self._frozen.clear()
        for client, upstream in links:
            for w in (client, upstream):
                with suppress(OSError):
                    w.transport.abort()
        return len(links)

    def freeze(self) -> int:
        """Stop forwarding on every open connection (they stay open)."""
        return asyncio.run_coroutine_threadsafe(self._freeze(), self._loop).result(5)

    async def _freeze(self) -> int:
        self._frozen |= {client for client, _ in self._links}
        return len(self._frozen)

    def drop_frozen(self) -> int:
        """Close only the frozen connections."""
        return asyncio.run_coroutine_threadsafe(self._drop_frozen(), self._loop).result(5)

    async def _drop_frozen(self) -> int:
        frozen = [link for link in self._links if link[0] in self._frozen]
        self._frozen.clear()
        for link in frozen:
            for w in link:
                with suppress(OSError):
                    w.transport.abort()
        return len(frozen)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)

    async def _shutdown(self) -> None:
        await self._cut()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
