"""Speaking runtime values: a value that is not of the kind it is to be
spoken as raises UnspeakableValue, a real check that ``python -O`` keeps
(an ``assert`` would vanish and the call would fail somewhere else); and one
rule says which prompt keys are customer data, never logged."""

import subprocess
import sys
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from adapters.spec import Account, Card, CardKind, CardStatus, Direction, Operation
from stasis_app.errors import InfoliniaError, UnspeakableValue
from stasis_app.flow.speech import value_keys, words
from voice.live import live_key, speaks_customer_data
from voice.polish import fragment_key

pytestmark = pytest.mark.unit

CARD = Card("c1", CardKind.DEBIT, "1234", CardStatus.ACTIVE)
ACCOUNT = Account("a1", "Konto", Decimal("12.50"), "PLN")
OPERATION = Operation(date(2024, 3, 1), Decimal("5"), "PLN", Direction.IN, "Jan")

WRONG: list[tuple[str, Any]] = [
    ("date", "2024-03-01"),  # a text, e.g. a webhook's reply naming the wrong value
    ("card", "1234"),
    ("balances", [CARD]),
    ("operations", [ACCOUNT]),
    ("amount", "dwanaście"),
    ("amount", None),
    ("weather", "sunny"),  # no such kind
]


@pytest.mark.parametrize(("kind", "value"), WRONG)
def test_a_value_of_the_wrong_kind_raises_unspeakable_value(kind: str, value: Any) -> None:
    with pytest.raises(UnspeakableValue) as caught:
        value_keys(kind, value)
    assert isinstance(caught.value, InfoliniaError) and isinstance(caught.value, ValueError)
    if isinstance(value, str):
        assert value not in str(caught.value)  # names types, never the value itself


def test_values_of_the_right_kind_are_spoken() -> None:
    assert value_keys("date", date(2024, 3, 1))[0].startswith("w_")
    assert value_keys("card", CARD)[:2] == ["card_debit", "card_ending"]
    assert value_keys("balances", [ACCOUNT])[0] == "balance_is"
    assert value_keys("operations", [OPERATION])[-1] == live_key("Jan")
    assert value_keys("amount", "12.50") == value_keys("amount", Decimal("12.5"))


def test_the_check_holds_under_python_dash_o() -> None:
    """``python -O`` drops asserts: the check must not be one."""
    script = (
        "from stasis_app.flow.speech import value_keys\n"
        "from stasis_app.errors import UnspeakableValue\n"
        "assert False, 'asserts are on'\n"  # vanishes under -O
        "for kind, value in [('date', '2024-03-01'), ('card', '1234'), ('balances', ['x'])]:\n"
        "    try:\n"
        "        value_keys(kind, value)\n"
        "    except UnspeakableValue:\n"
        "        print('refused', kind)\n"
    )
    done = subprocess.run(
        [sys.executable, "-O", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:3] == ["refused date", "refused card", "refused balances"]


def test_customer_data_keys_are_told_apart_by_one_rule() -> None:
    assert all(speaks_customer_data(key) for key in words(["pięćset", "dwa"]))
    assert speaks_customer_data(fragment_key("złotych"))
    assert speaks_customer_data(live_key("Jan Kowalski"))
    assert not speaks_customer_data("greeting")
    assert not speaks_customer_data("balance_is")
