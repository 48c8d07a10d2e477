"""Changing the telekod: the bank's rules, checked before the bank is asked."""

import pytest

from stasis_app.tenants import TelekodRules
from stasis_app.verbs.change_telekod import telekod_problem

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("telekod", "problem"),
    [
        ("2580", None),
        ("975312", None),
        ("1357", None),
        ("123", "length"),
        ("1234567", "length"),
        ("1111", "repeated"),
        ("000000", "repeated"),
        ("1234", "sequential"),
        ("456789", "sequential"),
        ("9876", "sequential"),
        ("12a4", "not_digits"),
        ("", "not_digits"),
    ],
)
def test_the_default_rules(telekod: str, problem: str | None) -> None:
    assert telekod_problem(TelekodRules(), telekod) == problem


def test_a_bank_sets_its_own_rules() -> None:
    lax = TelekodRules(min_length=4, max_length=8, no_repeated=False, no_sequential=False)
    assert telekod_problem(lax, "1111") is None
    assert telekod_problem(lax, "12345678") is None
    strict = TelekodRules(min_length=6, max_length=6)
    assert telekod_problem(strict, "2580") == "length"
    with pytest.raises(ValueError, match="min_length is larger"):
        TelekodRules(min_length=8, max_length=6)
