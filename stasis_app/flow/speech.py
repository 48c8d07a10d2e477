"""Turning what a flow says into prompt keys: static prompts by key, and
customer data (amounts, dates, digits, cards) as pre-rendered word fragments.

Numbers, amounts, dates and digits never become a sentence for an online
TTS engine or the cache: they are spoken word by word from fragments in the call's
language (:mod:`voice.polish`, :mod:`voice.ukrainian`,
:mod:`voice.english`). The one free text, a counterparty, is spoken live
(:mod:`voice.live`: offline engine, per-call files, never cached).

Where a language's fragments cannot keep a number's pace
(``voice.whole_phrase``, e.g. Ukrainian and English digits), the number is
one *phrase* key instead: the call speaks its words whole, live, the same
safe way (:func:`number_keys`).
"""

from collections.abc import Collection, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from adapters.spec import (
    Account,
    AccountSummary,
    Balance,
    Card,
    Direction,
    ExchangeRate,
    Operation,
    PredefinedTransfer,
)
from stasis_app.errors import UnspeakableValue
from stasis_app.features import CURRENCIES
from voice.fragments import fragment_keys
from voice.languages import DEFAULT, numbers
from voice.live import live_key, phrase_key

SpeechKind = Literal[
    "digits",
    "amount",
    "date",
    "card",
    "balances",
    "operations",
    "transfer",
    "account",
    "balance",
    "rates",
]


# Static prompts a kind of speech needs besides fragments.
PROMPTS_FOR_KIND: dict[str, tuple[str, ...]] = {
    "digits": (),
    "amount": (),
    "date": (),
    "card": ("card_debit", "card_credit", "card_ending"),
    "transfer": ("order_to", "order_amount"),
    "balances": ("balance_is",),
    "operations": ("operation_in", "operation_out"),
    "account": ("account_current", "account_savings", "account_currency", "account_ending"),
    "balance": ("balance_is", "available_is", "balance_not_in_zloty"),
    "rates": (
        "rate_buy",
        "rate_sell",
        *(f"currency_{code.lower()}" for code in CURRENCIES),
    ),
}


class SpokenValue(BaseModel):
    """A value the flow looked up or collected, spoken in the call's language."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    value: str = Field(description="name of the value, e.g. reference")
    kind: SpeechKind = Field(alias="as")


PromptItem = str | SpokenValue


V = TypeVar("V")


def words(items: list[str]) -> list[str]:
    """The fragments that say ``items``, one number (its last word falls)."""
    return fragment_keys(items)


def number_keys(kind: str, items: list[str], whole: Collection[str] = ()) -> list[str]:
    """The keys that say ``items``, one number of ``kind`` (digits, amount,
    date): one phrase spoken whole at call time when ``kind`` is in ``whole``
    (the call's :attr:`~stasis_app.telephony.call.Call.whole_phrase`), else
    its fragments."""
    if kind in whole and items:
        return [phrase_key(kind, items)]
    return words(items)


def card_keys(card: Card, language: str = DEFAULT, whole: Collection[str] = ()) -> list[str]:
    digits = numbers(language).digit_words(card.last4)
    return [f"card_{card.kind.value}", "card_ending", *number_keys("digits", digits, whole)]


def account_keys(account: AccountSummary, language: str = DEFAULT) -> list[str]:
    """ "konto osobiste o numerze zakończonym cyframi 4 7 1 1"."""
    digits = numbers(language).digit_words(account.last4)
    return [f"account_{account.kind.value}", "account_ending", *words(digits)]


def _as(kind: str, value: Any, of_type: type[V]) -> V:
    """``value``, if it is of the type ``kind`` speaks; the error names the
    types only, never the value (customer data)."""
    if not isinstance(value, of_type):
        raise UnspeakableValue(f"cannot speak a {type(value).__name__} as {kind!r}")
    return value


def value_keys(
    kind: str, value: Any, language: str = DEFAULT, whole: Collection[str] = ()
) -> list[str]:
    """Prompt keys that speak ``value`` as ``kind`` in ``language`` (the kinds
    of number in ``whole`` as phrases spoken whole); a value that is not of
    that kind (e.g. a webhook's reply naming the wrong value) raises
    :class:`~stasis_app.errors.UnspeakableValue`."""
    say = numbers(language)
    if kind == "digits":
        return number_keys("digits", say.digit_words(str(value)), whole)
    if kind == "amount":
        try:
            amount = Decimal(value)
        except (InvalidOperation, TypeError, ValueError):
            raise UnspeakableValue(f"cannot speak a {type(value).__name__} as 'amount'") from None
        return number_keys("amount", say.amount_words(amount), whole)
    if kind == "date":
        return number_keys("date", say.date_words(_as(kind, value, date)), whole)
    if kind == "card":
        return card_keys(_as(kind, value, Card), language, whole)
    if kind == "balances":
        keys: list[str] = []
        for item in value:
            account = _as(kind, item, Account)
            if account.currency != "PLN":
                continue  # only złoty has its words so far; never say "złotych" for euro
            keys += ["balance_is", *number_keys("amount", say.amount_words(account.balance), whole)]
        return keys
    if kind == "account":
        return account_keys(_as(kind, value, AccountSummary), language)
    if kind == "balance":
        balance = _as(kind, value, Balance)
        if balance.currency != "PLN":
            return ["balance_not_in_zloty"]  # only złoty has its words so far
        return [
            "balance_is",
            *words(say.amount_words(balance.balance)),
            "available_is",
            *words(say.amount_words(balance.available)),
        ]
    if kind == "rates":
        keys = []
        for item in value:
            rate = _as(kind, item, ExchangeRate)
            if rate.currency not in CURRENCIES or rate.units != 1:
                continue  # no name to say it by (all of CURRENCIES are quoted per one unit)
            keys += [
                f"currency_{rate.currency.lower()}",
                "rate_buy",
                *words(say.amount_words(rate.buy)),
                "rate_sell",
                *words(say.amount_words(rate.sell)),
            ]
        return keys
    if kind == "operations":
        keys = []
        for item in value:
            operation = _as(kind, item, Operation)
            if operation.currency != "PLN":
                continue
            incoming = operation.direction is Direction.IN
            keys += [
                *number_keys("date", say.date_words(operation.booked), whole),
                "operation_in" if incoming else "operation_out",
                *number_keys("amount", say.amount_words(operation.amount), whole),
                live_key(operation.counterparty),
            ]
        return keys
    if kind == "transfer":
        # "przelew dla | PGE Obrót | na kwotę | sto dwadzieścia złotych": the
        # payee is customer text, spoken live (offline engine, never cached).
        transfer = _as(kind, value, PredefinedTransfer)
        return [
            "order_to",
            live_key(transfer.payee),
            "order_amount",
            *words(say.amount_words(transfer.amount)),
        ]
    raise UnspeakableValue(f"cannot speak {kind!r}")


def prompt_keys(
    items: Sequence[PromptItem],
    values: dict[str, Any],
    language: str = DEFAULT,
    whole: Collection[str] = (),
) -> list[str]:
    """Every prompt key to play for ``items`` in ``language``, in order (the
    kinds of number in ``whole`` spoken whole)."""
    keys: list[str] = []
    for item in items:
        if isinstance(item, str):
            keys.append(item)
        else:
            keys += value_keys(item.kind, values[item.value], language, whole)
    return keys


def static_prompts(items: Sequence[PromptItem]) -> set[str]:
    """The static prompt keys ``items`` need (for validation before calls)."""
    needed: set[str] = set()
    for item in items:
        if isinstance(item, str):
            needed.add(item)
        else:
            needed.update(PROMPTS_FOR_KIND[item.kind])
    return needed
