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

Besides :class:`CoreBanking` (which every adapter implements), an adapter may
offer **optional operations** (:class:`OptionalOperation`): each is one
Protocol below with one method of the same name (``AccountList`` has
``account_list``...). The adapter's :class:`~adapters.hookspecs.AdapterFactory`
declares which it offers (``offers=``); the flow checker refuses a bank's
flow that could run an operation its adapter does not offer, and the testkit
checks each one an adapter claims. Their rules:

* ``account_list``: the customer's accounts, each with its kind, the last
  four digits of its number (never the whole number) and its currency;
  ``account_balance``: one of them (by ``account_id``) with its balance and
  the funds available (``available``, "saldo dostępne"), both ``Decimal``;
  ``account_operations``: the account's last operations, as
  ``last_operations`` (newest first, at most ``limit``); an account that is
  not the customer's is ``NotFound``;
* ``exchange_rates``: the bank's table, one :class:`ExchangeRate` per
  currency (ISO code, buy and sell in złoty for ``units`` of it, positive
  ``Decimal``); the same for every caller (it needs no customer);
* ``bank_information``: the bank's own information message as text, or
  ``None`` when it has none (the bank's recorded prompt is then played);
  public, the same for every caller;
* ``change_telekod``: the old telekod and the new one; ``Refused`` when the
  old one is wrong or the bank's rules refuse the new one; neither ever
  comes back (exceptions, results);
* ``predefined_transfers``: the transfer orders the customer defined in
  advance for one account (payee, amount, title); ``execute_transfer``
  carries one out once the caller's one-time code was verified by
  infolinia, idempotent on ``operation_id`` like a block, refused when the
  order is no longer the one the code was bound to (payee, amount, title),
  and returns a :class:`TransferResult` whose reference is digits.
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


class AccountKind(StrEnum):
    CURRENT = "current"  # konto osobiste (ROR)
    SAVINGS = "savings"  # rachunek oszczędnościowy
    CURRENCY = "currency"  # rachunek walutowy


class OptionalOperation(StrEnum):
    """The operations an adapter may offer besides :class:`CoreBanking`'s:
    each value is the name of its method (and of its Protocol's)."""

    ACCOUNT_LIST = "account_list"
    ACCOUNT_BALANCE = "account_balance"
    ACCOUNT_OPERATIONS = "account_operations"
    EXCHANGE_RATES = "exchange_rates"
    BANK_INFORMATION = "bank_information"
    CHANGE_TELEKOD = "change_telekod"
    PREDEFINED_TRANSFERS = "predefined_transfers"
    EXECUTE_TRANSFER = "execute_transfer"


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


@dataclass(frozen=True)
class AccountSummary:
    """One of the customer's accounts, as the caller chooses among them."""

    account_id: str  # the core system's own id, opaque to infolinia
    kind: AccountKind
    last4: str  # the last four digits of the account number, never more
    currency: str  # ISO 4217


@dataclass(frozen=True)
class Balance:
    """One account's balance and the funds available ("saldo dostępne")."""

    account_id: str
    balance: Decimal  # booked balance
    available: Decimal  # what the customer can spend now (blocks, overdraft)
    currency: str


@dataclass(frozen=True)
class ExchangeRate:
    """One row of the bank's table: złoty for ``units`` of ``currency``."""

    currency: str  # ISO 4217, not PLN
    buy: Decimal  # the bank buys (the customer sells) at this
    sell: Decimal  # the bank sells (the customer buys) at this
    units: int = 1  # e.g. 100 for JPY


@dataclass(frozen=True)
class PredefinedTransfer:
    """A transfer order the customer defined in advance (in a branch or online)."""

    transfer_id: str  # the core system's own id
    payee: str  # the payee's name, short (spoken by the offline engine)
    amount: Decimal  # positive
    currency: str
    title: str


@dataclass(frozen=True)
class TransferResult:
    """A transfer carried out: the reference the caller is read back."""

    reference: str  # digits only


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


# --- optional operations: one Protocol each (see the module's docstring) ------------


@runtime_checkable
class AccountList(Protocol):
    async def account_list(self, customer: Customer) -> list[AccountSummary]:
        """The customer's accounts (kind, last four digits, currency)."""
        ...


@runtime_checkable
class AccountBalance(Protocol):
    async def account_balance(self, customer: Customer, account_id: str) -> Balance:
        """One account's balance and available funds; ``NotFound`` if not the customer's."""
        ...


@runtime_checkable
class AccountOperations(Protocol):
    async def account_operations(
        self, customer: Customer, account_id: str, limit: int = 5
    ) -> list[Operation]:
        """One account's most recent operations, newest first."""
        ...


@runtime_checkable
class ExchangeRates(Protocol):
    async def exchange_rates(self) -> list[ExchangeRate]:
        """The bank's current table of exchange rates."""
        ...


@runtime_checkable
class BankInformation(Protocol):
    async def bank_information(self) -> str | None:
        """The bank's information message as text, or None (its prompt is played)."""
        ...


@runtime_checkable
class ChangeTelekod(Protocol):
    async def change_telekod(self, customer: Customer, old: str, new: str) -> None:
        """Replace the telekod; ``Refused`` if ``old`` is wrong or ``new`` breaks the rules."""
        ...


@runtime_checkable
class PredefinedTransfers(Protocol):
    async def predefined_transfers(
        self, customer: Customer, account_id: str
    ) -> list[PredefinedTransfer]:
        """The transfer orders defined in advance for one of the customer's accounts."""
        ...


@runtime_checkable
class ExecuteTransfer(Protocol):
    async def execute_transfer(
        self, customer: Customer, transfer: PredefinedTransfer, operation_id: str
    ) -> TransferResult:
        """Carry out ``transfer`` (one of ``predefined_transfers``; its one-time
        code already verified). ``Refused`` if the order is no longer as given
        (payee, amount, title: the code was bound to them); ``NotFound`` if it
        is not the customer's. Idempotent on ``operation_id``."""
        ...


# Each optional operation's Protocol, by name.
OPTIONAL_PROTOCOLS: dict[OptionalOperation, type] = {
    OptionalOperation.ACCOUNT_LIST: AccountList,
    OptionalOperation.ACCOUNT_BALANCE: AccountBalance,
    OptionalOperation.ACCOUNT_OPERATIONS: AccountOperations,
    OptionalOperation.EXCHANGE_RATES: ExchangeRates,
    OptionalOperation.BANK_INFORMATION: BankInformation,
    OptionalOperation.CHANGE_TELEKOD: ChangeTelekod,
    OptionalOperation.PREDEFINED_TRANSFERS: PredefinedTransfers,
    OptionalOperation.EXECUTE_TRANSFER: ExecuteTransfer,
}
