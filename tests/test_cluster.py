"""The cluster's pieces without Asterisk: Kamailio's rendered config (checked
by Kamailio itself), the node's settings, logs and metrics, and the app's
registration at the proxy (against a UDP socket standing in for Kamailio)."""

import asyncio
import json
import logging
import socket
import subprocess
from pathlib import Path

import pytest

from devtools.cluster import Cluster
from devtools.cluster_node import KAMAILIO_LISTEN, ClusterError, Node
from devtools.kamailio import KAMAILIO_BINARY, KAMAILIO_TEMPLATE, Kamailio, render_kamailio
from devtools.sandbox import Sandbox
from stasis_app.config import ClusterSettings, load_settings
from stasis_app.logs import JsonLineFormatter
from stasis_app.metrics import AppMetrics
from stasis_app.telephony.presence import Presence

pytestmark = pytest.mark.unit


def test_kamailio_checks_the_config_rendered_for_two_nodes(tmp_path: Path) -> None:
    kamailio = Kamailio(tmp_path)
    kamailio.render([Node(1, tmp_path), Node(2, tmp_path)])
    assert "{{" not in kamailio.config.read_text()
    assert (tmp_path / "dispatcher.list").read_text().splitlines()[1:] == [
        "1 sip:127.0.0.2:5060 0 0 node=node1",
        "1 sip:127.0.0.3:5060 0 0 node=node2",
    ]
    check = subprocess.run(
        [KAMAILIO_BINARY, "-c", "-f", str(kamailio.config)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr[-2000:]


def test_a_template_name_left_without_a_value_is_refused() -> None:
    with pytest.raises(ClusterError, match="ctl_socket"):
        render_kamailio(KAMAILIO_TEMPLATE.read_text(), listen=KAMAILIO_LISTEN)


def test_nodes_never_share_an_address_with_each_other_or_the_sandbox(tmp_path: Path) -> None:
    nodes = [Node(k, tmp_path) for k in range(1, 9)]
    taken = {"127.0.0.1:5060", KAMAILIO_LISTEN}  # the sandbox's SIP, Kamailio
    sips = [n.sip for n in nodes]
    assert len(set(sips)) == len(sips) and not taken & set(sips)
    assert "127.0.0.1" not in {n.address for n in nodes}  # the sandbox's ARI
    assert len({n.admin_port for n in nodes}) == len(nodes)
    assert not {18090, 18190, 18191} & {n.admin_port for n in nodes}  # tests' app, benchmarks


def test_a_node_is_named_by_the_environment_and_defaults_to_the_host(tmp_path: Path) -> None:
    config = tmp_path / "infolinia.yaml"
    config.write_text("admin: {port: 8090}\n")
    plain = load_settings(config, resolve_secrets=False, env={})
    assert plain.node == socket.gethostname() and plain.cluster is None
    env = Node(2, tmp_path).app_env("pw", str(tmp_path / "state.sqlite"))
    node = load_settings(config, resolve_secrets=False, env=env)
    assert node.node == "node2"
    assert node.admin.port == Node(2, tmp_path).admin_port
    assert node.cluster == ClusterSettings(proxy=KAMAILIO_LISTEN, contact="127.0.0.3:5060")
    assert str(node.voice.cache_dir) == str(tmp_path / "node2" / "prompts")
    assert node.security.spool_dir == tmp_path / "node2" / "block-spool"


def test_the_nodes_share_the_clusters_own_postgresql_unless_told(tmp_path: Path) -> None:
    """By default the state is the cluster's PostgreSQL (port 55450): its URL
    carries no password, the apps get the password file's name; ``--state``
    (a URL or a SQLite file) replaces it and no PostgreSQL is started."""
    sandbox = Sandbox(tmp_path / "sandbox", tmp_path / "prompts")
    cluster = Cluster(sandbox, tmp_path / "infolinia.yaml", home=tmp_path / "cluster")
    assert cluster.owns_postgres
    assert cluster.state == "postgresql://infolinia@127.0.0.1:55450/infolinia"
    env = cluster.app_environment(cluster.nodes[0], password="pw")
    assert env["INFOLINIA_STATE"] == cluster.state
    assert env["INFOLINIA_STATE_PASSWORD_FILE"].endswith("/postgres/cluster/password")
    assert (
        env["INFOLINIA_SPOOL_DIR"]
        != cluster.app_environment(cluster.nodes[1], "pw")["INFOLINIA_SPOOL_DIR"]
    )
    given = Cluster(
        sandbox, tmp_path / "infolinia.yaml", home=tmp_path / "c", state_url=str(tmp_path / "s.db")
    )
    assert not given.owns_postgres and given.state == str(tmp_path / "s.db")
    assert "INFOLINIA_STATE_PASSWORD_FILE" not in given.app_environment(given.nodes[0], "pw")


def test_every_log_line_names_the_node() -> None:
    record = logging.LogRecord("stasis_app.app", logging.INFO, "", 0, "serving", None, None)
    assert json.loads(JsonLineFormatter("node2").format(record))["node"] == "node2"
    assert "node" not in json.loads(JsonLineFormatter().format(record))


def test_metrics_name_the_node() -> None:
    text = AppMetrics(node="node1").render().decode()
    assert 'infolinia_node_info{node="node1"} 1.0' in text
    assert "infolinia_node_info" not in AppMetrics().render().decode()


class FakeProxy(asyncio.DatagramProtocol):
    """Answers every REGISTER 200 OK and keeps what it got."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint's

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.requests.append(data.decode())
        assert self.transport is not None
        self.transport.sendto(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", addr)

    def expires(self) -> list[int]:
        found = []
        for request in self.requests:
            for line in request.split("\r\n"):
                if line.startswith("Expires: "):
                    found.append(int(line.split()[1]))
        return found


def test_the_app_is_registered_only_while_ari_is_connected() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        transport, proxy = await loop.create_datagram_endpoint(
            FakeProxy, local_addr=("127.0.0.1", 0)
        )
        port = transport.get_extra_info("sockname")[1]
        settings = ClusterSettings(
            proxy=f"127.0.0.1:{port}", contact="127.0.0.2:5060", every=0.05, expires=2
        )
        connected = asyncio.Event()
        presence = Presence(settings, "node1", connected.is_set)
        task = asyncio.create_task(presence.run())
        await asyncio.sleep(0.2)
        assert proxy.requests == []  # no ARI: no registration
        connected.set()
        await asyncio.sleep(0.2)
        assert presence.registered and set(proxy.expires()) == {2}
        first = proxy.requests[0]
        assert first.startswith(f"REGISTER sip:127.0.0.1:{port} SIP/2.0\r\n")
        assert f"To: <sip:app-node1@127.0.0.1:{port}>" in first
        assert "Contact: <sip:app-node1@127.0.0.2:5060>;expires=2" in first
        connected.clear()  # ARI lost: withdrawn at once, then silence
        await asyncio.sleep(0.2)
        assert proxy.expires()[-1] == 0 and not presence.registered
        sent = len(proxy.requests)
        await asyncio.sleep(0.2)
        assert len(proxy.requests) == sent
        connected.set()
        await asyncio.sleep(0.2)
        task.cancel()  # the app stops: withdrawn
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.1)
        assert proxy.expires()[-1] == 0
        transport.close()

    asyncio.run(scenario())
