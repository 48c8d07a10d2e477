"""Stopping keypad guessing, across calls and app restarts.

Failed logins are counted per customer number (whether or not the number
exists, so a lock says nothing about it) and attempts per calling number.
The counts live in the state store, so hanging up and calling again, or an
app restart, does not reset them:

* ``lock_after`` failures in a row lock phone login for that customer number
  for ``lock_minutes`` (a right login resets the count);
* a calling number that tried ``caller_slow_after`` different customer numbers
  within ``caller_window_minutes`` waits ``slow_seconds`` more per attempt; at
  ``caller_refuse_after`` it is refused.

The per-call limit (three failures end the call) is the login verb's
``max_failures``.
"""

import sqlite3
import time
from enum import StrEnum

from stasis_app.config import SecuritySettings
from stasis_app.store import Store


class Verdict(StrEnum):
    ALLOW = "allow"
    SLOW = "slow"  # allowed, after a delay
    LOCKED = "locked"  # the customer number is locked
    REFUSED = "refused"  # the calling number tried too many customer numbers


class LoginGuard:
    """Reads and updates the guessing counters in the state store."""

    def __init__(self, store: Store, policy: SecuritySettings) -> None:
        self.store = store
        self.policy = policy

    def verdict(self, tenant: str, caller: str, customer: str, now: float | None = None) -> Verdict:
        """May this caller try to log in as ``customer`` now?"""
        now = time.time() if now is None else now
        window = now - self.policy.caller_window_minutes * 60

        def work(db: sqlite3.Connection) -> Verdict:
            lock = db.execute(
                "SELECT locked_until FROM login_failures WHERE tenant = ? AND customer = ?",
                (tenant, customer),
            ).fetchone()
            if lock is not None and lock[0] > now:
                return Verdict.LOCKED
            if not caller:
                return Verdict.ALLOW  # withheld number: the per-customer lock still holds
            tried = {
                row[0]
                for row in db.execute(
                    "SELECT customer FROM login_attempts WHERE tenant = ? AND caller = ? "
                    "AND at >= ?",
                    (tenant, caller, window),
                )
            }
            tried.add(customer)
            if len(tried) >= self.policy.caller_refuse_after:
                return Verdict.REFUSED
            if len(tried) > self.policy.caller_slow_after:
                return Verdict.SLOW
            return Verdict.ALLOW

        return self.store.read(work)

    def record(
        self, tenant: str, caller: str, customer: str, ok: bool, now: float | None = None
    ) -> bool:
        """Count one attempt; returns True when this failure locked the customer."""
        now = time.time() if now is None else now

        def work(db: sqlite3.Connection) -> bool:
            if caller:
                db.execute(
                    "INSERT INTO login_attempts VALUES (?, ?, ?, ?)",
                    (tenant, caller, customer, now),
                )
            db.execute(
                "DELETE FROM login_attempts WHERE at < ?",
                (now - self.policy.caller_window_minutes * 60,),
            )
            if ok:
                db.execute(
                    "DELETE FROM login_failures WHERE tenant = ? AND customer = ?",
                    (tenant, customer),
                )
                return False
            row = db.execute(
                "SELECT consecutive FROM login_failures WHERE tenant = ? AND customer = ?",
                (tenant, customer),
            ).fetchone()
            failures = (row[0] if row else 0) + 1
            locked = failures >= self.policy.lock_after
            until = now + self.policy.lock_minutes * 60 if locked else 0.0
            db.execute(
                "INSERT INTO login_failures VALUES (?, ?, ?, ?) ON CONFLICT (tenant, customer) "
                "DO UPDATE SET consecutive = excluded.consecutive, "
                "locked_until = excluded.locked_until",
                (tenant, customer, 0 if locked else failures, until),
            )
            return locked

        return self.store.transaction(work)

    def unlock(self, tenant: str, customer: str) -> bool:
        """A consultant lifts a lock (after identifying the customer another way)."""

        def work(db: sqlite3.Connection) -> bool:
            return (
                db.execute(
                    "DELETE FROM login_failures WHERE tenant = ? AND customer = ?",
                    (tenant, customer),
                ).rowcount
                > 0
            )

        return self.store.transaction(work)
