"""The block service: a block the caller confirmed is never lost.

Every durable operation (block a card, block internet banking; a new one
is a function in :data:`DURABLE`) goes through :class:`BlockService`, from
a call (:meth:`BlockService.block`, used by the ``operation`` verb) or from
the block journal (:meth:`BlockService.deliver`, used by
:class:`JournalWorker`). The service owns what makes a block durable:

* the **operation id** (call, customer, what is blocked): adapters are
  idempotent on it, so asking again never blocks twice;
* one **retry** with the same id after a timeout (the bank may have
  blocked after all: the retry returns that block and its reference);
* the **journal** (:mod:`stasis_app.safeguards.journal`) when the bank still cannot
  confirm: the block is written there, durably, before the caller hears
  anything, and :class:`JournalWorker` delivers it when the bank is back;
* the **audit** of every outcome, where it happens: ``confirmed`` (detail
  ``already_blocked``), ``journaled`` (the journal's reference), ``refused``;
  from the journal ``delivered`` or ``refused`` (detail ``bank_reference``,
  ``journal``); a block request of a caller who could not log in is
  ``journaled`` too (:meth:`BlockService.request`);
* the node's **spool** (:mod:`stasis_app.safeguards.spool`) when the state
  store itself cannot take a journal or audit record (PostgreSQL
  restarting): the record waits on the node's disk, the caller hears the
  reference all the same, and :class:`JournalWorker` moves it into the store
  when it answers again (:meth:`BlockService.drain_spool`);
* **shielding**: a block runs in a task of its own, which a caller hanging
  up does not cancel; the app waits for :attr:`BlockService.in_flight` at
  shutdown.

Without the app's safeguards (tests of flows alone) the service has no
journal and no audit: a block the bank cannot confirm is ``Unavailable``.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from adapters.errors import AdapterError, NotFound, Refused, Timeout, Unavailable
from adapters.spec import BlockResult, CoreBanking, Customer
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.journal import (
    DELIVERED,
    PENDING,
    REFUSED,
    REQUESTED,
    BlockJournal,
    JournalEntry,
    new_reference,
)
from stasis_app.safeguards.spool import Spool, Spooled

log = logging.getLogger(__name__)

# How the bank's adapter is asked for a durable operation:
# (bank, customer, target, operation id) -> the bank's confirmation.
AskBank = Callable[[CoreBanking, Customer, str, str], Awaitable[BlockResult]]

INTERNET_BANKING = "internet-banking"  # the target of an internet banking block


def _block_card(
    bank: CoreBanking, customer: Customer, target: str, op: str
) -> Awaitable[BlockResult]:
    return bank.block_card(customer, target, op)


def _block_internet_banking(
    bank: CoreBanking, customer: Customer, target: str, op: str
) -> Awaitable[BlockResult]:
    return bank.block_internet_banking(customer, op)


SPOOLED = 0  # the seq of a journal entry kept in the node's spool (not in the store yet)


# Every durable operation by name: the name is the audit's action and the
# journal's kind, so a journalled one is delivered the same way after a restart.
DURABLE: dict[str, AskBank] = {
    "block_card": _block_card,
    "block_internet_banking": _block_internet_banking,
}


@dataclass(frozen=True)
class BlockOrder:
    """One durable operation a caller asked for: what, for whom, from which call."""

    kind: str  # a name in DURABLE (or "block_request")
    target: str  # the card id, or INTERNET_BANKING
    customer: str  # the customer number, in clear (masked by the audit)
    operation_id: str
    tenant: str = ""
    call_id: str = ""
    caller: str = ""

    @classmethod
    def in_call(
        cls, kind: str, target: str, customer: str, call_id: str, tenant: str = "", caller: str = ""
    ) -> "BlockOrder":
        """A block asked for in a call. Its operation id names the call, the
        customer and what is blocked: confirming the same block again (or a
        retry) blocks once, and another card or customer in the same call is
        a block of its own."""
        operation_id = f"{call_id}:{customer}:{target}"
        return cls(kind, target, customer, operation_id, tenant, call_id, caller)

    @classmethod
    def request(cls, customer: str, call_id: str, tenant: str, caller: str) -> "BlockOrder":
        """A block request of a caller who could not log in: one per call and
        customer number as typed, to be confirmed with the customer by the bank's staff."""
        operation_id = f"{call_id}:{customer}:request"
        target = "to confirm with the customer"
        return cls("block_request", target, customer, operation_id, tenant, call_id, caller)

    @classmethod
    def of(cls, entry: JournalEntry) -> "BlockOrder":
        """The block a journal entry keeps, with its original operation id."""
        return cls(
            entry.kind,
            entry.target,
            entry.customer,
            entry.operation_id,
            entry.tenant,
            entry.call_id,
            entry.caller,
        )


class BlockService:
    """Asks the bank for durable operations, journals what it cannot confirm,
    audits every outcome. The app's is :attr:`stasis_app.safeguards.Safeguards.blocks`
    (its ``in_flight`` outlives a config reload); the journal's worker makes one
    on the same journal and audit: the service keeps no state but the blocks
    under way."""

    def __init__(
        self,
        journal: BlockJournal | None,
        audit: AuditLog | None,
        in_flight: "set[asyncio.Future[Any]] | None" = None,
        spool: Spool | None = None,
    ) -> None:
        self.journal = journal
        self.audit = audit
        self.spool = spool  # where records wait while the store cannot take them
        # Blocks under way: the app waits for them before it exits.
        self.in_flight: set[asyncio.Future[Any]] = in_flight if in_flight is not None else set()

    def block(
        self, order: BlockOrder, bank: CoreBanking
    ) -> "asyncio.Future[BlockResult | JournalEntry]":
        """Start the block now, in a task of its own; await the returned future
        for its outcome: the bank's confirmation, or the journal's entry when
        the bank could not confirm it. Cancelling the future (the caller hung
        up) does not stop the block: it completes and is audited all the same.
        Raises ``Refused``/``NotFound`` when the bank said no (audited), and
        ``Unavailable`` only without a journal."""
        durable = asyncio.ensure_future(self._complete(order, bank))
        durable.add_done_callback(_retrieve)
        self.in_flight.add(durable)
        durable.add_done_callback(self.in_flight.discard)
        return asyncio.shield(durable)

    async def _complete(self, order: BlockOrder, bank: CoreBanking) -> BlockResult | JournalEntry:
        # Runs to its end even when the caller hangs up: the audit entry is
        # the customer's proof of the report.
        try:
            result = await self._block_or_journal(order, bank)
        except (Refused, NotFound):
            await self._audit(order, "refused")
            raise
        if isinstance(result, BlockResult):
            detail = {"already_blocked": result.already_blocked}
            await self._audit(order, "confirmed", result.reference, detail)
        else:
            # Kept in the spool (the store is down): its audit goes there at once,
            # not after another wait for the store with the caller on the line.
            spooled = result.seq == SPOOLED
            await self._audit(order, "journaled", result.reference, store_down=spooled)
        return result

    async def _block_or_journal(
        self, order: BlockOrder, bank: CoreBanking
    ) -> BlockResult | JournalEntry:
        ask = partial(DURABLE[order.kind], bank, Customer(order.customer), order.target)
        try:
            return await ask(order.operation_id)
        except Timeout:
            # The bank may have blocked after all: ask once more with the same
            # id, which returns the block (and its reference), not a second one.
            log.warning("block timed out; asking again", extra={"operation": order.kind})
            try:
                return await ask(order.operation_id)
            except Unavailable:
                pass
        except Unavailable:
            pass
        if self.journal is None:
            raise Unavailable("the bank did not confirm the block")
        entry = await self._record(order, PENDING)
        log.warning("block journalled for later delivery", extra={"operation": order.kind})
        return entry

    async def request(self, order: BlockOrder) -> JournalEntry:
        """Keep a block request of a caller who could not log in, for the bank's
        staff (state ``requested``: never sent to the core); audited ``journaled``,
        or ``joined`` when the customer number already has a request open (one
        request each, whoever calls how often: the staff call the number on file)."""
        entry = await self._record(order, REQUESTED)
        # Another call's open request for this customer number: this call joins it.
        joined = entry.operation_id != order.operation_id
        await self._audit(order, "joined" if joined else "journaled", entry.reference)
        return entry

    async def deliver(self, entry: JournalEntry, bank: CoreBanking) -> str | None:
        """Ask the bank once more for a journalled block, with its original
        operation id; settle and audit the answer. Returns the entry's new
        state (``delivered`` or ``refused``), or None while the bank still
        cannot confirm it (the attempt is counted)."""
        journal, order = self._journal(), BlockOrder.of(entry)
        store, ask = journal.store, DURABLE.get(order.kind)
        if ask is None:  # a kind this version cannot deliver: leave it for a person
            log.error("journalled block of an unknown kind", extra={"kind": order.kind})
            await store.run(partial(journal.failed_attempt, entry.operation_id, "unknown kind"))
            return None
        try:
            result = await ask(bank, Customer(order.customer), order.target, order.operation_id)
        except (Refused, NotFound) as exc:
            why = type(exc).__name__
            await store.run(partial(journal.settle, entry.operation_id, REFUSED, why=why))
            await self._audit_delivery(entry, "refused", "")
            log.error(
                "journalled block refused by the bank; a consultant must call the customer",
                extra={"tenant": entry.tenant, "reference": entry.reference},
            )
            return REFUSED
        except AdapterError as exc:
            why = type(exc).__name__
            await store.run(partial(journal.failed_attempt, entry.operation_id, why))
            return None
        await store.run(partial(journal.settle, entry.operation_id, DELIVERED, result.reference))
        await self._audit_delivery(entry, "delivered", result.reference)
        log.info(
            "journalled block delivered",
            extra={"tenant": entry.tenant, "reference": entry.reference},
        )
        return DELIVERED

    def _journal(self) -> BlockJournal:
        if self.journal is None:
            raise RuntimeError("this block service has no journal (the app's safeguards)")
        return self.journal

    async def _record(self, order: BlockOrder, state: str) -> JournalEntry:
        journal = self._journal()
        fields = {
            "operation_id": order.operation_id,
            "tenant": order.tenant,
            "call_id": order.call_id,
            "caller": order.caller,
            "customer": order.customer,
            "kind": order.kind,
            "target": order.target,
            "state": state,
        }
        try:
            return await journal.store.run(partial(journal.record, **fields))
        except Exception:
            if self.spool is None:
                raise
            log.exception("the journal cannot be written; the block waits in this node's spool")
        # The store is down: the block is kept on this node's disk with the
        # reference the caller is read now, and reaches the journal later.
        spooled = {**fields, "reference": new_reference(), "created": _now()}
        await asyncio.to_thread(self.spool.put, "journal", spooled)
        return JournalEntry(
            SPOOLED, order.operation_id, order.tenant, order.call_id, order.caller, order.customer,
            order.kind, order.target, spooled["reference"], state, spooled["created"], 0, "", "",
            "",
        )  # fmt: skip

    async def _audit(
        self,
        order: BlockOrder,
        result: str,
        reference: str = "",
        detail: dict[str, Any] | None = None,
        store_down: bool = False,
    ) -> None:
        if self.audit is None:
            return
        fields: dict[str, Any] = {
            "tenant": order.tenant,
            "action": order.kind,
            "result": result,
            "call_id": order.call_id,
            "caller": order.caller,
            "customer": order.customer,
            "reference": reference,
            "detail": detail or {},
        }
        if self.spool is None or not store_down:
            try:
                await self.audit.record(**fields)
                return
            except Exception:
                if self.spool is None:
                    raise
                log.exception("the audit cannot be written; its entry waits in this node's spool")
        fields["detail"] = {**fields["detail"], "happened_at": _now()}
        await asyncio.to_thread(self.spool.put, "audit", fields)

    async def drain_spool(self) -> int:
        """Move what this node's spool kept into the store, oldest first;
        returns how many records moved. Stops at the first the store does
        not take (it is still down: the rest wait for the next round)."""
        if self.spool is None:
            return 0
        moved = 0
        for spooled in await asyncio.to_thread(self.spool.pending):
            try:
                await self._unspool(spooled)
            except Exception:
                log.warning("the spool waits: the store does not take its records yet",
                            exc_info=True)  # fmt: skip
                break
            await asyncio.to_thread(self.spool.done, spooled)
            moved += 1
        if moved:
            log.info("spooled records moved into the store", extra={"records": moved})
        return moved

    async def _unspool(self, spooled: Spooled) -> None:
        record = dict(spooled.record)
        if spooled.kind == "journal":
            journal = self._journal()
            await journal.store.run(partial(journal.record, **record))
            return
        audit = self.audit
        if audit is None:
            return
        record["detail"] = {**record.get("detail", {}), "spooled": spooled.id}
        # Already there (moved before a crash took the file's removal): not twice.
        since = str(record["detail"].get("happened_at", ""))[:10] or None
        found = await audit.store.run(
            partial(audit.entries, reference=record["reference"], tenant=record["tenant"],
                    since=since, limit=10_000)
        )  # fmt: skip
        if any(f'"spooled": "{spooled.id}"' in entry.detail for entry in found):
            return
        await audit.record(**record)

    async def _audit_delivery(self, entry: JournalEntry, result: str, bank_reference: str) -> None:
        # The caller was read the journal's reference: the audit keeps it, and the bank's.
        detail = {"bank_reference": bank_reference, "journal": True}
        await self._audit(BlockOrder.of(entry), result, entry.reference, detail)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _retrieve(task: "asyncio.Future[Any]") -> None:
    # Nobody awaits a block whose caller hung up: its outcome is audited inside;
    # only a fault of our own (the journal's store failing, say) is logged here.
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and not isinstance(error, AdapterError):
        log.error("block could not be completed", exc_info=error)


class JournalWorker:
    """Delivers the journal's pending blocks through the block service while the app runs."""

    def __init__(
        self,
        journal: BlockJournal,
        audit: AuditLog,
        banks: Callable[[str], CoreBanking | None],
        every: float = 10.0,
        spool: Spool | None = None,
    ) -> None:
        self.journal = journal
        self.blocks = BlockService(journal, audit, spool=spool)
        self.banks = banks  # tenant id -> its (guarded) adapter
        self.every = every

    async def run(self) -> None:
        while True:
            try:
                await self.deliver_pending()
            except Exception:  # the store is busy, say: try again next round
                log.exception("journal round failed")
            await asyncio.sleep(self.every)

    async def deliver_pending(self) -> int:
        """One round: try every pending block once; returns how many were settled.
        Each block is claimed first: a worker on another node sharing the store
        never asks the bank for the same block meanwhile."""
        await self.blocks.drain_spool()  # first: a spooled block is pending too
        settled, after = 0, 0
        store, journal = self.journal.store, self.journal
        while (entry := await store.run(partial(journal.claim_next, after))) is not None:
            after = entry.seq
            bank = self.banks(entry.tenant)
            if bank is None:
                continue  # the tenant is gone from the config: leave it for a person
            if await self.blocks.deliver(entry, bank) is not None:
                settled += 1
        return settled
