"""One-time SCA codes: bound to the order (amount, payee), expiring, three
tries, used once, never kept or shown."""

import logging
from dataclasses import replace
from decimal import Decimal

import pytest

from stasis_app.safeguards.sca import Binding, OneTimeCodes, Verdict

pytestmark = pytest.mark.unit

ORDER = Binding("ord-1", Decimal("150.00"), "PLN", "PGE Energia", "call-1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_right_code_in_time_authorises_the_order_once() -> None:
    codes = OneTimeCodes()
    challenge, code = codes.issue(ORDER)
    assert len(code) == 6 and code.isdigit()
    assert codes.check(challenge, ORDER, code) is Verdict.OK
    assert codes.check(challenge, ORDER, code) is Verdict.CANCELLED  # used: never twice


@pytest.mark.parametrize(
    "other",
    [
        replace(ORDER, amount=Decimal("1500.00")),
        replace(ORDER, payee="Oszust sp. z o.o."),
        replace(ORDER, order_id="ord-2"),
        replace(ORDER, call_id="call-2"),
        replace(ORDER, currency="EUR"),
        replace(ORDER, title="czynsz za grudzień"),
    ],
)
def test_a_code_never_authorises_another_amount_payee_order_or_call(other: Binding) -> None:
    """Dynamic linking (RTS art. 5): the code is checked against the order about
    to be executed; the right digits for a changed order count as a wrong code."""
    codes = OneTimeCodes()
    challenge, code = codes.issue(ORDER)
    assert codes.check(challenge, other, code) is Verdict.WRONG
    assert codes.check(challenge, ORDER, code) is Verdict.OK


def test_codes_differ_per_order_and_per_issue() -> None:
    codes = OneTimeCodes()
    issued = {codes.issue(ORDER)[1] for _ in range(20)}
    assert len(issued) > 15  # a fresh nonce each time (6 digits: rare repeats)
    other_process = OneTimeCodes()
    challenge, code = codes.issue(ORDER)
    assert other_process.check(challenge, ORDER, code) is Verdict.WRONG  # another key


def test_a_code_expires() -> None:
    clock = Clock()
    codes = OneTimeCodes(clock)
    challenge, code = codes.issue(ORDER, lifetime=300)
    clock.now += 299
    late_challenge, late_code = codes.issue(ORDER, lifetime=300)
    assert codes.check(challenge, ORDER, code) is Verdict.OK
    clock.now += 2  # 301 s after the first, 2 s after the second: still good
    assert codes.check(late_challenge, ORDER, late_code) is Verdict.OK
    third, third_code = codes.issue(ORDER, lifetime=300)
    clock.now += 300.5
    assert codes.check(third, ORDER, third_code) is Verdict.EXPIRED
    assert codes.check(third, ORDER, third_code) is Verdict.CANCELLED  # closed for good


def test_three_wrong_codes_cancel_even_the_right_one_after() -> None:
    codes = OneTimeCodes()
    challenge, code = codes.issue(ORDER, tries=3)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    assert codes.check(challenge, ORDER, wrong) is Verdict.WRONG
    assert codes.check(challenge, ORDER, "12") is Verdict.WRONG  # too short: a wrong try too
    assert codes.check(challenge, ORDER, wrong) is Verdict.CANCELLED
    assert codes.check(challenge, ORDER, code) is Verdict.CANCELLED


def test_a_wrong_try_then_the_right_code_is_accepted() -> None:
    codes = OneTimeCodes()
    challenge, code = codes.issue(ORDER)
    assert codes.check(challenge, ORDER, "000000" if code != "000000" else "111111") is (
        Verdict.WRONG
    )
    assert challenge.tries_left == 2
    assert codes.check(challenge, ORDER, code) is Verdict.OK


def test_nothing_shows_the_code(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    codes = OneTimeCodes()
    challenge, code = codes.issue(ORDER)
    shown = repr(challenge) + str(challenge) + repr(codes) + repr(vars(challenge)["binding"])
    assert code not in shown
    assert challenge.nonce.hex() not in shown
    codes.check(challenge, ORDER, "000000")
    assert code not in caplog.text
    assert not any(isinstance(v, str) and v == code for v in vars(challenge).values())


def test_a_challenge_needs_a_lifetime_and_a_try() -> None:
    with pytest.raises(ValueError):
        OneTimeCodes().issue(ORDER, lifetime=0)
    with pytest.raises(ValueError):
        OneTimeCodes().issue(ORDER, tries=0)
