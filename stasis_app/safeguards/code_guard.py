"""Counting a customer's failed one-time codes across calls, nodes and
restarts (PSD2 RTS art. 4(3)(b): at most five failed authentications in a
row, then a block).

The counts live in the login guard's table (``login_locks``, migration 4)
under a login method of their own, :data:`METHOD`, so no migration is needed:
per bank and customer number, the failed codes in a row and the end of a
block. A code is *reserved* before it is compared (counted as failed in the
same write transaction; a right code takes the count back to zero, a code
that was never compared, an expired one, takes its reservation back), so
however many calls of one customer type codes at once, at most ``lock_after``
wrong codes are ever compared before the block. While blocked, ``send_code``
sends no code; the block ends ``lock_minutes`` after it started (or when a
consultant lifts it: :meth:`LoginGuard.unlock` without a method lifts this
one too).
"""

import time

from stasis_app.safeguards.login_guard import guard_scope
from stasis_app.store import Connection, Store

METHOD = "sms_code"  # the row kind in login_locks (the login verbs use their names)


class CodeGuard:
    """A customer's failed one-time codes in the state store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _row(self, db: Connection, tenant: str, customer: str) -> tuple[int, float]:
        row = db.execute(
            "SELECT consecutive, locked_until FROM login_locks "
            "WHERE tenant = ? AND customer = ? AND method = ?",
            (tenant, customer, METHOD),
        ).fetchone()
        return (int(row[0]), float(row[1])) if row else (0, 0.0)

    def _write(
        self, db: Connection, tenant: str, customer: str, consecutive: int, locked_until: float
    ) -> None:
        db.execute(
            "INSERT INTO login_locks (tenant, customer, method, consecutive, locked_until, "
            "holder, held_until) VALUES (?, ?, ?, ?, ?, '', 0) "
            "ON CONFLICT (tenant, customer, method) DO UPDATE SET "
            "consecutive = excluded.consecutive, locked_until = excluded.locked_until",
            (tenant, customer, METHOD, consecutive, locked_until),
        )

    def blocked(
        self,
        tenant: str,
        customer: str,
        lock_after: int,
        lock_minutes: float,
        now: float | None = None,
    ) -> bool:
        """Is paying by phone blocked for this customer now? (Failed codes left
        at ``lock_after`` by a call that died before settling block here.)"""
        now = time.time() if now is None else now

        def work(db: Connection) -> bool:
            return self._locked(db, tenant, customer, lock_after, lock_minutes, now)[0]

        return self.store.transaction(work, guard_scope(tenant))

    def reserve(
        self,
        tenant: str,
        customer: str,
        lock_after: int,
        lock_minutes: float,
        now: float | None = None,
    ) -> bool:
        """Count the code about to be compared as failed; False (nothing
        counted) when the customer is blocked: the code must not be compared."""
        now = time.time() if now is None else now

        def work(db: Connection) -> bool:
            locked, consecutive, locked_until = self._locked(
                db, tenant, customer, lock_after, lock_minutes, now
            )
            if locked:
                return False
            self._write(db, tenant, customer, consecutive + 1, locked_until)
            return True

        return self.store.transaction(work, guard_scope(tenant))

    def _locked(
        self,
        db: Connection,
        tenant: str,
        customer: str,
        lock_after: int,
        lock_minutes: float,
        now: float,
    ) -> tuple[bool, int, float]:
        """Whether paying by phone is blocked for the customer at ``now``, a
        count left at ``lock_after`` (by a call that died before settling)
        becoming the block here; and the row's count and lock time."""
        consecutive, locked_until = self._row(db, tenant, customer)
        if locked_until > now:
            return True, consecutive, locked_until
        if consecutive >= lock_after:
            self._write(db, tenant, customer, 0, now + lock_minutes * 60)
            return True, 0, now + lock_minutes * 60
        return False, consecutive, locked_until

    def settle(
        self,
        tenant: str,
        customer: str,
        outcome: str,
        lock_after: int,
        lock_minutes: float,
        now: float | None = None,
    ) -> bool:
        """Settle a reserved code: ``ok`` resets the count, ``not_compared``
        takes the reservation back, anything else keeps it. True when this
        failure started a block."""
        now = time.time() if now is None else now

        def work(db: Connection) -> bool:
            consecutive, locked_until = self._row(db, tenant, customer)
            if outcome == "ok":
                if locked_until <= now:
                    self._write(db, tenant, customer, 0, locked_until)
                return False
            if outcome == "not_compared":
                self._write(db, tenant, customer, max(consecutive - 1, 0), locked_until)
                return False
            if consecutive >= lock_after and locked_until <= now:
                self._write(db, tenant, customer, 0, now + lock_minutes * 60)
                return True
            return False

        return self.store.transaction(work, guard_scope(tenant))

    def failures(self, tenant: str, customer: str) -> tuple[int, float]:
        """The failed codes in a row counted now, and the block's end."""
        return self.store.read(lambda db: self._row(db, tenant, customer))
