"""``infolinia state migrate --to postgresql://...``: a deployment that grows
from one node to several moves its SQLite state into PostgreSQL whole, and
the audit trail still verifies there; a store that is not empty is refused.

The deployment's store is one an older release made (the fixture of
tests/test_store_migrations.py: prompt edits with history, a recording, a
token, users and a session, an unkeyed audit trail, a pending block, a
callback, a lock), then used by this release (the trail anchored by the key,
a keyed entry, a journal claim, a login in flight)."""

import asyncio
import sqlite3
import textwrap
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from stasis_app.cli import main
from stasis_app.config import SecuritySettings, load_settings
from stasis_app.errors import ConfigError
from stasis_app.flow.model import Flow
from stasis_app.flow.versions import FlowVersions
from stasis_app.queue.callbacks import CallbackBook
from stasis_app.queue.recordings import Recording, RecordingBook
from stasis_app.reports.records import CallRecord, CallRecords
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.journal import BlockJournal
from stasis_app.safeguards.login_guard import LoginGuard, Verdict
from stasis_app.store import Connection, Store
from stasis_app.store.transfer import tables
from stasis_app.telephony.live_calls import CallRegistry, CallsBoard
from stasis_app.tenancy.stored import TenantStore

pytestmark = pytest.mark.unit

DATA = Path(__file__).parent / "data" / "store"
NOW = 4_000_000_000.0  # when the fixture's rows were written (2096)


def old_deployment(tmp_path: Path, state: Path | str) -> Path:
    """A config file naming ``state``, with this test's audit key and heads file."""
    config = tmp_path / "etc" / f"infolinia-{'sqlite' if isinstance(state, Path) else 'pg'}.yaml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(
        textwrap.dedent(
            f"""\
            state: {state}
            audit:
              key_file: {tmp_path / "keys" / "audit.key"}
              heads_file: {tmp_path / "log" / "audit-heads.log"}
            """
        )
    )
    return config


def release_9c035a7_store(path: Path) -> Path:
    path.parent.mkdir(parents=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript((DATA / "schema-9c035a7.sql").read_text())
    db.executescript((DATA / "rows-9c035a7.sql").read_text())
    db.close()
    return path


def raise_config_error() -> Flow:
    raise ConfigError("izbica flow, new draft", "states", "missing or empty")


def _all_rows(db: Connection, query: str) -> list[Any]:
    return db.execute(query).fetchall()


def everything(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted (what must arrive unchanged)."""
    layout = store.read(lambda db: tables(db, store.dialect))
    found: dict[str, list[tuple[object, ...]]] = {}
    for table, columns in layout.items():
        quoted = ", ".join(f'"{column}"' for column in columns)  # "user" too
        query = f"SELECT {quoted} FROM {table}"
        rows = store.read(partial(_all_rows, query=query))
        found[table] = sorted((tuple(row) for row in rows), key=repr)
    return found


def test_a_deployments_sqlite_state_moves_into_postgresql_and_the_audit_still_verifies(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite_config = old_deployment(
        tmp_path, release_9c035a7_store(tmp_path / "var" / "state.sqlite")
    )
    store = Store(load_settings(sqlite_config, resolve_secrets=False).state)
    audit = AuditLog(store)
    audit.check_key()  # the app's start: the old trail anchored by the key
    audit.append(tenant="izbica", action="block_card", result="confirmed", customer="12345678")
    journal = BlockJournal(store)
    journal.record(
        operation_id="op-2", tenant="izbica", call_id="c2", caller="600", customer="87654321",
        kind="block_card", target="card-2",
    )  # fmt: skip
    assert journal.claim_next(now=NOW) is not None  # a worker was delivering it
    guard = LoginGuard(store, SecuritySettings())
    assert guard.begin("izbica", "600", "11112222", "identify", now=NOW).allowed  # in flight
    assert audit.verify(save_checkpoint=True).ok  # the checkpoint moves too, still signed
    calls = CallRegistry(node="node1")  # a call in progress on the live page
    calls.started("node1-1.1", "izbica")
    asyncio.run(CallsBoard(store, calls).exchange())
    CallRecords(store).write(  # a call that ended, for the bank's reports
        CallRecord("izbica", "100", "node1", "node1-1.0", NOW, NOW + 30, "bank.yaml", "abc",
                   "completed", states=(("balance", 30.0),), operations=(("accounts", "ok"),))
    )  # fmt: skip
    FlowVersions(store).save_draft(  # a draft of the bank's flow (checked: it has a problem)
        "izbica", "initial: start\n", "anna", lambda *_: raise_config_error()
    )
    TenantStore(store).save(  # a bank added on the admin page
        "krosno", {"name": "Krosno", "lines": ["150"]}, "anna", {}
    )
    RecordingBook(store).add(  # a consultant call the bank keeps a recording of
        Recording("izbica", "rec-1", "node1-1.0", "main", "PJSIP/anna", NOW, 30.0, 480044,
                  "/var/spool/asterisk/recording/rec-1.wav")
    )  # fmt: skip
    before = everything(store)
    assert all(before.values()), [table for table, rows in before.items() if not rows]

    assert main(["--config", str(sqlite_config), "state", "migrate", "--to", postgres_url]) == 0
    out = capsys.readouterr().out
    assert f"copied {sum(map(len, before.values()))} rows into {postgres_url}" in out
    assert "audit trail there: intact, 5 entries" in out

    # The deployment, pointed at PostgreSQL, has everything it had.
    pg_config = old_deployment(tmp_path, postgres_url)
    moved = Store(load_settings(pg_config, resolve_secrets=False).state)
    assert moved.dialect == "postgresql" and everything(moved) == before
    assert main(["--config", str(pg_config), "audit", "verify", "--full"]) == 0
    assert "audit trail intact: 5 entries" in capsys.readouterr().out
    assert moved.prompt_texts("izbica") == store.prompt_texts("izbica")
    assert [e.who for e in moved.prompt_history("izbica")] == ["web:jan", "web:ola"]
    locked = LoginGuard(moved, SecuritySettings(lock_after=3, lock_minutes=30))
    assert locked.begin("izbica", "", "12345678", "authenticate", now=NOW + 60).verdict is (
        Verdict.LOCKED
    )

    # New rows continue after the moved ones (identities, the chain).
    edit = moved.set_prompt_text("izbica", "welcome", "Nowy tekst.", "web:ewa", "x")
    assert edit.revision == store.revision() + 1
    old_ids = [c.id for c in CallbackBook(store).list("izbica")]
    assert CallbackBook(moved).add("izbica", "konsultanci", "600100300") == max(old_ids) + 1
    entry = AuditLog(moved).append(tenant="izbica", action="prompt_edit", result="ok")
    assert entry.seq == 6 and AuditLog(moved).verify(full=True).ok


def test_a_store_that_is_not_empty_is_refused_and_left_as_it_was(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite_config = old_deployment(tmp_path, tmp_path / "var" / "state.sqlite")
    source = Store(load_settings(sqlite_config, resolve_secrets=False).state)
    source.create_token("ci", "*")
    target = Store(postgres_url)
    target.set_prompt_text("izbica", "welcome", "Już tu jest.", "web:ola", "x")
    before = everything(target)
    assert main(["--config", str(sqlite_config), "state", "migrate", "--to", postgres_url]) == 2
    err = capsys.readouterr().err
    assert "is not empty (prompt_history has 1 rows)" in err and "nothing was copied" in err
    assert everything(target) == before


def test_a_target_url_with_a_password_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sqlite_config = old_deployment(tmp_path, tmp_path / "var" / "state.sqlite")
    url = "postgresql://infolinia:hunter2-secret@127.0.0.1:55499/x"
    assert main(["--config", str(sqlite_config), "state", "migrate", "--to", url]) == 2
    err = capsys.readouterr().err
    assert "the URL carries a password" in err and "hunter2-secret" not in err
