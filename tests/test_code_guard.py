"""A customer's failed one-time codes, counted in the state store (the login
guard's table, a kind of its own) so that calls, nodes and restarts share
them: five in a row block paying by phone for a while. On both engines."""

from pathlib import Path

import pytest

from stasis_app.config import SecuritySettings
from stasis_app.safeguards.code_guard import METHOD, CodeGuard
from stasis_app.safeguards.login_guard import LoginGuard
from stasis_app.store import Store

pytestmark = pytest.mark.unit

BANK, CUSTOMER = "izbica", "12345678"


@pytest.fixture
def store(state_where: Path | str) -> Store:
    return Store(state_where)


def wrong(guard: CodeGuard, now: float = 1000, customer: str = CUSTOMER) -> bool:
    """One wrong code compared, start to end; True when it blocked."""
    assert guard.reserve(BANK, customer, 5, 30, now=now)
    return guard.settle(BANK, customer, "failed", 5, 30, now=now)


def test_five_wrong_codes_block_on_every_node_until_the_window_passes(store: Store) -> None:
    guard = CodeGuard(store)
    assert [wrong(guard) for _ in range(5)] == [False] * 4 + [True]
    other_node = CodeGuard(Store(store.where))
    assert other_node.blocked(BANK, CUSTOMER, 5, 30, now=1001)
    assert not other_node.reserve(BANK, CUSTOMER, 5, 30, now=1001)  # never compared
    assert not other_node.blocked("cieszyn", CUSTOMER, 5, 30, now=1001)  # per bank
    assert not other_node.blocked(BANK, "87654321", 5, 30, now=1001)  # per customer
    assert not other_node.blocked(BANK, CUSTOMER, 5, 30, now=1000 + 30 * 60 + 1)
    # The telekod's own count is another row: paying blocked, logging in not.
    assert LoginGuard(store, SecuritySettings()).failures(BANK, CUSTOMER, "authenticate") == (
        0,
        0.0,
    )


def test_a_right_code_resets_and_an_uncompared_one_does_not_count(store: Store) -> None:
    guard = CodeGuard(store)
    for _ in range(4):
        wrong(guard)
    assert guard.reserve(BANK, CUSTOMER, 5, 30, now=1000)
    guard.settle(BANK, CUSTOMER, "not_compared", 5, 30, now=1000)  # expired: never compared
    assert guard.failures(BANK, CUSTOMER) == (4, 0.0)
    assert guard.reserve(BANK, CUSTOMER, 5, 30, now=1000)
    guard.settle(BANK, CUSTOMER, "ok", 5, 30, now=1000)
    assert guard.failures(BANK, CUSTOMER) == (0, 0.0)
    assert [wrong(guard) for _ in range(4)] == [False] * 4


def test_a_call_that_died_after_reserving_still_counts(store: Store) -> None:
    guard = CodeGuard(store)
    for _ in range(5):
        assert guard.reserve(BANK, CUSTOMER, 5, 30, now=1000)  # never settled
    assert guard.blocked(BANK, CUSTOMER, 5, 30, now=1001)


def test_a_consultant_lifts_the_block(store: Store) -> None:
    guard = CodeGuard(store)
    for _ in range(5):
        wrong(guard)
    assert LoginGuard(store, SecuritySettings()).unlock(BANK, CUSTOMER, METHOD)
    assert not guard.blocked(BANK, CUSTOMER, 5, 30, now=1001)
