"""The Asterisk sandbox on this machine."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.sandbox import Sandbox

pytestmark = pytest.mark.asterisk


def test_up_again_reuses_the_cached_root_and_the_running_asterisk(
    sandbox: Sandbox, capfd: pytest.CaptureFixture[str]
) -> None:
    stamp = sandbox.root / ".infolinia-root"
    built_at = stamp.stat().st_mtime_ns
    pid = sandbox.pid()
    sandbox.up()
    said = capfd.readouterr().err
    assert "reusing the cached Asterisk root" in said
    assert "already running" in said
    assert stamp.stat().st_mtime_ns == built_at
    assert sandbox.pid() == pid


def test_status_json_tells_what_runs_where(sandbox: Sandbox) -> None:
    infolinia = Path(sys.executable).with_name("infolinia")
    out = subprocess.run(
        [
            str(infolinia),
            "--config",
            "tests/data/config/infolinia.yaml",
            "sandbox",
            "status",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    ).stdout
    status = json.loads(out)
    assert status["running"] is True and status["ari_answers"] is True
    assert status["asterisk_version"].startswith("22.")
    assert status["pid"] == sandbox.pid()
    # The prompt folder Asterisk reads is the app's own, mounted at the same path.
    inside = Path(status["root"], status["prompt_dir"].lstrip("/"))
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    assert mounts.count(str(inside)) == 1


def test_the_root_resolves_this_machines_name_without_dns(sandbox: Sandbox) -> None:
    # Asterisk looks up its own address for every call: from the root's
    # /etc/hosts, not from DNS (which does not know this machine's name).
    name = socket.gethostname()
    [line] = [
        line
        for line in (sandbox.root / "etc" / "hosts").read_text().splitlines()
        if name in line.split()[1:]
    ]
    found = subprocess.run(
        ["chroot", str(sandbox.root), "getent", "hosts", name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert found[0] == line.split()[0] and name in found[1:]
