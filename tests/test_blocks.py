"""The block service: a block the caller confirmed is asked for with one
operation id, asked again once after a timeout, journalled when the bank
cannot confirm it, audited where it completes, and not stopped by the
caller hanging up; the journal's worker delivers through the same service."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.demo import DemoBank, DemoSettings
from adapters.errors import Refused, Timeout, Unavailable
from adapters.spec import BlockResult, CardStatus, Customer
from stasis_app.config import SecuritySettings
from stasis_app.flow.context import CallContext
from stasis_app.safeguards import Safeguards
from stasis_app.safeguards.audit import AuditEntry, AuditLog
from stasis_app.safeguards.blocks import DURABLE, BlockOrder, BlockService, JournalWorker
from stasis_app.safeguards.journal import DELIVERED, PENDING, REQUESTED, BlockJournal, JournalEntry
from stasis_app.store import Store
from stasis_app.tenants import Tenant
from stasis_app.verbs.block_request import BlockRequest, BlockRequestParams
from stasis_app.verbs.operation import (
    CUSTOMER_VALUES,
    OPERATIONS,
    Block,
    OperationParams,
    OperationVerb,
)
from tests.support.fake_call import FakeCall

pytestmark = pytest.mark.unit

CUSTOMER, CARD = "12345678", "card-1111"


class ScriptedBank(DemoBank):
    """The demo bank, whose next block answers follow a script: "ok" (the
    real block), "timeout", "down", "refused", or "slow" (waits for ``go``)."""

    def __init__(self, settings: DemoSettings, script: list[str]) -> None:
        super().__init__(settings)
        self.script = script
        self.asked: list[str] = []  # the operation id of every block asked for
        self.go = asyncio.Event()

    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        self.asked.append(operation_id)
        answer = self.script.pop(0) if self.script else "ok"
        if answer == "timeout":
            # The bank blocked, but its answer never came.
            await super().block_card(customer, card_id, operation_id)
            raise Timeout("no answer in time")
        if answer == "down":
            raise Unavailable("core down")
        if answer == "refused":
            raise Refused("card closed")
        if answer == "slow":
            await self.go.wait()
        return await super().block_card(customer, card_id, operation_id)


@pytest.fixture
def store(state_where: Path | str) -> Store:
    return Store(state_where)  # on each engine


def bank(tmp_path: Path, *script: str) -> ScriptedBank:
    return ScriptedBank(DemoSettings(database=tmp_path / "bank.sqlite", tenant="t"), list(script))


def service(store: Store) -> BlockService:
    return BlockService(BlockJournal(store), AuditLog(store))


ORDER = BlockOrder.in_call("block_card", CARD, CUSTOMER, "call-1", tenant="t", caller="600")


def proof(store: Store) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(action, result, reference, detail) of every audit entry."""
    entries: list[AuditEntry] = AuditLog(store).entries()
    return [(e.action, e.result, e.reference, json.loads(e.detail)) for e in entries]


async def card_status(scripted: ScriptedBank) -> CardStatus:
    [card] = [c for c in await scripted.list_cards(Customer(CUSTOMER)) if c.card_id == CARD]
    return card.status


async def test_a_timeout_then_an_answer_is_one_block_asked_for_with_one_id(
    store: Store, tmp_path: Path
) -> None:
    scripted = bank(tmp_path, "timeout", "ok")
    result = await service(store).block(ORDER, scripted)
    assert isinstance(result, BlockResult)
    assert scripted.asked == ["call-1:12345678:card-1111"] * 2
    assert len(scripted.snapshot(CUSTOMER)["blocks"]) == 1
    assert proof(store) == [
        ("block_card", "confirmed", result.reference, {"already_blocked": False})
    ]
    assert BlockJournal(store).entries() == []


async def test_two_timeouts_journal_the_block_before_anyone_is_told(
    store: Store, tmp_path: Path
) -> None:
    scripted = bank(tmp_path, "timeout", "timeout")
    entry = await service(store).block(ORDER, scripted)
    assert isinstance(entry, JournalEntry)
    assert scripted.asked == ["call-1:12345678:card-1111"] * 2  # asked twice, not three times
    [kept] = BlockJournal(store).entries(PENDING)
    assert (kept.operation_id, kept.kind, kept.target) == (ORDER.operation_id, "block_card", CARD)
    assert (kept.reference, kept.caller, kept.call_id) == (entry.reference, "600", "call-1")
    assert proof(store) == [("block_card", "journaled", entry.reference, {})]


async def test_an_unavailable_bank_journals_the_block_without_asking_again(
    store: Store, tmp_path: Path
) -> None:
    scripted = bank(tmp_path, "down")
    entry = await service(store).block(ORDER, scripted)
    assert isinstance(entry, JournalEntry) and entry.reference.startswith("9")
    assert len(scripted.asked) == 1
    assert proof(store) == [("block_card", "journaled", entry.reference, {})]


async def test_without_a_journal_an_unconfirmed_block_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(Unavailable):
        await BlockService(None, None).block(ORDER, bank(tmp_path, "down"))


async def test_a_refusal_is_audited_and_raised(store: Store, tmp_path: Path) -> None:
    with pytest.raises(Refused):
        await service(store).block(ORDER, bank(tmp_path, "refused"))
    assert proof(store) == [("block_card", "refused", "", {})]
    assert BlockJournal(store).entries() == []


async def test_a_caller_hanging_up_does_not_stop_the_block(store: Store, tmp_path: Path) -> None:
    scripted = bank(tmp_path, "slow")
    blocks = service(store)
    caller = asyncio.ensure_future(blocks.block(ORDER, scripted))
    await asyncio.sleep(0.01)
    caller.cancel()  # the caller hangs up while the bank is slow
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert blocks.in_flight and proof(store) == []  # still under way
    scripted.go.set()
    await asyncio.wait(blocks.in_flight, timeout=5)
    assert not blocks.in_flight
    assert await card_status(scripted) is CardStatus.BLOCKED
    [(action, result, reference, _)] = proof(store)
    assert (action, result) == ("block_card", "confirmed") and reference.isdigit()


async def test_the_worker_delivers_a_journalled_block_through_the_service(
    store: Store, tmp_path: Path
) -> None:
    scripted = bank(tmp_path, "down", "ok")
    entry = await service(store).block(ORDER, scripted)
    assert isinstance(entry, JournalEntry)
    worker = JournalWorker(BlockJournal(store), AuditLog(store), lambda tenant: scripted)
    assert isinstance(worker.blocks, BlockService)
    assert await worker.deliver_pending() == 1
    assert scripted.asked == [ORDER.operation_id] * 2  # the same id, from the journal
    [done] = BlockJournal(store).entries()
    assert done.state == DELIVERED and done.bank_reference.isdigit()
    assert proof(store)[-1] == (
        "block_card",
        "delivered",
        entry.reference,  # the one the caller was read
        {"bank_reference": done.bank_reference, "journal": True},
    )
    assert await card_status(scripted) is CardStatus.BLOCKED


# --- the verbs through the service ---------------------------------------------------


CHANNEL = "1700000000.9"


def context(store: Store, scripted: ScriptedBank) -> CallContext:
    guards = Safeguards.on(store, SecuritySettings())
    tenant = Tenant(id="t", name="t", lines=["100"], flow=Path("f.yaml"), adapter={"name": "demo"})
    ctx = CallContext(
        call=FakeCall(channel_id=CHANNEL), tenant=tenant, bank=scripted, safeguards=guards
    )
    ctx.customer, ctx.level = Customer(CUSTOMER), "identified"
    return ctx


async def test_the_operation_verb_blocks_through_the_apps_service(
    store: Store, tmp_path: Path
) -> None:
    scripted = bank(tmp_path, "down")
    ctx = context(store, scripted)
    assert (
        ctx.safeguards is not None and ctx.safeguards.in_flight is ctx.safeguards.blocks.in_flight
    )
    assert await OperationVerb().run(ctx, OperationParams(name="list_cards")) == "ok"
    ctx.values["card"] = next(c for c in ctx.values["cards"] if c.card_id == CARD)
    assert await OperationVerb().run(ctx, OperationParams(name="block_card")) == "registered"
    [kept] = BlockJournal(store).entries(PENDING)
    assert ctx.values["reference"] == kept.reference
    assert kept.operation_id == f"{CHANNEL}:{CUSTOMER}:{CARD}"
    assert [(a, r) for a, r, _, _ in proof(store)] == [
        ("list_cards", "ok"),
        ("block_card", "journaled"),
    ]


async def test_a_block_request_is_kept_for_staff_through_the_service(
    store: Store, tmp_path: Path
) -> None:
    ctx = context(store, bank(tmp_path))
    ctx.values["customer_number"] = "87654321"
    assert await BlockRequest().run(ctx, BlockRequestParams()) == "done"
    [kept] = BlockJournal(store).entries()
    assert (kept.state, kept.kind, kept.operation_id) == (
        REQUESTED,
        "block_request",
        f"{CHANNEL}:87654321:request",
    )
    assert proof(store) == [("block_request", "journaled", kept.reference, {})]
    assert ctx.values["reference"] == kept.reference


def test_blocks_under_way_outlive_a_config_reload(store: Store) -> None:
    first = Safeguards.on(store, SecuritySettings())
    reloaded = Safeguards.on(store, SecuritySettings(), first.in_flight)  # what reload() does
    assert reloaded.blocks.in_flight is first.blocks.in_flight is first.in_flight


def test_every_durable_operation_has_a_way_to_the_bank_and_login_forgets_its_values() -> None:
    durable = {name for name, op in OPERATIONS.items() if isinstance(op, Block)}
    assert durable == {"block_card", "block_internet_banking"} and durable <= set(DURABLE)
    assert set(CUSTOMER_VALUES) == {
        "cards", "card", "accounts", "operations", "reference",
        "account_list", "account", "balance", "rates",  # the optional services (issue 21)
    }  # fmt: skip
