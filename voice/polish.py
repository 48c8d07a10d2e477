"""Polish speech of numbers, amounts, dates and digits, as lists of words.

(Ukrainian and English: :mod:`voice.ukrainian`, :mod:`voice.english`; a
language's module is found by :func:`voice.languages.numbers`.)

Customer data (balances, card endings, references, dates) is never sent to a
TTS engine or cached as a sentence: it is spoken by playing pre-rendered
single-word fragments one after another. This module turns a value into the
words to play; :data:`FRAGMENT_WORDS` is every word it can produce, each
rendered once like any static prompt, under the key :func:`fragment_key`.
"""

from datetime import date
from decimal import Decimal

# (FRAGMENT_PREFIX and fragment_key are re-exported: the key of a word,
# whatever its language, is voice.fragments'.)
from voice.fragments import FRAGMENT_PREFIX as FRAGMENT_PREFIX
from voice.fragments import fragment_key as fragment_key
from voice.money import zloty_and_grosze

UNITS = (
    "zero", "jeden", "dwa", "trzy", "cztery", "pięć", "sześć", "siedem", "osiem", "dziewięć",
    "dziesięć", "jedenaście", "dwanaście", "trzynaście", "czternaście", "piętnaście",
    "szesnaście", "siedemnaście", "osiemnaście", "dziewiętnaście",
)  # fmt: skip
TENS = (
    "", "", "dwadzieścia", "trzydzieści", "czterdzieści", "pięćdziesiąt", "sześćdziesiąt",
    "siedemdziesiąt", "osiemdziesiąt", "dziewięćdziesiąt",
)  # fmt: skip
HUNDREDS = (
    "", "sto", "dwieście", "trzysta", "czterysta", "pięćset", "sześćset", "siedemset",
    "osiemset", "dziewięćset",
)  # fmt: skip
# (one, two-to-four, many): "1 tysiąc", "2 tysiące", "5 tysięcy"
SCALES = (
    ("tysiąc", "tysiące", "tysięcy"),
    ("milion", "miliony", "milionów"),
    ("miliard", "miliardy", "miliardów"),
)
ZLOTY = ("złoty", "złote", "złotych")
GROSZ = ("grosz", "grosze", "groszy")
ORDINAL_GENITIVE = (
    "", "pierwszego", "drugiego", "trzeciego", "czwartego", "piątego", "szóstego", "siódmego",
    "ósmego", "dziewiątego", "dziesiątego", "jedenastego", "dwunastego", "trzynastego",
    "czternastego", "piętnastego", "szesnastego", "siedemnastego", "osiemnastego",
    "dziewiętnastego", "dwudziestego",
)  # fmt: skip
ORDINAL_TENS_GENITIVE = {2: "dwudziestego", 3: "trzydziestego"}
MONTHS_GENITIVE = (
    "", "stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia",
    "września", "października", "listopada", "grudnia",
)  # fmt: skip
# "Jesteś trzecią osobą w kolejce": ordinals in the feminine instrumental
# (osobą); compounds inflect every part ("dwudziestą pierwszą").
ORDINAL_INSTRUMENTAL_FEMININE = (
    "", "pierwszą", "drugą", "trzecią", "czwartą", "piątą", "szóstą", "siódmą", "ósmą",
    "dziewiątą", "dziesiątą", "jedenastą", "dwunastą", "trzynastą", "czternastą", "piętnastą",
    "szesnastą", "siedemnastą", "osiemnastą", "dziewiętnastą",
)  # fmt: skip
ORDINAL_TENS_INSTRUMENTAL_FEMININE = (
    "", "", "dwudziestą", "trzydziestą", "czterdziestą", "pięćdziesiątą", "sześćdziesiątą",
    "siedemdziesiątą", "osiemdziesiątą", "dziewięćdziesiątą",
)  # fmt: skip
# "około pięciu minut": cardinals in the genitive ("jeden" stays as it is
# inside a compound: "około dwudziestu jeden minut").
UNITS_GENITIVE = (
    "", "jeden", "dwóch", "trzech", "czterech", "pięciu", "sześciu", "siedmiu", "ośmiu",
    "dziewięciu", "dziesięciu", "jedenastu", "dwunastu", "trzynastu", "czternastu",
    "piętnastu", "szesnastu", "siedemnastu", "osiemnastu", "dziewiętnastu",
)  # fmt: skip
TENS_GENITIVE = (
    "", "", "dwudziestu", "trzydziestu", "czterdziestu", "pięćdziesięciu", "sześćdziesięciu",
    "siedemdziesięciu", "osiemdziesięciu", "dziewięćdziesięciu",
)  # fmt: skip
MINUTES_GENITIVE = "minut"
KEY_WORDS = {"*": "gwiazdka", "#": "krzyżyk"}
MINUS = "minus"


def plural_form(n: int, forms: tuple[str, str, str]) -> str:
    """The noun form that goes with ``n``: 1 złoty, 2-4 złote (not 12-14), else złotych."""
    if n == 1:
        return forms[0]
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return forms[1]
    return forms[2]


def _below_thousand(n: int) -> list[str]:
    words = []
    if n >= 100:
        words.append(HUNDREDS[n // 100])
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
    """A whole number in words: 1234 -> tysiąc dwieście trzydzieści cztery."""
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
        group = groups[power]
        if not group:
            continue
        if power == 0:
            words += _below_thousand(group)
        elif group == 1:
            words.append(SCALES[power - 1][0])  # "tysiąc", not "jeden tysiąc"
        else:
            words += [*_below_thousand(group), plural_form(group, SCALES[power - 1])]
    return words


def amount_words(amount: Decimal) -> list[str]:
    """An amount in złoty: 1234.56 -> ... złote, pięćdziesiąt sześć groszy.

    Grosze are said only when there are some; 0.01 is "zero złotych, jeden grosz".
    """
    negative, zloty, grosze = zloty_and_grosze(amount)
    words = [MINUS] if negative else []
    words += [*number_words(zloty), plural_form(zloty, ZLOTY)]
    if grosze:
        words += [*number_words(grosze), plural_form(grosze, GROSZ)]
    return words


def digit_words(digits: str) -> list[str]:
    """Each key on its own: "1203" -> jeden dwa zero trzy (for references, card endings)."""
    return [UNITS[int(c)] if c.isdigit() else KEY_WORDS[c] for c in digits]


def date_words(day: date) -> list[str]:
    """A day and month: 22 November -> dwudziestego drugiego listopada."""
    if day.day <= 20:
        ordinal = [ORDINAL_GENITIVE[day.day]]
    else:
        tens, units = divmod(day.day, 10)
        ordinal = [ORDINAL_TENS_GENITIVE[tens]] + ([ORDINAL_GENITIVE[units]] if units else [])
    return [*ordinal, MONTHS_GENITIVE[day.month]]


def position_words(n: int) -> list[str]:
    """A place in a queue, 1 to 99, as "(jesteś) ... (osobą)": 3 -> trzecią,
    21 -> dwudziestą pierwszą."""
    if not 1 <= n <= 99:
        raise ValueError("a queue position is spoken from 1 to 99")
    if n < 20:
        return [ORDINAL_INSTRUMENTAL_FEMININE[n]]
    tens, units = divmod(n, 10)
    words = [ORDINAL_TENS_INSTRUMENTAL_FEMININE[tens]]
    return words + ([ORDINAL_INSTRUMENTAL_FEMININE[units]] if units else [])


def minutes_words(n: int) -> list[str]:
    """A number of minutes, 2 to 99, after "około": 5 -> pięciu minut,
    21 -> dwudziestu jeden minut. (One minute is "około minuty": a prompt.)"""
    if not 2 <= n <= 99:
        raise ValueError("minutes are spoken this way from 2 to 99")
    if n < 20:
        words = [UNITS_GENITIVE[n]]
    else:
        tens, units = divmod(n, 10)
        words = [TENS_GENITIVE[tens]] + ([UNITS_GENITIVE[units]] if units else [])
    return [*words, MINUTES_GENITIVE]


def _all_words() -> list[str]:
    words = [*UNITS, *TENS, *HUNDREDS, *ORDINAL_GENITIVE, *MONTHS_GENITIVE, MINUS]
    words += [*ORDINAL_INSTRUMENTAL_FEMININE, *ORDINAL_TENS_INSTRUMENTAL_FEMININE]
    words += [*UNITS_GENITIVE, *TENS_GENITIVE, MINUTES_GENITIVE]
    words += [form for forms in (*SCALES, ZLOTY, GROSZ) for form in forms]
    words += [*ORDINAL_TENS_GENITIVE.values(), *KEY_WORDS.values()]
    return sorted(set(filter(None, words)))


FRAGMENT_WORDS: tuple[str, ...] = tuple(_all_words())
