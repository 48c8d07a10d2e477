"""The guessing counters: a login is reserved before the bank is asked, one
at a time per customer number, so no race lets more than ``lock_after``
wrong secrets through; telekod and date of birth are counted apart; withheld
numbers are one caller; a bank takes only so many logins a minute. On both
engines of the state store."""

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier
from typing import Any

import pytest

from stasis_app.config import SecuritySettings
from stasis_app.safeguards.login_guard import Attempt, LoginGuard, Verdict, caller_bucket
from stasis_app.store import Store
from tests.support.stores import sqlite_only

pytestmark = pytest.mark.unit

TELEKOD, BIRTH = "authenticate", "identify"


@pytest.fixture
def store(state_where: Path | str) -> Store:
    return Store(state_where)


def fail(guard: LoginGuard, customer: str = "12345678", now: float = 1000, **kw: str) -> bool:
    """One wrong telekod, start to end; True when it locked."""
    attempt = guard.begin(
        "izbica", kw.get("caller", "600100200"), customer, kw.get("method", TELEKOD), now=now
    )
    assert attempt.allowed, attempt
    return guard.finish(attempt, "refused", now=now)


def test_five_failures_lock_and_survive_a_restart(store: Store) -> None:
    policy = SecuritySettings(lock_after=5, lock_minutes=30)
    guard = LoginGuard(store, policy)
    assert [fail(guard) for _ in range(5)] == [False] * 4 + [True]
    again = LoginGuard(Store(store.where), policy)  # a new process
    assert again.begin("izbica", "", "12345678", TELEKOD, now=1001).verdict is Verdict.LOCKED
    assert again.begin("cieszyn", "", "12345678", TELEKOD, now=1001).allowed  # per bank
    assert again.begin("izbica", "7", "12345678", TELEKOD, now=1000 + 30 * 60 + 1).allowed
    assert again.unlock("izbica", "12345678")


def test_a_right_login_resets_the_count(store: Store) -> None:
    guard = LoginGuard(store, SecuritySettings(lock_after=3))
    for ok in (False, False, True, False, False):
        attempt = guard.begin("t", "", "12345678", TELEKOD, now=10)
        assert not guard.finish(attempt, "ok" if ok else "refused", now=10)
    assert guard.begin("t", "", "12345678", TELEKOD, now=11).allowed


def test_logins_at_the_same_moment_for_one_customer_reach_the_bank_one_at_a_time(
    store: Store,
) -> None:
    """Twenty calls from twenty numbers type a telekod at the same moment: one
    is let through, the rest are told to wait. (Before the reservation every
    one of them read the same count and all twenty reached the bank.)"""
    guard = LoginGuard(store, SecuritySettings(lock_after=5))
    start = Barrier(20)

    def one(n: int) -> Attempt:
        start.wait()
        return LoginGuard(Store(store.where), guard.policy).begin(
            "izbica", f"60010{n:04}", "12345678", TELEKOD, now=1000
        )

    with ThreadPoolExecutor(20) as pool:
        attempts = list(pool.map(one, range(20)))
    assert sum(a.allowed for a in attempts) == 1
    assert {a.verdict for a in attempts if not a.allowed} == {Verdict.BUSY}


def test_no_interleaving_gets_more_than_five_wrong_telekods_to_the_bank(store: Store) -> None:
    """Many callers keep trying, their attempts overlapping in every order the
    guard allows: the bank hears at most ``lock_after`` wrong telekods."""
    guard = LoginGuard(store, SecuritySettings(lock_after=5))
    reached_bank = 0
    held: list[Attempt] = []
    for step in range(60):
        attempt = guard.begin("izbica", f"6001{step:05}", "12345678", TELEKOD, now=1000 + step)
        if attempt.allowed:
            reached_bank += 1
            held.append(attempt)
        if held and step % 3 == 2:  # answers come back later, in bursts
            guard.finish(held.pop(0), "refused", now=1000 + step)
    for attempt in held:
        guard.finish(attempt, "refused", now=1100)
    assert reached_bank <= 5
    assert guard.begin("izbica", "", "12345678", TELEKOD, now=1101).verdict is Verdict.LOCKED


def test_a_late_failure_never_lowers_a_lock(store: Store) -> None:
    """An attempt whose hold ran out (its app stalled) answers after another
    attempt locked the number: the lock stays. (The old guard wrote
    ``locked_until = 0`` for such a late failure.)"""
    policy = SecuritySettings(lock_after=2, login_hold_seconds=10)
    guard = LoginGuard(store, policy)
    slow = guard.begin("t", "1", "12345678", TELEKOD, now=1000)
    later = guard.begin("t", "2", "12345678", TELEKOD, now=1011)  # the hold ran out
    assert slow.allowed and later.allowed
    assert guard.finish(later, "refused", now=1012)  # the second failure locks
    guard.finish(slow, "refused", now=1013)
    guard.finish(slow, "ok", now=1014)  # not even a late success lifts it
    assert guard.begin("t", "3", "12345678", TELEKOD, now=1015).verdict is Verdict.LOCKED
    assert guard.failures("t", "12345678", TELEKOD)[1] == pytest.approx(1012 + 30 * 60)


def test_a_login_abandoned_mid_way_stays_counted_and_an_unanswered_one_does_not(
    store: Store,
) -> None:
    guard = LoginGuard(store, SecuritySettings(lock_after=5))
    abandoned = guard.begin("t", "1", "12345678", TELEKOD, now=10)
    guard.finish(abandoned, "abandoned", now=11)  # the caller hung up: maybe checked
    unanswered = guard.begin("t", "1", "12345678", TELEKOD, now=12)
    guard.finish(unanswered, "unavailable", now=13)  # the bank never gave a verdict
    assert guard.failures("t", "12345678", TELEKOD)[0] == 1


def test_an_app_that_died_mid_login_frees_the_slot_but_the_attempt_counts(store: Store) -> None:
    guard = LoginGuard(store, SecuritySettings(lock_after=5, login_hold_seconds=30))
    assert guard.begin("t", "1", "12345678", TELEKOD, now=100).allowed  # never finished
    assert guard.begin("t", "2", "12345678", TELEKOD, now=110).verdict is Verdict.BUSY
    assert guard.begin("t", "2", "12345678", TELEKOD, now=131).allowed
    assert guard.failures("t", "12345678", TELEKOD)[0] == 2


def test_telekod_guessing_does_not_take_the_date_of_birth_away(store: Store) -> None:
    """Anyone who knows a customer number can lock its telekod; the owner can
    still identify with the date of birth to block a lost card."""
    guard = LoginGuard(store, SecuritySettings(lock_after=5))
    assert fail_times(guard, 5, TELEKOD)
    assert guard.begin("t", "9", "12345678", TELEKOD, now=2000).verdict is Verdict.LOCKED
    assert guard.begin("t", "9", "12345678", BIRTH, now=2000).allowed
    # and the other way round
    assert fail_times(guard, 5, BIRTH, customer="87654321")
    assert guard.begin("t", "9", "87654321", TELEKOD, now=2000).allowed


def fail_times(guard: LoginGuard, n: int, method: str, customer: str = "12345678") -> bool:
    locked = False
    for step in range(n):
        attempt = guard.begin("t", f"5{step}", customer, method, now=1000 + step)
        assert attempt.allowed
        locked = guard.finish(attempt, "refused", now=1000 + step)
    return locked


def test_a_number_trying_many_customers_is_slowed_then_refused(store: Store) -> None:
    guard = LoginGuard(store, SecuritySettings(caller_slow_after=2, caller_refuse_after=4))
    verdicts = []
    for customer in ("11111111", "22222222", "33333333", "44444444"):
        attempt = guard.begin("t", "600100200", customer, TELEKOD, now=100)
        verdicts.append(attempt.verdict)
        guard.finish(attempt, "refused", now=100)
    assert verdicts == [Verdict.ALLOW, Verdict.ALLOW, Verdict.SLOW, Verdict.REFUSED]
    assert guard.begin("t", "700700700", "55555555", TELEKOD, now=100).allowed
    later = 100 + 61 * 60  # the window has passed
    assert guard.begin("t", "600100200", "55555555", TELEKOD, now=later).allowed


def test_withheld_numbers_are_one_strict_bucket(store: Store) -> None:
    """No caller id, "anonymous" or "Restricted": the same caller. (The old
    guard let a withheld number try customer numbers without limit.)"""
    guard = LoginGuard(store, SecuritySettings(caller_slow_after=1, caller_refuse_after=3))
    verdicts = []
    for caller, customer in (("", "11111111"), ("anonymous", "22222222"), (" Restricted", "3")):
        attempt = guard.begin("t", caller, customer, TELEKOD, now=100)
        verdicts.append(attempt.verdict)
        guard.finish(attempt, "refused", now=100)
    assert verdicts == [Verdict.ALLOW, Verdict.SLOW, Verdict.REFUSED]
    assert [caller_bucket(c) for c in ("", "Anonymous", "600100200 ")] == ["", "", "600100200"]


def test_a_bank_takes_only_so_many_logins_a_minute(store: Store) -> None:
    guard = LoginGuard(store, SecuritySettings(login_rate_per_minute=50))
    for n in range(3):  # a tenant's own, lower figure
        attempt = guard.begin("t", f"60{n}", f"1111111{n}", TELEKOD, rate_per_minute=3, now=100)
        assert attempt.allowed
        guard.finish(attempt, "ok", now=100)
    refused = guard.begin("t", "609", "22222222", TELEKOD, rate_per_minute=3, now=110)
    assert refused.verdict is Verdict.RATE
    assert guard.begin("other", "609", "22222222", TELEKOD, rate_per_minute=3, now=110).allowed
    assert guard.begin("t", "609", "22222222", TELEKOD, rate_per_minute=3, now=161).allowed


def test_old_stores_keep_their_telekod_locks(tmp_path: Path) -> None:
    """A store written before login_locks: its counts carry over, once."""
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as db:  # login_failures as those stores had it
        db.execute(
            "CREATE TABLE login_failures (tenant TEXT NOT NULL, customer TEXT NOT NULL, "
            "consecutive INTEGER NOT NULL, locked_until REAL NOT NULL, "
            "PRIMARY KEY (tenant, customer))"
        )
        db.execute("INSERT INTO login_failures VALUES ('t', '12345678', 0, 5000)")
    db.close()
    guard = LoginGuard(Store(path), SecuritySettings())
    assert guard.begin("t", "", "12345678", TELEKOD, now=100).verdict is Verdict.LOCKED
    assert guard.unlock("t", "12345678")
    assert (
        LoginGuard(Store(path), SecuritySettings())
        .begin("t", "", "12345678", TELEKOD, now=100)
        .allowed
    )  # an unlock is not undone by the next start


def test_forgetting_old_attempts_reads_only_the_old_rows(store: Store) -> None:
    """Every login forgets attempts older than the window; without an index on
    the time that was a scan of the whole table per login (an hour of calls)."""
    sqlite_only(store, "SQLite's query plans (PostgreSQL has the same indexes, migration 1)")

    def plan_of(sql: str) -> list[Any]:
        return store.read(lambda db: db.execute("EXPLAIN QUERY PLAN " + sql, (0.0,)).fetchall())

    plans = [
        plan_of(sql)
        for sql in (
            "DELETE FROM login_attempts WHERE at < ?",
            "DELETE FROM web_login_failures WHERE at <= ?",
            "SELECT COUNT(*) FROM login_attempts WHERE tenant = 't' AND at > ?",
        )
    ]
    for plan in plans:
        details = " ".join(str(row[-1]) for row in plan)
        assert "USING COVERING INDEX" in details or "USING INDEX" in details, details
        assert "SCAN" not in details, details


def test_calling_numbers_of_banks_that_stopped_calling_are_forgotten(store: Store) -> None:
    """``begin`` forgets its own bank's old attempts; the hourly job forgets
    every bank's, so a bank with no more calls does not keep calling numbers."""
    guard = LoginGuard(store, SecuritySettings(caller_window_minutes=60))
    for tenant in ("quiet", "busy"):
        attempt = guard.begin(tenant, "600100200", "12345678", "telekod", now=1000)
        guard.finish(attempt, "ok", now=1000)
    recent = guard.begin("busy", "600100201", "87654321", "telekod", now=1000 + 3000)
    guard.finish(recent, "ok", now=1000 + 3000)

    def callers() -> list[tuple[str, str]]:
        return sorted(
            store.read(
                lambda db: db.execute("SELECT tenant, caller FROM login_attempts").fetchall()
            )
        )

    assert len(callers()) == 3
    assert guard.forget_old(now=1000 + 3600 + 1) == 2  # the window (an hour) is past for those
    assert callers() == [("busy", "600100201")]
