"""The Asterisk sandbox: a real Asterisk 22 on this machine, for the demo and tests.

Debian 12 has no Asterisk package; Debian unstable has Asterisk 22. The sandbox
builds a minimal Debian unstable root with debootstrap once, into a cache
folder outside the repository (``/var/cache/infolinia/sandbox`` or
``$INFOLINIA_SANDBOX_DIR``), and reuses it afterwards. Asterisk runs inside it
with ``chroot``, as the root's own ``asterisk`` user, sharing this machine's
network: ARI on 127.0.0.1:8088, SIP on 127.0.0.1:5060.

The root's ``asterisk`` user must not share its uid or gid with an account of
this machine: Debian gives both sides low system ids (the root's asterisk got
101, this machine's postgres has 101), and a process with postgres's uid can
signal postgres, read its files and, through the root's /proc, its processes'
memory and open files. At every ``up`` the root's asterisk user and group are
moved, if they collide, to ids in :data:`OWN_IDS` that neither this machine
nor the root uses, and the root's files follow (:func:`separate_ids`).

Its configuration is ``docker/asterisk/etc/``, the same files the Docker image
uses. Secrets are not in those files: the sandbox generates an ARI password
and a softphone password once, keeps them in the cache folder (mode 0600) and
writes them into ``ari_users.conf`` and ``pjsip_secrets.conf`` inside the root.

Prompts: the app's prompt folder is bind-mounted into the root at the same
absolute path, so ``sound:/that/path/name`` means the same file to the app and
to Asterisk (Docker does the same with a shared volume). Asterisk's own sounds
(``docker/asterisk/sounds``: the dialplan's Polish fallback for when the app
is not connected) are copied into the root's sounds folder, as the Docker
image copies them into its own, so they never depend on the app.
"""

import contextlib
import hashlib
import ipaddress
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.apt_sources import debian_mirror
from stasis_app.errors import InfoliniaError

PACKAGES = ("asterisk", "asterisk-modules", "asterisk-core-sounds-en-gsm")
SUITE = "unstable"
ASTERISK_CONFIG = Path(__file__).resolve().parent.parent / "docker" / "asterisk" / "etc"
# Sounds the dialplan plays by name (Playback(infolinia/fallback)), installed
# into Asterisk's sounds folder: astdatadir (asterisk.conf) + "/sounds".
ASTERISK_SOUNDS = ASTERISK_CONFIG.parent / "sounds"
SOUNDS_DIR = "usr/share/asterisk/sounds"
# Included by rtp.conf's [ice_host_candidates]; only the sandbox writes it.
ICE_HOST_CANDIDATES = "rtp_ice_host_candidates.conf"
ARI_URL = "http://127.0.0.1:8088/"
ARI_USER = "infolinia"
SOFTPHONE_USER = "softphone"
# debootstrap's own lines worth showing as progress (it prints hundreds).
PROGRESS_LINES = (
    "Retrieving Release",
    "Validating Packages",
    "Resolving dependencies of base",
    "Installing core",
    "Installing base",
    "Configuring asterisk",
    "successfully",
)
OWNED_DIRS = (
    "etc/asterisk",
    "var/lib/asterisk",
    "var/log/asterisk",
    "var/spool/asterisk",
    "var/spool/asterisk/recording",
    "var/cache/asterisk",
    "run/asterisk",
)


# Where the root's asterisk user and group move when their ids are taken on
# this machine: above the ids Debian hands out to system and normal accounts,
# below 65534 (nobody). Any id in use on either side is skipped.
OWN_IDS = range(64000, 65000)
HOST_PASSWD = Path("/etc/passwd")
HOST_GROUP = Path("/etc/group")


class SandboxError(InfoliniaError):
    """The sandbox could not be built, started or stopped."""


def say(message: str) -> None:
    """Progress for a person watching a long set-up step."""
    print(f"[sandbox] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Sandbox:
    """One Asterisk sandbox: its cache folder and the prompt folder it shares."""

    home: Path
    prompt_dir: Path

    @classmethod
    def default(cls, prompt_dir: Path) -> "Sandbox":
        home = Path(os.environ.get("INFOLINIA_SANDBOX_DIR") or "/var/cache/infolinia/sandbox")
        if not home.is_absolute():
            raise SandboxError(f"INFOLINIA_SANDBOX_DIR must be an absolute path, not {home}")
        return cls(home=home, prompt_dir=prompt_dir)

    @property
    def root(self) -> Path:
        return self.home / "root"

    @property
    def ari_password_file(self) -> Path:
        return self.home / "ari-password"

    @property
    def softphone_password_file(self) -> Path:
        return self.home / "softphone-password"

    # --- building the root --------------------------------------------------

    def _stamp(self) -> str:
        return json.dumps({"suite": SUITE, "packages": sorted(PACKAGES)})

    def root_is_built(self) -> bool:
        stamp = self.root / ".infolinia-root"
        return stamp.is_file() and stamp.read_text() == self._stamp()

    def build_root(self) -> None:
        """Debootstrap Debian unstable with Asterisk, unless a matching root is cached."""
        if self.root_is_built():
            say(f"reusing the cached Asterisk root at {self.root}")
            return
        if shutil.which("debootstrap") is None:
            raise SandboxError("debootstrap is not installed: apt-get install debootstrap")
        mirror = debian_mirror()
        building = self.home / "root.building"
        self._unmount_all(building)
        self._remove_tree(building)
        self.home.mkdir(parents=True, exist_ok=True)
        say(
            f"building a Debian {SUITE} root with {', '.join(PACKAGES)} "
            f"from {mirror} (about a minute, once)"
        )
        started = time.monotonic()
        cmd = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(building),
            mirror,
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            tail = [*tail[-20:], line.rstrip()]
            if line.startswith("I: ") and any(word in line for word in PROGRESS_LINES):
                say(f"  {time.monotonic() - started:5.0f}s {line[3:].strip()}")
        if proc.wait() != 0:
            raise SandboxError("debootstrap failed:\n" + "\n".join(tail))
        self._unmount_all(self.root)
        self._remove_tree(self.root)
        (building / ".infolinia-root").write_text(self._stamp())
        building.rename(self.root)
        say(
            f"root ready in {time.monotonic() - started:.0f}s "
            f"({_du(self.root) // 2**20} MB at {self.root})"
        )

    # --- configuration --------------------------------------------------------

    def _secret(self, path: Path) -> str:
        if not path.exists() or not path.read_text().strip():
            self.home.mkdir(parents=True, exist_ok=True)
            _write_private(path, secrets.token_urlsafe(18), 0o600)
        return path.read_text().strip()

    def ari_password(self) -> str:
        return self._secret(self.ari_password_file)

    def config_digest(self) -> str:
        digest = hashlib.sha256()
        for file in sorted(ASTERISK_CONFIG.iterdir()):
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
        digest.update(b"ice\0" + ice_host_candidates(own_addresses()).encode())
        for file in sorted(p for p in ASTERISK_SOUNDS.rglob("*") if p.is_file()):
            name = file.relative_to(ASTERISK_SOUNDS).as_posix()
            digest.update(b"sounds/" + name.encode() + b"\0" + file.read_bytes())
        digest.update(str(self.prompt_dir).encode())
        return digest.hexdigest()

    def install_config(self) -> None:
        """Replace the root's /etc/asterisk with the project's config set and secrets."""
        self.write_config(self.root / "etc" / "asterisk")
        uid, gid = self._asterisk_ids()
        for rel in OWNED_DIRS:
            top = self.root / rel
            top.mkdir(parents=True, exist_ok=True)
            for path in [top, *top.rglob("*")]:
                os.lchown(path, uid, gid)

    def write_config(self, etc: Path) -> None:
        """Write the project's config set and the secrets into the folder ``etc``
        (replaced whole): the root's /etc/asterisk, or a cluster node's."""
        shutil.rmtree(etc, ignore_errors=True)
        etc.mkdir(parents=True)
        for file in sorted(ASTERISK_CONFIG.iterdir()):
            shutil.copy2(file, etc / file.name)
        (etc / ICE_HOST_CANDIDATES).write_text(ice_host_candidates(own_addresses()))
        _write_private(
            etc / "ari_users.conf",
            f"[{ARI_USER}]\ntype = user\nread_only = no\npassword = {self.ari_password()}\n",
            0o640,
        )
        softphone_password = self._secret(self.softphone_password_file)
        _write_private(
            etc / "pjsip_secrets.conf",
            f"[{SOFTPHONE_USER}]\ntype = auth\nauth_type = userpass\n"
            f"username = {SOFTPHONE_USER}\npassword = {softphone_password}\n",
            0o640,
        )

    def install_hosts(self) -> None:
        """The root's /etc/hosts: localhost, and this machine's name at its own
        address, as Docker writes a container's. Without it Asterisk, looking
        up its own address for every call it answers, asks DNS for the host
        name and then for A.ROOT-SERVERS.NET, and logs four lines a call."""
        (self.root / "etc" / "hosts").write_text(
            "127.0.0.1\tlocalhost\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
            f"{_own_address()}\t{socket.gethostname()}\n"
        )

    def install_sounds(self) -> None:
        """Copy ``docker/asterisk/sounds/*`` into the root's sounds folder, each
        top folder replaced whole (root-owned, readable by Asterisk's user)."""
        sounds = self.root / SOUNDS_DIR
        for folder in sorted(p for p in ASTERISK_SOUNDS.iterdir() if p.is_dir()):
            target = sounds / folder.name
            # The root's own links (sounds/en -> /etc/alternatives/...) point at
            # the host's files from out here: never delete or write through one.
            if target.is_symlink() or not target.resolve().is_relative_to(self.root.resolve()):
                raise SandboxError(f"refusing to replace {target}: it leads out of the root")
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(folder, target)
            for path in [target, *target.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)

    def asterisk_ids(self) -> tuple[int, int]:
        """The root's asterisk user's uid and gid."""
        return self._asterisk_ids()

    def _asterisk_ids(self) -> tuple[int, int]:
        for line in (self.root / "etc" / "passwd").read_text().splitlines():
            fields = line.split(":")
            if fields[0] == "asterisk":
                return int(fields[2]), int(fields[3])
        raise SandboxError(f"no asterisk user in {self.root}/etc/passwd")

    def _ids_collide(self) -> bool:
        uid, gid = self._asterisk_ids()
        return uid in _ids(HOST_PASSWD.read_text()) or gid in _ids(HOST_GROUP.read_text())

    def separate_ids(self) -> None:
        """Move the root's asterisk user and group to ids no account or group
        of this machine has (nothing to do when they have none of them already),
        and the root's files owned by the old ids with them. Asterisk must not
        be running; mounts inside the root (the prompt folder) are not entered."""
        passwd, group = self.root / "etc" / "passwd", self.root / "etc" / "group"
        tables = passwd.read_text(), group.read_text()
        old = self._asterisk_ids()
        new = separate_ids(HOST_PASSWD.read_text(), HOST_GROUP.read_text(), *tables, old)
        if new == old:
            return
        if self.pid() is not None:
            raise SandboxError("Asterisk runs: stop it before moving its user to other ids")
        say(
            f"moving the root's asterisk user from uid:gid {old[0]}:{old[1]} "
            f"(taken on this machine) to {new[0]}:{new[1]}"
        )
        renumbered_passwd, renumbered_group = renumber(*tables, "asterisk", old, new)
        _write_private(passwd, renumbered_passwd, 0o644)
        _write_private(group, renumbered_group, 0o644)
        _chown_tree(self.root, old, new)

    # --- mounts ---------------------------------------------------------------

    def _mount(self) -> None:
        proc_dir = self.root / "proc"
        if not _is_mounted(proc_dir):
            subprocess.run(["mount", "-t", "proc", "proc", str(proc_dir)], check=True)
        self.prompt_dir.mkdir(parents=True, exist_ok=True)
        self.prompt_dir.chmod(0o755)
        inside = self.root / str(self.prompt_dir).lstrip("/")
        if not _is_mounted(inside):
            inside.mkdir(parents=True, exist_ok=True)
            subprocess.run(["mount", "--bind", str(self.prompt_dir), str(inside)], check=True)

    @staticmethod
    def _remove_tree(path: Path) -> None:
        """Delete a root, never through a mount into the host's own files."""
        if not path.exists():
            return
        prefix = str(path.resolve()) + "/"
        still = [m for m in _mount_points() if m.startswith(prefix)]
        if still:
            raise SandboxError(f"refusing to delete {path}: still mounted: {', '.join(still)}")
        shutil.rmtree(path)

    @staticmethod
    def _unmount_all(root: Path) -> None:
        """Unmount everything mounted under ``root``, deepest first."""
        if not root.exists():
            return
        prefix = str(root.resolve()) + "/"
        for point in sorted(
            (m for m in _mount_points() if m.startswith(prefix)), key=len, reverse=True
        ):
            subprocess.run(["umount", "-l", point], check=False)

    # --- the Asterisk process --------------------------------------------------

    def pid(self) -> int | None:
        """Asterisk's pid, if it runs inside this root."""
        pidfile = self.root / "run" / "asterisk" / "asterisk.pid"
        try:
            pid = int(pidfile.read_text().strip())
            if Path(f"/proc/{pid}/root").resolve() == self.root.resolve():
                return pid
        except (OSError, ValueError):
            pass
        return None

    def up(self) -> None:
        """Build (or reuse) the root, install config, start Asterisk, wait for ARI."""
        digest = self.config_digest()
        digest_file = self.home / "running-config.sha256"
        if self.pid() is not None:
            current = digest_file.exists() and digest_file.read_text() == digest
            ids_ok = self.root_is_built() and not self._ids_collide()
            if current and ids_ok and self.ping():
                self.install_hosts()  # read on every lookup: no restart needed
                say(f"reusing the cached Asterisk root at {self.root}")
                say(f"Asterisk already running (pid {self.pid()}), config unchanged")
                return
            say("config, root, user ids or Asterisk changed or not answering: restarting it")
            self.stop_asterisk()
        # Nothing may stay mounted from an earlier config (an old prompt folder).
        self._unmount_all(self.root)
        self.build_root()
        self.separate_ids()
        self.install_config()
        self.install_sounds()
        self.install_hosts()
        self._mount()
        self.start_asterisk()
        digest_file.write_text(digest)

    def start_asterisk(self) -> None:
        if self.pid() is not None:
            return
        if self.ping():
            # Not ours (its pid file names none): ours could not bind ARI's and
            # SIP's ports, and every test would talk to that one instead.
            raise SandboxError(
                f"an Asterisk this sandbox did not start already answers on {ARI_URL} "
                "(ss -ltnp | grep 8088 shows its pid): stop it, then start the sandbox again"
            )
        started = time.monotonic()
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        subprocess.run(
            ["chroot", str(self.root), "/usr/sbin/asterisk", "-U", "asterisk", "-G", "asterisk"],
            check=True,
            env=env,
        )
        deadline = started + 30
        while not self.ping():
            if time.monotonic() > deadline:
                raise SandboxError(
                    "Asterisk did not answer on ARI within 30 s; see "
                    f"{self.root}/var/log/asterisk/messages.log"
                )
            time.sleep(0.1)
        say(f"Asterisk {self.version()} up in {time.monotonic() - started:.1f}s, ARI at {ARI_URL}")

    def stop_asterisk(self) -> None:
        pid = self.pid()
        if pid is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):  # a wedged one is killed below
            subprocess.run(
                ["chroot", str(self.root), "/usr/sbin/asterisk", "-rx", "core stop now"],
                check=False,
                capture_output=True,
                timeout=10,
            )
        deadline = time.monotonic() + 10
        while self.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.pid() is not None:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        (self.root / "run" / "asterisk" / "asterisk.pid").unlink(missing_ok=True)

    def restart(self) -> None:
        """Stop and start Asterisk, keeping root, config and mounts (and
        moving its user off a host account's ids first, see :meth:`separate_ids`)."""
        self.stop_asterisk()
        self.separate_ids()
        self.start_asterisk()

    def down(self) -> None:
        """Stop Asterisk and unmount; the cached root stays for next time."""
        self.stop_asterisk()
        self._unmount_all(self.root)
        (self.home / "running-config.sha256").unlink(missing_ok=True)
        say("Asterisk stopped")

    def ping(self) -> bool:
        return self._ari_get("asterisk/ping") is not None

    def version(self) -> str:
        info = self._ari_get("asterisk/info?only=system")
        return str(info["system"]["version"]) if info else "?"

    def _ari_get(self, path: str) -> Any:
        if not self.ari_password_file.exists():
            return None
        token = b64encode(f"{ARI_USER}:{self.ari_password()}".encode()).decode()
        request = urllib.request.Request(
            ARI_URL + "ari/" + path, headers={"Authorization": f"Basic {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return json.load(response)
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def status(self) -> dict[str, Any]:
        running = self.pid() is not None
        return {
            "root": str(self.root),
            "root_built": self.root_is_built(),
            "running": running,
            "pid": self.pid(),
            "ari_url": ARI_URL,
            "ari_answers": running and self.ping(),
            "asterisk_version": self.version() if running else None,
            "sip": "udp 127.0.0.1:5060",
            "softphone_user": SOFTPHONE_USER,
            "softphone_password_file": str(self.softphone_password_file),
            "prompt_dir": str(self.prompt_dir),
        }


def _ids(table: str) -> set[int]:
    """The ids (third field) of an /etc/passwd or /etc/group text."""
    found = set()
    for line in table.splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit():
            found.add(int(fields[2]))
    return found


def separate_ids(
    host_passwd: str, host_group: str, root_passwd: str, root_group: str, current: tuple[int, int]
) -> tuple[int, int]:
    """The uid and gid the root's asterisk should have: ``current`` when no
    account of this machine has that uid and no group that gid; otherwise the
    first id of :data:`OWN_IDS` (the same for both) that no account or group
    uses, here or in the root."""
    host_uids, host_gids = _ids(host_passwd), _ids(host_group)
    uid, gid = current
    if uid not in host_uids and gid not in host_gids:
        return current
    taken = host_uids | host_gids | _ids(root_passwd) | _ids(root_group)
    for candidate in OWN_IDS:
        if candidate not in taken:
            return candidate, candidate
    raise SandboxError(f"no free id in {OWN_IDS.start}..{OWN_IDS.stop - 1} for the root's asterisk")


def renumber(
    passwd: str, group: str, name: str, old: tuple[int, int], new: tuple[int, int]
) -> tuple[str, str]:
    """``passwd`` and ``group`` with user ``name`` at ``new`` (uid, gid), its
    group at the new gid, and every account whose group was the old gid
    following it."""

    def rewrite(table: str, change: Callable[[list[str]], None]) -> str:
        lines = []
        for line in table.splitlines():
            fields = line.split(":")
            if len(fields) > 3:
                change(fields)
            lines.append(":".join(fields))
        return "\n".join(lines) + "\n"

    def in_passwd(fields: list[str]) -> None:
        if fields[0] == name:
            fields[2] = str(new[0])
        if fields[3] == str(old[1]):
            fields[3] = str(new[1])

    def in_group(fields: list[str]) -> None:
        if fields[0] == name:
            fields[2] = str(new[1])

    return rewrite(passwd, in_passwd), rewrite(group, in_group)


def _chown_tree(root: Path, old: tuple[int, int], new: tuple[int, int]) -> None:
    """Give what ``old`` (uid, gid) owned under ``root`` to ``new``; links
    themselves, never what they point to; never into a mount (the host's
    prompt folder is bind-mounted inside)."""
    mounts = set(_mount_points())
    for folder, dirs, files in os.walk(root.resolve()):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in mounts]
        for name in [".", *dirs, *files]:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            uid = new[0] if info.st_uid == old[0] else -1
            gid = new[1] if info.st_gid == old[1] else -1
            if uid != -1 or gid != -1:
                os.lchown(path, uid, gid)


def _own_address() -> str:
    """This machine's IPv4 address on its default route, or Debian's 127.0.1.1
    for its own name when it has none (Asterisk then still asks DNS)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: a UDP connect sends nothing
        except OSError:
            return "127.0.1.1"
        address: str = probe.getsockname()[0]
    return "127.0.1.1" if address.startswith("127.") else address


def own_addresses() -> list[str]:
    """This machine's IPv4 and IPv6 addresses other than loopback, as the
    kernel lists them (``/proc/net/fib_trie``' local host routes and
    ``/proc/net/if_inet6``), sorted."""
    found: set[str] = set()
    with contextlib.suppress(OSError):
        lines = Path("/proc/net/fib_trie").read_text().splitlines()
        for line, following in itertools.pairwise(lines):
            if "/32 host LOCAL" in following and "|--" in line:
                found.add(line.split("|--")[1].strip())
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/if_inet6").read_text().splitlines():
            packed = bytes.fromhex(line.split()[0])
            found.add(socket.inet_ntop(socket.AF_INET6, packed))
    return sorted(a for a in found if not ipaddress.ip_address(a).is_loopback)


def ice_host_candidates(addresses: list[str]) -> str:
    """The lines of rtp.conf's ``[ice_host_candidates]`` that make Asterisk
    offer loopback instead of each of ``addresses``: the sandbox's WebRTC test
    calls (a browser on this machine) then send their ICE checks and RTP to
    127.0.0.1 (or ::1), never to this machine's network address."""
    lines = [f"; written by the sandbox ({ICE_HOST_CANDIDATES}): this machine => loopback"]
    for address in addresses:
        loopback = "::1" if ipaddress.ip_address(address).version == 6 else "127.0.0.1"
        lines.append(f"{address} => {loopback}")
    return "\n".join(lines) + "\n"


def _du(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_symlink() and p.is_file())


def _mount_points() -> list[str]:
    # os.path.ismount misses bind mounts within one filesystem; /proc/mounts does
    # not. It writes space, tab, newline and backslash as octal escapes.
    return [
        re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[1])
        for line in Path("/proc/mounts").read_text().splitlines()
    ]


def _write_private(path: Path, text: str, mode: int) -> None:
    """Write a secret file atomically, readable only as ``mode`` from the start."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    tmp.replace(path)


def _is_mounted(path: Path) -> bool:
    return str(path.resolve()) in _mount_points()
