"""The node's spool: while the shared store is down (PostgreSQL stopped, here
a server of this module's own), a block the caller confirms is still read
its reference, its journal and audit records wait on the node's disk, and
the journal's worker moves them into the store once it is back, once each,
and delivers the block."""

import asyncio
import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.demo import DemoSettings
from adapters.spec import BlockResult
from devtools.postgres import Postgres
from stasis_app.config import SecuritySettings
from stasis_app.safeguards import Safeguards
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.blocks import BlockOrder, BlockService, JournalWorker
from stasis_app.safeguards.journal import DELIVERED, PENDING, BlockJournal, JournalEntry
from stasis_app.safeguards.spool import Spool
from stasis_app.store import Store
from stasis_app.store import postgres as postgres_engine
from tests.test_blocks import CARD, CUSTOMER, ScriptedBank
from tests.test_login_verb import Bank, login

pytestmark = pytest.mark.unit

ORDER = BlockOrder.in_call("block_card", CARD, CUSTOMER, "call-7", tenant="t", caller="600")


async def rounds(worker: JournalWorker, until: Callable[[], bool], seconds: float = 30) -> None:
    """The worker's rounds (errors while the store comes back are its next round's)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        with contextlib.suppress(Exception):
            await worker.deliver_pending()
            if until():
                return
        assert asyncio.get_running_loop().time() < deadline, "the worker never caught up"
        await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
def restartable() -> Iterator[Postgres]:
    """A PostgreSQL this module alone uses, so stopping it troubles no other test."""
    # Port 55441: not the tests' server (55499) nor a bench's (55439, 55440, 55442).
    server = Postgres("spool-test", 55441, durable=False).up()
    yield server
    server.down()


@pytest.fixture
def url(restartable: Postgres, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    restartable.up()
    for key, value in restartable.env().items():
        monkeypatch.setenv(key, value)
    # A write waits 1 s for the stopped server here, not the app's 5 s: the
    # same path, four times quicker (the cluster's real-call test keeps 5 s).
    monkeypatch.setattr(postgres_engine, "POOL_WAIT", 1.0)
    restartable.drop_database("spool")
    yield restartable.create_database("spool")


async def test_blocks_confirmed_while_the_store_is_down_reach_it_once_when_it_is_back(
    restartable: Postgres, url: str, tmp_path: Path
) -> None:
    store = Store(url)
    spool = Spool(tmp_path / "spool")
    blocks = BlockService(BlockJournal(store), AuditLog(store), spool=spool)
    confirmed_bank = ScriptedBank(DemoSettings(database=tmp_path / "a.sqlite", tenant="t"), [])
    down_bank = ScriptedBank(DemoSettings(database=tmp_path / "b.sqlite", tenant="t"), ["down"])

    restartable.down()
    # The bank confirms, the audit cannot be written: the caller hears the bank's reference.
    confirmed = await blocks.block(ORDER, confirmed_bank)
    assert isinstance(confirmed, BlockResult) and confirmed.reference
    # The bank is down too: the block is kept with a reference read to the caller now.
    other = BlockOrder.in_call("block_card", CARD, CUSTOMER, "call-8", tenant="t", caller="601")
    journaled = await blocks.block(other, down_bank)
    assert isinstance(journaled, JournalEntry) and journaled.reference.startswith("9")
    assert len(spool) == 3  # the first block's audit; the second's journal and audit
    for file in (tmp_path / "spool").iterdir():
        assert file.stat().st_mode & 0o777 == 0o600
        assert CUSTOMER in file.read_text()  # the customer number, to deliver it; no secret
    assert (tmp_path / "spool").stat().st_mode & 0o777 == 0o700

    # Still down: a worker round moves nothing and loses nothing.
    worker = JournalWorker(BlockJournal(store), AuditLog(store), lambda _: down_bank, spool=spool)
    assert await worker.blocks.drain_spool() == 0 and len(spool) == 3

    restartable.up()
    down_bank.script = ["ok"]
    # The worker's rounds: each moves the spool first, then delivers what is
    # pending (the pool takes a moment to reconnect after a restart).
    await rounds(worker, until=lambda: len(spool) == 0 and not BlockJournal(store).entries(PENDING))
    [kept] = BlockJournal(store).entries()
    assert (kept.reference, kept.state, kept.call_id) == (journaled.reference, DELIVERED, "call-8")
    audit = AuditLog(store).entries()
    seen = [(e.call_id, e.result, e.reference) for e in audit]
    assert seen == [
        ("call-7", "confirmed", confirmed.reference),
        ("call-8", "journaled", journaled.reference),
        ("call-8", "delivered", journaled.reference),
    ]
    for entry in audit[:2]:
        detail = json.loads(entry.detail)
        assert detail["spooled"] and detail["happened_at"] <= entry.at
    assert AuditLog(store).verify(full=True).ok
    assert len(down_bank.snapshot(CUSTOMER)["blocks"]) == 1


async def test_a_record_moved_before_a_crash_removed_its_file_is_not_written_twice(
    restartable: Postgres, url: str, tmp_path: Path
) -> None:
    store = Store(url)
    spool = Spool(tmp_path / "spool")
    blocks = BlockService(BlockJournal(store), AuditLog(store), spool=spool)
    restartable.down()
    bank = ScriptedBank(DemoSettings(database=tmp_path / "a.sqlite", tenant="t"), [])
    await blocks.block(ORDER, bank)
    [waiting] = spool.pending()
    restartable.up()
    while await blocks.drain_spool() == 0:  # the pool reconnects
        await asyncio.sleep(0.2)
    # The crash: the file is back, as if its removal never happened.
    waiting.path.write_text(json.dumps({"kind": waiting.kind, "record": waiting.record}))
    os.chmod(waiting.path, 0o600)
    await blocks.drain_spool()
    assert len(spool) == 0
    assert [e.result for e in AuditLog(store).entries()] == ["confirmed"]


async def test_a_spool_left_unreadable_is_kept_for_a_person(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.put("audit", {"tenant": "t"})
    (tmp_path / "spool" / "0-broken.json").write_text("{not json")
    assert [s.record for s in spool.pending()] == [{"tenant": "t"}]
    assert len(spool) == 2
    await asyncio.sleep(0)


async def test_a_login_while_the_store_is_down_is_refused_politely_unasked(
    restartable: Postgres, url: str, tmp_path: Path
) -> None:
    """Without the guard's counters no telekod reaches the bank (guessing
    would have no limit): the caller is told the line cannot check now."""
    policy = SecuritySettings(min_login_seconds=0, login_wait_seconds=0)
    safeguards = Safeguards.on(Store(url), policy)
    bank = Bank(lambda: asyncio.sleep(0))
    restartable.down()
    assert await login(safeguards, bank) == "unavailable"
    assert bank.asked == 0


def test_the_pool_tries_again_at_least_every_two_seconds() -> None:
    """After PostgreSQL comes back a node is back within RECONNECT_EVERY, not
    after the pool's doubled waits (1, 2, 4, 8, 16 s ...)."""
    from psycopg_pool import pool as pool_module

    from stasis_app.store.postgres import RECONNECT_EVERY, SteadyReconnect

    assert pool_module.AttemptWithBackoff is SteadyReconnect  # type: ignore[attr-defined]
    attempt = SteadyReconnect(timeout=300)
    waits = []
    for second in range(8):
        attempt.update_delay(float(second))
        waits.append(attempt.delay)
    assert max(waits) == RECONNECT_EVERY and waits[0] <= 1.1
