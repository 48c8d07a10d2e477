"""One node of the cluster on this machine (devtools/cluster.py): an Asterisk
from the sandbox's root on its own loopback address, in a mount namespace of
its own, and the ``infolinia run`` that serves it.

Node k listens on 127.0.0.(k+1): ARI on 8088, SIP on 5060, so nodes never
collide with each other nor with the sandbox on 127.0.0.1. Its Asterisk
starts under ``unshare --mount``, with the node's folders bind-mounted over
the root's /etc/asterisk, /var/lib/asterisk, /var/spool/asterisk,
/var/log/asterisk, /run/asterisk and /var/cache/asterisk, and its prompt
folder at its own absolute path; its config is the sandbox's
(docker/asterisk/etc, the same secrets) plus the files that config includes
for a container: ``http_bind.conf``, ``pjsip_bind.conf`` (the node's
address) and ``asterisk_node.conf`` (its name). Killing that Asterisk
(``kill -9``) ends its namespace and nothing else.
"""

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.sandbox import Sandbox, SandboxError

ARI_PORT = 8088
SIP_PORT = 5060
# The apps' admin servers: node k on ADMIN_PORT_BASE + k (the sandbox's tests
# use 18090, the benchmarks 18190-18191, the demo 8090).
ADMIN_PORT_BASE = 18290
# Where each node's folders are mounted inside the root.
NODE_MOUNTS = {
    "etc": "etc/asterisk",
    "lib": "var/lib/asterisk",
    "spool": "var/spool/asterisk",
    "log": "var/log/asterisk",
    "run": "run/asterisk",
    "cache": "var/cache/asterisk",
}
# Kamailio's address: the apps register there (stasis_app/telephony/presence.py).
KAMAILIO_LISTEN = "127.0.0.1:5070"


class ClusterError(SandboxError):
    """The cluster could not be started, stopped or read."""


def say(message: str) -> None:
    """Progress for a person watching a long step."""
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


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
        return live_pid(self.home / "run" / "asterisk.pid", root)

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
            wait_gone(pid, 5)
        return pid

    def stop_asterisk(self, root: Path) -> None:
        pid = self.asterisk_pid(root)
        if pid is not None:
            terminate(pid, grace=10)
        (self.home / "run" / "asterisk.pid").unlink(missing_ok=True)

    # --- its app --------------------------------------------------------------

    def app_pid(self) -> int | None:
        return live_pid(self.home / "app.pid", None)

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
            # Blocks confirmed while the shared store is down wait here: each node its own.
            "INFOLINIA_SPOOL_DIR": str(self.home / "block-spool"),
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
            wait_gone(pid, 5)
        return pid

    def stop_app(self) -> None:
        pid = self.app_pid()
        if pid is not None:
            terminate(pid, grace=20)
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


def ari_answers(url: str, password: str) -> bool:
    request = urllib.request.Request(url + "ari/asterisk/ping")
    token = f"infolinia:{password}".encode()

    request.add_header("Authorization", "Basic " + b64encode(token).decode())
    try:
        with urllib.request.urlopen(request, timeout=1) as response:
            json.load(response)
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _q(path: Path) -> str:

    return shlex.quote(str(path))


def live_pid(pidfile: Path, root: Path | None) -> int | None:
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


def wait_gone(pid: int, timeout: float) -> bool:
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


def terminate(pid: int, grace: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not wait_gone(pid, grace):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_gone(pid, 5)


def link_missing(source: Path, target: Path) -> int:
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
