"""The block journal: a block the caller confirmed is never lost.

When the bank's core system cannot confirm a block (it is down, the circuit
breaker is open, or it timed out twice with the same operation id), the
block is written here, durably, before the caller is told anything; the
caller hears that the report is registered and its reference. A background
worker (:class:`JournalWorker`) sends each pending block to the bank again,
with the same operation id (adapters are idempotent on it), until the bank
confirms it (``delivered``) or refuses it (``refused``: a consultant must
look). ``infolinia journal list`` shows them; an app restart loses nothing.
"""

import asyncio
import logging
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import cast

from adapters.errors import AdapterError, NotFound, Refused
from adapters.spec import BlockResult, CoreBanking, Customer
from stasis_app.audit import AuditLog
from stasis_app.store import Store

log = logging.getLogger(__name__)

PENDING, DELIVERED, REFUSED = "pending", "delivered", "refused"
# A block request of a caller who could not log in: for the bank's staff,
# never delivered by the worker (stasis_app/verbs/block_request.py); staff
# close it as CONFIRMED (they reached the customer and blocked what was asked)
# or DECLINED (they could not confirm it was the customer).
REQUESTED, CONFIRMED, DECLINED = "requested", "confirmed", "declined"


class NoSuchRequest(LookupError):
    """No block request awaiting the bank has that reference."""


@dataclass(frozen=True)
class JournalEntry:
    seq: int
    operation_id: str
    tenant: str
    call_id: str
    caller: str
    customer: str  # in clear: needed to deliver the block (not a secret)
    kind: str  # "block_card", "block_internet_banking" or "block_request"
    target: str  # the card id, or "internet-banking"
    reference: str  # what the caller was read back
    state: str  # pending, delivered, refused; or requested
    created: str
    attempts: int
    last_error: str
    bank_reference: str  # the bank's own reference once delivered
    settled: str  # when it was delivered or refused


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class BlockJournal:
    """Pending blocks in the state store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(
        self,
        *,
        operation_id: str,
        tenant: str,
        call_id: str,
        caller: str,
        customer: str,
        kind: str,
        target: str,
        state: str = PENDING,
    ) -> JournalEntry:
        """Keep a confirmed block for later delivery; the same operation id
        returns the entry already kept (a retry never makes a second one)."""

        def work(db: sqlite3.Connection) -> JournalEntry:
            found = db.execute(
                "SELECT * FROM journal WHERE operation_id = ?", (operation_id,)
            ).fetchone()
            if found is not None:
                return JournalEntry(*found)
            while True:  # 8 digits starting with 9: read like the bank's, told apart
                reference = "9" + "".join(secrets.choice("0123456789") for _ in range(7))
                taken = db.execute("SELECT 1 FROM journal WHERE reference = ?", (reference,))
                if taken.fetchone() is None:
                    break
            cursor = db.execute(
                "INSERT INTO journal (operation_id, tenant, call_id, caller, customer, kind, "
                "target, reference, state, created, attempts, last_error, bank_reference, "
                "settled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', '', '')",
                (
                    operation_id,
                    tenant,
                    call_id,
                    caller,
                    customer,
                    kind,
                    target,
                    reference,
                    state,
                    _now(),
                ),
            )
            row = db.execute("SELECT * FROM journal WHERE seq = ?", (cursor.lastrowid,))
            return JournalEntry(*row.fetchone())

        return self.store.transaction(work)

    def entries(self, state: str | None = None) -> list[JournalEntry]:
        query, args = "SELECT * FROM journal", cast(tuple[str, ...], ())
        if state is not None:
            query, args = query + " WHERE state = ?", (state,)
        rows = self.store.read(lambda db: db.execute(query + " ORDER BY seq", args).fetchall())
        return [JournalEntry(*row) for row in rows]

    def settle(
        self, operation_id: str, state: str, bank_reference: str = "", why: str = ""
    ) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE journal SET state = ?, bank_reference = ?, last_error = ?, settled = ?, "
                "attempts = attempts + 1 WHERE operation_id = ?",
                (state, bank_reference, why, _now(), operation_id),
            )

        self.store.transaction(work)

    def close_request(self, reference: str, outcome: str, who: str, note: str = "") -> JournalEntry:
        """A member of the bank's staff closes a block request (``CONFIRMED`` or
        ``DECLINED``), naming themselves; only a request still awaiting the bank."""
        if outcome not in (CONFIRMED, DECLINED):
            raise ValueError(f"a block request is closed as {CONFIRMED} or {DECLINED}")

        def work(db: sqlite3.Connection) -> JournalEntry:
            changed = db.execute(
                "UPDATE journal SET state = ?, bank_reference = ?, last_error = ?, settled = ? "
                "WHERE reference = ? AND state = ?",
                (outcome, f"by {who}", note, _now(), reference, REQUESTED),
            )
            if changed.rowcount != 1:
                raise NoSuchRequest(reference)
            row = db.execute("SELECT * FROM journal WHERE reference = ?", (reference,))
            return JournalEntry(*row.fetchone())

        return self.store.transaction(work)

    def failed_attempt(self, operation_id: str, why: str) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "UPDATE journal SET attempts = attempts + 1, last_error = ? WHERE operation_id = ?",
                (why, operation_id),
            )

        self.store.transaction(work)


async def deliver(entry: JournalEntry, bank: CoreBanking) -> BlockResult:
    """Ask the bank for the journalled block, with its original operation id."""
    customer = Customer(entry.customer)
    if entry.kind == "block_card":
        return await bank.block_card(customer, entry.target, entry.operation_id)
    return await bank.block_internet_banking(customer, entry.operation_id)


class JournalWorker:
    """Delivers pending blocks while the app runs."""

    def __init__(
        self,
        journal: BlockJournal,
        audit: AuditLog,
        banks: Callable[[str], CoreBanking | None],
        every: float = 10.0,
    ) -> None:
        self.journal = journal
        self.audit = audit
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
        """One round: try every pending block once; returns how many were settled."""
        settled = 0
        store, journal = self.journal.store, self.journal
        for entry in await store.run(partial(journal.entries, PENDING)):
            bank = self.banks(entry.tenant)
            if bank is None:
                continue  # the tenant is gone from the config: leave it for a person
            try:
                result = await deliver(entry, bank)
            except (Refused, NotFound) as exc:
                why = type(exc).__name__
                await store.run(partial(journal.settle, entry.operation_id, REFUSED, why=why))
                await self._audit(entry, "refused", "")
                log.error(
                    "journalled block refused by the bank; a consultant must call the customer",
                    extra={"tenant": entry.tenant, "reference": entry.reference},
                )
                settled += 1
                continue
            except AdapterError as exc:
                why = type(exc).__name__
                await store.run(partial(journal.failed_attempt, entry.operation_id, why))
                continue
            await store.run(
                partial(journal.settle, entry.operation_id, DELIVERED, result.reference)
            )
            await self._audit(entry, "delivered", result.reference)
            log.info(
                "journalled block delivered",
                extra={"tenant": entry.tenant, "reference": entry.reference},
            )
            settled += 1
        return settled

    async def _audit(self, entry: JournalEntry, result: str, bank_reference: str) -> None:
        await self.audit.record(
            tenant=entry.tenant,
            action=entry.kind,
            result=result,
            call_id=entry.call_id,
            caller=entry.caller,
            customer=entry.customer,
            reference=entry.reference,
            detail={"bank_reference": bank_reference, "journal": True},
        )
