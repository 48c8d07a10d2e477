"""Turning what a flow says into prompt keys: static prompts by key, and
customer data (amounts, dates, digits, cards) as pre-rendered word fragments.

Numbers, amounts, dates and digits never become a sentence for a TTS engine
or the cache: they are spoken word by word from :mod:`voice.polish`
fragments. The one free text, a counterparty, is spoken live
(:mod:`voice.live`: offline engine, per-call files, never cached).
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters.spec import Account, Card, Direction, Operation
from voice.polish import amount_words, date_words, digit_words, fragment_key

SpeechKind = Literal["digits", "amount", "date", "card", "balances", "operations"]

# Static prompts a kind of speech needs besides fragments.
PROMPTS_FOR_KIND: dict[str, tuple[str, ...]] = {
    "digits": (),
    "amount": (),
    "date": (),
    "card": ("card_debit", "card_credit", "card_ending"),
    "balances": ("balance_is",),
    "operations": ("operation_in", "operation_out"),
}


class SpokenValue(BaseModel):
    """A value the flow looked up or collected, spoken in Polish."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    value: str = Field(description="name of the value, e.g. reference")
    kind: SpeechKind = Field(alias="as")


PromptItem = str | SpokenValue


LIVE_PREFIX = "live:"


def live_key(text: str) -> str:
    """A key for customer text spoken live (offline engine, per-call, not cached)."""
    return LIVE_PREFIX + text


def words(items: list[str]) -> list[str]:
    return [fragment_key(word) for word in items]


def card_keys(card: Card) -> list[str]:
    return [f"card_{card.kind.value}", "card_ending", *words(digit_words(card.last4))]


def value_keys(kind: str, value: Any) -> list[str]:
    """Prompt keys that speak ``value`` as ``kind``."""
    if kind == "digits":
        return words(digit_words(str(value)))
    if kind == "amount":
        return words(amount_words(Decimal(value)))
    if kind == "date":
        assert isinstance(value, date)
        return words(date_words(value))
    if kind == "card":
        assert isinstance(value, Card)
        return card_keys(value)
    if kind == "balances":
        keys: list[str] = []
        for account in value:
            assert isinstance(account, Account)
            if account.currency != "PLN":
                continue  # only złoty has its words so far; never say "złotych" for euro
            keys += ["balance_is", *words(amount_words(account.balance))]
        return keys
    if kind == "operations":
        keys = []
        for operation in value:
            assert isinstance(operation, Operation)
            if operation.currency != "PLN":
                continue
            incoming = operation.direction is Direction.IN
            keys += [
                *words(date_words(operation.booked)),
                "operation_in" if incoming else "operation_out",
                *words(amount_words(operation.amount)),
                live_key(operation.counterparty),
            ]
        return keys
    raise ValueError(f"cannot speak {kind!r}")


def prompt_keys(items: Sequence[PromptItem], values: dict[str, Any]) -> list[str]:
    """Every prompt key to play for ``items``, in order."""
    keys: list[str] = []
    for item in items:
        if isinstance(item, str):
            keys.append(item)
        else:
            keys += value_keys(item.kind, values[item.value])
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
