"""Polish numbers, amounts and dates, checked against a table and num2words."""

from datetime import date
from decimal import Decimal

import pytest
from num2words import num2words

from voice.polish import (
    FRAGMENT_WORDS,
    amount_words,
    date_words,
    digit_words,
    fragment_key,
    number_words,
)

pytestmark = pytest.mark.unit

AMOUNTS = {
    "0.01": "zero złotych jeden grosz",
    "1": "jeden złoty",
    "2": "dwa złote",
    "5": "pięć złotych",
    "12": "dwanaście złotych",
    "21": "dwadzieścia jeden złotych",
    "22": "dwadzieścia dwa złote",
    "101": "sto jeden złotych",
    "1001": "tysiąc jeden złotych",
    "1234.56": "tysiąc dwieście trzydzieści cztery złote pięćdziesiąt sześć groszy",
    "2500000.99": "dwa miliony pięćset tysięcy złotych dziewięćdziesiąt dziewięć groszy",
    "-5": "minus pięć złotych",
    "-1234.56": "minus tysiąc dwieście trzydzieści cztery złote pięćdziesiąt sześć groszy",
    "0.02": "zero złotych dwa grosze",
    "0.12": "zero złotych dwanaście groszy",
    "112": "sto dwanaście złotych",
    "1002000": "milion dwa tysiące złotych",
}


@pytest.mark.parametrize(("amount", "spoken"), AMOUNTS.items())
def test_amounts_in_correct_polish(amount: str, spoken: str) -> None:
    assert " ".join(amount_words(Decimal(amount))) == spoken


@pytest.mark.parametrize("amount", AMOUNTS)
def test_amounts_match_num2words_where_it_is_right(amount: str) -> None:
    # num2words needs Decimal(str) input, puts a comma before the grosze and
    # always appends "zero groszy", which a caller need not hear.
    reference = num2words(Decimal(amount), lang="pl", to="currency", currency="PLN")
    reference = reference.replace(",", "").removesuffix(" zero groszy")
    assert " ".join(amount_words(Decimal(amount))) == reference


@pytest.mark.parametrize("month", range(1, 13))
def test_dates_with_ordinal_day_and_month_in_the_genitive(month: int) -> None:
    months = (
        "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października "
        "listopada grudnia"
    )
    name = months.split()[month - 1]
    assert date_words(date(2026, month, 1)) == ["pierwszego", name]
    assert date_words(date(2026, month, 2)) == ["drugiego", name]
    assert date_words(date(2026, month, 22)) == ["dwudziestego", "drugiego", name]
    if month in (1, 3, 5, 7, 8, 10, 12):
        assert date_words(date(2026, month, 31)) == ["trzydziestego", "pierwszego", name]
    assert date_words(date(2026, month, 20)) == ["dwudziestego", name]


def test_numbers_and_digits() -> None:
    assert number_words(0) == ["zero"]
    assert number_words(1000) == ["tysiąc"]
    assert number_words(2000) == ["dwa", "tysiące"]
    assert number_words(5000) == ["pięć", "tysięcy"]
    assert number_words(12000) == ["dwanaście", "tysięcy"]
    assert number_words(22000) == ["dwadzieścia", "dwa", "tysiące"]
    assert digit_words("1203*#") == ["jeden", "dwa", "zero", "trzy", "gwiazdka", "krzyżyk"]


def test_every_word_produced_is_a_fragment_with_its_own_key() -> None:
    produced = set()
    for n in [*range(0, 1200), 12345, 2_000_000, 1_000_000_000]:
        produced |= set(number_words(n))
        produced |= set(amount_words(Decimal(n) / 100))
    for day in range(1, 32):
        produced |= set(date_words(date(2026, 1, day)))
    produced |= set(digit_words("0123456789*#"))
    assert produced <= set(FRAGMENT_WORDS)
    keys = [fragment_key(w) for w in FRAGMENT_WORDS]
    assert len(set(keys)) == len(keys)
    assert all(k.replace("_", "").isalnum() and k.isascii() for k in keys)
