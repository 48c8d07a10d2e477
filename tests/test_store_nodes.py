"""Several nodes on one PostgreSQL store: what must be one truth across nodes
is. Each test opens two (or more) :class:`Store` objects on the same
database, as two app instances on two machines would: each with its own
connection pool and threads.

* wrong telekods spread over two nodes lock the customer at ``lock_after``,
  and logins typed at the same moment on both reach the bank one at a time;
* audit appends interleaved from two nodes make one chain that ``verify``
  accepts;
* two journal workers on two nodes deliver each pending block exactly once;
* nodes starting at once migrate a new store once, one after another;
* credentials never come from the config: a URL with a password is refused,
  and so is a password file others may read.
"""

import asyncio
import logging
import textwrap
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from adapters.demo import DemoBank, DemoSettings
from adapters.spec import BlockResult, Customer
from stasis_app.config import SecuritySettings, load_settings
from stasis_app.errors import ConfigError
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.audit_key import AuditKey
from stasis_app.safeguards.blocks import JournalWorker
from stasis_app.safeguards.journal import DELIVERED, BlockJournal
from stasis_app.safeguards.login_guard import Attempt, LoginGuard, Verdict
from stasis_app.store import LATEST, Store
from stasis_app.store.migrate import MIGRATIONS

pytestmark = pytest.mark.unit

TELEKOD = "authenticate"
KEY = AuditKey(b"nodes test audit key, never a real one!!", "test")


@pytest.fixture
def nodes(postgres_url: str) -> tuple[Store, Store]:
    """Two nodes' stores on one PostgreSQL database."""
    return Store(postgres_url), Store(postgres_url)


def test_five_wrong_telekods_over_two_nodes_lock_the_customer(nodes: tuple[Store, Store]) -> None:
    policy = SecuritySettings(lock_after=5, lock_minutes=30)
    one, two = (LoginGuard(store, policy) for store in nodes)
    locked = []
    for n in range(5):  # node 1, node 2, node 1, ...
        guard = (one, two)[n % 2]
        attempt = guard.begin("izbica", f"60010020{n}", "12345678", TELEKOD, now=1000 + n)
        assert attempt.allowed, (n, attempt)
        locked.append(guard.finish(attempt, "refused", now=1000 + n))
    assert locked == [False] * 4 + [True]
    for guard in (one, two):  # both nodes refuse the sixth, whoever takes the call
        assert guard.begin("izbica", "", "12345678", TELEKOD, now=1006).verdict is Verdict.LOCKED
    assert one.failures("izbica", "12345678", TELEKOD) == two.failures(
        "izbica", "12345678", TELEKOD
    )


def test_logins_at_one_moment_on_two_nodes_reach_the_bank_one_at_a_time(
    nodes: tuple[Store, Store],
) -> None:
    guards = [LoginGuard(store, SecuritySettings(lock_after=5)) for store in nodes]
    start = threading.Barrier(16)

    def one(n: int) -> Attempt:
        start.wait()
        return guards[n % 2].begin("izbica", f"6001{n:05}", "12345678", TELEKOD, now=1000)

    with ThreadPoolExecutor(16) as pool:
        attempts = list(pool.map(one, range(16)))
    assert sum(a.allowed for a in attempts) == 1
    assert {a.verdict for a in attempts if not a.allowed} == {Verdict.BUSY}


def test_audit_appends_from_two_nodes_make_one_chain(nodes: tuple[Store, Store]) -> None:
    logs = [AuditLog(store, KEY) for store in nodes]
    start = threading.Barrier(8)

    def append(n: int) -> list[int]:
        start.wait()
        return [
            logs[n % 2]
            .append(tenant="izbica", action="block_card", result="confirmed", reference=f"{n}{k}")
            .seq
            for k in range(10)
        ]

    with ThreadPoolExecutor(8) as pool:
        seqs = [seq for batch in pool.map(append, range(8)) for seq in batch]
    assert sorted(seqs) == list(range(1, 81))  # every append got its own place
    for audit in logs:  # either node verifies the whole chain
        check = audit.verify(full=True)
        assert check.ok and check.entries == 80, check


async def test_audit_records_arriving_together_are_committed_together(
    nodes: tuple[Store, Store],
) -> None:
    """Group commit (safeguards/group_commit.py): 40 entries recorded at once
    on each of two nodes take a few transactions, not 80, and still make one
    whole chain in the order each node was given them."""
    logs = [AuditLog(store, KEY) for store in nodes]
    entries = await asyncio.gather(
        *(
            logs[n % 2].record(
                tenant="izbica", action="block_card", result="confirmed", reference=f"r{n:02}"
            )
            for n in range(80)
        )
    )
    assert sorted(e.seq for e in entries) == list(range(1, 81))
    assert sum(log.commits for log in logs) < 80 // 4, [log.commits for log in logs]
    for node in (0, 1):  # a node's entries keep the order they were recorded in
        mine = [e for n, e in enumerate(entries) if n % 2 == node]
        assert [e.seq for e in mine] == sorted(e.seq for e in mine)
    check = logs[1].verify(full=True)
    assert check.ok and check.entries == 80, check


def test_writers_of_other_scopes_pass_a_held_scope_and_unscoped_ones_wait(
    nodes: tuple[Store, Store],
) -> None:
    """While one node holds bank A's guard scope open, the other node logs a
    caller in to bank B and appends to the audit chain; a write of no scope
    (a prompt edit) waits, on PostgreSQL's lock table, and goes ahead once
    bank A's transaction commits. Ordering, not timing."""
    one, two = nodes
    held, release = threading.Event(), threading.Event()

    def hold(db: object) -> None:
        held.set()
        assert release.wait(30)

    with ThreadPoolExecutor(3) as pool:
        holder = pool.submit(one.transaction, hold, "guard:bank-a")
        assert held.wait(30)
        guard = LoginGuard(two, SecuritySettings())
        other_bank = pool.submit(guard.begin, "bank-b", "600100200", "12345678", TELEKOD)
        assert other_bank.result(timeout=30).allowed  # did not wait for bank A
        AuditLog(two, KEY).append(tenant="bank-b", action="identify", result="ok")
        unscoped = pool.submit(
            two.set_prompt_text, "bank-b", "greeting", "Dzień dobry.", "test", current="Witamy."
        )
        waiting = "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        while two.read(lambda db: db.execute(waiting).fetchone()[0]) == 0:
            assert not unscoped.done(), "a write of no scope went ahead of a held scope"
            time.sleep(0.01)
        assert not unscoped.done()
        release.set()
        holder.result(timeout=30)
        unscoped.result(timeout=30)
    assert two.prompt_texts("bank-b") == {"greeting": "Dzień dobry."}


class CountingBank(DemoBank):
    """A bank that confirms every block, slowly, counting what it was asked."""

    def __init__(self, settings: DemoSettings) -> None:
        super().__init__(settings)
        self.asked: Counter[str] = Counter()

    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        self.asked[operation_id] += 1
        await asyncio.sleep(0.02)  # the other node's worker runs meanwhile
        return BlockResult(f"{len(self.asked):08d}")


async def test_two_journal_workers_on_two_nodes_deliver_each_block_once(
    nodes: tuple[Store, Store], tmp_path: Path
) -> None:
    first = BlockJournal(nodes[0])
    operations = [f"call-{n}:12345678:card-1111" for n in range(12)]
    for n, operation in enumerate(operations):
        first.record(
            operation_id=operation, tenant="t", call_id=f"call-{n}", caller="600",
            customer="12345678", kind="block_card", target="card-1111",
        )  # fmt: skip
    bank = CountingBank(DemoSettings(database=tmp_path / "bank.sqlite", tenant="t"))
    workers = [
        JournalWorker(BlockJournal(store), AuditLog(store, KEY), lambda tenant: bank)
        for store in nodes
    ]
    settled = await asyncio.gather(*(worker.deliver_pending() for worker in workers))
    assert sum(settled) == 12 and all(settled), settled  # both took part
    assert bank.asked == Counter({operation: 1 for operation in operations})
    assert {e.state for e in BlockJournal(nodes[1]).entries()} == {DELIVERED}
    assert await workers[1].deliver_pending() == 0  # nothing left for anyone
    await bank.close()


def test_nodes_starting_at_once_migrate_a_new_store_once(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="stasis_app.store.migrate")
    start = threading.Barrier(3)

    def open_store(_: int) -> int:
        start.wait()
        return Store(postgres_url).schema_version()

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(open_store, range(3))) == [LATEST] * 3
    migrated = [r.version for r in caplog.records if r.getMessage() == "store migrated"]  # type: ignore[attr-defined]
    assert sorted(migrated) == list(range(1, LATEST + 1))  # each once, by one node or another
    store = Store(postgres_url)
    rows = store.read(
        lambda db: db.execute("SELECT version, name, how FROM schema_migrations").fetchall()
    )
    assert sorted(rows) == [(m.version, m.name, "applied") for m in MIGRATIONS]


# --- credentials ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://infolinia:s3cret-pw@127.0.0.1:55499/infolinia",
        "postgresql://infolinia@127.0.0.1:55499/infolinia?password=s3cret-pw",
    ],
)
def test_a_state_url_carrying_a_password_is_refused(tmp_path: Path, url: str) -> None:
    config = tmp_path / "infolinia.yaml"
    config.write_text(f"state: {url}\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(config, resolve_secrets=False, env={})
    message = str(refused.value)
    assert f"{config}: state: the URL carries a password" in message
    assert "INFOLINIA_STATE_PASSWORD" in message and "s3cret-pw" not in message


def test_a_state_url_is_kept_as_written_and_a_file_stays_a_path(tmp_path: Path) -> None:
    config = tmp_path / "infolinia.yaml"
    config.write_text("state: postgresql://infolinia@db.example:5432/infolinia\n")
    state = load_settings(config, resolve_secrets=False, env={}).state
    assert state == "postgresql://infolinia@db.example:5432/infolinia"
    config.write_text("state: var/state.sqlite\n")
    assert (
        load_settings(config, resolve_secrets=False, env={}).state == tmp_path / "var/state.sqlite"
    )


def test_a_password_file_others_may_read_is_refused(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "state-password"
    secret.write_text("whatever\n")
    secret.chmod(0o644)
    monkeypatch.setenv("INFOLINIA_STATE_PASSWORD_FILE", str(secret))
    with pytest.raises(ConfigError) as refused:
        Store(postgres_url)
    message = str(refused.value)
    assert f"{secret}: INFOLINIA_STATE_PASSWORD_FILE: is readable by others (mode 0644)" in message


def test_a_wrong_password_is_refused_without_echoing_it(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFOLINIA_STATE_PASSWORD", "not-the-password-42")
    with pytest.raises(ConfigError) as refused:
        Store(postgres_url)
    message = str(refused.value)
    assert "cannot open the PostgreSQL store" in message and "password authentication" in message
    assert "not-the-password-42" not in message


def test_the_password_file_is_read_when_private(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    given = Path(os.environ["INFOLINIA_STATE_PASSWORD_FILE"])
    private = tmp_path / "state-password"
    private.touch(mode=0o600)
    private.write_text(given.read_text())
    monkeypatch.setenv("INFOLINIA_STATE_PASSWORD_FILE", str(private))
    assert Store(postgres_url).schema_version() == LATEST


def test_a_config_naming_a_postgresql_store_opens_it(postgres_url: str, tmp_path: Path) -> None:
    config = tmp_path / "infolinia.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            state: {postgres_url}
            audit:
              key_file: {tmp_path / "keys" / "audit.key"}
            """
        )
    )
    store = Store(load_settings(config, resolve_secrets=False).state)
    assert store.dialect == "postgresql" and store.where == postgres_url
    with pytest.raises(AttributeError, match="no file"):
        store.path  # noqa: B018
