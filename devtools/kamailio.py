"""Our own Kamailio for the cluster on this machine (never Debian's service):
the config rendered from docker/kamailio/kamailio.cfg (the template the
Kamailio image renders too), the node list for its dispatcher, and what
``kamcmd`` tells about it over its control socket."""

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.cluster_node import (
    KAMAILIO_LISTEN,
    ClusterError,
    Node,
    live_pid,
    say,
    sip_options_ok,
    terminate,
)

# The template Docker renders too (docker/kamailio/entrypoint.sh).
KAMAILIO_TEMPLATE = Path(__file__).resolve().parent.parent / "docker" / "kamailio" / "kamailio.cfg"
KAMAILIO_BINARY = "/usr/sbin/kamailio"


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
        return live_pid(self.home / "kamailio.pid", None)

    def render(self, nodes: list[Node]) -> bool:
        """Write the config and node list for ``nodes``; whether either changed."""
        self.home.mkdir(parents=True, exist_ok=True)
        dispatcher = self.home / "dispatcher.list"
        changed = _write_if_changed(
            dispatcher,
            "# set destination flags priority attributes (rendered by devtools/cluster.py)\n"
            + "".join(f"1 sip:{node.sip} 0 0 node={node.name}\n" for node in nodes),
        )
        return (
            _write_if_changed(
                self.config,
                render_kamailio(
                    KAMAILIO_TEMPLATE.read_text(),
                    listen=self.listen,
                    ctl_socket=str(self.ctl_socket),
                    dispatcher_list=str(dispatcher),
                    ping_interval="1",
                    trusted="^127[.]",
                ),
            )
            or changed
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
            terminate(pid, grace=5)
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


def _write_if_changed(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    path.write_text(text)
    return True
