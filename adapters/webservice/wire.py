"""The JSON bodies of the webservice contract (``openapi.yaml``), as strict
pydantic models shared by the adapter and by servers written in Python.

Money travels as a decimal string (``"1234.56"``), never as a JSON number, so
no side ever rounds it through a float. Unknown fields are ignored, so a
bank's server may send more than the contract asks for. Digits are ASCII
``[0-9]``, as in the contract's patterns: a pattern's "any digit" class in
pydantic would also take other scripts' digits (``"١٢٣"``), which no prompt
can speak.

Of the answers, only those of status 200 have a model. An error's body (the contract's
``Error`` schema) is for the bank's own logs and is never read: its status
alone says what happened (:func:`adapters.webservice.client.read_answer`), so
a message, which could carry a customer's data, never reaches ours.
"""

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from adapters.spec import (
    Account,
    AccountKind,
    AccountSummary,
    Balance,
    BlockResult,
    Card,
    CardKind,
    CardStatus,
    Direction,
    ExchangeRate,
    Operation,
    PredefinedTransfer,
    TransferResult,
)

Money = Annotated[str, Field(pattern=r"^-?[0-9]{1,15}(\.[0-9]{1,2})?$")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Rate = Annotated[str, Field(pattern=r"^[0-9]{1,9}(\.[0-9]{1,6})?$")]  # złoty, up to 6 places
CustomerNumber = Annotated[str, Field(pattern=r"^[0-9]{1,16}$")]
Telekod = Annotated[str, Field(pattern=r"^[0-9]{4,12}$")]
Amount = Annotated[str, Field(pattern=r"^[0-9]{1,15}(\.[0-9]{1,2})?$")]  # positive money
Payee = Annotated[str, Field(min_length=1, max_length=140)]
Title = Annotated[str, Field(max_length=140)]


class _Wire(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


class IdentifyRequest(_Wire):
    customer_number: CustomerNumber
    birth_date: date


class AuthenticateRequest(_Wire):
    customer_number: CustomerNumber
    pin: Annotated[str, Field(pattern=r"^[0-9]{4,12}$")]


class BlockRequest(_Wire):
    operation_id: Annotated[str, Field(min_length=1, max_length=200)]


class CustomerBody(_Wire):
    customer_number: CustomerNumber


class CardBody(_Wire):
    card_id: Annotated[str, Field(min_length=1, max_length=100)]
    kind: CardKind
    last4: Annotated[str, Field(pattern=r"^[0-9]{4}$")]
    status: CardStatus

    def to_card(self) -> Card:
        return Card(self.card_id, self.kind, self.last4, self.status)


class CardsBody(_Wire):
    cards: list[CardBody]


class AccountBody(_Wire):
    account_id: Annotated[str, Field(min_length=1, max_length=100)]
    name: Annotated[str, Field(max_length=100)]
    balance: Money
    currency: Currency

    def to_account(self) -> Account:
        return Account(self.account_id, self.name, Decimal(self.balance), self.currency)


class AccountsBody(_Wire):
    accounts: list[AccountBody]


class OperationBody(_Wire):
    booked: date
    amount: Money
    currency: Currency
    direction: Direction
    counterparty: Annotated[str, Field(max_length=100)]

    def to_operation(self) -> Operation:
        return Operation(
            self.booked, Decimal(self.amount), self.currency, self.direction, self.counterparty
        )


class OperationsBody(_Wire):
    operations: list[OperationBody]


class BlockBody(_Wire):
    reference: Annotated[str, Field(pattern=r"^[0-9]{1,32}$")]
    already_blocked: bool = False

    def to_result(self) -> BlockResult:
        return BlockResult(self.reference, self.already_blocked)


# --- optional operations (adapters.spec.OptionalOperation) ------------------------


class AccountSummaryBody(_Wire):
    account_id: Annotated[str, Field(min_length=1, max_length=100)]
    kind: AccountKind
    last4: Annotated[str, Field(pattern=r"^[0-9]{4}$")]
    currency: Currency

    def to_summary(self) -> AccountSummary:
        return AccountSummary(self.account_id, self.kind, self.last4, self.currency)


class AccountListBody(_Wire):
    accounts: list[AccountSummaryBody]


class BalanceBody(_Wire):
    account_id: Annotated[str, Field(min_length=1, max_length=100)]
    balance: Money
    available: Money
    currency: Currency

    def to_balance(self) -> Balance:
        return Balance(
            self.account_id, Decimal(self.balance), Decimal(self.available), self.currency
        )


class RateBody(_Wire):
    currency: Currency
    buy: Rate
    sell: Rate
    units: Annotated[int, Field(ge=1, le=1000000)] = 1

    def to_rate(self) -> ExchangeRate:
        return ExchangeRate(self.currency, Decimal(self.buy), Decimal(self.sell), self.units)


class RatesBody(_Wire):
    rates: list[RateBody]


class ChangeTelekodRequest(_Wire):
    old_telekod: Telekod
    new_telekod: Telekod


class ChangedBody(_Wire):
    changed: bool


class TransferBody(_Wire):
    transfer_id: Annotated[str, Field(min_length=1, max_length=100)]
    payee: Payee
    amount: Amount
    currency: Currency
    title: Title

    def to_transfer(self) -> PredefinedTransfer:
        return PredefinedTransfer(
            self.transfer_id, self.payee, Decimal(self.amount), self.currency, self.title
        )


class TransfersBody(_Wire):
    transfers: list[TransferBody]


class ExecuteTransferRequest(_Wire):
    """The whole order the caller's code was bound to: the bank refuses it if
    its own order differs in any field."""

    operation_id: Annotated[str, Field(min_length=1, max_length=200)]
    payee: Payee
    amount: Amount
    currency: Currency
    title: Title


class TransferResultBody(_Wire):
    reference: Annotated[str, Field(pattern=r"^[0-9]{1,32}$")]

    def to_result(self) -> TransferResult:
        return TransferResult(self.reference)
