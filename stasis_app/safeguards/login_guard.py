"""Stopping keypad guessing, across calls, callers and app restarts.

Every phone login goes through :meth:`LoginGuard.begin` before the bank is
asked and :meth:`LoginGuard.finish` once it has answered. ``begin`` gives the
verdict and, when the login may go ahead, *reserves* the attempt in the same
write transaction: the attempt is counted as a failure at once (a right
login takes it back) and holds the only slot for that customer number and
login method. So however many calls are placed at once, and from however
many calling numbers, at most ``lock_after`` wrong secrets for one customer
number ever reach the bank before the lock, and a late answer can never
lower a lock (``finish`` only ever raises ``locked_until``).

The counts live in the state store, so hanging up, calling again or an app
restart resets nothing:

* ``lock_after`` failures in a row lock that login method (telekod, or date
  of birth) for the customer number for ``lock_minutes``. The two methods
  are counted apart: someone guessing a victim's telekod must not take away
  the date of birth the victim uses to block a lost card;
* a calling number that tried ``caller_slow_after`` different customer
  numbers within ``caller_window_minutes`` waits ``slow_seconds`` more per
  attempt; at ``caller_refuse_after`` it is refused. Every withheld number
  (no caller id, "anonymous", ...) is one caller: one strict bucket;
* a bank takes at most ``login_rate_per_minute`` logins a minute (the
  tenant's own figure, or the default), whoever calls.

A login's slot is released by ``finish``; a slot whose app died with it
frees itself after ``login_hold_seconds``. The per-call limit (three
failures end the call) is the login verb's ``max_failures``.
"""

import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from stasis_app.config import SecuritySettings
from stasis_app.store import Connection, Store

# What callers' networks put in the caller id when the number is withheld.
WITHHELD = frozenset(
    {"", "anonymous", "unknown", "restricted", "private", "withheld", "unavailable"}
)
Outcome = Literal["ok", "refused", "unavailable", "abandoned"]


class Verdict(StrEnum):
    ALLOW = "allow"
    SLOW = "slow"  # allowed, after a delay
    LOCKED = "locked"  # the customer number is locked for this login method
    REFUSED = "refused"  # the calling number tried too many customer numbers
    BUSY = "busy"  # another login for this customer number is under way
    RATE = "rate"  # the bank's logins a minute are used up


@dataclass(frozen=True)
class Attempt:
    """A verdict, and for ALLOW and SLOW the reservation ``finish`` settles."""

    verdict: Verdict
    tenant: str
    customer: str
    method: str
    holder: str = ""  # the slot's token; empty when nothing was reserved

    @property
    def allowed(self) -> bool:
        return self.verdict in (Verdict.ALLOW, Verdict.SLOW)


def guard_scope(tenant: str) -> str:
    """The store's write scope of a bank's guard counts: every count ``begin``
    reads (a customer's failures and slot, a calling number's customers, the
    bank's logins this minute) is one bank's, so two banks' logins never wait
    for each other, and one bank's are checked one at a time on every node."""
    return f"guard:{tenant}"


def caller_bucket(caller: str) -> str:
    """The calling number as the guard counts it: every withheld number is one."""
    number = caller.strip()
    return "" if number.lower() in WITHHELD else number


class LoginGuard:
    """Reads and updates the guessing counters in the state store."""

    def __init__(self, store: Store, policy: SecuritySettings) -> None:
        self.store = store
        self.policy = policy

    def begin(
        self,
        tenant: str,
        caller: str,
        customer: str,
        method: str,
        rate_per_minute: int | None = None,
        now: float | None = None,
    ) -> Attempt:
        """May this caller try to log in as ``customer`` with ``method`` now?
        When allowed, the attempt is reserved (counted as a failure until
        :meth:`finish` says otherwise) and holds the customer's slot."""
        now = time.time() if now is None else now
        policy = self.policy
        rate = policy.login_rate_per_minute if rate_per_minute is None else rate_per_minute
        bucket = caller_bucket(caller)

        def work(db: Connection) -> Attempt:
            def answer(verdict: Verdict, holder: str = "") -> Attempt:
                return Attempt(verdict, tenant, customer, method, holder)

            row = db.execute(
                "SELECT consecutive, locked_until, holder, held_until FROM login_locks "
                "WHERE tenant = ? AND customer = ? AND method = ?",
                (tenant, customer, method),
            ).fetchone()
            consecutive, locked_until, holder, held_until = row or (0, 0.0, "", 0.0)
            if locked_until > now:
                return answer(Verdict.LOCKED)
            if consecutive >= policy.lock_after:  # reserved attempts whose app died
                self._lock(db, tenant, customer, method, now)
                return answer(Verdict.LOCKED)
            if holder and held_until > now:
                return answer(Verdict.BUSY)
            recent = db.execute(
                "SELECT COUNT(*) FROM login_attempts WHERE tenant = ? AND at > ?",
                (tenant, now - 60),
            ).fetchone()[0]
            if recent >= rate:
                return answer(Verdict.RATE)
            tried = {
                r[0]
                for r in db.execute(
                    "SELECT customer FROM login_attempts WHERE tenant = ? AND caller = ? "
                    "AND at >= ?",
                    (tenant, bucket, now - policy.caller_window_minutes * 60),
                )
            }
            tried.add(customer)
            if len(tried) >= policy.caller_refuse_after:
                return answer(Verdict.REFUSED)
            verdict = Verdict.SLOW if len(tried) > policy.caller_slow_after else Verdict.ALLOW
            token = secrets.token_hex(8)
            db.execute(
                "INSERT INTO login_locks (tenant, customer, method, consecutive, locked_until, "
                "holder, held_until) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (tenant, customer, method) DO UPDATE SET "
                "consecutive = excluded.consecutive, holder = excluded.holder, "
                "held_until = excluded.held_until",
                (
                    tenant,
                    customer,
                    method,
                    consecutive + 1,
                    locked_until,
                    token,
                    now + policy.login_hold_seconds,
                ),
            )
            db.execute(
                "INSERT INTO login_attempts (tenant, caller, customer, at) VALUES (?, ?, ?, ?)",
                (tenant, bucket, customer, now),
            )
            # Forget what no window looks at any more (index on "at": no scan).
            oldest = now - max(policy.caller_window_minutes * 60, 60)
            db.execute("DELETE FROM login_attempts WHERE tenant = ? AND at < ?", (tenant, oldest))
            return answer(verdict, token)

        return self.store.transaction(work, guard_scope(tenant))

    def finish(
        self,
        attempt: Attempt,
        outcome: Outcome,
        now: float | None = None,
        hold_seconds: float = 0.0,
    ) -> bool:
        """Settle a reserved attempt; returns True when it locked the customer.

        ``ok`` takes the reservation back and resets the count; ``refused``
        keeps it; ``unavailable`` (the bank gave no verdict) takes it back;
        ``abandoned`` (the call ended mid-login, or the bank's answer came late
        or failed: it may have checked the secret) keeps it. Only the attempt's
        own reservation is released or taken back, and a lock only ever grows.
        With ``hold_seconds`` the slot stays held that long (the bank may still
        be checking a secret whose caller hung up).
        """
        if not attempt.holder:
            return False
        now = time.time() if now is None else now

        def work(db: Connection) -> bool:
            key = (attempt.tenant, attempt.customer, attempt.method)
            row = db.execute(
                "SELECT consecutive, locked_until, holder FROM login_locks "
                "WHERE tenant = ? AND customer = ? AND method = ?",
                key,
            ).fetchone()
            if row is None:  # a consultant unlocked meanwhile
                return False
            consecutive, locked_until, holder = row
            ours = holder == attempt.holder
            if outcome == "ok" and locked_until <= now:
                consecutive = 0
            elif outcome == "unavailable" and ours:
                consecutive = max(consecutive - 1, 0)
            locked = outcome in ("refused", "abandoned") and consecutive >= self.policy.lock_after
            if hold_seconds > 0 and ours:
                db.execute(
                    "UPDATE login_locks SET consecutive = ?, held_until = ? "
                    "WHERE tenant = ? AND customer = ? AND method = ?",
                    (consecutive, now + hold_seconds, *key),
                )
            else:
                db.execute(
                    "UPDATE login_locks SET consecutive = ?, holder = CASE WHEN holder = ? "
                    "THEN '' ELSE holder END WHERE tenant = ? AND customer = ? AND method = ?",
                    (consecutive, attempt.holder, *key),
                )
            if locked:
                self._lock(db, *key, now)
            return locked

        return self.store.transaction(work, guard_scope(attempt.tenant))

    def _lock(self, db: Connection, tenant: str, customer: str, method: str, now: float) -> None:
        until = now + self.policy.lock_minutes * 60
        db.execute(
            # The larger of the two (SQLite's MAX(a, b) is PostgreSQL's GREATEST).
            "UPDATE login_locks SET consecutive = 0, locked_until = CASE WHEN locked_until > ? "
            "THEN locked_until ELSE ? END WHERE tenant = ? AND customer = ? AND method = ?",
            (until, until, tenant, customer, method),
        )

    def forget_old(self, now: float | None = None) -> int:
        """Delete every bank's attempts no window looks at any more (calling
        numbers are not kept longer than the guard needs them); ``begin``
        does it for its own bank, this for the banks that stopped calling.
        How many were deleted."""
        now = time.time() if now is None else now
        oldest = now - max(self.policy.caller_window_minutes * 60, 60)
        return self.store.transaction(
            lambda db: int(
                db.execute("DELETE FROM login_attempts WHERE at < ?", (oldest,)).rowcount
            )
        )

    def failures(self, tenant: str, customer: str, method: str) -> tuple[int, float]:
        """The failures (reserved attempts included) counted now, and the lock's end."""
        row = self.store.read(
            lambda db: db.execute(
                "SELECT consecutive, locked_until FROM login_locks "
                "WHERE tenant = ? AND customer = ? AND method = ?",
                (tenant, customer, method),
            ).fetchone()
        )
        return (int(row[0]), float(row[1])) if row else (0, 0.0)

    def unlock(self, tenant: str, customer: str, method: str | None = None) -> bool:
        """A consultant lifts a lock (after identifying the customer another way);
        without ``method``, every login method's."""

        def work(db: Connection) -> bool:
            query = "DELETE FROM login_locks WHERE tenant = ? AND customer = ?"
            args: tuple[str, ...] = (tenant, customer)
            if method is not None:
                query, args = query + " AND method = ?", (*args, method)
            return db.execute(query, args).rowcount > 0

        return self.store.transaction(work, guard_scope(tenant))
