"""Consultants' phones at the cluster's SIP proxy (stasis_app/telephony/proxy_phones.py):
what Asterisk dials for ``Proxy/<name>``, and the OPTIONS question whose answer
makes the phone logged in or out. The proxy here is a UDP socket on loopback
that answers as Kamailio's config does (tests/test_real_cluster.py asks the real one)."""

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from stasis_app.config import ClusterSettings
from stasis_app.telephony.proxy_phones import ProxyPhones, proxy_phone
from stasis_app.tenants import QueueSettings

pytestmark = pytest.mark.unit


class Registrar:
    """Answers OPTIONS for the names in ``registered`` 200, others 404; silent
    for the names in ``silent``. Keeps the requests it got."""

    def __init__(self, registered: set[str], silent: frozenset[str] = frozenset()) -> None:
        self.registered = registered
        self.silent = silent
        self.requests: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            text = data.decode()
            self.requests.append(text)
            name = text.split(" ", 2)[1].removeprefix("sip:").split("@")[0]
            if name in self.silent:
                continue
            head = "200 Registered" if name in self.registered else "404 Not Registered"
            via, call_id = (
                next(h for h in text.split("\r\n") if h.startswith(k)) for k in ("Via:", "Call-ID:")
            )
            reply = f"SIP/2.0 {head}\r\n{via}\r\n{call_id}\r\nContent-Length: 0\r\n\r\n"
            self.sock.sendto(reply.encode(), peer)


@pytest.fixture
def registrar() -> Iterator[Registrar]:
    server = Registrar({"agent8"}, silent=frozenset({"ghost"}))
    yield server
    server.stop.set()
    server.thread.join()
    server.sock.close()


def phones_at(address: str) -> ProxyPhones:
    return ProxyPhones(ClusterSettings(proxy=address, contact="127.0.0.2:5060"))


def test_a_proxy_phone_is_dialled_through_the_proxy_and_others_are_left_alone() -> None:
    phones = phones_at("127.0.0.1:5070")
    assert phones.dial_string("Proxy/agent8") == "PJSIP/sip-proxy/sip:agent8@127.0.0.1:5070"
    assert phones.dial_string("PJSIP/softphone") == "PJSIP/softphone"
    assert phones.dial_string("Local/quick@agents/n") == "Local/quick@agents/n"
    assert proxy_phone("proxy/agent8") == "agent8" and proxy_phone("Proxy/") is None


def test_the_proxy_says_who_is_registered(registrar: Registrar) -> None:
    phones = phones_at(registrar.address)

    async def ask() -> list[str | None]:
        return [
            await phones.state(endpoint)
            for endpoint in ("Proxy/agent8", "Proxy/agent9", "Proxy/ghost", "PJSIP/softphone")
        ]

    assert asyncio.run(ask()) == ["online", "offline", "offline", None]
    first = registrar.requests[0]
    assert first.startswith(f"OPTIONS sip:agent8@{registrar.address} SIP/2.0\r\n")
    assert len(registrar.requests) == 3  # a PJSIP endpoint is Asterisk's to answer for


def test_without_a_cluster_a_proxy_phone_is_never_logged_in() -> None:
    phones = ProxyPhones(None)
    assert asyncio.run(phones.state("Proxy/agent8")) is None
    assert phones.dial_string("Proxy/agent8") == "Proxy/agent8"


def test_no_proxy_listening_means_logged_out() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    assert asyncio.run(phones_at(address).state("Proxy/agent8")) == "offline"


@pytest.mark.parametrize("agent", ["Proxy/anna kowalska", "Proxy/a@evil.example", "Proxy/x/y"])
def test_a_phone_name_that_is_not_a_sip_user_is_refused_at_load(agent: str) -> None:
    with pytest.raises(ValidationError, match=r"phone.s name at the SIP proxy|not an endpoint"):
        QueueSettings(agents=[agent])


def test_a_proxy_whose_name_does_not_resolve_means_logged_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In Docker the proxy is a service name; while it restarts the name may
    not resolve: the phone is logged out, the queue goes on. (The resolver's
    answer is made here: a test asks no name server.)"""

    async def unresolved(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def ask() -> str | None:
        loop = asyncio.get_running_loop()
        monkeypatch.setattr(loop, "create_datagram_endpoint", unresolved)
        return await phones_at("kamailio:5060").state("Proxy/agent8")

    assert asyncio.run(ask()) == "offline"


@pytest.mark.parametrize("proxy", ["127.0.0.1", "127.0.0.1:", "sip:127.0.0.1:5070", "a b:5070"])
def test_a_proxy_that_is_not_host_and_port_is_refused_at_load(proxy: str) -> None:
    with pytest.raises(ValidationError, match="should match pattern"):
        ClusterSettings(proxy=proxy, contact="127.0.0.2:5060")


async def test_phones_at_the_proxy_are_asked_at_once(registrar: Registrar) -> None:
    """Two agents whose proxy does not answer (0.5 s each) are asked together,
    so a caller waits for one timeout, not one per agent (an order, not a time:
    both questions reach the proxy before either answer is due)."""
    from stasis_app.queue.agents import AgentPool

    pool = AgentPool(["Proxy/ghost", "Proxy/agent8", "Local/quick@agents/n"])
    phones = phones_at(registrar.address)
    asked_before: list[int] = []

    async def state_of(endpoint: str) -> str | None:
        asked_before.append(len(registrar.requests))
        return await phones.state(endpoint)

    await pool.refresh_presence(state_of, force=True)
    assert asked_before == [0, 0]  # the second was asked before the first got anything back
    assert [a.logged_in for a in pool.agents] == [False, True, True]
