"""The adapter itself: infolinia's ``CoreBanking`` contract over a "core
system" that here is a few dictionaries. A real adapter calls the vendor's
software in each method and translates its answers and errors."""

import hmac
import itertools
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from adapters.errors import NotFound, Refused
from adapters.spec import (
    Account,
    BlockResult,
    Card,
    CardKind,
    CardStatus,
    Customer,
    Direction,
    ExchangeRate,
    Operation,
)

REFUSED = "customer number or credentials not accepted"


class ExampleSettings(BaseModel):
    """What a bank writes under ``adapter.settings``; checked at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bank_name: str = Field(min_length=1, description="shown in this adapter's logs")


class ExampleBank:
    """One bank's connection to the example core."""

    def __init__(self, settings: ExampleSettings) -> None:
        self.settings = settings
        # The core's data: one customer. Never log the PIN or the birth date.
        self._pins = {"55501234": "2468"}
        self._born = {"55501234": date(1962, 9, 30)}
        self._cards = {"55501234": [Card("ex-card-1", CardKind.DEBIT, "4321", CardStatus.ACTIVE)]}
        self._internet_banking_blocked: set[str] = set()
        self._blocks: dict[str, tuple[str, str, BlockResult]] = {}  # op id -> what, result
        self._references = itertools.count(70000001)
        self._in_force: dict[str, BlockResult] = {}  # target -> the block in force

    async def identify(self, customer_number: str, birth_date: date) -> Customer:
        known = self._born.get(customer_number)
        if known is None or known != birth_date:
            raise Refused(REFUSED)  # the same answer whichever part was wrong
        return Customer(customer_number)

    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        expected = self._pins.get(customer_number, "")
        # Compared in constant time, and compared even for an unknown number.
        if not hmac.compare_digest(expected.encode(), pin.encode()) or not expected:
            raise Refused(REFUSED)
        return Customer(customer_number)

    def _customer_cards(self, customer: Customer) -> list[Card]:
        if customer.number not in self._pins:
            raise NotFound("no such customer")
        return self._cards[customer.number]

    async def list_cards(self, customer: Customer) -> list[Card]:
        return list(self._customer_cards(customer))

    def _once(self, operation_id: str, what: str, block: bool) -> BlockResult:
        done = self._blocks.get(operation_id)
        if done is not None:
            if done[:2] != (what, "done"):
                raise Refused("operation id already used for another block")
            return done[2]
        in_force = self._in_force.get(what)
        if in_force is not None and not block:
            # Blocked already: the answer names the block in force.
            result = BlockResult(in_force.reference, already_blocked=True)
        else:
            result = BlockResult(str(next(self._references)), already_blocked=not block)
            self._in_force[what] = result
        self._blocks[operation_id] = (what, "done", result)
        return result

    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        cards = self._customer_cards(customer)
        for i, card in enumerate(cards):
            if card.card_id == card_id:
                result = self._once(
                    operation_id, f"card:{card_id}", card.status is CardStatus.ACTIVE
                )
                cards[i] = replace(card, status=CardStatus.BLOCKED)
                return result
        raise NotFound("no such card for this customer")

    async def block_internet_banking(self, customer: Customer, operation_id: str) -> BlockResult:
        self._customer_cards(customer)
        active = customer.number not in self._internet_banking_blocked
        result = self._once(operation_id, "internet-banking", active)
        self._internet_banking_blocked.add(customer.number)
        return result

    async def list_accounts(self, customer: Customer) -> list[Account]:
        self._customer_cards(customer)
        return [
            Account("ex-acc-1", "rachunek oszczędnościowo-rozliczeniowy", Decimal("87.05"), "PLN")
        ]

    async def last_operations(self, customer: Customer, limit: int = 5) -> list[Operation]:
        self._customer_cards(customer)
        today = date.today()
        history = [
            Operation(today - timedelta(days=1), Decimal("12.50"), "PLN", Direction.OUT, "Poczta"),
            Operation(today - timedelta(days=3), Decimal("1800.00"), "PLN", Direction.IN, "KRUS"),
        ]
        return history[:limit]

    # One optional operation (adapters.spec.OptionalOperation), offered in
    # plugin.py (offers={"exchange_rates"}): the bank's table of rates.
    async def exchange_rates(self) -> list[ExchangeRate]:
        return [
            ExchangeRate("EUR", Decimal("4.2000"), Decimal("4.3600")),
            ExchangeRate("USD", Decimal("3.9400"), Decimal("4.1100")),
        ]

    async def close(self) -> None:
        return None
