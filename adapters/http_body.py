"""Reading an HTTP answer's body whole, but never more than a cap.

Both outbound clients (the ``webservice`` adapter and the ``webhook`` verb)
verify a signature over the exact body, so they need all of it: an answer
that arrives in several TCP segments or chunks is read until the end of the
body, not only as far as the first segment (aiohttp's ``content.read(n)``
returns whatever has arrived so far). A body larger than the cap is refused
as soon as the cap is passed (or at once, when ``Content-Length`` says so),
so a hostile or broken server cannot make us hold more than ``cap + 1``
bytes of it.

Both clients also ask for the body as it is on the wire
(:data:`IDENTITY_HEADERS`, and a session with ``auto_decompress=False``):
the signature covers those bytes, and nothing is inflated on our side.

Lives in :mod:`adapters` (not :mod:`stasis_app`) so that both layers may
import it: ``stasis_app`` may use ``adapters``, never the other way round.
"""

from typing import Protocol

# Sent with every request: answer uncompressed (we never inflate a body).
IDENTITY_HEADERS = {"Accept-Encoding": "identity"}


class BodyTooLarge(Exception):
    """The answer's body is larger than the reader's cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        super().__init__(f"answer larger than {cap} bytes")


class ByteStream(Protocol):
    """What the reader needs: ``read(n)`` gives 1..n bytes, or ``b""`` at the
    end (``aiohttp.StreamReader`` is one)."""

    async def read(self, n: int = -1) -> bytes: ...


async def read_capped(stream: ByteStream, cap: int, declared: int | None = None) -> bytes:
    """The whole body of ``stream`` up to its end; :class:`BodyTooLarge` when
    it is (or ``declared``, its ``Content-Length``, says it will be) longer
    than ``cap`` bytes."""
    if cap < 0:
        raise ValueError("cap must not be negative")
    if declared is not None and declared > cap:
        raise BodyTooLarge(cap)
    parts: list[bytes] = []
    size = 0
    while True:
        # Ask for one byte more than may still come: a body of exactly ``cap``
        # bytes then ends with b"", a longer one shows itself.
        part = await stream.read(cap + 1 - size)
        if not part:
            return b"".join(parts)
        size += len(part)
        if size > cap:
            raise BodyTooLarge(cap)
        parts.append(part)
