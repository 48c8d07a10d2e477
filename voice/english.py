"""English speech of numbers, amounts, dates and digits, as lists of words.

The English twin of :mod:`voice.polish` (same functions, same rules: customer
data is spoken from pre-rendered single-word fragments, never sent to an
engine as a sentence). Numbers are said the American way, without "and"
and with no hyphen, so "thirty-four" is the two fragments "thirty" "four":
1234 is "one thousand two hundred thirty four". Amounts stay in złoty:
"one thousand two hundred thirty four zloty fifty six groszy" ("zloty" as
English writes it, the same for one and many; one "grosz", many "groszy").
"""

from datetime import date
from decimal import Decimal

from voice.money import zloty_and_grosze

UNITS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
HUNDRED = "hundred"
SCALES = ("thousand", "million", "billion")
ZLOTY = "zloty"
GROSZ = ("grosz", "groszy")  # one, more
ORDINALS = (
    "", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth",
)  # fmt: skip
ORDINAL_TENS = (
    "", "", "twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth",
    "eightieth", "ninetieth",
)  # fmt: skip
MONTHS = (
    "", "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
MINUTES = "minutes"  # 2 to 99 (one minute is a prompt of its own)
KEY_WORDS = {"*": "star", "#": "hash"}
MINUS = "minus"


def _below_thousand(n: int) -> list[str]:
    words = []
    if n >= 100:
        words += [UNITS[n // 100], HUNDRED]
        n %= 100
    if n >= 20:
        words.append(TENS[n // 10])
        n %= 10
        if n:
            words.append(UNITS[n])
    elif n:
        words.append(UNITS[n])
    return words


def number_words(n: int) -> list[str]:
    """A whole number in words: 1234 -> one thousand two hundred thirty four."""
    if n < 0:
        return [MINUS, *number_words(-n)]
    if n == 0:
        return [UNITS[0]]
    groups = []
    while n:
        groups.append(n % 1000)
        n //= 1000
    if len(groups) > len(SCALES) + 1:
        raise ValueError("number too large to speak")
    words: list[str] = []
    for power in range(len(groups) - 1, -1, -1):
        if groups[power]:
            words += _below_thousand(groups[power])
            if power:
                words.append(SCALES[power - 1])
    return words


def amount_words(amount: Decimal) -> list[str]:
    """An amount in złoty: 1234.56 -> ... thirty four zloty fifty six groszy.

    Groszy are said only when there are some; 0.01 is "zero zloty one grosz".
    """
    negative, zloty, grosze = zloty_and_grosze(amount)
    words = [MINUS] if negative else []
    words += [*number_words(zloty), ZLOTY]
    if grosze:
        words += [*number_words(grosze), GROSZ[0] if grosze == 1 else GROSZ[1]]
    return words


def digit_words(digits: str) -> list[str]:
    """Each key on its own: "1203" -> one two zero three (references, card endings)."""
    return [UNITS[int(c)] if c.isdigit() else KEY_WORDS[c] for c in digits]


def _ordinal(n: int) -> list[str]:
    """1 to 99 as an ordinal: 3 -> third, 21 -> twenty first, 30 -> thirtieth."""
    if n < 20:
        return [ORDINALS[n]]
    tens, units = divmod(n, 10)
    return [TENS[tens], ORDINALS[units]] if units else [ORDINAL_TENS[tens]]


def date_words(day: date) -> list[str]:
    """A day and month: 22 November -> November twenty second."""
    return [MONTHS[day.month], *_ordinal(day.day)]


def position_words(n: int) -> list[str]:
    """A place in a queue, 1 to 99, as "(you are) ... (in the queue)": 3 -> third."""
    if not 1 <= n <= 99:
        raise ValueError("a queue position is spoken from 1 to 99")
    return _ordinal(n)


def minutes_words(n: int) -> list[str]:
    """A number of minutes, 2 to 99, after "about": 5 -> five minutes.
    (One minute is "about a minute": a prompt.)"""
    if not 2 <= n <= 99:
        raise ValueError("minutes are spoken this way from 2 to 99")
    return [*number_words(n), MINUTES]


def _all_words() -> list[str]:
    words = [*UNITS, *TENS, HUNDRED, *SCALES, ZLOTY, *GROSZ, *ORDINALS, *ORDINAL_TENS]
    words += [*MONTHS, MINUTES, *KEY_WORDS.values(), MINUS]
    return sorted(set(filter(None, words)))


FRAGMENT_WORDS: tuple[str, ...] = tuple(_all_words())
