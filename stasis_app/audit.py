"""The audit trail: every login attempt, every operation, every prompt edit
and admin action, appended to a hash chain in the state store.

Each entry carries the SHA-256 of its own fields and of the entry before it,
so editing or removing an entry breaks the chain from there on:
:meth:`AuditLog.verify` (``infolinia audit verify``) finds the first broken
entry. A block's reference finds the proof of its report
(``infolinia audit show --reference R``): PSD2 art. 70 asks that a customer
can have it for 18 months, so entries are never deleted by the app.

No secret ever reaches an entry: customer numbers are masked, PINs and dates
of birth are never passed in (``detail`` refuses keys that look like them).
"""

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from stasis_app.store import Store

GENESIS = "0" * 64
SECRET_WORDS = ("pin", "birth", "secret", "password", "telekod", "token")


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str  # ISO 8601, UTC
    tenant: str
    call_id: str
    caller: str  # the calling number, as the network gave it
    action: str  # identify, authenticate, block_card, ..., prompt_edit, admin_token
    customer: str  # masked: only the last three digits
    result: str  # ok, refused, locked, unavailable, confirmed, journaled, delivered, ...
    reference: str
    detail: str  # JSON object, no secrets
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    entries: int
    first_bad: int | None = None  # seq of the first entry that does not verify
    problem: str = ""


def mask_customer(number: str) -> str:
    """``12345678`` -> ``*****678``: enough to tell entries apart, not to log in."""
    return "*" * max(0, len(number) - 3) + number[-3:] if number else ""


def _digest(fields: list[Any]) -> str:
    material = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


def _fields(entry: AuditEntry) -> list[Any]:
    values = asdict(entry)
    values.pop("hash")
    return list(values.values())


class AuditLog:
    """Appends to and checks the hash-chained audit trail."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def append(
        self,
        *,
        tenant: str,
        action: str,
        result: str,
        call_id: str = "",
        caller: str = "",
        customer: str = "",
        reference: str = "",
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Add one entry (``customer`` in clear: it is masked here)."""
        detail = detail or {}
        for key in detail:
            if any(word in key.lower() for word in SECRET_WORDS):
                raise ValueError(f"audit detail {key!r} looks like a secret")
        text = json.dumps(detail, ensure_ascii=False, sort_keys=True)

        def work(db: sqlite3.Connection) -> AuditEntry:
            last = db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
            at = datetime.now(UTC).isoformat(timespec="milliseconds")
            draft = AuditEntry(
                seq,
                at,
                tenant,
                call_id,
                caller,
                action,
                mask_customer(customer),
                result,
                reference,
                text,
                prev,
                "",
            )
            entry = AuditEntry(**{**asdict(draft), "hash": _digest(_fields(draft))})
            db.execute(
                "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                tuple(asdict(entry).values()),
            )
            return entry

        return self.store.transaction(work)

    async def record(self, **fields: Any) -> AuditEntry:
        """:meth:`append`, off the event loop."""
        return await self.store.run(lambda: self.append(**fields))

    def entries(
        self,
        *,
        reference: str | None = None,
        tenant: str | None = None,
        since: str | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        """Entries matching every filter given, oldest first (the newest ``limit``)."""
        where, args = [], []
        for column, value in (("reference", reference), ("tenant", tenant)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            where.append("at >= ?")
            args.append(since)
        query = "SELECT * FROM audit" + (" WHERE " + " AND ".join(where) if where else "")
        query += " ORDER BY seq DESC LIMIT ?"
        rows = self.store.read(lambda db: db.execute(query, (*args, limit)).fetchall())
        return [AuditEntry(*row) for row in reversed(rows)]

    def verify(self) -> AuditCheck:
        """Recompute the chain from the first entry; stop at the first break."""

        def rows(db: sqlite3.Connection) -> list[Any]:
            return db.execute("SELECT * FROM audit ORDER BY seq").fetchall()

        prev, expected_seq, count = GENESIS, 1, 0
        for row in self.store.read(rows):
            entry = AuditEntry(*row)
            if entry.seq != expected_seq:
                return AuditCheck(
                    False, count, entry.seq, f"entries {expected_seq}..{entry.seq - 1} are gone"
                )
            if entry.prev_hash != prev:
                return AuditCheck(False, count, entry.seq, "does not follow the entry before it")
            if _digest(_fields(entry)) != entry.hash:
                return AuditCheck(False, count, entry.seq, "was changed after it was written")
            prev, expected_seq, count = entry.hash, entry.seq + 1, count + 1
        return AuditCheck(True, count)

    def head(self) -> tuple[int, str]:
        """The last entry's seq and hash: written to the app log from time to
        time, so that cutting entries off the end is noticed too."""
        row = self.store.read(
            lambda db: db.execute(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
            ).fetchone()
        )
        return (row[0], row[1]) if row else (0, GENESIS)
