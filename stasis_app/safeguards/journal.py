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

import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from stasis_app.errors import InfoliniaError
from stasis_app.store import Connection, Store

PENDING, DELIVERED, REFUSED = "pending", "delivered", "refused"
# A block request of a caller who could not log in: for the bank's staff,
# never delivered by the worker (stasis_app/verbs/block_request.py); staff
# close it as CONFIRMED (they reached the customer and blocked what was asked)
# or DECLINED (they could not confirm it was the customer).
REQUESTED, CONFIRMED, DECLINED = "requested", "confirmed", "declined"
# A JournalEntry's fields, in order (the table has the claim's columns after them).
COLUMNS = (
    "seq, operation_id, tenant, call_id, caller, customer, kind, target, reference, state, "
    "created, attempts, last_error, bank_reference, settled"
)
# How long a worker's claim on a pending block lasts: longer than one delivery
# (the adapter's timeouts, twice); a worker that died lets go after it.
CLAIM_SECONDS = 120.0
# The store's write scope of the journal: its writers take turns on every node,
# beside the login guard and the audit chain (stasis_app/store/state.py).
JOURNAL_SCOPE = "journal"


class NoSuchRequest(InfoliniaError, LookupError):
    """No block request awaiting the bank has that reference."""


def new_reference() -> str:
    """A journal reference: 8 digits starting with 9, read like the bank's
    references and told apart from them."""
    return "9" + "".join(secrets.choice("0123456789") for _ in range(7))


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
        # Who claims blocks through this journal: the node and the process.
        self.worker = f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"

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
        reference: str | None = None,
        created: str | None = None,
    ) -> JournalEntry:
        """Keep a confirmed block for later delivery; the same operation id
        returns the entry already kept (a retry never makes a second one). A
        block request for a customer number that already has one open returns
        that one: calls (or a flood of them) join the request the bank's staff
        will confirm, instead of adding one each. ``reference`` and ``created``
        are given for a block the node's spool kept while the store was down
        (the caller was read that reference then)."""

        def work(db: Connection) -> JournalEntry:
            found = db.execute(
                f"SELECT {COLUMNS} FROM journal WHERE operation_id = ?", (operation_id,)
            ).fetchone()
            if found is None and state == REQUESTED:
                found = db.execute(
                    f"SELECT {COLUMNS} FROM journal WHERE tenant = ? AND customer = ? AND kind = ? "
                    "AND state = ? ORDER BY seq LIMIT 1",
                    (tenant, customer, kind, REQUESTED),
                ).fetchone()
            if found is not None:
                return JournalEntry(*found)
            chosen = reference
            while chosen is None:
                chosen = new_reference()
                taken = db.execute("SELECT 1 FROM journal WHERE reference = ?", (chosen,))
                if taken.fetchone() is not None:
                    chosen = None
            row = db.execute(
                "INSERT INTO journal (operation_id, tenant, call_id, caller, customer, kind, "
                "target, reference, state, created, attempts, last_error, bank_reference, "
                "settled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, '', '', '') "
                f"RETURNING {COLUMNS}",
                (
                    operation_id,
                    tenant,
                    call_id,
                    caller,
                    customer,
                    kind,
                    target,
                    chosen,
                    state,
                    created or _now(),
                ),
            ).fetchone()
            return JournalEntry(*row)

        return self.store.transaction(work, JOURNAL_SCOPE)

    def claim_next(self, after: int = 0, now: float | None = None) -> JournalEntry | None:
        """The oldest pending block after seq ``after`` that no worker holds,
        now held by this journal's worker for :data:`CLAIM_SECONDS`; None when
        there is none. One write transaction of the journal's scope (its
        writers take turns, on every node), so two workers, on one node or two, never hold
        the same block: each pending block is asked of the bank by one
        worker. Settling it, or a failed attempt, lets go of it."""
        now = time.time() if now is None else now
        # PostgreSQL: a row another transaction holds is passed over, not waited
        # for (journal writers take turns: the scope, belt and braces).
        skip = " FOR UPDATE SKIP LOCKED" if self.store.dialect == "postgresql" else ""

        def work(db: Connection) -> JournalEntry | None:
            row = db.execute(
                f"SELECT {COLUMNS} FROM journal WHERE state = ? AND seq > ? "
                f"AND claimed_until <= ? ORDER BY seq LIMIT 1{skip}",
                (PENDING, after, now),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE journal SET claimed_by = ?, claimed_until = ? WHERE seq = ?",
                (self.worker, now + CLAIM_SECONDS, row[0]),
            )
            return JournalEntry(*row)

        return self.store.transaction(work, JOURNAL_SCOPE)

    def entries(self, state: str | None = None) -> list[JournalEntry]:
        query, args = f"SELECT {COLUMNS} FROM journal", cast(tuple[str, ...], ())
        if state is not None:
            query, args = query + " WHERE state = ?", (state,)
        rows = self.store.read(lambda db: db.execute(query + " ORDER BY seq", args).fetchall())
        return [JournalEntry(*row) for row in rows]

    def settle(
        self, operation_id: str, state: str, bank_reference: str = "", why: str = ""
    ) -> None:
        def work(db: Connection) -> None:
            db.execute(
                "UPDATE journal SET state = ?, bank_reference = ?, last_error = ?, settled = ?, "
                "attempts = attempts + 1, claimed_by = '', claimed_until = 0 "
                "WHERE operation_id = ?",
                (state, bank_reference, why, _now(), operation_id),
            )

        self.store.transaction(work, JOURNAL_SCOPE)

    def close_request(self, reference: str, outcome: str, who: str, note: str = "") -> JournalEntry:
        """A member of the bank's staff closes a block request (``CONFIRMED`` or
        ``DECLINED``), naming themselves; only a request still awaiting the bank."""
        if outcome not in (CONFIRMED, DECLINED):
            raise ValueError(f"a block request is closed as {CONFIRMED} or {DECLINED}")

        def work(db: Connection) -> JournalEntry:
            changed = db.execute(
                "UPDATE journal SET state = ?, bank_reference = ?, last_error = ?, settled = ? "
                "WHERE reference = ? AND state = ?",
                (outcome, f"by {who}", note, _now(), reference, REQUESTED),
            )
            if changed.rowcount != 1:
                raise NoSuchRequest(reference)
            row = db.execute(f"SELECT {COLUMNS} FROM journal WHERE reference = ?", (reference,))
            return JournalEntry(*row.fetchone())

        return self.store.transaction(work, JOURNAL_SCOPE)

    def failed_attempt(self, operation_id: str, why: str) -> None:
        def work(db: Connection) -> None:
            db.execute(
                "UPDATE journal SET attempts = attempts + 1, last_error = ?, claimed_by = '', "
                "claimed_until = 0 WHERE operation_id = ?",
                (why, operation_id),
            )

        self.store.transaction(work, JOURNAL_SCOPE)
