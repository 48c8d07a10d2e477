# ruff: noqa: RUF002, RUF003  (Ukrainian words: Cyrillic letters that look Latin)
"""Ukrainian speech of numbers, amounts, dates and digits, as lists of words.

The Ukrainian twin of :mod:`voice.polish` (same functions, same rules:
customer data is spoken from pre-rendered single-word fragments). Amounts
stay in złoty, with Ukrainian's three forms after a number: "один злотий",
"два злоті", "п'ять злотих" (and грош, гроші, грошів). Ukrainian agrees the
number with its noun: "одна тисяча", "дві тисячі" (тисяча and хвилина are
feminine), "один злотий", "два мільйони" (masculine). Like num2words, 1000
is "одна тисяча".
"""

from datetime import date
from decimal import Decimal

from voice.money import zloty_and_grosze

UNITS = (
    "нуль", "один", "два", "три", "чотири", "п'ять", "шість", "сім", "вісім", "дев'ять",
    "десять", "одинадцять", "дванадцять", "тринадцять", "чотирнадцять", "п'ятнадцять",
    "шістнадцять", "сімнадцять", "вісімнадцять", "дев'ятнадцять",
)  # fmt: skip
# The feminine one and two ("одна тисяча", "дві хвилини").
FEMININE = {1: "одна", 2: "дві"}
TENS = (
    "", "", "двадцять", "тридцять", "сорок", "п'ятдесят", "шістдесят", "сімдесят", "вісімдесят",
    "дев'яносто",
)  # fmt: skip
HUNDREDS = (
    "", "сто", "двісті", "триста", "чотириста", "п'ятсот", "шістсот", "сімсот", "вісімсот",
    "дев'ятсот",
)  # fmt: skip
# (one, two-to-four, many), and whether the noun is feminine.
SCALES = (
    (("тисяча", "тисячі", "тисяч"), True),
    (("мільйон", "мільйони", "мільйонів"), False),
    (("мільярд", "мільярди", "мільярдів"), False),
)
ZLOTY = ("злотий", "злоті", "злотих")
GROSZ = ("грош", "гроші", "грошів")
MINUTES = ("хвилина", "хвилини", "хвилин")
# "Ви третій у черзі": ordinals in the masculine nominative; a compound
# inflects its last part only ("двадцять перший").
ORDINALS = (
    "", "перший", "другий", "третій", "четвертий", "п'ятий", "шостий", "сьомий", "восьмий",
    "дев'ятий", "десятий", "одинадцятий", "дванадцятий", "тринадцятий", "чотирнадцятий",
    "п'ятнадцятий", "шістнадцятий", "сімнадцятий", "вісімнадцятий", "дев'ятнадцятий",
)  # fmt: skip
ORDINAL_TENS = (
    "", "", "двадцятий", "тридцятий", "сороковий", "п'ятдесятий", "шістдесятий", "сімдесятий",
    "вісімдесятий", "дев'яностий",
)  # fmt: skip
# A date: "двадцять другого листопада" (the genitive).
ORDINALS_GENITIVE = (
    "", "першого", "другого", "третього", "четвертого", "п'ятого", "шостого", "сьомого",
    "восьмого", "дев'ятого", "десятого", "одинадцятого", "дванадцятого", "тринадцятого",
    "чотирнадцятого", "п'ятнадцятого", "шістнадцятого", "сімнадцятого", "вісімнадцятого",
    "дев'ятнадцятого", "двадцятого",
)  # fmt: skip
ORDINAL_TENS_GENITIVE = {2: "двадцятого", 3: "тридцятого"}
MONTHS_GENITIVE = (
    "", "січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня",
    "вересня", "жовтня", "листопада", "грудня",
)  # fmt: skip
KEY_WORDS = {"*": "зірочка", "#": "решітка"}
MINUS = "мінус"


def plural_form(n: int, forms: tuple[str, str, str]) -> str:
    """The noun form that goes with ``n``: 1, 21 злотий; 2-4, 22 злоті (not
    12-14); else злотих."""
    if n % 10 == 1 and n % 100 != 11:
        return forms[0]
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return forms[1]
    return forms[2]


def _below_thousand(n: int, feminine: bool = False) -> list[str]:
    words = []
    if n >= 100:
        words.append(HUNDREDS[n // 100])
        n %= 100
    if n >= 20:
        words.append(TENS[n // 10])
        n %= 10
    if n:
        words.append(FEMININE[n] if feminine and n in FEMININE else UNITS[n])
    return words


def number_words(n: int, feminine: bool = False) -> list[str]:
    """A whole number in words: 1234 -> одна тисяча двісті тридцять чотири
    (``feminine``: its last one or two agree with a feminine noun)."""
    if n < 0:
        return [MINUS, *number_words(-n, feminine)]
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
            words += _below_thousand(group, feminine)
        else:
            forms, scale_feminine = SCALES[power - 1]
            words += [*_below_thousand(group, scale_feminine), plural_form(group, forms)]
    return words


def amount_words(amount: Decimal) -> list[str]:
    """An amount in złoty: 1234.56 -> ... чотири злоті п'ятдесят шість грошів.

    Groszy are said only when there are some; 0.01 is "нуль злотих один грош".
    """
    negative, zloty, grosze = zloty_and_grosze(amount)
    words = [MINUS] if negative else []
    words += [*number_words(zloty), plural_form(zloty, ZLOTY)]
    if grosze:
        words += [*number_words(grosze), plural_form(grosze, GROSZ)]
    return words


def digit_words(digits: str) -> list[str]:
    """Each key on its own: "1203" -> один два нуль три (references, card endings)."""
    return [UNITS[int(c)] if c.isdigit() else KEY_WORDS[c] for c in digits]


def date_words(day: date) -> list[str]:
    """A day and month: 22 November -> двадцять другого листопада."""
    if day.day <= 20:
        ordinal = [ORDINALS_GENITIVE[day.day]]
    else:
        tens, units = divmod(day.day, 10)
        ordinal = [TENS[tens], ORDINALS_GENITIVE[units]] if units else []
        ordinal = ordinal or [ORDINAL_TENS_GENITIVE[tens]]
    return [*ordinal, MONTHS_GENITIVE[day.month]]


def position_words(n: int) -> list[str]:
    """A place in a queue, 1 to 99, as "(Ви) ... (у черзі)": 3 -> третій,
    21 -> двадцять перший."""
    if not 1 <= n <= 99:
        raise ValueError("a queue position is spoken from 1 to 99")
    if n < 20:
        return [ORDINALS[n]]
    tens, units = divmod(n, 10)
    return [TENS[tens], ORDINALS[units]] if units else [ORDINAL_TENS[tens]]


def minutes_words(n: int) -> list[str]:
    """A number of minutes, 2 to 99, after "приблизно": 5 -> п'ять хвилин,
    21 -> двадцять одна хвилина. (One minute is a prompt of its own.)"""
    if not 2 <= n <= 99:
        raise ValueError("minutes are spoken this way from 2 to 99")
    return [*number_words(n, feminine=True), plural_form(n, MINUTES)]


def _all_words() -> list[str]:
    words = [*UNITS, *FEMININE.values(), *TENS, *HUNDREDS, *ZLOTY, *GROSZ, *MINUTES]
    words += [form for forms, _ in SCALES for form in forms]
    words += [*ORDINALS, *ORDINAL_TENS, *ORDINALS_GENITIVE, *ORDINAL_TENS_GENITIVE.values()]
    words += [*MONTHS_GENITIVE, *KEY_WORDS.values(), MINUS]
    return sorted(set(filter(None, words)))


FRAGMENT_WORDS: tuple[str, ...] = tuple(_all_words())
