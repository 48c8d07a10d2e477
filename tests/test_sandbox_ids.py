"""The sandbox's Asterisk runs as a user that is nobody on this machine: its
uid and gid are no host account's (Debian gave the root's asterisk 101, this
machine's postgres has 101)."""

import os
from pathlib import Path

import pytest

from devtools import sandbox as sandbox_module
from devtools.sandbox import OWN_IDS, Sandbox, renumber, separate_ids

HOST_PASSWD = """root:x:0:0:root:/root:/bin/bash
messagebus:x:100:102::/nonexistent:/usr/sbin/nologin
postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash
libvirt-qemu:x:64000:64000:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin
"""
HOST_GROUP = """root:x:0:
users:x:100:
_ssh:x:101:
postgres:x:104:
libvirt-qemu:x:64000:
"""
ROOT_PASSWD = """root:x:0:0:root:/root:/bin/bash
asterisk:x:101:101:Asterisk PBX daemon:/var/lib/asterisk:/usr/sbin/nologin
"""
ROOT_GROUP = """root:x:0:
dialout:x:20:asterisk
audio:x:29:asterisk
asterisk:x:101:
"""


def ids_of(table: str, name: str) -> tuple[int, ...]:
    [line] = [line for line in table.splitlines() if line.startswith(name + ":")]
    return tuple(int(field) for field in line.split(":")[2:4] if field.isdigit())


def all_ids(table: str) -> set[int]:
    return {int(line.split(":")[2]) for line in table.splitlines() if line.count(":") >= 3}


@pytest.mark.unit
def test_asterisk_taking_postgres_ids_moves_to_ids_nobody_uses() -> None:
    uid, gid = separate_ids(HOST_PASSWD, HOST_GROUP, ROOT_PASSWD, ROOT_GROUP, (101, 101))
    assert (uid, gid) == (64001, 64001)  # 64000 is the host's libvirt-qemu
    assert uid in OWN_IDS
    passwd, group = renumber(ROOT_PASSWD, ROOT_GROUP, "asterisk", (101, 101), (uid, gid))
    assert ids_of(passwd, "asterisk") == (64001, 64001)
    assert ids_of(group, "asterisk") == (64001,)
    assert "dialout:x:20:asterisk" in group and "root:x:0:0:root" in passwd  # the rest kept


@pytest.mark.unit
def test_ids_no_host_account_has_are_kept() -> None:
    assert separate_ids(HOST_PASSWD, HOST_GROUP, ROOT_PASSWD, ROOT_GROUP, (150, 150)) == (150, 150)
    # A uid of no account but a gid of a host group is a collision too.
    assert separate_ids(HOST_PASSWD, HOST_GROUP, ROOT_PASSWD, ROOT_GROUP, (150, 104)) != (150, 104)


@pytest.mark.unit
@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_a_cached_root_is_renumbered_with_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "passwd").write_text(HOST_PASSWD)
    (host / "group").write_text(HOST_GROUP)
    monkeypatch.setattr(sandbox_module, "HOST_PASSWD", host / "passwd")
    monkeypatch.setattr(sandbox_module, "HOST_GROUP", host / "group")
    box = Sandbox(home=tmp_path / "sandbox", prompt_dir=tmp_path / "prompts")
    etc = box.root / "etc"
    etc.mkdir(parents=True)
    (etc / "passwd").write_text(ROOT_PASSWD)
    (etc / "group").write_text(ROOT_GROUP)
    spool = box.root / "var" / "spool" / "asterisk"
    spool.mkdir(parents=True)
    (spool / "call.wav").write_bytes(b"RIFF")
    os.lchown(spool, 101, 101)
    os.lchown(spool / "call.wav", 101, 101)
    outside = tmp_path / "host-postgres-file"
    outside.write_text("a file of the host's postgres")
    os.chown(outside, 101, 104)
    (spool / "link").symlink_to(outside)
    os.lchown(spool / "link", 101, 101)

    box.separate_ids()

    assert ids_of((etc / "passwd").read_text(), "asterisk") == (64001, 64001)
    for path in (spool, spool / "call.wav", spool / "link"):
        info = path.lstat()
        assert (info.st_uid, info.st_gid) == (64001, 64001), path
    assert (outside.stat().st_uid, outside.stat().st_gid) == (101, 104)  # not followed
    assert oct((etc / "passwd").stat().st_mode & 0o777) == "0o644"
    box.separate_ids()  # once moved, nothing more to do
    assert ids_of((etc / "passwd").read_text(), "asterisk") == (64001, 64001)


@pytest.mark.asterisk
def test_the_sandbox_asterisk_is_no_host_account(sandbox: Sandbox) -> None:
    uid, gid = ids_of((sandbox.root / "etc" / "passwd").read_text(), "asterisk")
    assert uid not in all_ids(Path("/etc/passwd").read_text())
    assert gid not in all_ids(Path("/etc/group").read_text())
    assert ids_of((sandbox.root / "etc" / "group").read_text(), "asterisk") == (gid,)
    # The running Asterisk really is that user.
    pid = sandbox.pid()
    assert pid is not None
    status = Path(f"/proc/{pid}/status").read_text()
    [uids] = [line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")]
    [gids] = [line.split()[1:] for line in status.splitlines() if line.startswith("Gid:")]
    assert set(map(int, uids)) == {uid} and set(map(int, gids)) == {gid}
