"""Adapters that each break one rule of the adapter contract, for the testkit's
own tests (loaded with ``INFOLINIA_PLUGINS=tests.support.broken_adapters``).

Each is the demo bank with one method changed; ``BROKEN`` says which rule it
breaks and which testkit checks must catch it.
"""

import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from adapters.demo import OFFERS, DemoBank, DemoSettings
from adapters.errors import NotFound, Refused
from adapters.hookspecs import AdapterFactory, hookimpl
from adapters.spec import (
    Account,
    AccountSummary,
    Balance,
    BlockResult,
    Card,
    Customer,
    Direction,
    ExchangeRate,
    Operation,
    PredefinedTransfer,
    TransferResult,
)


class Demo(DemoBank):
    def knows(self, customer_number: str) -> bool:
        try:
            self.snapshot(customer_number)
        except NotFound:
            return False
        return True


class AsyncMethodMadeSync(DemoBank):
    def close(self) -> None:  # type: ignore[override]
        return None


class FloatMoney(DemoBank):
    async def list_accounts(self, customer: Customer) -> list[Account]:
        return [
            replace(account, balance=float(account.balance))  # type: ignore[arg-type]
            for account in await super().list_accounts(customer)
        ]


class WholeCardNumberInLast4(DemoBank):
    async def list_cards(self, customer: Customer) -> list[Card]:
        cards = await super().list_cards(customer)
        return [replace(card, last4=f"4111111111{card.last4}") for card in cards]


class WholeCardNumberAsCardId(DemoBank):
    async def list_cards(self, customer: Customer) -> list[Card]:
        cards = await super().list_cards(customer)
        return [replace(card, card_id=f"4111-1111-1111-{card.last4}") for card in cards]

    # Block with the id this adapter hands out.
    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        return await super().block_card(customer, f"card-{card_id[-4:]}", operation_id)


class PlainStringKind(DemoBank):
    async def list_cards(self, customer: Customer) -> list[Card]:
        cards = await super().list_cards(customer)
        return [replace(card, kind=card.kind.value) for card in cards]  # type: ignore[arg-type]


class NewReferenceEachTime(DemoBank):
    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        result = await super().block_card(customer, card_id, operation_id)
        return replace(result, reference=f"{secrets.randbelow(10**8):08d}")


class InternetBankingNewReferenceEachTime(DemoBank):
    async def block_internet_banking(self, customer: Customer, operation_id: str) -> BlockResult:
        result = await super().block_internet_banking(customer, operation_id)
        return replace(result, reference=f"{secrets.randbelow(10**8):08d}")


class LettersInReference(DemoBank):
    async def block_internet_banking(self, customer: Customer, operation_id: str) -> BlockResult:
        result = await super().block_internet_banking(customer, operation_id)
        return replace(result, reference=f"IB-{result.reference}")


class NeverAlreadyBlocked(DemoBank):
    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        return replace(
            await super().block_card(customer, card_id, operation_id), already_blocked=False
        )


class NewBlockForABlockedTarget(DemoBank):
    """A second request for a blocked card records a block of its own, with a
    reference of its own (what the demo bank did before issue 17)."""

    def __init__(self, settings: DemoSettings) -> None:
        super().__init__(settings)
        self.references: dict[str, str] = {}

    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        result = await super().block_card(customer, card_id, operation_id)
        if not result.already_blocked:
            return result
        fresh = self.references.setdefault(operation_id, f"{secrets.randbelow(10**8):08d}")
        return replace(result, reference=fresh)


class OperationIdCachedWhateverTheTarget(DemoBank):
    """Remembers answers by operation id only (a common shortcut)."""

    def __init__(self, settings: DemoSettings) -> None:
        super().__init__(settings)
        self.answers: dict[str, BlockResult] = {}

    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        if operation_id not in self.answers:
            self.answers[operation_id] = await super().block_card(customer, card_id, operation_id)
        return self.answers[operation_id]

    async def block_internet_banking(self, customer: Customer, operation_id: str) -> BlockResult:
        if operation_id not in self.answers:
            result = await super().block_internet_banking(customer, operation_id)
            self.answers[operation_id] = result
        return self.answers[operation_id]


class UnknownCardRefused(Demo):
    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        try:
            return await super().block_card(customer, card_id, operation_id)
        except NotFound:
            if self.knows(customer.number):
                raise Refused("card cannot be blocked") from None
            raise


class UnknownCustomerLogsIn(Demo):
    """Lets in a well-formed customer number it does not know."""

    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        if customer_number.isdigit() and not self.knows(customer_number):
            return Customer(customer_number)
        return await super().authenticate(customer_number, pin)


class UnknownCustomerNotFound(Demo):
    """What the spec used to say: NotFound for an unknown customer at login."""

    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        if not self.knows(customer_number):
            raise NotFound("customer number or credentials not accepted")
        return await super().authenticate(customer_number, pin)


class IdentifyReturnsItsOwnId(DemoBank):
    async def identify(self, customer_number: str, birth_date: date) -> Customer:
        customer = await super().identify(customer_number, birth_date)
        return Customer(f"C-{customer.number}")


class AnyPinWillDo(Demo):
    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        if self.knows(customer_number):
            return Customer(customer_number)
        return await super().authenticate(customer_number, pin)


class SaysWhichPartWasWrong(Demo):
    async def identify(self, customer_number: str, birth_date: date) -> Customer:
        if not self.knows(customer_number):
            raise Refused("no such customer")
        try:
            return await super().identify(customer_number, birth_date)
        except Refused:
            raise Refused("wrong date of birth") from None


class PinInMessage(DemoBank):
    async def authenticate(self, customer_number: str, pin: str) -> Customer:
        try:
            return await super().authenticate(customer_number, pin)
        except Refused:
            raise Refused(f"telekod {pin} not accepted") from None


class BirthDateInCause(DemoBank):
    """The message is clean, but the chained cause shows the date of birth."""

    async def identify(self, customer_number: str, birth_date: date) -> Customer:
        try:
            return await super().identify(customer_number, birth_date)
        except Refused as exc:
            raise Refused("customer number or credentials not accepted") from ValueError(
                f"{customer_number}/{birth_date:%d%m%Y}: {exc}"
            )


@dataclass(frozen=True)
class CustomerWithBirthDate(Customer):
    born: date = date.min


class BirthDateInResult(DemoBank):
    async def identify(self, customer_number: str, birth_date: date) -> Customer:
        customer = await super().identify(customer_number, birth_date)
        return CustomerWithBirthDate(customer.number, birth_date)


class OldestFirst(DemoBank):
    async def last_operations(self, customer: Customer, limit: int = 5) -> list[Operation]:
        return list(reversed(await super().last_operations(customer, limit)))


class IgnoresLimit(DemoBank):
    async def last_operations(self, customer: Customer, limit: int = 5) -> list[Operation]:
        return await super().last_operations(customer, 100)


class SignedAmounts(DemoBank):
    async def last_operations(self, customer: Customer, limit: int = 5) -> list[Operation]:
        return [
            replace(op, amount=-op.amount) if op.direction is Direction.OUT else op
            for op in await super().last_operations(customer, limit)
        ]


class DatetimeBooked(DemoBank):
    async def last_operations(self, customer: Customer, limit: int = 5) -> list[Operation]:
        return [
            replace(op, booked=datetime.combine(op.booked, time(12)))
            for op in await super().last_operations(customer, limit)
        ]


class KeyErrorForUnknownCustomer(DemoBank):
    async def list_accounts(self, customer: Customer) -> list[Account]:
        accounts = await super().list_accounts(customer)
        if not accounts:
            raise KeyError(customer.number)
        return accounts


class ValueErrorOnOddInput(DemoBank):
    async def last_operations(self, customer: Customer, limit: int = 5) -> list[Operation]:
        if limit < 1:
            raise ValueError("limit must be positive")
        return await super().last_operations(customer, limit)


class BlockForAStrangerAnswered(Demo):
    async def block_card(self, customer: Customer, card_id: str, operation_id: str) -> BlockResult:
        if not self.knows(customer.number):
            return BlockResult("12345678")
        return await super().block_card(customer, card_id, operation_id)


class CloseFails(DemoBank):
    async def close(self) -> None:
        raise RuntimeError("connection pool already closed")


# --- optional operations -------------------------------------------------------------


class OffersWhatItLacks(DemoBank):
    # Offers every optional operation (OFFERS below), but one is a plain method.
    def exchange_rates(self) -> Any:
        return super().exchange_rates()


class WholeAccountNumber(DemoBank):
    async def account_list(self, customer: Customer) -> list[AccountSummary]:
        accounts = await super().account_list(customer)
        return [replace(a, last4=f"83124567000012345678{a.last4}") for a in accounts]


class FloatAvailable(DemoBank):
    async def account_balance(self, customer: Customer, account_id: str) -> Balance:
        balance = await super().account_balance(customer, account_id)
        return replace(balance, available=float(balance.available))  # type: ignore[arg-type]


class AccountOperationsOldestFirst(DemoBank):
    async def account_operations(
        self, customer: Customer, account_id: str, limit: int = 5
    ) -> list[Operation]:
        return list(reversed(await super().account_operations(customer, account_id, limit)))


class AnyonesAccount(DemoBank):
    async def account_balance(self, customer: Customer, account_id: str) -> Balance:
        if account_id.startswith("testkit-"):
            return Balance(account_id, Decimal("1.00"), Decimal("1.00"), "PLN")
        return await super().account_balance(customer, account_id)


class SellBelowBuy(DemoBank):
    async def exchange_rates(self) -> list[ExchangeRate]:
        return [replace(r, sell=r.buy - 1) for r in await super().exchange_rates()]


class InformationWithMarkup(DemoBank):
    async def bank_information(self) -> str | None:
        return '<speak>Bank <audio src="https://x.example/a.mp3"/></speak>'


class TelekodNotChanged(DemoBank):
    async def change_telekod(self, customer: Customer, old: str, new: str) -> None:
        await self.authenticate(customer.number, old)  # checks the old one, keeps it


class NegativeTransferAmount(DemoBank):
    async def predefined_transfers(
        self, customer: Customer, account_id: str
    ) -> list[PredefinedTransfer]:
        found = await super().predefined_transfers(customer, account_id)
        return [replace(t, amount=-t.amount) for t in found]

    async def execute_transfer(
        self, customer: Customer, transfer: PredefinedTransfer, operation_id: str
    ) -> TransferResult:
        flipped = replace(transfer, amount=-transfer.amount)
        return await super().execute_transfer(customer, flipped, operation_id)


class TransferTwice(DemoBank):
    async def execute_transfer(
        self, customer: Customer, transfer: PredefinedTransfer, operation_id: str
    ) -> TransferResult:
        # A new operation id each time: carried out again, a new reference.
        return await super().execute_transfer(
            customer, transfer, f"{operation_id}-{secrets.token_hex(4)}"
        )


@dataclass(frozen=True)
class Broken:
    adapter: type[DemoBank]
    rule: str
    caught_by: tuple[str, ...]  # the testkit checks that must fail, and only they


BROKEN: dict[str, Broken] = {
    "sync-close": Broken(
        AsyncMethodMadeSync,
        "close() is a plain method",
        ("test_adapter_is_core_banking_with_async_methods", "test_close_returns_quietly"),
    ),
    "float-money": Broken(
        FloatMoney,
        "balances are floats",
        ("test_accounts_have_decimal_balances_and_iso_currencies",),
    ),
    "whole-number-in-last4": Broken(
        WholeCardNumberInLast4, "last4 is the whole card number", ("test_card_numbers_are_masked",)
    ),
    "whole-number-as-card-id": Broken(
        WholeCardNumberAsCardId,
        "card_id is the whole card number",
        ("test_card_numbers_are_masked",),
    ),
    "plain-string-kind": Broken(PlainStringKind, "kind is a str", ("test_cards_are_typed",)),
    "new-reference-each-time": Broken(
        NewReferenceEachTime,
        "a repeated block gets a new reference",
        (
            "test_blocking_a_card_twice_with_one_operation_id_blocks_it_once",
            "test_two_blocks_of_one_target_at_once_give_one_block_and_one_reference",
        ),
    ),
    "internet-banking-new-reference-each-time": Broken(
        InternetBankingNewReferenceEachTime,
        "a repeated internet-banking block gets a new reference",
        (
            "test_blocking_internet_banking_twice_with_one_operation_id_blocks_it_once",
            "test_two_blocks_of_one_target_at_once_give_one_block_and_one_reference",
        ),
    ),
    "letters-in-reference": Broken(
        LettersInReference, "a reference has letters", ("test_block_references_are_digits",)
    ),
    "never-already-blocked": Broken(
        NeverAlreadyBlocked,
        "already_blocked is always false",
        (
            "test_blocking_says_whether_it_was_blocked_already",
            "test_two_blocks_of_one_target_at_once_give_one_block_and_one_reference",
        ),
    ),
    "new-block-for-a-blocked-target": Broken(
        NewBlockForABlockedTarget,
        "a second block of a blocked card gets a reference of its own",
        ("test_two_blocks_of_one_target_at_once_give_one_block_and_one_reference",),
    ),
    "operation-id-cached": Broken(
        OperationIdCachedWhateverTheTarget,
        "an operation id reused for another block answers the first block",
        ("test_an_operation_id_is_not_reused_for_another_block",),
    ),
    "unknown-card-refused": Broken(
        UnknownCardRefused,
        "an unknown card is Refused",
        ("test_blocking_an_unknown_card_is_not_found",),
    ),
    "unknown-customer-logs-in": Broken(
        UnknownCustomerLogsIn,
        "an unknown customer number logs in",
        ("test_unknown_customer_is_refused_at_login",),
    ),
    # NotFound at login breaks two rules: it is not Refused, and its type tells
    # a wrong number from a wrong PIN.
    "unknown-customer-not-found": Broken(
        UnknownCustomerNotFound,
        "an unknown customer number raises NotFound at login",
        ("test_unknown_customer_is_refused_at_login", "test_refusals_do_not_say_what_was_wrong"),
    ),
    "identify-returns-its-own-id": Broken(
        IdentifyReturnsItsOwnId,
        "identify returns the core's own id, not the customer number",
        ("test_identify_returns_the_customer",),
    ),
    "any-pin": Broken(  # the telekod's change shows it too: the old one still works
        AnyPinWillDo,
        "any PIN logs in",
        (
            "test_wrong_pin_or_birth_date_is_refused",
            "test_change_telekod_takes_the_new_one_and_refuses_a_wrong_old_one",
        ),
    ),
    "says-which-part": Broken(
        SaysWhichPartWasWrong,
        "identify says whether the number or the date was wrong",
        ("test_refusals_do_not_say_what_was_wrong",),
    ),
    "pin-in-message": Broken(
        PinInMessage,
        "the Refused message has the PIN",
        ("test_pin_and_birth_date_never_come_back",),
    ),
    "birth-date-in-cause": Broken(
        BirthDateInCause,
        "the exception's cause has the date of birth",
        ("test_pin_and_birth_date_never_come_back",),
    ),
    "birth-date-in-result": Broken(
        BirthDateInResult,
        "identify returns the date of birth",
        ("test_pin_and_birth_date_never_come_back",),
    ),
    "oldest-first": Broken(OldestFirst, "oldest first", ("test_operations_are_newest_first",)),
    "ignores-limit": Broken(IgnoresLimit, "limit ignored", ("test_operations_respect_the_limit",)),
    "signed-amounts": Broken(
        SignedAmounts,
        "amounts out are negative",
        ("test_operations_are_typed_with_positive_decimal_amounts",),
    ),
    "datetime-booked": Broken(
        DatetimeBooked,
        "booked is a datetime",
        ("test_operations_are_typed_with_positive_decimal_amounts",),
    ),
    "key-error-for-unknown-customer": Broken(
        KeyErrorForUnknownCustomer,
        "accounts of an unknown customer raise KeyError",
        ("test_an_unknown_customer_has_no_cards_accounts_or_blocks",),
    ),
    "value-error-on-odd-input": Broken(
        ValueErrorOnOddInput,
        "a zero limit raises ValueError",
        ("test_odd_input_raises_only_adapter_errors",),
    ),
    "blocks-for-a-stranger": Broken(
        BlockForAStrangerAnswered,
        "a card block for an unknown customer succeeds",
        ("test_an_unknown_customer_has_no_cards_accounts_or_blocks",),
    ),
    "close-fails": Broken(CloseFails, "close() raises", ("test_close_returns_quietly",)),
    "offers-what-it-lacks": Broken(
        OffersWhatItLacks,
        "offers exchange_rates, not as an async def",
        ("test_offered_operations_are_async_methods",),
    ),
    "whole-account-number": Broken(
        WholeAccountNumber,
        "the whole account number in last4",
        ("test_account_list_gives_kind_last_digits_and_currency",),
    ),
    "float-available": Broken(
        FloatAvailable,
        "available funds as float",
        ("test_account_balance_gives_decimal_balance_and_available_funds",),
    ),
    "account-operations-oldest-first": Broken(
        AccountOperationsOldestFirst,
        "an account's operations oldest first",
        ("test_account_operations_are_typed_newest_first_and_limited",),
    ),
    "anyones-account": Broken(
        AnyonesAccount,
        "another's account is answered",
        ("test_another_accounts_balance_and_operations_are_not_found",),
    ),
    "sell-below-buy": Broken(
        SellBelowBuy,
        "sells cheaper than it buys",
        ("test_exchange_rates_are_positive_decimals_per_currency",),
    ),
    "information-with-markup": Broken(
        InformationWithMarkup,
        "markup in the information",
        ("test_bank_information_is_a_short_text_or_none",),
    ),
    "telekod-not-changed": Broken(
        TelekodNotChanged,
        "change_telekod keeps the old one",
        ("test_change_telekod_takes_the_new_one_and_refuses_a_wrong_old_one",),
    ),
    "negative-transfer-amount": Broken(
        NegativeTransferAmount, "a negative amount", ("test_predefined_transfers_are_typed",)
    ),
    "transfer-twice": Broken(
        TransferTwice,
        "not idempotent on the operation id",
        ("test_execute_transfer_once_per_operation_id_and_only_as_ordered",),
    ),
}


@hookimpl
def infolinia_register_adapters() -> list[AdapterFactory]:
    return [
        AdapterFactory(
            name, DemoSettings, broken.adapter, f"breaks a rule: {broken.rule}", offers=OFFERS
        )
        for name, broken in BROKEN.items()
    ]
