"""Callback requests: a waiting caller asks a consultant to call them back.

Kept in the state store (table ``callbacks``) in the order callers started
waiting, so a callback keeps the caller's place: staff work through
``infolinia queue callbacks`` (or the admin API) oldest first and mark each
done. The number is the one the caller confirmed; the customer number is
kept only for a caller who logged in. Nothing secret is ever stored.
"""

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from stasis_app.store import Connection, Store

OPEN, DONE = "open", "done"
# A Callback's fields, in order.
COLUMNS = (
    "id, tenant, queue, number, customer, level, waiting_since, requested, state, done_by, done"
)
# The store's write scope of the callback book (its rows only): a callback
# booked at the end of a call never waits for the whole store (docs/state.md).
CALLBACKS_SCOPE = "callbacks"


@dataclass(frozen=True)
class Callback:
    id: int
    tenant: str
    queue: str
    number: str
    customer: str  # "" unless the caller logged in
    level: str  # authenticated, identified or ""
    waiting_since: str  # ISO 8601, UTC: the place in the queue it keeps
    requested: str
    state: str
    done_by: str
    done: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class CallbackBook:
    """Callback requests over the state store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(
        self,
        tenant: str,
        queue: str,
        number: str,
        *,
        customer: str = "",
        level: str = "",
        waiting_since: datetime | None = None,
    ) -> int:
        since = (waiting_since or datetime.now(UTC)).isoformat(timespec="seconds")

        def work(db: Connection) -> int:
            row = db.execute(
                "INSERT INTO callbacks (tenant, queue, number, customer, level, waiting_since,"
                " requested, state, done_by, done) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '', '')"
                " RETURNING id",
                (tenant, queue, number, customer, level, since, _now(), OPEN),
            ).fetchone()
            return int(row[0])

        return self.store.transaction(work, CALLBACKS_SCOPE)

    def list(self, tenant: str | None = None, state: str | None = OPEN) -> list[Callback]:
        """Requests, oldest place in the queue first (``tenant`` None or "*": all)."""
        query = f"SELECT {COLUMNS} FROM callbacks WHERE 1=1"
        params: list[str] = []
        if tenant not in (None, "*"):
            query += " AND tenant = ?"
            params.append(str(tenant))
        if state is not None:
            query += " AND state = ?"
            params.append(state)
        query += " ORDER BY waiting_since, id"
        rows = self.store.read(lambda db: db.execute(query, params).fetchall())
        return [Callback(*row) for row in rows]

    def mark_done(self, callback_id: int, who: str, tenant: str | None = None) -> bool:
        """Mark a request handled; False when there is no such open request
        (of ``tenant``, when given: None or "*" for any)."""
        query = "UPDATE callbacks SET state = ?, done_by = ?, done = ? WHERE id = ? AND state = ?"
        params: list[object] = [DONE, who, _now(), callback_id, OPEN]
        if tenant not in (None, "*"):
            query += " AND tenant = ?"
            params.append(tenant)

        def work(db: Connection) -> bool:
            return db.execute(query, params).rowcount == 1

        return self.store.transaction(work, CALLBACKS_SCOPE)
