"""The tests' cluster: Kamailio and two Asterisk nodes with one app each
(devtools/cluster.py), started once per test run, and what the tests ask of
it: call through Kamailio, find which node served a call.

``./dev test`` runs the cluster's tests (marked ``cluster``) in a pytest
process of their own, beside the single-node real calls. So nothing the two
share can change under the other: the nodes serve :data:`CLUSTER_CONFIG`, the
test config with its own demo bank file and its own reference core port, and
their shared state is a PostgreSQL server of their own (:func:`cluster_server`),
which a test stops and starts again."""

import asyncio
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from devtools.cluster import Cluster
from devtools.cluster_node import KAMAILIO_LISTEN, Node, log_entries
from devtools.postgres import Postgres
from devtools.sandbox import Sandbox
from stasis_app.config import load_settings
from tests.conftest import TEST_AUDIT_KEY, TEST_CONFIG, TEST_PLUGINS
from tests.support.ari_client import Ari
from tests.support.reference_core import PORT as CORE_PORT
from tests.support.reference_core import SECRET as CORE_SECRET
from tests.support.sipp import SCENARIOS, SippResult, free_udp_port, sipp_call
from tests.support.stores import normal_priority
from tests.support.webhook_server import SECRET as WEBHOOK_SECRET

# The test config's three demo banks on the shipped bank flow.
DEMO_BANKS = {"100": "izbica", "101": "cieszyn", "102": "staszow"}
# The cluster's database on its PostgreSQL: made afresh each run.
STATE_DATABASE = "cluster"
# What the nodes serve: the test config, with what the single-node real calls
# use at the same time replaced by the cluster's own (made by ``cluster2``).
CLUSTER_HOME = Path(tempfile.gettempdir()) / "infolinia-tests-cluster"
CLUSTER_CONFIG = CLUSTER_HOME / "infolinia.yaml"
CLUSTER_DEMO_BANK = CLUSTER_HOME / "demo-bank.sqlite"
CLUSTER_CORE_PORT = CORE_PORT + 1  # the webservice bank's reference core
CLUSTER_POSTGRES_PORT = 55498  # beside the test run's 55499


def cluster_server() -> Postgres:
    """The cluster tests' own PostgreSQL (a test restarts it under load)."""
    return Postgres("test-cluster", CLUSTER_POSTGRES_PORT, durable=False)


def write_cluster_config() -> Path:
    """:data:`CLUSTER_CONFIG`: the test config with its relative paths made
    absolute, and the demo bank file, the state file and the reference core's
    port the single-node tests use replaced by the cluster's own."""
    single = {
        "/tmp/infolinia-tests/demo-bank.sqlite": str(CLUSTER_DEMO_BANK),
        "/tmp/infolinia-tests/state.sqlite": str(CLUSTER_HOME / "state.sqlite"),
        "/tmp/infolinia-tests/audit-heads.log": str(CLUSTER_HOME / "audit-heads.log"),
        f"http://127.0.0.1:{CORE_PORT}/": f"http://127.0.0.1:{CLUSTER_CORE_PORT}/",
    }

    def own(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: own(item) for key, item in value.items()}
        if isinstance(value, list):
            return [own(item) for item in value]
        if isinstance(value, str):
            if value in single:
                return single[value]
            relative = TEST_CONFIG.parent / value
            if "/" not in value[:1] and value.endswith((".yaml", ".txt")) and relative.exists():
                return str(relative.resolve())
        return value

    CLUSTER_HOME.mkdir(parents=True, exist_ok=True)
    loaded = yaml.safe_load(TEST_CONFIG.read_text())
    text = yaml.safe_dump(own(loaded), allow_unicode=True, sort_keys=False)
    CLUSTER_CONFIG.write_text(text, encoding="utf-8")
    return CLUSTER_CONFIG


@dataclass
class Served:
    """A call one node's app logged: its line, tenant and how it ended."""

    node: str
    line: str
    tenant: str | None
    outcome: str | None
    started: float  # when the app logged its start (time.time())


def app_env() -> dict[str, str]:
    """What the tests' own app gets (tests/conftest.py): the faulty adapters'
    plugin and the online stand-in's, the test servers' secrets, this run's audit key."""
    return {
        "INFOLINIA_TEST_WEBHOOK_SECRET": WEBHOOK_SECRET.decode(),
        "INFOLINIA_TEST_CORE_SECRET": CORE_SECRET.decode(),
        "INFOLINIA_PLUGINS": f"tests.support.faulty_adapters,{TEST_PLUGINS}",
        "INFOLINIA_AUDIT_KEY": TEST_AUDIT_KEY,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }


class RunningCluster:
    """The running cluster and a log cursor per node (calls since :meth:`mark`)."""

    def __init__(self, cluster: Cluster, postgres: Postgres) -> None:
        self.cluster = cluster
        self.postgres = postgres  # the server the shared state lives on
        self._marks: dict[str, int] = {}

    def env(self, node: Node) -> dict[str, str]:
        """``node``'s app's environment: a command run with it acts as that node."""
        return self.cluster.app_environment(node)

    @property
    def nodes(self) -> list[Node]:
        return self.cluster.nodes

    def mark(self) -> None:
        """From now on, :meth:`served` counts only calls that start later."""
        for node in self.nodes:
            log = node.app_log
            self._marks[node.name] = log.stat().st_size if log.exists() else 0

    def logged(self, event: str) -> list[tuple[str, dict[str, Any]]]:
        """The apps' log entries ``event`` since :meth:`mark`, with their node."""
        return [
            (node.name, entry)
            for node in self.nodes
            for entry in log_entries(node.app_log, self._marks.get(node.name, 0))
            if entry.get("event") == event
        ]

    def served(self) -> list[Served]:
        """Calls the apps logged as ended since :meth:`mark`, by node."""
        found = []
        for node in self.nodes:
            line = None
            tenant = None
            for entry in log_entries(node.app_log, self._marks.get(node.name, 0)):
                if entry.get("event") == "call started":
                    line, tenant = entry.get("line"), entry.get("tenant")
                    when = datetime.fromisoformat(str(entry["ts"]).replace("Z", "+00:00"))
                    found.append(Served(node.name, str(line), tenant, None, when.timestamp()))
                elif entry.get("event") == "call ended":
                    for call in reversed(found):
                        if call.node == node.name and call.outcome is None:
                            call.outcome = entry.get("outcome")
                            break
        return found

    def wait_served(self, count: int, timeout: float = 15) -> list[Served]:
        """The calls since :meth:`mark`, once ``count`` of them have ended."""
        deadline = time.monotonic() + timeout
        while True:
            calls = self.served()
            if sum(1 for c in calls if c.outcome) >= count or time.monotonic() > deadline:
                return calls
            time.sleep(0.1)

    def wait_dispatcher(self, node: Node, flags_start: str, timeout: float = 10) -> float:
        """Seconds until Kamailio's dispatcher shows ``node`` with flags
        starting ``flags_start`` (``A`` active, ``I`` inactive...)."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if (self.cluster.kamailio.destinations().get(node.sip) or "").startswith(flags_start):
                return time.monotonic() - began
            time.sleep(0.05)
        raise AssertionError(f"{node.name} never became {flags_start} in {timeout}s")

    def wait_registered(self, node: Node, present: bool, timeout: float = 10) -> float:
        """Seconds until ``node``'s app is (or is no longer) registered at Kamailio."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            if (f"app-{node.name}" in self.cluster.kamailio.registered()) == present:
                return time.monotonic() - began
            time.sleep(0.05)
        raise AssertionError(f"{node.name}'s registration never became {present}")


async def call(line: str, workdir: Path, hold_ms: int = 1500, **more: Any) -> SippResult:
    """One SIPp call through Kamailio: dials ``line``, listens ``hold_ms``, hangs up."""
    return await sipp_call(
        line,
        "",
        wait_ms=hold_ms,
        workdir=workdir,
        scenario_name="caller_via_proxy.xml",
        target=KAMAILIO_LISTEN,
        **more,
    )


def calls(lines: list[str], workdir: Path, hold_ms: int = 1500) -> list[SippResult]:
    """Calls to ``lines`` at once (each in its own folder)."""

    async def all_of() -> list[SippResult]:
        return list(
            await asyncio.gather(
                *(call(line, workdir / f"{i}-{line}", hold_ms) for i, line in enumerate(lines))
            )
        )

    return asyncio.run(all_of())


def register_agent(name: str, port: int, expires: int = 60) -> None:
    """Register phone ``name`` at Kamailio with Contact 127.0.0.1:``port``, as a
    consultant's phone does (no digest: the proxy trusts loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(2)
        local = f"127.0.0.1:{sock.getsockname()[1]}"
        aor = f"sip:{name}@{KAMAILIO_LISTEN}"
        request = (
            f"REGISTER sip:{KAMAILIO_LISTEN} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {local};branch=z9hG4bK{os.urandom(6).hex()};rport\r\n"
            f"Max-Forwards: 70\r\nFrom: <{aor}>;tag={os.urandom(4).hex()}\r\nTo: <{aor}>\r\n"
            f"Call-ID: {os.urandom(8).hex()}@test\r\nCSeq: 1 REGISTER\r\n"
            f"Contact: <sip:{name}@127.0.0.1:{port}>\r\nExpires: {expires}\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        host, kport = KAMAILIO_LISTEN.split(":")
        sock.sendto(request.encode(), (host, int(kport)))
        reply = sock.recv(4096).decode(errors="replace")
    assert reply.startswith("SIP/2.0 200"), reply


async def agent_answers(port: int, workdir: Path) -> SippResult:
    """A phone on 127.0.0.1:``port`` (SIPp) that answers one call and takes its hangup."""
    binary = shutil.which("sipp")
    assert binary is not None, "sipp is not installed (Debian package sip-tester)"
    workdir.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        binary,
        *("-sf", str(SCENARIOS / "agent_via_proxy.xml"), "-i", "127.0.0.1", "-p", str(port)),
        *("-mp", str(free_udp_port() & ~1), "-m", "1", "-timeout", "30s", "-timeout_error"),
        *("-nostdin", "-trace_err", "-error_file", str(workdir / "errors.log")),
        cwd=workdir,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return SippResult(proc.returncode or 0, out.decode(errors="replace")[-2000:])


async def ring_from(node: Node, ari_password: str, agent: str) -> None:
    """``node``'s Asterisk rings ``agent`` through Kamailio; on answer the
    consultant's side runs a short conversation (infolinia-test-agents,
    quick: a tone, then a hangup)."""
    ari = Ari(node.ari_url, "infolinia", ari_password)
    await ari.request(
        "POST",
        "channels",
        params={
            "endpoint": f"PJSIP/testcaller/sip:{agent}@{KAMAILIO_LISTEN}",
            "context": "infolinia-test-agents",
            "extension": "quick",
            "priority": "1",
            "timeout": "10",
        },
    )


@pytest.fixture(scope="session")
def cluster_postgres() -> Iterator[Postgres]:
    """:func:`cluster_server`, started for this run (stopped after if it was not running)."""
    server = cluster_server()
    started = server.pid() is None
    if started:
        with normal_priority():
            server.up()
    yield server
    if started:
        server.down()


@pytest.fixture(scope="session")
def cluster2(sandbox: Sandbox, cluster_postgres: Postgres) -> Iterator[RunningCluster]:
    """Two nodes behind Kamailio, serving :data:`CLUSTER_CONFIG`, for the
    whole run, on a fresh PostgreSQL database (the audit key is this run's).
    The single-node sandbox (127.0.0.1) runs beside it untouched."""
    postgres = cluster_postgres
    config = write_cluster_config()
    settings = load_settings(config, resolve_secrets=False, env={})
    Cluster(sandbox, config).down()  # what an earlier run (or a developer's cluster) left
    postgres.drop_database(STATE_DATABASE)
    cluster = Cluster(
        sandbox,
        config,
        size=2,
        app_env={**app_env(), **postgres.env()},
        state_url=postgres.create_database(STATE_DATABASE),
        seed_prompts=settings.voice.cache_dir,
    )
    for node in cluster.nodes:  # signed with an earlier run's key, for a trail now gone
        (node.home / "audit-heads.log").unlink(missing_ok=True)
    cluster.up(app_timeout=90)
    yield RunningCluster(cluster, postgres)
    cluster.down()
    if postgres.pid() is not None:  # keyed with this run's audit key: of no use after
        postgres.drop_database(STATE_DATABASE)
