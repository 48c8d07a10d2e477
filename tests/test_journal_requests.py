"""Block requests of callers who could not log in: kept for the bank's staff,
never sent to the core by the journal's worker, closed by a person, audited."""

import asyncio
from pathlib import Path

import pytest

from adapters.demo import DemoBank, DemoSettings
from stasis_app.cli import main
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.blocks import JournalWorker
from stasis_app.safeguards.journal import REQUESTED, BlockJournal
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]


def request(journal: BlockJournal) -> str:
    entry = journal.record(
        operation_id="c9:87654321:request",
        tenant="izbica",
        call_id="c9",
        caller="anonymous",
        customer="87654321",
        kind="block_request",
        target="to confirm with the customer",
        state=REQUESTED,
    )
    return entry.reference


def test_the_worker_never_sends_a_request_to_the_core(
    tmp_path: Path, state_where: Path | str
) -> None:
    store = Store(state_where)
    journal = BlockJournal(store)
    request(journal)
    bank = DemoBank(DemoSettings(database=tmp_path / "bank.sqlite", tenant="izbica"))
    worker = JournalWorker(journal, AuditLog(store), lambda tenant: bank)
    assert asyncio.run(worker.deliver_pending()) == 0
    assert bank.snapshot("87654321")["blocks"] == []
    [entry] = journal.entries()
    assert (entry.state, entry.attempts) == (REQUESTED, 0)
    asyncio.run(bank.close())


def test_staff_list_and_close_a_request_and_it_is_audited(
    tmp_path: Path,
    state_where: Path | str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store = Store(state_where)
    monkeypatch.setenv("INFOLINIA_STATE", str(store.where))
    monkeypatch.setenv("INFOLINIA_AUDIT_HEADS_FILE", str(tmp_path / "audit-heads.log"))
    reference = request(BlockJournal(store))
    config = ["--config", str(TEST_CONFIG)]
    assert main([*config, "journal", "list", "--requests"]) == 0
    assert f"{reference} requested izbica block_request" in capsys.readouterr().out
    assert main([*config, "journal", "close", reference, "--confirmed", "--by", "ewa"]) == 0
    assert f"{reference} confirmed by ewa" in capsys.readouterr().out
    assert main([*config, "journal", "close", reference, "--declined"]) == 1  # closed already
    assert main([*config, "journal", "list", "--requests"]) == 0
    assert "no block requests await the bank" in capsys.readouterr().out
    [entry] = BlockJournal(store).entries()
    assert (entry.state, entry.bank_reference) == ("confirmed", "by ewa")
    [proof] = [e for e in AuditLog(store).entries(limit=10) if e.action == "block_request"]
    assert (proof.result, proof.reference, proof.customer) == ("confirmed", reference, "*****321")


def test_calls_for_one_customer_join_its_open_request(state_where: Path | str) -> None:
    """Fifty calls from hidden numbers leave one request for the customer
    number, not fifty; another customer gets their own. (Before: one each.)"""
    from stasis_app.safeguards.blocks import BlockOrder, BlockService

    store = Store(state_where)
    service = BlockService(BlockJournal(store), AuditLog(store))

    async def flood() -> list[str]:
        references = []
        for n in range(50):
            order = BlockOrder.request("87654321", f"c{n}", "izbica", "anonymous")
            references.append((await service.request(order)).reference)
        other = await service.request(BlockOrder.request("12345678", "d1", "izbica", ""))
        return [*references, other.reference]

    references = asyncio.run(flood())
    assert len(set(references[:50])) == 1 and references[50] != references[0]
    assert len(BlockJournal(store).entries(REQUESTED)) == 2
    results = [e.result for e in AuditLog(store).entries(limit=100) if e.action == "block_request"]
    assert sorted(set(results)) == ["joined", "journaled"] and results.count("joined") == 49
