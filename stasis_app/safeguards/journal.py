"""The block journal: a block the caller confirmed is never lost.

When the bank's core system cannot confirm a block (it is down, the circuit
breaker is open, or it timed out twice with the same operation id), the
block is written here, durably, before the caller is told anything; the
caller hears that the report is registered and its reference. A background
worker (:class:`stasis_app.safeguards.blocks.JournalWorker`) sends each pending block to
the bank again through the block service, with the same operation id
(adapters are idempotent on it), until the bank confirms it (``delivered``)
or refuses it (``refused``: a consultant must look). ``infolinia journal
list`` shows them; an app restart loses nothing.

This module is the journal's storage only: what a block goes through on its
way here, and from here to the bank, is :mod:`stasis_app.safeguards.blocks`.
"""

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from stasis_app.errors import InfoliniaError
from stasis_app.store import Store

PENDING, DELIVERED, REFUSED = "pending", "delivered", "refused"
# A block request of a caller who could not log in: for the bank's staff,
# never delivered by the worker (stasis_app/verbs/block_request.py); staff
# close it as CONFIRMED (they reached the customer and blocked what was asked)
# or DECLINED (they could not confirm it was the customer).
REQUESTED, CONFIRMED, DECLINED = "requested", "confirmed", "declined"


class NoSuchRequest(InfoliniaError, LookupError):
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
        returns the entry already kept (a retry never makes a second one). A
        block request for a customer number that already has one open returns
        that one: calls (or a flood of them) join the request the bank's staff
        will confirm, instead of adding one each."""

        def work(db: sqlite3.Connection) -> JournalEntry:
            found = db.execute(
                "SELECT * FROM journal WHERE operation_id = ?", (operation_id,)
            ).fetchone()
            if found is None and state == REQUESTED:
                found = db.execute(
                    "SELECT * FROM journal WHERE tenant = ? AND customer = ? AND kind = ? "
                    "AND state = ? ORDER BY seq LIMIT 1",
                    (tenant, customer, kind, REQUESTED),
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
