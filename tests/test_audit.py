"""The audit trail against someone who can rewrite the state store but does
not hold the audit key: every rewrite, deletion, reordering and cut is named
by ``verify``, including a trail cut short after the app crashed; the trail
is read page by page and verified from a signed checkpoint."""

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from stasis_app.cli import main
from stasis_app.config import AuditSettings, load_settings
from stasis_app.errors import ConfigError
from stasis_app.safeguards import audit as trail
from stasis_app.safeguards.audit import GENESIS, AuditEntry, AuditLog
from stasis_app.safeguards.audit_heads import AuditHeads, read_heads
from stasis_app.safeguards.audit_key import AuditKey, AuditKeyError
from stasis_app.store import Store
from tests.conftest import TEST_AUDIT_KEY, TEST_CONFIG
from tests.support.stores import tampering

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]
REPO = Path(__file__).resolve().parent.parent
INSERT = "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


@pytest.fixture
def config(tmp_path: Path, state_where: Path | str) -> Path:
    """A config whose store (on each engine), key file and heads file are this test's own."""
    path = tmp_path / "etc" / "infolinia.yaml"
    path.parent.mkdir()
    path.write_text(
        textwrap.dedent(
            f"""\
            state: {state_where}
            audit:
              key_file: {tmp_path / "keys" / "audit.key"}
              heads_file: {tmp_path / "log" / "audit-heads.log"}
            """
        )
    )
    return path


@pytest.fixture
def store(config: Path) -> Store:
    return Store(load_settings(config, resolve_secrets=False).state)


def fill(audit: AuditLog, count: int) -> list[AuditEntry]:
    return [
        audit.append(
            tenant="izbica",
            action="block_card",
            result="confirmed",
            customer="12345678",
            call_id=f"call-{n}",
            reference=f"100000{n:02}",
        )
        for n in range(1, count + 1)
    ]


def sql(store: Store, *statements: str) -> None:
    with tampering(store) as db:
        for statement in statements:
            db.execute(statement)


def rows(store: Store) -> list[AuditEntry]:
    with tampering(store) as db:
        return [AuditEntry(*row) for row in db.execute("SELECT * FROM audit ORDER BY seq")]


def plain_hash(entry: AuditEntry) -> str:
    """What the unkeyed chain (before the audit key) stored: SHA-256 of the fields."""
    fields = list(asdict(entry).values())[:-1]
    material = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


def rewrite(store: Store, entries: list[AuditEntry], hasher: Any) -> None:
    """Replace the table with ``entries`` renumbered and re-chained by ``hasher``:
    the attack that passed verify before the key (delete, then re-hash the rest)."""
    prev = GENESIS
    with tampering(store) as db:
        db.execute("DELETE FROM audit")
        for seq, entry in enumerate(entries, 1):
            draft = AuditEntry(**{**asdict(entry), "seq": seq, "prev_hash": prev, "hash": ""})
            done = AuditEntry(**{**asdict(draft), "hash": hasher(draft)})
            db.execute(INSERT, astuple(done))
            prev = done.hash


def astuple(entry: AuditEntry) -> tuple[Any, ...]:
    return tuple(asdict(entry).values())


def problem(check: trail.AuditCheck) -> tuple[int | None, str]:
    assert not check.ok
    return check.first_bad, check.problem


# --- rewrites inside the trail ----------------------------------------------


def test_entries_are_signed_with_the_key_and_a_whole_trail_verifies(store: Store) -> None:
    audit = AuditLog(store)
    entries = fill(audit, 5)
    key_id = AuditKey(TEST_AUDIT_KEY.encode(), "test").id
    assert all(e.hash.startswith(f"k1:{key_id}:") for e in entries)
    assert TEST_AUDIT_KEY not in str(rows(store))  # the key never enters the store
    check = audit.verify()
    assert check.ok and check.entries == 5 and check.unkeyed == 0


def test_an_edited_field_is_named(store: Store) -> None:
    audit = AuditLog(store)
    fill(audit, 5)
    sql(store, "UPDATE audit SET result = 'refused' WHERE seq = 3")
    first_bad, why = problem(audit.verify())
    assert first_bad == 3 and "changed after it was written" in why


def test_deleting_a_block_and_rehashing_the_rest_without_the_key_is_named(store: Store) -> None:
    """The attack from issue 17: delete a block's proof, recompute the chain."""
    audit = AuditLog(store)
    entries = fill(audit, 6)
    kept = [e for e in entries if e.reference != "10000004"]
    rewrite(store, kept, plain_hash)  # as the old code hashed: plain SHA-256
    first_bad, why = problem(audit.verify())
    assert first_bad == 1 and "no entry is signed with the audit key" in why

    # Keep the keyed entries before the deleted one; re-hash only from there.
    rewrite(store, kept[:3], lambda e: entries[e.seq - 1].hash)
    tail = [AuditEntry(**{**asdict(e), "seq": 0}) for e in kept[3:]]
    prev = rows(store)[-1].hash
    with tampering(store) as db:
        for n, entry in enumerate(tail, 4):
            draft = AuditEntry(**{**asdict(entry), "seq": n, "prev_hash": prev, "hash": ""})
            prev = plain_hash(draft)
            db.execute(INSERT, (*astuple(draft)[:-1], prev))
    first_bad, why = problem(audit.verify())
    assert first_bad == 4 and "re-hashed by someone without the key" in why


def test_rehashing_with_a_guessed_key_or_a_forged_marker_is_named(store: Store) -> None:
    audit = AuditLog(store)
    entries = fill(audit, 4)
    other = AuditKey(b"x" * 64, "the attacker's")
    rewrite(store, entries[:1] + entries[2:], lambda e: trail._keyed_hash(other, trail._fields(e)))
    first_bad, why = problem(audit.verify())
    assert first_bad == 1 and f"signed with audit key {other.id}, not with the key given" in why

    ours = AuditKey(TEST_AUDIT_KEY.encode(), "test").id
    rewrite(store, entries[:1] + entries[2:], lambda e: f"k1:{ours}:{plain_hash(e)}")
    first_bad, why = problem(audit.verify())
    assert first_bad == 1 and "signature does not match" in why


def test_a_deleted_middle_entry_is_named(store: Store) -> None:
    audit = AuditLog(store)
    fill(audit, 5)
    sql(store, "DELETE FROM audit WHERE seq = 3")
    first_bad, why = problem(audit.verify())
    assert first_bad == 4 and why == "entries 3..3 are gone"


def test_swapped_entries_are_named(store: Store) -> None:
    audit = AuditLog(store)
    entries = fill(audit, 5)
    # The rows change places, each keeping its seq ...
    with tampering(store) as db:
        db.execute("DELETE FROM audit WHERE seq IN (2, 3)")
        for seq, entry in ((2, entries[2]), (3, entries[1])):
            moved = AuditEntry(**{**asdict(entry), "seq": seq})
            db.execute(INSERT, astuple(moved))
    first_bad, why = problem(audit.verify())
    assert first_bad == 2 and "does not follow the entry before it" in why
    # ... or their contents are swapped under the same seq and links.
    with tampering(store) as db:
        db.execute("DELETE FROM audit WHERE seq IN (2, 3)")
        for entry, other in ((entries[1], entries[2]), (entries[2], entries[1])):
            swapped = {**asdict(other), "seq": entry.seq, "prev_hash": entry.prev_hash}
            swapped["hash"] = entry.hash
            db.execute(INSERT, tuple(swapped.values()))
    first_bad, why = problem(audit.verify())
    assert first_bad == 2 and "changed after it was written" in why


# --- cuts at the end, heads, checkpoints ---------------------------------------


def heads_of(config: Path, store: Store) -> AuditHeads:
    settings = load_settings(config, resolve_secrets=False)
    heads = AuditHeads(AuditLog(store), settings.audit)
    heads.start()
    return heads


def test_a_trail_cut_short_is_named_by_the_heads_file_and_expect_head(
    config: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    heads = heads_of(config, store)
    audit = AuditLog(store)
    entries = fill(audit, 6)  # a signed head after every entry
    heads.stop()
    heads_file = load_settings(config, resolve_secrets=False).audit.heads_file
    assert heads_file is not None and heads_file.stat().st_mode & 0o777 == 0o600
    assert [h.seq for h in read_heads(heads_file, audit.key())] == [1, 2, 3, 4, 5, 6]
    assert main(["--config", str(config), "audit", "verify"]) == 0
    assert "reaches all 6 signed heads given" in capsys.readouterr().out

    sql(store, "DELETE FROM audit WHERE seq > 4")  # the last two: a whole, shorter chain
    assert AuditLog(store).verify(full=True).ok  # the chain alone: nothing wrong
    assert main(["--config", str(config), "audit", "verify"]) == 1  # the checkpoint saw #6
    assert "BROKEN at entry #6: entry #6, found whole on" in capsys.readouterr().out
    assert main(["--config", str(config), "audit", "verify", "--full"]) == 1
    out = capsys.readouterr().out
    assert "BROKEN at entry #5: entries 5..6 are gone from the end" in out
    assert "audit-heads.log line 6" in out

    # A head from the bank's log system, given by hand, without the heads file.
    head = f"6:{entries[5].hash}"
    missing = str(config.parent / "nothing")
    cli = ["--config", str(config), "audit", "verify", "--full", "--expect-head", head]
    assert main([*cli, "--heads", missing]) == 2  # a heads file named must exist
    os.environ["INFOLINIA_AUDIT_HEADS_FILE"] = missing  # the configured one: absent
    try:
        assert main(cli) == 1
    finally:
        del os.environ["INFOLINIA_AUDIT_HEADS_FILE"]
    assert "entries 5..6 are gone from the end: --expect-head 6 saw #6" in capsys.readouterr().out


def test_a_trail_cut_short_after_a_crash_is_named(
    config: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    """The app's process is killed (no orderly stop, no last head); the trail is
    then cut back by two entries: the heads written on the way name the cut."""
    script = f"""
import os, signal
from pathlib import Path
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.audit_heads import AuditHeads
from stasis_app.config import load_settings
from stasis_app.store import Store
settings = load_settings(Path({str(config)!r}), resolve_secrets=False)
audit = AuditLog(Store(settings.state))
AuditHeads(audit, settings.audit).start()
for n in range(5):
    audit.append(tenant="izbica", action="block_card", result="confirmed", reference=str(n))
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, check=False)
    assert done.returncode == -signal.SIGKILL
    assert len(rows(store)) == 5
    sql(store, "DELETE FROM audit WHERE seq > 3")
    assert main(["--config", str(config), "audit", "verify"]) == 1
    assert "entries 4..5 are gone from the end" in capsys.readouterr().out


def test_forged_heads_are_named(config: Path, store: Store) -> None:
    heads = heads_of(config, store)
    audit = AuditLog(store)
    fill(audit, 3)
    heads.stop()
    path = load_settings(config, resolve_secrets=False).audit.heads_file
    assert path is not None
    lines = path.read_text().splitlines()
    key = audit.key()

    def verify_with(text: str) -> str:
        path.write_text(text)
        return problem(audit.verify(heads=read_heads(path, key)))[1]

    forged = json.loads(lines[-1])
    forged.update(audit_head=9, mac="0" * 64)
    assert "line 4 is not signed with the audit key: a forged head" in verify_with(
        "\n".join([*lines, json.dumps(forged)]) + "\n"
    )
    foreign = {**json.loads(lines[-1]), "key": "deadbeef"}
    assert "signed with audit key deadbeef" in verify_with(
        "\n".join([*lines, json.dumps(foreign)]) + "\n"
    )
    assert "heads were taken out of the file" in verify_with("\n".join(lines[:1] + lines[2:]))
    # A copy from a syslog server, each line prefixed, verifies as the file does.
    path.write_text("".join(f"Dec  6 06:00:00 host infolinia: {line}\n" for line in lines))
    assert audit.verify(heads=read_heads(path, key)).heads == 3


def test_a_trail_put_back_to_an_older_copy_is_named(config: Path, store: Store) -> None:
    heads = heads_of(config, store)
    audit = AuditLog(store)
    fill(audit, 5)
    sql(store, "DELETE FROM audit WHERE seq > 2")  # an older backup is restored ...
    fill(audit, 4)  # ... and the line goes on: seq 3..6 again, other entries
    heads.stop()
    path = load_settings(config, resolve_secrets=False).audit.heads_file
    assert path is not None
    first_bad, why = problem(audit.verify(heads=read_heads(path, audit.key())))
    assert first_bad == 3 and "is not the entry audit-heads.log line 3" in why


def test_verify_resumes_from_a_signed_checkpoint_and_full_recomputes(store: Store) -> None:
    audit = AuditLog(store)
    fill(audit, 20)
    first = audit.verify(save_checkpoint=True)
    assert first.ok and first.checked == 20 and first.from_seq == 0
    fill(audit, 3)
    again = audit.verify(save_checkpoint=True)
    # The checkpoint's own entry is recomputed (it must still be the same entry).
    assert again.ok and again.from_seq == 20 and again.checked == 4 and again.entries == 23
    sql(store, "UPDATE audit SET result = 'x' WHERE seq = 5")  # below the checkpoint
    assert audit.verify().ok  # from the checkpoint: not read again ...
    first_bad, why = problem(audit.verify(full=True))  # ... until --full
    assert first_bad == 5 and "changed" in why


def test_a_forged_checkpoint_or_a_cut_below_it_is_named(store: Store) -> None:
    audit = AuditLog(store)
    fill(audit, 10)
    assert audit.verify(save_checkpoint=True).ok
    sql(store, "UPDATE audit_checkpoint SET seq = 4")  # to skip the entries after 4
    assert "checkpoint is not signed with the audit key" in problem(audit.verify())[1]
    assert audit.verify(full=True, save_checkpoint=True).ok  # a full verify writes a good one
    sql(store, "DELETE FROM audit WHERE seq > 6")
    first_bad, why = problem(audit.verify())
    assert first_bad == 10 and "found whole on" in why and "is gone" in why


def test_verify_and_exports_read_the_trail_a_page_at_a_time(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = AuditLog(store)
    fill(audit, 35)
    monkeypatch.setattr(trail, "PAGE", 10)
    read = store.read
    sizes: list[int] = []

    def counting(work: Any) -> Any:
        result = read(work)
        if isinstance(result, list):
            sizes.append(len(result))
        return result

    monkeypatch.setattr(store, "read", counting)
    assert audit.verify(full=True).entries == 35
    assert max(sizes) <= 10 and sum(sizes) >= 35
    assert [e.seq for e in audit.stream(after=30)] == [31, 32, 33, 34, 35]


# --- the key -------------------------------------------------------------------


def test_a_missing_key_file_is_made_0600_outside_the_state_and_never_replaced(
    config: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INFOLINIA_AUDIT_KEY")
    key_file = config.parent.parent / "keys" / "audit.key"
    audit = AuditLog(store)
    fill(audit, 2)
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.parent.stat().st_mode & 0o777 == 0o700
    if store.dialect == "sqlite":  # PostgreSQL's files are not ours to read
        assert key_file.read_text().strip() not in store.path.read_bytes().decode(errors="replace")
    assert AuditLog(store).verify().ok
    key_file.unlink()  # lost: a new key would make the trail unverifiable
    with pytest.raises(AuditKeyError, match="is gone: restore it"):
        AuditLog(store).append(tenant="t", action="a", result="r")
    assert not key_file.exists()
    with pytest.raises(AuditKeyError, match="no audit key"):
        AuditLog(store).key()


def test_a_key_readable_by_others_or_in_the_state_folder_is_refused(
    config: Path, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("INFOLINIA_AUDIT_KEY")
    key_file = tmp_path / "keys" / "audit.key"
    key_file.parent.mkdir()
    key_file.write_text("k" * 64)
    key_file.chmod(0o644)
    with pytest.raises(AuditKeyError, match="chmod 600"):
        AuditLog(store).key()
    if store.dialect == "sqlite":  # a PostgreSQL store has no folder here
        monkeypatch.setenv("INFOLINIA_AUDIT_KEY_FILE", str(tmp_path / "state" / "audit.key"))
        with pytest.raises(ConfigError, match=r"audit\.key_file: .* inside the state store's"):
            load_settings(config, resolve_secrets=False)
    monkeypatch.setenv("INFOLINIA_AUDIT_KEY", "too short")
    with pytest.raises(AuditKeyError, match="fewer than 32"):
        AuditLog(store, None).key()


def test_the_wrong_key_is_told_apart_from_a_rewrite(store: Store) -> None:
    fill(AuditLog(store), 3)
    wrong = AuditLog(store, AuditKey(b"w" * 64, "$INFOLINIA_AUDIT_KEY"))
    first_bad, why = problem(wrong.verify())
    assert first_bad == 1 and "or the wrong key was given" in why
    with pytest.raises(AuditKeyError, match="give the key that wrote the trail"):
        wrong.append(tenant="t", action="a", result="r")
    with pytest.raises(AuditKeyError, match="give the key that wrote the trail"):
        wrong.check_key()  # what the app does at start: it refuses to run
    assert len(rows(store)) == 3


# --- trails from before the key ----------------------------------------------------


def legacy_trail(store: Store, count: int) -> None:
    entries = [
        AuditEntry(
            *(n, f"2026-11-0{n}T10:00:00.000+00:00", "izbica", f"c{n}", "", "login"),
            *("*****678", "ok", "", "{}", "", ""),
        )
        for n in range(1, count + 1)
    ]
    rewrite(store, entries, plain_hash)


def test_an_old_unkeyed_trail_is_anchored_by_the_first_keyed_entry(store: Store) -> None:
    audit = AuditLog(store)
    legacy_trail(store, 3)
    assert "no entry is signed" in problem(audit.verify())[1]  # not yet anchored
    entry = audit.append(tenant="izbica", action="block_card", result="confirmed")
    anchor = rows(store)[3]
    assert (anchor.seq, anchor.action, entry.seq) == (4, "audit_key", 5)
    assert json.loads(anchor.detail)["unkeyed_entries"] == 3
    check = audit.verify()
    assert check.ok and check.unkeyed == 3 and check.entries == 5
    # Editing an old entry and re-hashing the unkeyed part breaks at the anchor.
    old = rows(store)[:3]
    edited = [AuditEntry(**{**asdict(old[0]), "result": "refused"}), *old[1:]]
    anchored = rows(store)[3:]
    rewrite(store, edited, plain_hash)
    with tampering(store) as db:
        for e in anchored:
            db.execute(INSERT, astuple(e))
    first_bad, why = problem(audit.verify())
    assert first_bad == 4 and "does not follow" in why


async def test_the_app_anchors_an_old_trail_at_start_and_heads_what_others_write(
    config: Path, store: Store
) -> None:
    legacy_trail(store, 3)
    settings = load_settings(config, resolve_secrets=False).audit
    heads = AuditHeads(AuditLog(store), settings.model_copy(update={"heads_interval": 0.05}))
    heads.start()
    assert [(e.seq, e.action) for e in rows(store)][-1] == (4, "audit_key")
    heads.verify()
    assert AuditLog(store).verify().unkeyed == 3
    trail.on_append(store, None)  # as if another process (a CLI command) appended
    entry = AuditLog(store).append(tenant="*", action="admin_token", result="created")
    loop = asyncio.ensure_future(heads.run())
    await asyncio.sleep(0.3)
    loop.cancel()
    heads.stop()
    assert settings.heads_file is not None
    seen = [(h.seq, h.hash) for h in read_heads(settings.heads_file, AuditLog(store).key())]
    assert seen == [(4, rows(store)[3].hash), (entry.seq, entry.hash)]


# --- the command and the settings -----------------------------------------------------


def test_audit_show_and_verify_commands(
    config: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(AuditLog(store), 3)
    cli = ["--config", str(config), "audit"]
    assert main([*cli, "show", "--reference", "10000002"]) == 0
    assert "izbica block_card confirmed ref 10000002 customer *****678" in capsys.readouterr().out
    assert main([*cli, "verify", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["entries"] == 3 and report["from_seq"] == 0
    assert main([*cli, "verify"]) == 0  # from the checkpoint the first one stored
    assert "from checkpoint #3" in capsys.readouterr().out
    assert main([*cli, "verify", "--full"]) == 0
    assert "recomputed 3 (every entry" in capsys.readouterr().out
    assert main([*cli, "verify", "--expect-head", "nonsense"]) == 2


def test_the_settings_default_keeps_the_key_out_of_the_state_folder() -> None:
    defaults = AuditSettings()
    state = load_settings(TEST_CONFIG, resolve_secrets=False, env={}).state
    assert isinstance(state, Path)
    assert not defaults.key_file.is_relative_to(Path("/var/lib/infolinia"))
    assert defaults.heads_file is not None and defaults.heads_every_entries == 1
    key_file = load_settings(TEST_CONFIG, resolve_secrets=False, env={}).audit.key_file
    assert not key_file.is_relative_to(state.parent)
