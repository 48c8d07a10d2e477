"""This node's presence at the cluster's SIP proxy (Kamailio, docs/scaling.md).

A node must take new calls only while its app serves them: Kamailio's OPTIONS
probes see the node's Asterisk, not the app behind it (an Asterisk whose app
is gone answers every call with the dialplan's fallback). So, while the app
takes calls (its ARI link is up and it is not stopping), it registers
``sip:app-<node>@<proxy>`` at Kamailio with Contact its Asterisk's SIP
address, every ``every`` seconds for ``expires`` seconds; Kamailio's
dispatcher skips a node whose app holds no registration. A killed app stops
refreshing and its node leaves within ``expires`` seconds; an app that loses
ARI or begins to stop withdraws at once (Expires: 0), so its calls in
progress finish while new ones go elsewhere; the node rejoins with the app's
next registration.

Plain SIP over UDP, a few lines each second: no digest authentication (the
proxy accepts registrations only from the nodes' addresses).
"""

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable

from stasis_app.config import ClusterSettings

log = logging.getLogger(__name__)


def register_request(
    settings: ClusterSettings, node: str, local: str, expires: int, call_id: str, cseq: int
) -> bytes:
    """One REGISTER of ``app-<node>``, sent from ``local`` (host:port)."""
    aor = f"sip:app-{node}@{settings.proxy}"
    return (
        f"REGISTER sip:{settings.proxy} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local};branch=z9hG4bK{os.urandom(8).hex()};rport\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <{aor}>;tag={call_id[:8]}\r\n"
        f"To: <{aor}>\r\n"
        f"Call-ID: {call_id}\r\n"
        f"CSeq: {cseq} REGISTER\r\n"
        f"Contact: <sip:app-{node}@{settings.contact}>;expires={expires}\r\n"
        f"Expires: {expires}\r\n"
        "User-Agent: infolinia\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


class _Replies(asyncio.DatagramProtocol):
    def __init__(self, presence: "Presence") -> None:
        self.presence = presence

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        status = data.split(b"\r\n", 1)[0].decode(errors="replace")
        self.presence.answered(status)

    def error_received(self, exc: Exception) -> None:  # ICMP: nothing listens there
        self.presence.answered(f"unreachable ({type(exc).__name__})")


class Presence:
    """Keeps ``app-<node>`` registered at the proxy while ``serving()`` is true."""

    def __init__(self, settings: ClusterSettings, node: str, serving: Callable[[], bool]) -> None:
        self.settings = settings
        self.node = node
        self.serving = serving
        self.registered = False  # the proxy's last answer was 2xx to a registration
        self._call_id = f"{os.urandom(10).hex()}@infolinia"
        self._cseq = 0
        self._sent_expires = 0
        self._transport: asyncio.DatagramTransport | None = None
        self._last_status = ""

    def answered(self, status: str) -> None:
        ok = status.startswith("SIP/2.0 2")
        if status != self._last_status:
            if ok and self._sent_expires:
                log.info("registered at the cluster proxy", extra={"proxy": self.settings.proxy})
            elif not ok:
                log.warning(
                    "this node's registration at the cluster proxy failed",
                    extra={"proxy": self.settings.proxy, "answer": status},
                )
        self._last_status = status
        self.registered = ok and self._sent_expires > 0

    async def run(self) -> None:
        """Register every ``every`` seconds while serving; withdraw when not."""
        host, port = self.settings.proxy.rsplit(":", 1)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Replies(self), remote_addr=(host, int(port)), family=socket.AF_INET
        )
        self._transport = transport
        try:
            while True:
                if self.serving():
                    self._send(self.settings.expires)
                elif self._sent_expires:
                    self._withdraw()
                await asyncio.sleep(self.settings.every)
        finally:
            self.close()

    def close(self) -> None:
        """Withdraw the registration (the app stops) and close the socket."""
        if self._transport is not None:
            if self._sent_expires:
                self._withdraw()
            self._transport.close()
            self._transport = None

    def _withdraw(self) -> None:
        self._send(0)
        log.info("withdrawn from the cluster proxy", extra={"proxy": self.settings.proxy})

    def _send(self, expires: int) -> None:
        if self._transport is None:
            return
        self._cseq += 1
        local_host, local_port = self._transport.get_extra_info("sockname")[:2]
        request = register_request(
            self.settings,
            self.node,
            f"{local_host}:{local_port}",
            expires,
            self._call_id,
            self._cseq,
        )
        with contextlib.suppress(OSError):  # the proxy's host unreachable: next round
            self._transport.sendto(request)
        self._sent_expires = expires
        if expires == 0:
            self.registered = False
