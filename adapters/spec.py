"""The contract between infolinia and a bank's core system.

A vendor implements :class:`CoreBanking` (an async Protocol) for their core
software and registers a factory for it through the ``infolinia`` pluggy hook
(see :mod:`adapters.hookspecs`). Everything crossing the contract is one of
the frozen dataclasses below: money is ``Decimal``, card numbers are never
whole (last four digits only), and secrets (PIN, date of birth) go in but
never come back.

Rules every adapter follows (``adapters.testkit`` checks them):

* every method is a coroutine function (``async def``);
* logging in: ``identify`` and ``authenticate`` raise
  :class:`~adapters.errors.Refused` for wrong credentials, and an unknown
  customer number is wrong credentials too (``Refused``, never ``NotFound``,
  so a caller cannot learn which numbers exist); each method's message is the
  same whichever of customer number, PIN or date of birth was wrong;
* after login, a customer or card the core does not know: a block raises
  :class:`~adapters.errors.NotFound`; a read returns an empty list or raises
  ``NotFound``;
* a block method called twice with the same ``operation_id`` blocks once and
  returns the same :class:`BlockResult` both times; an ``operation_id`` that
  comes back for another block (another card, or internet banking) is
  ``Refused``; ``already_blocked`` is true when the target was blocked before
  the request; a block of an already blocked target under another
  ``operation_id`` (two callers at once) records no second block and returns
  the reference of the block in force; references are ASCII digits;
* money is ``Decimal`` (never ``float`` or ``int``), amounts of operations
  are positive, currencies are ISO 4217 codes; ``last4`` is exactly four
  digits and no field carries a whole card number; operations are booked on
  a ``date`` (not a ``datetime``), newest first, at most ``limit`` of them;
* failures raise the :mod:`adapters.errors` tree; exception messages and
  returned objects never contain a PIN or a date of birth.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable


class CardKind(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class CardStatus(StrEnum):
    ACTIVE = "active"
    BLOCKED = "blocked"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


@dataclass(frozen=True)
class Customer:
    """Who the caller is, once identified."""

    number: str  # the bank's customer number, 8 digits


@dataclass(frozen=True)
class Card:
    card_id: str  # the core system's own id, opaque to infolinia
    kind: CardKind
    last4: str
    status: CardStatus


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str  # e.g. "konto osobiste"
    balance: Decimal
    currency: str  # ISO 4217, e.g. "PLN"


@dataclass(frozen=True)
class Operation:
    booked: date
    amount: Decimal  # always positive; see direction
    currency: str
    direction: Direction
    counterparty: str  # short, e.g. "Biedronka"


@dataclass(frozen=True)
class BlockResult:
    """A confirmed block: the reference the caller is read back."""

    reference: str  # digits only, so it can be read digit by digit
    already_blocked: bool = False  # it was blocked before this request


@runtime_checkable
class CoreBanking(Protocol):
    """The operations infolinia needs from a bank's core system."""

    async def identify(self, customer_number: str, birth_date: date) -> Customer:
        """Identify by customer number and date of birth (a lower level than the PIN)."""
        ...

    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        """Authenticate by customer number and telekod (PIN)."""
        ...

    async def list_cards(self, customer: Customer) -> list[Card]: ...

    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        """Block a card for good. Idempotent on ``operation_id``."""
        ...

    async def block_internet_banking(self, customer: Customer, operation_id: str) -> BlockResult:
        """Block internet-banking access. Idempotent on ``operation_id``."""
        ...

    async def list_accounts(self, customer: Customer) -> list[Account]: ...

    async def last_operations(self, customer: Customer, limit: int = 5) -> list[Operation]:
        """The most recent operations, newest first, across the customer's accounts."""
        ...

    async def close(self) -> None:
        """Release connections; called when the app stops."""
        ...
