"""A cluster on one machine, for development and tests: Kamailio in front of
several Asterisk nodes, one ``infolinia run`` per node (docs/scaling.md).

Everything lives under ``/var/cache/infolinia/cluster`` (or
``$INFOLINIA_CLUSTER_DIR``), one folder per part::

    cluster/
      kamailio/     kamailio.cfg (rendered from docker/kamailio/), dispatcher.list,
                    its pid file, control socket and log
      node1/        etc (the node's /etc/asterisk), lib, spool, log, run, cache,
                    prompts (the app's prompt folder), block-spool (its blocks while
                    the shared store is down), app.log, app.pid
      node2/ ...
      state-in-use  the state the nodes were started with (for status)
      postgres-started  the PostgreSQL ``up`` started (``down`` stops it)

The state every node shares is a private PostgreSQL 15 (devtools/postgres.py,
named ``cluster``, port 55450, its data under
/var/cache/infolinia/postgres/cluster), started by ``up`` unless the state is
given (``--state``: a postgresql:// URL, or a SQLite file path, which WAL
makes safe for processes on one machine, never for nodes on several). The
apps get the URL; the password reaches them as a file named in their
environment (INFOLINIA_STATE_PASSWORD_FILE), never in the URL.

Node k runs Asterisk from the sandbox's Debian root on its own loopback
address 127.0.0.(k+1), in a mount namespace of its own
(devtools/cluster_node.py); Kamailio is our own process with a rendered
config (devtools/kamailio.py).

Kamailio listens on 127.0.0.1:5070: callers send INVITEs there and its
dispatcher picks the dialled number's home node (docs/scaling.md). A node
takes calls while its Asterisk answers Kamailio's OPTIONS probes and its app
holds a registration at Kamailio (``cluster:`` in the app's settings:
``stasis_app/telephony/presence.py``).

The apps are the deployment's own config (``--config``) with the node's
settings given through the environment: ARI URL, prompt folder, admin port,
node name, audit heads file, block spool, and the state every node shares.
"""

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.cluster_node import (
    KAMAILIO_LISTEN,
    ClusterError,
    Node,
    ari_answers,
    link_missing,
    say,
)
from devtools.kamailio import Kamailio
from devtools.postgres import Postgres
from devtools.sandbox import Sandbox

MAX_NODES = 8
# The cluster's own PostgreSQL (not the developer's 55432, the tests' 55499
# nor the benchmark's 55440).
POSTGRES_NAME = "cluster"
POSTGRES_PORT = 55450


def default_home() -> Path:
    home = Path(os.environ.get("INFOLINIA_CLUSTER_DIR") or "/var/cache/infolinia/cluster")
    if not home.is_absolute():
        raise ClusterError(f"INFOLINIA_CLUSTER_DIR must be an absolute path, not {home}")
    return home


@dataclass
class Cluster:
    """Kamailio and ``size`` nodes from one sandbox root, serving the
    deployment ``config``."""

    sandbox: Sandbox
    config: Path
    size: int = 2
    home: Path = field(default_factory=default_home)
    # Extra environment for every app (tests: plugins, an audit key).
    app_env: dict[str, str] = field(default_factory=dict)
    # The state every node shares: a postgresql:// URL (the password comes to
    # the apps through the environment, never the URL) or a SQLite file;
    # None: the cluster's own PostgreSQL (:attr:`postgres`), started by up().
    state_url: str | None = None
    # Where the apps seed their prompt folders from (content-addressed files
    # already rendered elsewhere), if anywhere.
    seed_prompts: Path | None = None
    # The PostgreSQL up() starts when no state_url is given.
    postgres: Postgres = field(default_factory=lambda: Postgres(POSTGRES_NAME, POSTGRES_PORT))

    def __post_init__(self) -> None:
        if not 1 <= self.size <= MAX_NODES:
            raise ClusterError(f"--nodes must be 1..{MAX_NODES}, not {self.size}")

    @property
    def state(self) -> str:
        """The state every node shares: :attr:`state_url`, or the URL of the
        cluster's own PostgreSQL (:attr:`postgres`, its database ``infolinia``)."""
        return self.state_url or self.postgres.url()

    @property
    def owns_postgres(self) -> bool:
        """Whether the state is the cluster's own PostgreSQL (up starts it)."""
        return self.state_url is None

    @property
    def _postgres_mark(self) -> Path:
        return self.home / "postgres-started"

    @property
    def nodes(self) -> list[Node]:
        return [Node(index, self.home) for index in range(1, self.size + 1)]

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise ClusterError(
            f"no node {name!r}: the nodes are {', '.join(n.name for n in self.nodes)}"
        )

    @property
    def kamailio(self) -> Kamailio:
        return Kamailio(self.home / "kamailio")

    def running_nodes(self) -> list[Node]:
        """Nodes with something running, up to MAX_NODES (for down and status)."""
        root = self.sandbox.root
        return [
            Node(index, self.home)
            for index in range(1, MAX_NODES + 1)
            if Node(index, self.home).asterisk_pid(root) is not None
            or Node(index, self.home).app_pid() is not None
        ]

    # --- up and down -------------------------------------------------------------

    def up(self, app_timeout: float = 120) -> None:
        started = time.monotonic()
        self.home.mkdir(parents=True, exist_ok=True)
        if self.owns_postgres:
            self._start_postgres()
        (self.home / "state-in-use").write_text(self.state + "\n")  # for status
        self._prepare_root()
        for extra in self.running_nodes():
            if extra.index > self.size:
                say(f"{extra.name}: not in a cluster of {self.size}: stopping it")
                extra.stop_app()
                extra.stop_asterisk(self.sandbox.root)
        for node in self.nodes:
            if node.asterisk_pid(self.sandbox.root) is None:
                say(f"{node.name}: preparing {node.home}")
                node.prepare(self.sandbox)
                node.start_asterisk(self.sandbox)
            else:
                say(f"{node.name}: Asterisk already running (SIP {node.sip})")
        changed = self.kamailio.render(self.nodes)
        if changed or self.kamailio.pid() is None:
            say(f"Kamailio: starting with {self.kamailio.config}")
            self.kamailio.start()  # in memory: the apps register again within a second
        else:
            say(f"Kamailio already running (pid {self.kamailio.pid()}), config unchanged")
        self.start_apps(app_timeout)
        took = time.monotonic() - started
        say(f"cluster of {self.size} up in {took:.0f}s; calls to {KAMAILIO_LISTEN}")

    def start_apps(self, timeout: float = 120) -> None:
        """Start the apps not running; the first renders the prompts (or
        takes them from :attr:`seed_prompts`), the others copy its files."""
        password = self.sandbox.ari_password()
        seed = self.seed_prompts
        for node in self.nodes:
            if node.app_pid() is None:
                if seed is not None and seed.is_dir():
                    copied = link_missing(seed, node.prompt_dir)
                    say(f"{node.name}: {copied} prompt files taken from {seed}")
                say(f"{node.name}: starting its app (log {node.app_log})")
                self.start_app(node, timeout, password)
            seed = node.prompt_dir

    def _start_postgres(self) -> None:
        server = self.postgres
        if server.pid() is None:
            say(f"PostgreSQL {server.name}: starting on port {server.port} ({server.folder})")
            server.up()
            self._postgres_mark.write_text(f"{server.name} {server.port}\n")
        else:
            server.up()  # running already (ours or a developer's): wait until it answers
            say(f"PostgreSQL {server.name} already running (pid {server.pid()})")

    def app_environment(self, node: Node, password: str | None = None) -> dict[str, str]:
        """Everything ``node``'s app gets in its environment beyond ours: the
        node's settings, the login to the shared state, :attr:`app_env`. A
        command run "as node k" (``infolinia prompts set``) takes the same."""
        env = node.app_env(password or self.sandbox.ari_password(), self.state)
        if self.owns_postgres:
            env.update(self.postgres.env())
        return {**env, **self.app_env}

    def start_app(self, node: Node, timeout: float = 60, password: str | None = None) -> None:
        env = self.app_environment(node, password)
        offset = node.start_app(self.config, env)
        began = time.monotonic()
        node.wait_app(offset, timeout)
        took = time.monotonic() - began
        say(f"{node.name}: app connected in {took:.1f}s (admin port {node.admin_port})")
        if self.kamailio.pid() is not None:  # calls come once Kamailio has its registration
            deadline = time.monotonic() + 10
            while f"app-{node.name}" not in self.kamailio.registered():
                if time.monotonic() > deadline:
                    raise ClusterError(
                        f"{node.name}'s app did not register at Kamailio; see {node.app_log}"
                    )
                time.sleep(0.1)
            say(f"{node.name}: registered at Kamailio: it takes calls")

    def down(self) -> None:
        nodes = self.running_nodes()
        for node in nodes:
            node.stop_app()
        self.kamailio.stop()
        for node in nodes:
            node.stop_asterisk(self.sandbox.root)
            say(f"{node.name}: stopped")
        if self._postgres_mark.exists():  # only the PostgreSQL up started
            name, port = self._postgres_mark.read_text().split()
            if Postgres(name, int(port), self.postgres.root).down():
                say(f"PostgreSQL {name} stopped (its data stays in {self.postgres.folder})")
            self._postgres_mark.unlink()
        say("Kamailio stopped; the cluster is down (its folders stay)")

    def _prepare_root(self) -> None:
        """The sandbox's root, built and ready for nodes (when the sandbox's
        own Asterisk or a node runs from it, it is ready already: its user's
        ids and sounds are not touched under a running Asterisk)."""
        self.sandbox.build_root()
        root = self.sandbox.root
        if self.sandbox.pid() is None and not any(
            node.asterisk_pid(root) for node in self.running_nodes()
        ):
            self.sandbox.separate_ids()
            self.sandbox.install_sounds()
            self.sandbox.install_hosts()

    # --- status ---------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        root = self.sandbox.root
        kamailio = self.kamailio
        states = kamailio.destinations() if kamailio.pid() else {}
        registered = kamailio.registered() if kamailio.pid() else []
        password = self.sandbox.ari_password() if self.sandbox.ari_password_file.exists() else ""
        nodes = []
        for node in sorted({*self.nodes, *self.running_nodes()}, key=lambda n: n.index):
            asterisk = node.asterisk_pid(root)
            app = node.app_pid()
            nodes.append(
                {
                    "node": node.name,
                    "sip": node.sip,
                    "ari_url": node.ari_url,
                    "asterisk_pid": asterisk,
                    "ari_answers": asterisk is not None and ari_answers(node.ari_url, password),
                    "app_pid": app,
                    "app_registered": f"app-{node.name}" in registered,
                    "admin": f"http://127.0.0.1:{node.admin_port}/",
                    "dispatcher": states.get(node.sip),
                    "calls_in_progress": node.calls_in_progress() if app else None,
                    "folder": str(node.home),
                }
            )
        state = self.state_url or _read(self.home / "state-in-use") or self.state
        return {
            "sip": KAMAILIO_LISTEN,
            "kamailio_pid": kamailio.pid(),
            "kamailio_config": str(kamailio.config),
            "state": state,
            # The cluster's own PostgreSQL, when that is the state in use.
            "postgres": self.postgres.status() if state == self.postgres.url() else None,
            "nodes": nodes,
        }


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None
