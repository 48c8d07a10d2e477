"""Consultants' phones registered at the cluster's SIP proxy (Kamailio).

In a cluster a consultant's phone registers once, at the proxy, not at one
node's Asterisk: whichever node holds a bank's queue rings it there. A queue
names such a phone ``Proxy/<name>`` (``agents: [Proxy/agent8]``). This module
turns that name into what Asterisk dials (``PJSIP/sip-proxy/sip:<name>@<proxy>``:
the ``sip-proxy`` endpoint of docker/asterisk/etc/pjsip.conf) and asks the
proxy whether the phone is registered: an OPTIONS to ``sip:<name>@<proxy>``,
which the proxy answers itself from its location table (200: registered,
404: not), as Asterisk's endpoint state says it for a phone registered at it.

Without a cluster (a single node) such a phone is never logged in, and the
app says so once at start.
"""

import asyncio
import contextlib
import os
import socket

from stasis_app.config import ClusterSettings

TECH = "proxy"
# Asterisk's endpoint (pjsip.conf) that sends calls to the proxy.
PROXY_ENDPOINT = "sip-proxy"
ASK_TIMEOUT = 0.5


def proxy_phone(endpoint: str) -> str | None:
    """The phone's name when ``endpoint`` is ``Proxy/<name>``, else None."""
    tech, _, name = endpoint.partition("/")
    return name if tech.lower() == TECH and name else None


def options_request(proxy: str, name: str, local: str, call_id: str) -> bytes:
    """An OPTIONS asking the proxy whether ``name`` is registered there."""
    uri = f"sip:{name}@{proxy}"
    return (
        f"OPTIONS {uri} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {local};branch=z9hG4bK{os.urandom(8).hex()};rport\r\n"
        "Max-Forwards: 1\r\n"
        f"From: <sip:infolinia@{local}>;tag={call_id[:8]}\r\n"
        f"To: <{uri}>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "User-Agent: infolinia\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


class _Answer(asyncio.DatagramProtocol):
    def __init__(self, call_id: str) -> None:
        self.call_id = call_id.encode()
        self.status: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if self.call_id in data and not self.status.done():
            self.status.set_result(data.split(b"\r\n", 1)[0].decode(errors="replace"))

    def error_received(self, exc: Exception) -> None:  # ICMP: the proxy is not there
        if not self.status.done():
            self.status.set_result("")


class ProxyPhones:
    """Dial strings and presence of the phones registered at the proxy."""

    def __init__(self, settings: ClusterSettings | None) -> None:
        self.settings = settings

    def dial_string(self, endpoint: str) -> str:
        """What Asterisk dials for ``endpoint`` (unchanged unless ``Proxy/<name>``)."""
        name = proxy_phone(endpoint)
        if name is None or self.settings is None:
            return endpoint
        return f"PJSIP/{PROXY_ENDPOINT}/sip:{name}@{self.settings.proxy}"

    async def state(self, endpoint: str) -> str | None:
        """``online`` while the phone is registered at the proxy, ``offline``
        when it is not or the proxy does not answer; None without a cluster."""
        name = proxy_phone(endpoint)
        if name is None or self.settings is None:
            return None
        host, port = self.settings.proxy.rsplit(":", 1)
        loop = asyncio.get_running_loop()
        call_id = f"{os.urandom(10).hex()}@infolinia"
        try:
            transport, answer = await loop.create_datagram_endpoint(
                lambda: _Answer(call_id), remote_addr=(host, int(port)), family=socket.AF_INET
            )
        except OSError:  # the proxy's name does not resolve (it is restarting): nobody there
            return "offline"
        try:
            local_host, local_port = transport.get_extra_info("sockname")[:2]
            with contextlib.suppress(OSError):
                transport.sendto(
                    options_request(
                        self.settings.proxy, name, f"{local_host}:{local_port}", call_id
                    )
                )
            try:
                status = await asyncio.wait_for(answer.status, ASK_TIMEOUT)
            except TimeoutError:
                return "offline"
        finally:
            transport.close()
        return "online" if status.startswith("SIP/2.0 2") else "offline"
