"""Ukrainian and English numbers, amounts, dates, queue places and digits:
checked against num2words where num2words is right, and against tables
where it is not (amounts in złoty, the feminine of minutes, dates)."""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest
from num2words import num2words

from voice import english, ukrainian
from voice.languages import LANGUAGES, NUMBERS, engine_settings, numbers

pytestmark = pytest.mark.unit

SAMPLE = [*range(0, 1100), 1234, 2000, 5000, 11000, 21000, 22222, 100001, 999999]
SAMPLE += [1_000_000, 2_000_000, 5_000_000, 1_234_567, 21_000_021, 2_000_000_000, 999_999_999_999]


def test_ukrainian_numbers_are_num2words() -> None:
    wrong = {
        n: ukrainian.number_words(n)
        for n in SAMPLE
        if " ".join(ukrainian.number_words(n)) != num2words(n, lang="uk")
    }
    assert not wrong


def test_english_numbers_are_num2words_without_and_or_hyphens() -> None:
    # num2words says it the British way: "one hundred and one", "thirty-four".
    def american(n: int) -> str:
        british = str(num2words(n, lang="en")).replace(",", "").replace("-", " ")
        return british.replace(" and ", " ")

    wrong = {
        n: english.number_words(n)
        for n in SAMPLE
        if " ".join(english.number_words(n)) != american(n)
    }
    assert not wrong


def test_queue_places_are_num2words_ordinals() -> None:
    for n in range(1, 100):
        assert " ".join(ukrainian.position_words(n)) == num2words(n, lang="uk", to="ordinal")
        british = num2words(n, lang="en", to="ordinal")
        assert " ".join(english.position_words(n)) == british.replace("-", " ")


UK_AMOUNTS = {
    "0.01": "нуль злотих один грош",
    "1": "один злотий",
    "2": "два злоті",
    "5": "п'ять злотих",
    "11": "одинадцять злотих",
    "12": "дванадцять злотих",
    "21.21": "двадцять один злотий двадцять один грош",
    "22.02": "двадцять два злоті два гроші",
    "1001": "одна тисяча один злотий",
    "1234.56": "одна тисяча двісті тридцять чотири злоті п'ятдесят шість грошів",
    "2500000.99": "два мільйони п'ятсот тисяч злотих дев'яносто дев'ять грошів",
    "-5": "мінус п'ять злотих",
}
EN_AMOUNTS = {
    "0.01": "zero zloty one grosz",
    "1": "one zloty",
    "2.02": "two zloty two groszy",
    "1234.56": "one thousand two hundred thirty four zloty fifty six groszy",
    "2500000.99": "two million five hundred thousand zloty ninety nine groszy",
    "-5": "minus five zloty",
}


@pytest.mark.parametrize(("amount", "spoken"), UK_AMOUNTS.items())
def test_ukrainian_amounts_in_zloty_with_their_plural_forms(amount: str, spoken: str) -> None:
    assert " ".join(ukrainian.amount_words(Decimal(amount))) == spoken


@pytest.mark.parametrize(("amount", "spoken"), EN_AMOUNTS.items())
def test_english_amounts_in_zloty(amount: str, spoken: str) -> None:
    assert " ".join(english.amount_words(Decimal(amount))) == spoken


def test_ukrainian_amounts_agree_with_num2words_currency_words() -> None:
    # num2words' PLN in Ukrainian: "... злоті, п'ятдесят шість грошів".
    said = num2words(Decimal("1234.56"), lang="uk", to="currency", currency="PLN")
    assert " ".join(ukrainian.amount_words(Decimal("1234.56"))) == said.replace(",", "")


def test_dates() -> None:
    assert ukrainian.date_words(date(2026, 11, 22)) == ["двадцять", "другого", "листопада"]
    assert ukrainian.date_words(date(2026, 1, 30)) == ["тридцятого", "січня"]
    assert ukrainian.date_words(date(2026, 3, 1)) == ["першого", "березня"]
    assert english.date_words(date(2026, 11, 22)) == ["November", "twenty", "second"]
    assert english.date_words(date(2026, 1, 30)) == ["January", "thirtieth"]


def test_minutes_agree_with_their_noun() -> None:
    assert ukrainian.minutes_words(2) == ["дві", "хвилини"]
    assert ukrainian.minutes_words(5) == ["п'ять", "хвилин"]
    assert ukrainian.minutes_words(21) == ["двадцять", "одна", "хвилина"]
    assert ukrainian.minutes_words(12) == ["дванадцять", "хвилин"]
    assert english.minutes_words(21) == ["twenty", "one", "minutes"]


def test_digits_and_keys() -> None:
    assert ukrainian.digit_words("1203*#") == ["один", "два", "нуль", "три", "зірочка", "решітка"]
    assert english.digit_words("1203*#") == ["one", "two", "zero", "three", "star", "hash"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_word_a_language_says_is_one_of_its_fragments(language: str) -> None:
    say = numbers(language)
    words = set(say.FRAGMENT_WORDS)
    said: list[str] = say.digit_words("0123456789*#")
    for cents in itertools.chain(range(0, 3000, 7), range(0, 10**9, 7_654_321)):
        said += say.amount_words(Decimal(cents) / 100)
        said += say.amount_words(-Decimal(cents))
    for zloty in (10**9, 2 * 10**9, 5 * 10**9, 21 * 10**9, 22 * 10**9):
        said += say.amount_words(Decimal(zloty))
    day = date(2024, 1, 1)
    for _ in range(366):
        said += say.date_words(day)
        day += timedelta(days=1)
    for n in range(1, 100):
        said += say.position_words(n)
        said += say.minutes_words(n) if n >= 2 else []
    assert set(said) <= words
    assert set(said) == words, f"fragments never said: {sorted(words - set(said))}"


def test_languages_share_the_same_functions() -> None:
    assert set(NUMBERS) == {"pl", "uk", "en"}
    for module in NUMBERS.values():
        for name in ("amount_words", "digit_words", "date_words", "position_words"):
            assert callable(getattr(module, name))


def test_engines_are_told_the_language() -> None:
    assert engine_settings("espeak-ng", {"voice": "pl", "speed": 165}, "uk") == {
        "voice": "uk",
        "speed": 165,
    }
    assert engine_settings("gtts", {"lang": "pl", "tld": "com"}, "en") == {
        "lang": "en",
        "tld": "com",
    }
    assert engine_settings("piper", {"model": "/voices/pl.onnx"}, "en") is None
