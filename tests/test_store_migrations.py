"""Schema migrations: a store made by an older release is brought to the
schema this code knows when it is opened, with its data intact and still
working (a lock still locks, a token still opens the API, the audit trail
still verifies); a new store gets every migration; opening again changes
nothing; two processes opening an old store at once both end up on the
newest version; a store from a newer release is refused, naming the file.
On PostgreSQL the same migrations make the same tables in PostgreSQL's
types, a failing one is rolled back, a newer store is refused (nodes
migrating at once: tests/test_store_nodes.py).

The old stores are built from fixtures (``tests/data/store/``): the schema
text of the release and rows written by that release's own code, dumped.
"""

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stasis_app.admin.web.accounts import Accounts
from stasis_app.cli import main
from stasis_app.config import SecuritySettings
from stasis_app.queue.callbacks import CallbackBook
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.audit_key import AuditKey
from stasis_app.safeguards.journal import BlockJournal
from stasis_app.safeguards.login_guard import LoginGuard, Verdict
from stasis_app.store import LATEST, Store, StoreTooNew
from stasis_app.store.migrate import (
    MIGRATIONS,
    Migration,
    MigrationFailed,
    split_statements,
    upgrade,
)
from tests.conftest import TEST_CONFIG

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]

DATA = Path(__file__).parent / "data" / "store"
REPO = Path(__file__).resolve().parent.parent
NOW = 4_000_000_000.0  # when the fixtures' rows were written (2096)
TELEKOD, BIRTH = "authenticate", "identify"
# Test values written into the fixtures (see their headers).
OLD_TOKEN = "old-token-izbica-0123456789abcdef0123456789"
OLD_SESSION = "old-session-id-0123456789abcdef01234567"
TODAY_TOKEN = "today-token-queues-0123456789abcdef012345678"
FIXTURE_KEY = AuditKey(b"fixture audit key: tests/data/store only!!", "test")


def old_store(path: Path, release: str) -> Path:
    """A state.sqlite as ``release`` left it (WAL, as every release set it)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript((DATA / f"schema-{release}.sql").read_text())
    db.executescript((DATA / f"rows-{release}.sql").read_text())
    db.close()
    return path


def schema(path: Path) -> list[tuple[str, str]]:
    """The store's tables and indexes as SQLite keeps them (whitespace folded)."""
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
    ).fetchall()
    db.close()
    return [(name, " ".join(sql.split())) for name, sql in rows]


def recorded(path: Path) -> list[tuple[int, str, str]]:
    db = sqlite3.connect(path)
    rows = db.execute("SELECT version, name, how FROM schema_migrations ORDER BY version")
    found = [(int(v), str(name), str(how)) for v, name, how in rows]
    db.close()
    return found


@pytest.fixture
def fresh_schema(tmp_path: Path) -> list[tuple[str, str]]:
    path = tmp_path / "fresh" / "state.sqlite"
    Store(path)
    return schema(path)


def test_a_new_store_gets_every_migration(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    assert store.schema_version() == LATEST == len(MIGRATIONS)
    assert [(v, how) for v, _, how in recorded(store.path)] == [
        (v, "applied") for v in range(1, LATEST + 1)
    ]
    tables = {name for name, sql in schema(store.path) if sql.startswith("CREATE TABLE")}
    assert {"login_locks", "audit_checkpoint", "admin_tokens"} <= tables
    assert "login_failures" not in tables  # made by migration 1, gone since 5
    token = store.create_token("ci", "izbica", ("queues",))
    assert store.check_token(token) is not None


def test_migration_1_is_release_9c035a7s_schema_word_for_word() -> None:
    release = split_statements((DATA / "schema-9c035a7.sql").read_text())
    without_comments = [
        "\n".join(line for line in s.splitlines() if not line.startswith("--")) for s in release
    ]
    assert MIGRATIONS[0].statements == tuple(without_comments)


def test_a_store_made_by_release_9c035a7_keeps_its_data_and_it_still_works(
    tmp_path: Path, fresh_schema: list[tuple[str, str]]
) -> None:
    path = old_store(tmp_path / "state.sqlite", "9c035a7")
    store = Store(path)
    assert store.schema_version() == LATEST
    assert [(v, how) for v, _, how in recorded(path)] == [(1, "found")] + [
        (v, "applied") for v in range(2, LATEST + 1)
    ]
    assert schema(path) == fresh_schema  # the same store a new install has

    # Prompt edits and recordings.
    assert store.prompt_texts("izbica") == {"welcome": "Dzień dobry, tu bank w Izbicy."}
    assert [e.who for e in store.prompt_history("izbica")] == ["web:jan", "web:ola"]
    assert store.revision() == 3
    assert store.recording_data("ab" * 32) == b"RIFF\x24\x00\x00\x00WAVEfmt old recording"

    # The token from before scopes still opens the API, for prompts only.
    token = store.check_token(OLD_TOKEN)
    assert token is not None and (token.name, token.tenant) == ("ci-bot", "izbica")
    assert token.scopes == {"prompts"} and not token.may("supervise")

    # The lock still locks (the telekod's: the only method counted then); the
    # date of birth is counted apart from now on; a count under the limit goes on.
    guard = LoginGuard(store, SecuritySettings(lock_after=3, lock_minutes=30))
    assert guard.begin("izbica", "", "12345678", TELEKOD, now=NOW + 60).verdict is Verdict.LOCKED
    assert guard.begin("izbica", "", "12345678", BIRTH, now=NOW + 60).allowed
    assert guard.failures("izbica", "11112222", TELEKOD) == (1, 0.0)
    assert guard.begin("izbica", "", "12345678", TELEKOD, now=NOW + 30 * 60 + 1).allowed

    # The plain-hash audit trail reads, and the key's first entry anchors it.
    audit = AuditLog(store, FIXTURE_KEY)
    assert [e.action for e in audit.entries()] == ["authenticate", "block_card", "prompt_edit"]
    [proof] = audit.entries(reference="90000001")
    assert (proof.result, proof.customer) == ("journaled", "*****678")
    audit.check_key()  # what the app does at start
    check = audit.verify(full=True)
    assert check.ok and check.unkeyed == 3, check

    # The journal, callbacks and the admin page's users and sessions.
    pending = BlockJournal(store).entries("pending")
    assert [(e.operation_id, e.reference, e.kind) for e in pending] == [
        ("op-1", "90000001", "block_card")
    ]
    [callback] = CallbackBook(store).list("izbica")
    assert (callback.number, callback.queue) == ("600100200", "konsultanci")
    accounts = Accounts(store, clock=lambda: NOW + 60)
    user = accounts.check_password("ola", "old-password-1234")
    assert user is not None and (user.role, user.tenant) == ("admin", "*")
    session = accounts.session(OLD_SESSION)
    assert session is not None and session.user == user
    assert accounts.failures_since("jan", NOW - 1) == 1


def test_a_store_made_just_before_versions_is_adopted_where_it_was(
    tmp_path: Path, fresh_schema: list[tuple[str, str]]
) -> None:
    """Made by the code up to schema versions: migrations 1 to 4 are found in
    place (the scopes column, the checkpoint, login_locks), the later ones run."""
    path = old_store(tmp_path / "state.sqlite", "8e0403f")
    store = Store(path)
    assert [(v, how) for v, _, how in recorded(path)] == [
        (1, "found"), (2, "found"), (3, "found"), (4, "found")
    ] + [(v, "applied") for v in range(5, LATEST + 1)]  # fmt: skip
    assert schema(path) == fresh_schema
    token = store.check_token(TODAY_TOKEN)
    assert token is not None and token.scopes == {"queues", "supervise"}
    guard = LoginGuard(store, SecuritySettings(lock_after=3, lock_minutes=30))
    for method in (TELEKOD, BIRTH):
        assert guard.begin("izbica", "", "12345678", method, now=NOW + 60).verdict is Verdict.LOCKED
    check = AuditLog(store, FIXTURE_KEY).verify(full=True)
    assert check.ok and check.entries == 1 and check.unkeyed == 0, check


def test_a_store_with_only_some_tables_of_an_older_release_is_completed(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as db:  # older still: no web pages, no callbacks
        db.execute(
            "CREATE TABLE admin_tokens (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL "
            "UNIQUE, tenant TEXT NOT NULL, created TEXT NOT NULL)"
        )
        db.execute("INSERT INTO admin_tokens VALUES ('old', 'h', '*', 'x')")
    db.close()
    Store(path)
    assert [(v, how) for v, _, how in recorded(path)] == [
        (v, "applied") for v in range(1, LATEST + 1)
    ]
    db = sqlite3.connect(path)
    assert db.execute("SELECT name, scopes FROM admin_tokens").fetchall() == [("old", "prompts")]
    assert db.execute("SELECT COUNT(*) FROM web_sessions").fetchone() == (0,)
    db.close()


def test_opening_again_changes_nothing_and_takes_no_write_lock(tmp_path: Path) -> None:
    path = old_store(tmp_path / "state.sqlite", "9c035a7")
    first = Store(path)
    before = (schema(path), recorded(path), first.prompt_texts("izbica"))
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process writing: an up-to-date open only reads
    try:
        again = Store(path)
        assert upgrade(again.read(lambda db: db), path) == []
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert (schema(path), recorded(path), again.prompt_texts("izbica")) == before
    assert LoginGuard(again, SecuritySettings()).failures("izbica", "11112222", TELEKOD) == (1, 0.0)


OPEN_IN_A_PROCESS = """
import logging, sys
from pathlib import Path
from stasis_app.store import Store
handler = logging.StreamHandler(sys.stderr)
handler.setFormatter(logging.Formatter("%(message)s %(version)s"))
logging.getLogger("stasis_app.store.migrate").addHandler(handler)
logging.getLogger("stasis_app.store.migrate").setLevel(logging.INFO)
print("opening", flush=True)
print(Store(Path(sys.argv[1])).schema_version(), flush=True)
"""


def test_two_processes_opening_an_old_store_at_once_both_end_on_the_newest(
    tmp_path: Path,
) -> None:
    """Both read "no version" before either takes the write lock (held here
    meanwhile, as a third process would); each step re-reads the version
    under the lock, so the second finds the work done instead of failing on
    it, and every migration runs once."""
    path = old_store(tmp_path / "state.sqlite", "9c035a7")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    children = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_IN_A_PROCESS, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for _ in range(2)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "opening"
        time.sleep(1.0)  # both are at the lock by now (not asserted: only what follows is)
    finally:
        holder.execute("COMMIT")
        holder.close()
    results = [child.communicate(timeout=60) for child in children]
    assert [child.returncode for child in children] == [0, 0], results
    assert [out.strip() for out, _ in results] == [str(LATEST), str(LATEST)]
    migrated = [line for _, err in results for line in err.splitlines() if "store migrated" in line]
    assert sorted(int(line.split()[-1]) for line in migrated) == list(range(2, LATEST + 1))
    assert [v for v, _, _ in recorded(path)] == list(range(1, LATEST + 1))
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM login_locks").fetchone() == (2,)  # moved once
    db.close()


def test_a_store_from_a_newer_release_is_refused_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "state.sqlite"
    Store(path)
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO schema_migrations VALUES (?, 'from_the_future', 'x', 'applied')",
            (LATEST + 1,),
        )
    db.close()
    before = schema(path)
    with pytest.raises(StoreTooNew) as refused:
        Store(path)
    message = str(refused.value)
    assert str(path) in message and f"{LATEST + 1} is newer" in message
    assert schema(path) == before and recorded(path)[-1][0] == LATEST + 1  # left as it was

    # An admin running a command sees it, and the command stops (exit 2).
    monkeypatch.setenv("INFOLINIA_STATE", str(path))
    monkeypatch.setenv("INFOLINIA_AUDIT_HEADS_FILE", str(tmp_path / "audit-heads.log"))
    assert main(["--config", str(TEST_CONFIG), "journal", "list"]) == 2
    err = capsys.readouterr().err
    assert f"infolinia: {path}: schema version: {LATEST + 1} is newer" in err


def test_a_failing_migration_is_rolled_back_and_named(tmp_path: Path) -> None:
    store = Store(tmp_path / "state.sqlite")
    broken = Migration(
        LATEST + 1,
        "half_done",
        ("CREATE TABLE half (a TEXT)", "ALTER TABLE no_such_table ADD COLUMN b TEXT"),
        lambda schema: False,
    )
    with pytest.raises(MigrationFailed) as failed:
        upgrade(store.read(lambda db: db), store.path, [*MIGRATIONS, broken])
    assert str(store.path) in str(failed.value)
    assert f"migration {LATEST + 1} (half_done) failed" in str(failed.value)
    assert store.schema_version() == LATEST
    assert "half" not in {name for name, _ in schema(store.path)}  # nothing of it left


def test_every_migration_says_what_it_changes() -> None:
    from stasis_app.store import migrations

    modules = sorted(p.stem for p in Path(migrations.__path__[0]).glob("v[0-9]*.py"))
    assert [f"v{m.version:03d}_{m.name}" for m in MIGRATIONS] == modules
    for module in modules:
        text = (Path(migrations.__path__[0]) / f"{module}.py").read_text()
        assert text.startswith('"""'), module


# --- the same migrations on PostgreSQL -------------------------------------------


def test_a_new_postgresql_store_gets_every_migration_in_its_types(
    postgres_url: str, fresh_schema: list[tuple[str, str]]
) -> None:
    store = Store(postgres_url)
    assert store.schema_version() == LATEST
    recorded_there = store.read(
        lambda db: db.execute(
            "SELECT version, how FROM schema_migrations ORDER BY version"
        ).fetchall()
    )
    assert recorded_there == [(v, "applied") for v in range(1, LATEST + 1)]
    columns = store.read(
        lambda db: db.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        ).fetchall()
    )
    types = {f"{table}.{column}": kind for table, column, kind in columns}
    # The same tables as a new SQLite store, in PostgreSQL's types.
    assert {name.split(".")[0] for name in types} == {
        name for name, sql in fresh_schema if sql.startswith("CREATE TABLE")
    }
    assert types["recordings.data"] == "bytea"
    assert types["login_locks.locked_until"] == "double precision"  # not 4-byte REAL
    assert types["journal.seq"] == types["audit.seq"] == "bigint"
    assert types["web_sessions.user"] == "text"
    assert types["journal.claimed_until"] == "double precision"


def test_a_failing_migration_is_rolled_back_on_postgresql(postgres_url: str) -> None:
    store = Store(postgres_url)
    broken = Migration(
        LATEST + 1,
        "half_done",
        ("CREATE TABLE half (a TEXT)", "ALTER TABLE no_such_table ADD COLUMN b TEXT"),
        lambda schema: False,
    )
    with pytest.raises(MigrationFailed) as failed:
        store.read(lambda db: upgrade(db, store.where, [*MIGRATIONS, broken]))
    assert postgres_url in str(failed.value)
    assert f"migration {LATEST + 1} (half_done) failed" in str(failed.value)
    assert store.schema_version() == LATEST
    assert store.read(lambda db: db.execute("SELECT to_regclass('half')").fetchone()) == (None,)


def test_a_postgresql_store_from_a_newer_release_is_refused(postgres_url: str) -> None:
    Store(postgres_url).transaction(
        lambda db: db.execute(
            "INSERT INTO schema_migrations VALUES (?, 'from_the_future', 'x', 'applied')",
            (LATEST + 1,),
        )
    )
    with pytest.raises(StoreTooNew) as refused:
        Store(postgres_url)
    assert postgres_url in str(refused.value) and f"{LATEST + 1} is newer" in str(refused.value)
