"""A cluster on one machine, for development and tests: Kamailio in front of
several Asterisk nodes, one ``infolinia run`` per node (docs/scaling.md).

Everything lives under ``/var/cache/infolinia/cluster`` (or
``$INFOLINIA_CLUSTER_DIR``), one folder per part::

    cluster/
      kamailio/     kamailio.cfg (rendered from docker/kamailio/), dispatcher.list,
                    its pid file, control socket and log
      node1/        etc (the node's /etc/asterisk), lib, spool, log, run, cache,
                    prompts (the app's prompt folder), app.log, app.pid
      node2/ ...
      state.sqlite  the state every node shares (see :attr:`Cluster.state`)

Node k runs Asterisk from the sandbox's Debian root (devtools/sandbox.py) on
its own loopback address 127.0.0.(k+1), ARI on port 8088 and SIP on 5060 of
that address, so nodes never collide with each other nor with the sandbox on
127.0.0.1. Each node's Asterisk starts in a mount namespace of its own
(``unshare --mount``) where the node's folders are bind-mounted over the
root's /etc/asterisk, /var/lib/asterisk, /var/spool/asterisk,
/var/log/asterisk, /run/asterisk and /var/cache/asterisk; its config is the
sandbox's (docker/asterisk/etc, the same secrets) plus the two bind-address
files that config already includes for Docker (``http_bind.conf``,
``pjsip_bind.conf``). Killing a node's Asterisk (``kill -9``) ends its
namespace and nothing else.

Kamailio listens on 127.0.0.1:5070: callers send INVITEs there and its
dispatcher picks the dialled number's home node (docs/scaling.md). A node
takes calls while its Asterisk answers Kamailio's OPTIONS probes and its app
holds a registration at Kamailio (``cluster:`` in the app's settings:
``stasis_app/telephony/presence.py``).

The apps are the deployment's own config (``--config``) with the node's
settings given through the environment: ARI URL, prompt folder, admin port,
node name, audit heads file, and the state every node shares.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.sandbox import Sandbox, SandboxError

# The template Docker renders too (docker/kamailio/entrypoint.sh).
KAMAILIO_TEMPLATE = Path(__file__).resolve().parent.parent / "docker" / "kamailio" / "kamailio.cfg"
KAMAILIO_BINARY = "/usr/sbin/kamailio"
KAMAILIO_LISTEN = "127.0.0.1:5070"
# The apps' registrations at Kamailio: refreshed every PRESENCE_EVERY seconds,
# valid for PRESENCE_EXPIRES: a killed app's node is skipped within that.
PRESENCE_EVERY = 1.0
PRESENCE_EXPIRES = 3
ARI_PORT = 8088
SIP_PORT = 5060
# The apps' admin servers: node k on ADMIN_PORT_BASE + k (the sandbox's tests
# use 18090, the demo 8090).
ADMIN_PORT_BASE = 18190
MAX_NODES = 8
# Where each node's folders are mounted inside the root.
NODE_MOUNTS = {
    "etc": "etc/asterisk",
    "lib": "var/lib/asterisk",
    "spool": "var/spool/asterisk",
    "log": "var/log/asterisk",
    "run": "run/asterisk",
    "cache": "var/cache/asterisk",
}


class ClusterError(SandboxError):
    """The cluster could not be started, stopped or read."""


def say(message: str) -> None:
    """Progress for a person watching a long step."""
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


def default_home() -> Path:
    home = Path(os.environ.get("INFOLINIA_CLUSTER_DIR") or "/var/cache/infolinia/cluster")
    if not home.is_absolute():
        raise ClusterError(f"INFOLINIA_CLUSTER_DIR must be an absolute path, not {home}")
    return home


@dataclass(frozen=True)
class Node:
    """One Asterisk node and its app: node ``index`` (1, 2, ...) of a cluster."""

    index: int
    cluster_home: Path

    @property
    def name(self) -> str:
        return f"node{self.index}"

    @property
    def home(self) -> Path:
        return self.cluster_home / self.name

    @property
    def address(self) -> str:
        return f"127.0.0.{self.index + 1}"

    @property
    def sip(self) -> str:
        return f"{self.address}:{SIP_PORT}"

    @property
    def ari_url(self) -> str:
        return f"http://{self.address}:{ARI_PORT}/"

    @property
    def admin_port(self) -> int:
        return ADMIN_PORT_BASE + self.index

    @property
    def prompt_dir(self) -> Path:
        return self.home / "prompts"

    @property
    def app_log(self) -> Path:
        return self.home / "app.log"

    # --- its Asterisk ---------------------------------------------------------

    def asterisk_pid(self, root: Path) -> int | None:
        return _live_pid(self.home / "run" / "asterisk.pid", root)

    def prepare(self, sandbox: Sandbox) -> None:
        """The node's folders: the sandbox's config with this node's bind
        addresses, its own astdb and spool, all owned by the root's asterisk."""
        for folder in NODE_MOUNTS:
            (self.home / folder).mkdir(parents=True, exist_ok=True)
        etc = self.home / "etc"
        sandbox.write_config(etc)
        # The two files docker/asterisk/etc includes for a container's addresses.
        (etc / "http_bind.conf").write_text(f"bindaddr = {self.address}\n")
        (etc / "pjsip_bind.conf").write_text(f"bind = {self.sip}\n")
        # Channel ids "node1-1765...": never the same as another node's.
        (etc / "asterisk_node.conf").write_text(f"systemname = {self.name}\n")
        lib = self.home / "lib"
        shutil.rmtree(lib)
        shutil.copytree(
            sandbox.root / "var" / "lib" / "asterisk",
            lib,
            symlinks=True,
            ignore=shutil.ignore_patterns("astdb.sqlite3*"),
        )
        uid, gid = sandbox.asterisk_ids()
        for folder in NODE_MOUNTS:
            top = self.home / folder
            for path in [top, *top.rglob("*")]:
                os.lchown(path, uid, gid)
        self.prompt_dir.mkdir(parents=True, exist_ok=True)
        self.prompt_dir.chmod(0o755)

    def start_asterisk(self, sandbox: Sandbox, timeout: float = 30) -> None:
        """Start this node's Asterisk in a mount namespace of its own; wait for ARI."""
        root = sandbox.root
        if self.asterisk_pid(root) is not None:
            return
        (self.home / "run" / "asterisk.pid").unlink(missing_ok=True)
        started = time.monotonic()
        binds = [(self.home / folder, root / inside) for folder, inside in NODE_MOUNTS.items()]
        binds.append((self.prompt_dir, root / str(self.prompt_dir).lstrip("/")))
        script = [
            "set -e",
            f"mountpoint -q {_q(root / 'proc')} || mount -t proc proc {_q(root / 'proc')}",
        ]
        for source, target in binds:
            script.append(f"mkdir -p {_q(target)} && mount --bind {_q(source)} {_q(target)}")
        script.append(f"exec chroot {_q(root)} /usr/sbin/asterisk -U asterisk -G asterisk")
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script)],
            check=True,
            env=env,
        )
        password = sandbox.ari_password()
        while not ari_answers(self.ari_url, password):
            if time.monotonic() - started > timeout:
                raise ClusterError(
                    f"{self.name}'s Asterisk did not answer on ARI at {self.ari_url} within "
                    f"{timeout:.0f} s; see {self.home / 'log' / 'messages.log'}"
                )
            time.sleep(0.1)
        say(
            f"{self.name}: Asterisk up in {time.monotonic() - started:.1f}s "
            f"(SIP {self.sip}, ARI {self.ari_url})"
        )

    def kill_asterisk(self, root: Path) -> int | None:
        """SIGKILL its Asterisk (a node dying): the pid killed, if one ran."""
        pid = self.asterisk_pid(root)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5)
        return pid

    def stop_asterisk(self, root: Path) -> None:
        pid = self.asterisk_pid(root)
        if pid is not None:
            _terminate(pid, grace=10)
        (self.home / "run" / "asterisk.pid").unlink(missing_ok=True)

    # --- its app --------------------------------------------------------------

    def app_pid(self) -> int | None:
        return _live_pid(self.home / "app.pid", None)

    def app_env(self, ari_password: str, state: str) -> dict[str, str]:
        """The deployment's settings this node's app overrides (no secret here
        but the ARI password, which the caller adds)."""
        return {
            "INFOLINIA_NODE": self.name,
            "INFOLINIA_ARI_URL": self.ari_url,
            "INFOLINIA_ARI_PASSWORD": ari_password,
            "INFOLINIA_PROMPT_DIR": str(self.prompt_dir),
            "INFOLINIA_ADMIN_PORT": str(self.admin_port),
            "INFOLINIA_AUDIT_HEADS_FILE": str(self.home / "audit-heads.log"),
            "INFOLINIA_STATE": state,
            "INFOLINIA_CLUSTER_PROXY": KAMAILIO_LISTEN,
            "INFOLINIA_CLUSTER_CONTACT": self.sip,
        }

    def start_app(self, config: Path, env: dict[str, str]) -> int:
        """Start ``infolinia run`` for this node, in its own session (it
        outlives the command that started it); the log offset it starts at."""
        offset = self.app_log.stat().st_size if self.app_log.exists() else 0
        with self.app_log.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "stasis_app", "--config", str(config), "run"],
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        (self.home / "app.pid").write_text(f"{proc.pid}\n")
        return offset

    def wait_app(self, offset: int, timeout: float) -> None:
        """Wait until the app's log (from ``offset``) says ARI is connected."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in log_entries(self.app_log, offset):
                if entry.get("event") == "ARI connected":
                    return
            if self.app_pid() is None:
                tail = log_entries(self.app_log, offset)[-5:]
                raise ClusterError(f"{self.name}'s app exited: {tail}")
            time.sleep(0.1)
        raise ClusterError(f"{self.name}'s app did not connect within {timeout:.0f} s")

    def kill_app(self) -> int | None:
        pid = self.app_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5)
        return pid

    def stop_app(self) -> None:
        pid = self.app_pid()
        if pid is not None:
            _terminate(pid, grace=20)
        (self.home / "app.pid").unlink(missing_ok=True)

    def calls_in_progress(self) -> int | None:
        """Calls in progress by the app's /metrics; None if it does not answer."""
        url = f"http://127.0.0.1:{self.admin_port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                text = response.read().decode()
        except (urllib.error.URLError, OSError):
            return None
        return sum(
            int(float(match.group(1)))
            for match in re.finditer(r"^infolinia_active_calls\{[^}]*\} (\S+)$", text, re.M)
        )


@dataclass(frozen=True)
class Kamailio:
    """Our own Kamailio process (never the Debian service): config rendered
    from devtools/kamailio/kamailio.cfg into ``home``."""

    home: Path
    listen: str = KAMAILIO_LISTEN

    @property
    def config(self) -> Path:
        return self.home / "kamailio.cfg"

    @property
    def ctl_socket(self) -> Path:
        return self.home / "kamailio_ctl"

    def pid(self) -> int | None:
        return _live_pid(self.home / "kamailio.pid", None)

    def render(self, nodes: list[Node]) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        dispatcher = self.home / "dispatcher.list"
        dispatcher.write_text(
            "# set destination flags priority attributes (rendered by devtools/cluster.py)\n"
            + "".join(f"1 sip:{node.sip} 0 0 node={node.name}\n" for node in nodes)
        )
        self.config.write_text(
            render_kamailio(
                KAMAILIO_TEMPLATE.read_text(),
                listen=self.listen,
                ctl_socket=str(self.ctl_socket),
                dispatcher_list=str(dispatcher),
                ping_interval="1",
                trusted="^127[.]",
            )
        )

    def start(self, timeout: float = 10) -> None:
        if self.pid() is not None:
            self.stop()
        if shutil.which(KAMAILIO_BINARY) is None:
            raise ClusterError("kamailio is not installed: apt-get install kamailio")
        check = subprocess.run(
            [KAMAILIO_BINARY, "-c", "-f", str(self.config)], capture_output=True, text=True
        )
        if check.returncode != 0:
            raise ClusterError(f"{self.config} does not check:\n{check.stderr[-2000:]}")
        started = time.monotonic()
        log = (self.home / "kamailio.log").open("ab")
        with log:
            proc = subprocess.Popen(
                # -DD: stay in the foreground (its log is our file), -E: log to it.
                [
                    KAMAILIO_BINARY,
                    "-DD",
                    "-E",
                    "-f",
                    str(self.config),
                    "-P",
                    str(self.home / "kamailio.pid"),
                    "-Y",
                    str(self.home),
                    "-m",
                    "64",
                    "-M",
                    "8",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while not sip_options_ok(self.listen):
            if proc.poll() is not None or time.monotonic() - started > timeout:
                raise ClusterError(f"Kamailio did not start; see {self.home / 'kamailio.log'}")
            time.sleep(0.1)
        say(f"Kamailio up in {time.monotonic() - started:.1f}s, SIP at {self.listen}")

    def stop(self) -> None:
        pid = self.pid()
        if pid is not None:
            _terminate(pid, grace=5)
        (self.home / "kamailio.pid").unlink(missing_ok=True)

    def rpc(self, *command: str) -> Any:
        """A kamcmd command over the control socket, its output parsed when
        it is Kamailio's JSON-like listing; None when Kamailio does not answer."""
        try:
            done = subprocess.run(
                ["kamcmd", "-s", f"unix:{self.ctl_socket}", *command],
                capture_output=True,
                text=True,
                timeout=3,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    def destinations(self) -> dict[str, str]:
        """Each node's SIP address and its dispatcher flags (``AP``: active and
        probed, ``IP``: inactive, ``DX``: disabled...), by kamcmd."""
        listing = self.rpc("dispatcher.list") or ""
        found: dict[str, str] = {}
        uri = None
        for line in listing.splitlines():
            if m := re.search(r"URI:\s*sip:(\S+)", line):
                uri = m.group(1)
            elif (m := re.search(r"FLAGS:\s*(\S+)", line)) and uri is not None:
                found[uri] = m.group(1)
                uri = None
        return found

    def registered(self) -> list[str]:
        """The address-of-record users registered here (apps and phones)."""
        dump = self.rpc("ul.dump") or ""
        return sorted(set(re.findall(r"AoR:\s*(\S+)", dump)))

    def drain(self, node: Node) -> None:
        """No new calls to ``node`` (its calls in progress go on)."""
        if self.rpc("dispatcher.set_state", "dx", "1", f"sip:{node.sip}") is None:
            raise ClusterError("Kamailio does not answer on its control socket")

    def undrain(self, node: Node) -> None:
        if self.rpc("dispatcher.set_state", "ap", "1", f"sip:{node.sip}") is None:
            raise ClusterError("Kamailio does not answer on its control socket")


def render_kamailio(template: str, **values: str) -> str:
    """The template with each ``{{name}}`` filled in; every name must be given."""
    text = template
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    left = sorted(set(re.findall(r"\{\{(\w+)\}\}", text)))
    if left:
        raise ClusterError(f"kamailio template names without a value: {', '.join(left)}")
    return text


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
    # Where the apps seed their prompt folders from (content-addressed files
    # already rendered elsewhere), if anywhere.
    seed_prompts: Path | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.size <= MAX_NODES:
            raise ClusterError(f"--nodes must be 1..{MAX_NODES}, not {self.size}")

    @property
    def state(self) -> str:
        """The state every node shares. TODO(state engine): a postgresql://
        URL once the PostgreSQL store lands (devtools/postgres.py starts the
        server); until then one SQLite file, which WAL makes safe for
        processes on one machine (never for nodes on several)."""
        return str(self.home / "state.sqlite")

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
        say(f"Kamailio: rendering {self.kamailio.config}")
        self.kamailio.render(self.nodes)
        self.kamailio.start()
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
                    copied = _link_missing(seed, node.prompt_dir)
                    say(f"{node.name}: {copied} prompt files taken from {seed}")
                say(f"{node.name}: starting its app (log {node.app_log})")
                self.start_app(node, timeout, password)
            seed = node.prompt_dir

    def start_app(self, node: Node, timeout: float = 60, password: str | None = None) -> None:
        env = {**node.app_env(password or self.sandbox.ari_password(), self.state), **self.app_env}
        offset = node.start_app(self.config, env)
        began = time.monotonic()
        node.wait_app(offset, timeout)
        took = time.monotonic() - began
        say(f"{node.name}: app connected in {took:.1f}s (admin port {node.admin_port})")

    def down(self) -> None:
        nodes = self.running_nodes()
        for node in nodes:
            node.stop_app()
        self.kamailio.stop()
        for node in nodes:
            node.stop_asterisk(self.sandbox.root)
            say(f"{node.name}: stopped")
        say("Kamailio stopped; the cluster is down (its folders stay)")

    def _prepare_root(self) -> None:
        """The sandbox's root, built and ready for nodes (the sandbox's own
        Asterisk may be running: then it is ready already)."""
        self.sandbox.build_root()
        if self.sandbox.pid() is None:
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
        return {
            "sip": KAMAILIO_LISTEN,
            "kamailio_pid": kamailio.pid(),
            "kamailio_config": str(kamailio.config),
            "state": self.state,
            "nodes": nodes,
        }


def ari_answers(url: str, password: str) -> bool:
    request = urllib.request.Request(url + "ari/asterisk/ping")
    token = f"infolinia:{password}".encode()
    from base64 import b64encode

    request.add_header("Authorization", "Basic " + b64encode(token).decode())
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            json.load(response)
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def sip_options_ok(address: str, timeout: float = 0.5) -> bool:
    """Whether a SIP server at ``address`` (host:port, UDP) answers OPTIONS with 200."""
    host, port = address.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        local = f"127.0.0.1:{sock.getsockname()[1]}"
        branch = f"z9hG4bK{os.urandom(6).hex()}"
        message = (
            f"OPTIONS sip:{address} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {local};branch={branch};rport\r\n"
            "Max-Forwards: 5\r\n"
            f"From: <sip:probe@{local}>;tag={os.urandom(4).hex()}\r\n"
            f"To: <sip:{address}>\r\n"
            f"Call-ID: {os.urandom(8).hex()}@{local}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        try:
            sock.sendto(message.encode(), (host, int(port)))
            reply = sock.recv(4096).decode(errors="replace")
        except OSError:
            return False
    return reply.startswith("SIP/2.0 200")


def _q(path: Path) -> str:
    import shlex

    return shlex.quote(str(path))


def _live_pid(pidfile: Path, root: Path | None) -> int | None:
    """The pid in ``pidfile`` if that process lives (inside ``root``, if given)."""
    try:
        pid = int(pidfile.read_text().strip())
        if root is None:
            os.kill(pid, 0)
            if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
                return None
            return pid
        if Path(f"/proc/{pid}/root").resolve() == root.resolve():
            return pid
    except (OSError, ValueError, IndexError):
        pass
    return None


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def _terminate(pid: int, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, grace):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        _wait_gone(pid, 5)


def _link_missing(source: Path, target: Path) -> int:
    """Hard-link (or copy) the files of ``source`` missing in ``target``."""
    copied = 0
    for path in source.rglob("*"):
        if not path.is_file():
            continue
        dest = target / path.relative_to(source)
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, dest)
        except OSError:
            shutil.copy2(path, dest)
        copied += 1
    return copied


def log_entries(log: Path, offset: int) -> list[dict[str, Any]]:
    try:
        with log.open("rb") as file:
            file.seek(offset)
            lines = file.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return []
    entries = []
    for line in lines:
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if isinstance(entry, dict):
                entries.append(entry)
    return entries
