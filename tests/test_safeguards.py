"""The state behind a bank line's safeguards: the hash-chained audit trail,
guessing counters across calls, the block journal and its delivery, and the
circuit breaker around a failing core; on both engines of the state store."""

import asyncio
from pathlib import Path

import pytest

from adapters.demo import DemoBank, DemoSettings
from adapters.errors import Timeout, Unavailable
from adapters.guard import GuardedAdapter
from adapters.spec import BlockResult, Card, CardStatus, Customer
from stasis_app.safeguards.audit import AuditLog, mask_customer
from stasis_app.safeguards.blocks import JournalWorker
from stasis_app.safeguards.journal import DELIVERED, PENDING, BlockJournal
from stasis_app.store import Store
from tests.support.stores import tampering

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]


@pytest.fixture
def store(state_where: Path | str) -> Store:
    return Store(state_where)


def test_audit_chain_verifies_and_catches_edits_and_removals(store: Store) -> None:
    audit = AuditLog(store)
    for n in range(5):
        audit.append(
            tenant="izbica",
            action="authenticate",
            result="ok",
            customer="12345678",
            caller="600100200",
            call_id=f"c{n}",
        )
    block = audit.append(
        tenant="izbica",
        action="block_card",
        result="confirmed",
        customer="12345678",
        reference="10000042",
    )
    assert audit.verify().ok and audit.verify().entries == 6
    assert block.customer == "*****678" and "12345678" not in str(audit.entries())
    assert [e.seq for e in audit.entries(reference="10000042")] == [block.seq]

    with tampering(store) as db:
        db.execute("UPDATE audit SET result = 'refused' WHERE seq = 3")
    check = audit.verify()
    assert (check.ok, check.first_bad, check.entries) == (False, 3, 2)
    assert "changed" in check.problem

    with tampering(store) as db:
        db.execute("UPDATE audit SET result = 'ok' WHERE seq = 3")  # put back
        db.execute("DELETE FROM audit WHERE seq = 4")
    check = audit.verify()
    assert (check.ok, check.first_bad) == (False, 5) and "gone" in check.problem


def test_audit_refuses_what_looks_like_a_secret(store: Store) -> None:
    with pytest.raises(ValueError, match="secret"):
        AuditLog(store).append(tenant="t", action="a", result="r", detail={"pin": "1234"})
    assert mask_customer("87654321") == "*****321" and mask_customer("") == ""


class FlakyBank(DemoBank):
    """The demo bank, down until told otherwise."""

    down = True

    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        if self.down:
            raise Unavailable("core down")
        return await super().block_card(customer, card_id, operation_id)


async def test_a_journalled_block_is_delivered_once_the_bank_is_back(
    store: Store, tmp_path: Path
) -> None:
    bank = FlakyBank(DemoSettings(database=tmp_path / "bank.sqlite", tenant="t"))
    journal, audit = BlockJournal(store), AuditLog(store)
    entry = journal.record(
        operation_id="call-1:12345678:card-1111",
        tenant="t",
        call_id="call-1",
        caller="600",
        customer="12345678",
        kind="block_card",
        target="card-1111",
    )
    same = journal.record(
        operation_id="call-1:12345678:card-1111",
        tenant="t",
        call_id="x",
        caller="",
        customer="12345678",
        kind="block_card",
        target="card-1111",
    )
    assert same.reference == entry.reference and entry.reference.startswith("9")
    worker = JournalWorker(journal, audit, lambda tenant: bank if tenant == "t" else None)

    assert await worker.deliver_pending() == 0  # still down
    [pending] = BlockJournal(Store(store.where)).entries(PENDING)  # survives a restart
    assert pending.attempts == 1 and pending.last_error == "Unavailable"

    bank.down = False
    assert await worker.deliver_pending() == 1
    [done] = journal.entries()
    assert done.state == DELIVERED and done.bank_reference.isdigit()
    cards = await bank.list_cards(Customer("12345678"))
    assert cards[0].status is CardStatus.BLOCKED
    [proof] = audit.entries(reference=entry.reference)
    assert (proof.action, proof.result) == ("block_card", "delivered")
    assert await worker.deliver_pending() == 0  # nothing left, nothing sent twice


class SlowBank(DemoBank):
    async def list_cards(self, customer: Customer) -> list[Card]:
        await asyncio.sleep(1)
        return []


async def test_the_breaker_opens_after_failures_and_closes_after_an_answer(tmp_path: Path) -> None:
    bank = SlowBank(DemoSettings(database=tmp_path / "bank.sqlite", tenant="t"))
    guarded = GuardedAdapter(bank, "slow", timeout=0.05, breaker_failures=2, breaker_seconds=0.3)
    for _ in range(2):
        with pytest.raises(Timeout):
            await guarded.list_cards(Customer("12345678"))
    assert guarded.circuit_open
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(Unavailable, match="circuit open"):
        await guarded.list_cards(Customer("12345678"))
    assert loop.time() - started < 0.05  # refused at once, not after the timeout
    await asyncio.sleep(0.35)
    assert (await guarded.list_accounts(Customer("12345678")))[0].currency == "PLN"
    assert not guarded.circuit_open


def test_audit_and_journal_commands(
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from stasis_app.cli import main
    from tests.conftest import TEST_CONFIG

    monkeypatch.setenv("INFOLINIA_STATE", str(store.where))
    monkeypatch.setenv("INFOLINIA_AUDIT_HEADS_FILE", str(tmp_path / "audit-heads.log"))
    audit = AuditLog(store)
    audit.append(
        tenant="izbica",
        action="block_card",
        result="confirmed",
        customer="12345678",
        caller="600100200",
        call_id="c1",
        reference="10000042",
    )
    BlockJournal(store).record(
        operation_id="c2:87654321:internet-banking",
        tenant="izbica",
        call_id="c2",
        caller="",
        customer="87654321",
        kind="block_internet_banking",
        target="internet-banking",
    )
    config = ["--config", str(TEST_CONFIG)]
    assert main([*config, "audit", "show", "--reference", "10000042"]) == 0
    out = capsys.readouterr().out
    assert "izbica block_card confirmed ref 10000042 customer *****678 caller 600100200" in out
    assert main([*config, "audit", "show", "--reference", "99999999"]) == 1
    assert main([*config, "audit", "verify"]) == 0
    assert "audit trail intact: 1 entries, head #1" in capsys.readouterr().out
    with tampering(store) as db:
        db.execute("UPDATE audit SET reference = '10000043'")
    assert main([*config, "audit", "verify"]) == 1
    assert "BROKEN at entry #1" in capsys.readouterr().out
    assert main([*config, "journal", "list", "--pending"]) == 0
    assert "pending   izbica block_internet_banking internet-banking" in capsys.readouterr().out
