"""The conformance checks: one test per rule of :mod:`adapters.spec`, named
after the rule.

Collected by the ``adapters.testkit`` plugin when pytest runs with
``--adapter``. Each check is a plain function that hands a coroutine to
``kit.run``, which creates the adapter, awaits the coroutine and closes the
adapter in one event loop. A check judges its own rule only: what another
rule says about the same answer is left to that rule's check.
"""

import asyncio
import inspect
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import suppress
from dataclasses import fields, is_dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import pytest

from adapters.errors import AdapterError, NotFound, Refused
from adapters.spec import (
    Account,
    AccountKind,
    AccountSummary,
    Balance,
    BlockResult,
    Card,
    CardKind,
    CardStatus,
    CoreBanking,
    Customer,
    Direction,
    ExchangeRate,
    Operation,
    OptionalOperation,
    PredefinedTransfer,
    TransferResult,
)
from adapters.testkit import Kit

T = TypeVar("T")

METHODS = [name for name, value in vars(CoreBanking).items() if inspect.iscoroutinefunction(value)]
CURRENCY = re.compile(r"[A-Z]{3}")  # ISO 4217
DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit() also takes "²" and "٣"
LAST4 = re.compile(r"[0-9]{4}")
# A whole card number: 13 digits or more in a row, or groups of four such as
# "4111 1111 1111 1111". (Not 12: the last group of a UUID can be 12 digits.)
# A whole account number (NRB: 26 digits, maybe in groups) or an IBAN.
ACCOUNT_NUMBER = re.compile(r"[0-9]{16,}|[0-9]{2}( [0-9]{4}){5,}")
CARD_NUMBER = re.compile(r"[0-9]{13,}|(?<![0-9])[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{1,7}")


# --- helpers -----------------------------------------------------------------------


async def attempt(call: Awaitable[T]) -> T | Exception:
    """What the call returned, or the exception it raised."""
    try:
        return await call
    except Exception as exc:
        return exc


def told(outcome: object) -> str:
    if isinstance(outcome, Exception):
        return f"raised {type(outcome).__name__}({str(outcome)!r})"
    return f"returned {outcome!r}"


def new_operation_id(target: str) -> str:
    return f"testkit-{uuid.uuid4().hex}:{target}"


def wrong_pin(pin: str) -> str:
    """Another PIN of the same length, unlikely to appear in a message by chance."""
    return "".join(str((int(digit) + 5) % 10) for digit in pin)


def wrong_birth_date(born: date) -> date:
    return born + timedelta(days=1) if born < date.max else born - timedelta(days=1)


def date_forms(day: date) -> list[str]:
    """How a date of birth could be spelled in a message or a field."""
    return [
        day.isoformat(),
        f"{day:%d%m%Y}",
        f"{day:%d.%m.%Y}",
        f"{day:%Y%m%d}",
        f"{day:%d/%m/%Y}",
        f"{day.year}, {day.month}, {day.day}",  # repr(date)
    ]


def exception_texts(exc: BaseException) -> Iterator[str]:
    """The message and repr of an exception and of what a traceback would show
    with it (its cause, or its context unless suppressed with ``from None``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        if current.__cause__ is not None:
            current = current.__cause__
        elif not current.__suppress_context__:
            current = current.__context__
        else:
            current = None


def leaves(value: object, depth: int = 0) -> Iterator[object]:
    """Every field value inside a returned object (a few levels deep)."""
    if depth > 5:
        return
    if is_dataclass(value) and not isinstance(value, type):
        for field in fields(value):
            yield from leaves(getattr(value, field.name), depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from leaves(item, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(key, depth + 1)
            yield from leaves(item, depth + 1)
    else:
        yield value


def leaked(value: object, pin: str, born: date, numbers: tuple[str, ...]) -> list[str]:
    """Where ``value`` (a result or an exception) shows the PIN or the date of birth.

    A PIN is short and may be part of a customer number (1234 in 12345678):
    ``numbers`` are taken out of a message before the PIN is looked for, and in
    a returned object only a field that is the PIN counts.
    """
    forms = date_forms(born)
    if isinstance(value, BaseException):
        found = []
        for text in exception_texts(value):
            without_numbers = text
            for number in numbers:
                without_numbers = without_numbers.replace(number, "")
            if pin in without_numbers:
                found.append(f"{pin!r} in {text!r}")
            found += [f"{form!r} in {text!r}" for form in forms if form in text]
        return found
    found = [
        f"{form!r} in {text!r}"
        for text in (str(value), repr(value))
        for form in forms
        if form in text
    ]
    for leaf in leaves(value):
        if leaf == pin or (type(leaf) is date and leaf == born):
            found.append(f"a field holding {leaf!r} in {value!r}")
    return found


def pick_card(cards: list[Card], prefer: CardStatus) -> Card:
    preferred = [card for card in cards if card.status is prefer]
    return (preferred or cards)[0]


async def cards_of(kit: Kit, bank: CoreBanking, customer: Customer) -> list[Card]:
    cards = await bank.list_cards(customer)
    if not cards:
        pytest.fail(
            f"the test customer {kit.customer.number} has no cards: the config must name "
            "a customer of the sandbox with at least one card",
            pytrace=False,
        )
    return cards


async def forgive(kit: Kit, bank: CoreBanking) -> None:
    """Log in right once, so the core's count of failed logins starts again."""
    with suppress(Exception):
        await kit.login(bank)


# --- the contract's shape ----------------------------------------------------------


def test_adapter_is_core_banking_with_async_methods(kit: Kit) -> None:
    """Every method of CoreBanking is there and is a coroutine function: a plain
    method would block every call the app is serving."""

    async def check(bank: CoreBanking) -> None:
        assert isinstance(bank, CoreBanking), (
            f"{type(bank).__name__} lacks methods of adapters.spec.CoreBanking: "
            f"{[name for name in METHODS if not hasattr(bank, name)]}"
        )
        plain = [name for name in METHODS if not inspect.iscoroutinefunction(getattr(bank, name))]
        assert not plain, f"these methods must be 'async def': {plain}"

    kit.run(check)


# --- logging in ----------------------------------------------------------------------


def test_authenticate_returns_the_customer(kit: Kit) -> None:
    async def check(bank: CoreBanking) -> None:
        customer = await bank.authenticate(kit.customer.number, kit.customer.pin)
        assert isinstance(customer, Customer), f"authenticate returned {customer!r}, not a Customer"
        assert customer.number == kit.customer.number, (
            f"authenticate returned customer {customer.number!r}, not {kit.customer.number!r}"
        )

    kit.run(check)


def test_identify_returns_the_customer(kit: Kit) -> None:
    async def check(bank: CoreBanking) -> None:
        customer = await bank.identify(kit.customer.number, kit.customer.birth_date)
        assert isinstance(customer, Customer), f"identify returned {customer!r}, not a Customer"
        assert customer.number == kit.customer.number, (
            f"identify returned customer {customer.number!r}, not {kit.customer.number!r}"
        )

    kit.run(check)


def test_unknown_customer_is_refused_at_login(kit: Kit) -> None:
    """An unknown number is wrong credentials: Refused, never NotFound (a caller
    must not learn which customer numbers exist)."""

    async def check(bank: CoreBanking) -> None:
        unknown = kit.unknown_customer
        for call, outcome in (
            (
                f"authenticate({unknown!r}, …)",
                await attempt(bank.authenticate(unknown, kit.customer.pin)),
            ),
            (
                f"identify({unknown!r}, …)",
                await attempt(bank.identify(unknown, kit.customer.birth_date)),
            ),
        ):
            assert isinstance(outcome, Refused), (
                f"an unknown customer must be refused (adapters.errors.Refused) like a wrong "
                f"PIN, but {call} {told(outcome)}"
            )

    kit.run(check)


def test_wrong_pin_or_birth_date_is_refused(kit: Kit) -> None:
    async def check(bank: CoreBanking) -> None:
        number = kit.customer.number
        try:
            pin = await attempt(bank.authenticate(number, wrong_pin(kit.customer.pin)))
            born = await attempt(bank.identify(number, wrong_birth_date(kit.customer.birth_date)))
        finally:
            await forgive(kit, bank)
        assert isinstance(pin, Refused), f"authenticate with a wrong PIN {told(pin)}, not Refused"
        assert isinstance(born, Refused), (
            f"identify with a wrong date of birth {told(born)}, not Refused"
        )

    kit.run(check)


def test_refusals_do_not_say_what_was_wrong(kit: Kit) -> None:
    """A method refuses an unknown number and a wrong secret with one error
    type and one message (apart from the number it was given)."""

    async def check(bank: CoreBanking) -> None:
        number, unknown = kit.customer.number, kit.unknown_customer
        pin, born = wrong_pin(kit.customer.pin), wrong_birth_date(kit.customer.birth_date)
        try:
            by_method = {
                "authenticate": [
                    await attempt(bank.authenticate(unknown, pin)),
                    await attempt(bank.authenticate(number, pin)),
                ],
                "identify": [
                    await attempt(bank.identify(unknown, born)),
                    await attempt(bank.identify(number, born)),
                ],
            }
        finally:
            await forgive(kit, bank)
        for method, (for_unknown, for_wrong) in by_method.items():
            # Echoing the number asked about tells nothing: it is taken out.
            said = {
                f"{type(o).__name__}: {str(o).replace(asked, '<number>')}"
                for o, asked in ((for_unknown, unknown), (for_wrong, number))
                if isinstance(o, AdapterError)
            }
            assert len(said) <= 1, (
                f"{method} says which part was wrong: for an unknown customer it "
                f"{told(for_unknown)}, for the customer with a wrong secret it {told(for_wrong)}"
            )

    kit.run(check)


def test_pin_and_birth_date_never_come_back(kit: Kit) -> None:
    """Neither in exceptions (nor their causes) nor in returned objects."""

    async def check(bank: CoreBanking) -> None:
        number, unknown = kit.customer.number, kit.unknown_customer
        pin, born = kit.customer.pin, kit.customer.birth_date
        bad_pin, bad_born = wrong_pin(pin), wrong_birth_date(born)
        numbers = (number, unknown)
        problems: list[str] = []
        try:
            for call, outcome in (
                (
                    "authenticate with a wrong PIN",
                    await attempt(bank.authenticate(number, bad_pin)),
                ),
                ("authenticate, unknown", await attempt(bank.authenticate(unknown, bad_pin))),
                ("identify with a wrong date", await attempt(bank.identify(number, bad_born))),
                ("identify, unknown", await attempt(bank.identify(unknown, bad_born))),
            ):
                problems += [
                    f"{call}: {where}" for where in leaked(outcome, bad_pin, bad_born, numbers)
                ]
        finally:
            await forgive(kit, bank)
        customer = await kit.login(bank)
        answer: object
        for call, answer in (
            ("authenticate", customer),
            ("identify", await attempt(bank.identify(number, born))),
            ("list_cards", await attempt(bank.list_cards(customer))),
            ("list_accounts", await attempt(bank.list_accounts(customer))),
            ("last_operations", await attempt(bank.last_operations(customer))),
        ):
            problems += [f"{call}: {where}" for where in leaked(answer, pin, born, numbers)]
        assert not problems, "a PIN or a date of birth came back: " + "; ".join(problems)

    kit.run(check)


# --- reading -----------------------------------------------------------------------


def test_cards_are_typed(kit: Kit) -> None:
    async def check(bank: CoreBanking) -> None:
        cards = await cards_of(kit, bank, await kit.login(bank))
        assert isinstance(cards, list), f"list_cards returned {type(cards).__name__}, not a list"
        for card in cards:
            assert isinstance(card, Card), f"list_cards returned {card!r}, not a Card"
            assert isinstance(card.card_id, str) and card.card_id, f"card_id of {card!r}"
            assert isinstance(card.last4, str), f"last4 must be a str: {card!r}"
            assert isinstance(card.kind, CardKind), f"kind must be a CardKind: {card!r}"
            assert isinstance(card.status, CardStatus), f"status must be a CardStatus: {card!r}"

    kit.run(check)


def test_card_numbers_are_masked(kit: Kit) -> None:
    """last4 is exactly four digits and no field carries a whole card number."""

    async def check(bank: CoreBanking) -> None:
        for card in await cards_of(kit, bank, await kit.login(bank)):
            assert LAST4.fullmatch(str(card.last4)), (
                f"last4 must be exactly the last four digits: {card.last4!r}"
            )
            assert not CARD_NUMBER.search(repr(card)), (
                f"a card must not carry its whole number: {card!r}"
            )

    kit.run(check)


def test_accounts_have_decimal_balances_and_iso_currencies(kit: Kit) -> None:
    async def check(bank: CoreBanking) -> None:
        accounts = await bank.list_accounts(await kit.login(bank))
        assert isinstance(accounts, list), f"list_accounts returned {accounts!r}, not a list"
        assert accounts, (
            f"the test customer {kit.customer.number} has no accounts: the config must name "
            "a customer of the sandbox with at least one account"
        )
        for account in accounts:
            assert isinstance(account, Account), f"list_accounts returned {account!r}"
            assert isinstance(account.account_id, str) and account.account_id, f"{account!r}"
            assert isinstance(account.name, str), f"name must be a str: {account!r}"
            assert isinstance(account.balance, Decimal), (
                f"money must be a Decimal, not {type(account.balance).__name__}: {account!r}"
            )
            assert account.balance.is_finite(), f"balance must be a number: {account!r}"
            assert isinstance(account.currency, str) and CURRENCY.fullmatch(account.currency), (
                f"currency must be an ISO 4217 code such as 'PLN': {account!r}"
            )

    kit.run(check)


def test_operations_are_typed_with_positive_decimal_amounts(kit: Kit) -> None:
    """booked is a date (not a datetime), amount a positive Decimal, direction a
    Direction, currency ISO 4217."""

    async def check(bank: CoreBanking) -> None:
        operations = await bank.last_operations(await kit.login(bank))
        assert isinstance(operations, list), f"last_operations returned {operations!r}"
        assert operations, (
            f"the test customer {kit.customer.number} has no operations: the config must name "
            "a customer of the sandbox with operations"
        )
        for op in operations:
            assert isinstance(op, Operation), f"last_operations returned {op!r}"
            assert type(op.booked) is date, (
                f"booked must be a date, not {type(op.booked).__name__}: {op!r}"
            )
            assert isinstance(op.amount, Decimal), (
                f"money must be a Decimal, not {type(op.amount).__name__}: {op!r}"
            )
            assert op.amount.is_finite() and op.amount > 0, (
                f"amount must be positive (direction says in or out): {op!r}"
            )
            assert isinstance(op.direction, Direction), f"direction must be a Direction: {op!r}"
            assert isinstance(op.currency, str) and CURRENCY.fullmatch(op.currency), (
                f"currency must be an ISO 4217 code such as 'PLN': {op!r}"
            )
            assert isinstance(op.counterparty, str), f"counterparty must be a str: {op!r}"

    kit.run(check)


def test_operations_are_newest_first(kit: Kit) -> None:
    async def check(bank: CoreBanking) -> None:
        operations = await bank.last_operations(await kit.login(bank), 20)
        booked = [op.booked for op in operations]
        if len(set(booked)) < 2:
            pytest.skip(
                "the test customer needs operations booked on two different days "
                "for their order to be checked"
            )
        assert booked == sorted(booked, reverse=True), (
            f"operations must come newest first, but were booked {[str(d) for d in booked]}"
        )

    kit.run(check)


def test_operations_respect_the_limit(kit: Kit) -> None:
    """At most ``limit`` operations (5 by default), and the most recent ones."""

    async def check(bank: CoreBanking) -> None:
        customer = await kit.login(bank)
        everything = await bank.last_operations(customer, 20)
        newest = sorted((op.booked for op in everything), reverse=True)
        for limit in (1, 2, None):
            got = await (
                bank.last_operations(customer)
                if limit is None
                else bank.last_operations(customer, limit)
            )
            wanted = 5 if limit is None else limit
            call = "last_operations(customer)" if limit is None else f"limit={limit}"
            assert len(got) == min(wanted, len(everything)), (
                f"{call} returned {len(got)} operations; the customer has {len(everything)}"
            )
            assert sorted((op.booked for op in got), reverse=True) == newest[:wanted], (
                f"{call} must return the most recent operations, got {got!r}"
            )

    kit.run(check)


# --- blocking ------------------------------------------------------------------------


def test_blocking_says_whether_it_was_blocked_already(kit: Kit) -> None:
    """already_blocked is false when the request blocked an active card, and true
    when the card or internet banking was blocked before the request."""

    async def check(bank: CoreBanking) -> None:
        customer = await kit.login(bank)
        card = pick_card(await cards_of(kit, bank, customer), prefer=CardStatus.ACTIVE)
        first = await bank.block_card(customer, card.card_id, new_operation_id(card.card_id))
        if card.status is CardStatus.ACTIVE:
            assert not first.already_blocked, (
                f"blocking active card {card.last4} said already_blocked=True: {first!r}"
            )
        again = await bank.block_card(customer, card.card_id, new_operation_id(card.card_id))
        assert again.already_blocked, (
            f"blocking card {card.last4} again (a new operation id) must say "
            f"already_blocked=True: {again!r}"
        )
        await bank.block_internet_banking(customer, new_operation_id("internet-banking"))
        later = await bank.block_internet_banking(customer, new_operation_id("internet-banking"))
        assert later.already_blocked, (
            f"blocking internet banking again (a new operation id) must say "
            f"already_blocked=True: {later!r}"
        )

    kit.run(check)


def test_two_blocks_of_one_target_at_once_give_one_block_and_one_reference(kit: Kit) -> None:
    """Two callers block the same card (or internet banking) at the same moment,
    each with an operation id of its own: the bank blocks it once, and both get
    the reference of that block; exactly one answer says already_blocked=False
    when the target was active. A later block of the blocked target also gets
    that reference (the caller's proof names the block in force)."""

    async def check(bank: CoreBanking) -> None:
        customer = await kit.login(bank)
        card = pick_card(await cards_of(kit, bank, customer), prefer=CardStatus.ACTIVE)

        def block_card() -> Awaitable[BlockResult]:
            return bank.block_card(customer, card.card_id, new_operation_id(card.card_id))

        def block_internet_banking() -> Awaitable[BlockResult]:
            return bank.block_internet_banking(customer, new_operation_id("internet-banking"))

        targets: list[tuple[str, Callable[[], Awaitable[BlockResult]]]] = [
            (f"card {card.last4}", block_card),
            ("internet banking", block_internet_banking),
        ]
        for what, block in targets:
            both = await asyncio.gather(block(), block())
            references = {result.reference for result in both}
            assert len(references) == 1, (
                f"two blocks of {what} at once gave two references {sorted(references)}: "
                "the second block of a blocked target must answer the block in force"
            )
            if what != "internet banking" and card.status is CardStatus.ACTIVE:
                firsts = [result for result in both if not result.already_blocked]
                assert len(firsts) == 1, (
                    f"two blocks of active {what} at once: exactly one must say "
                    f"already_blocked=False, got {both!r}"
                )
            later = await block()
            assert later.reference in references and later.already_blocked, (
                f"blocking {what} once more must answer the block in force "
                f"({references.pop()}) with already_blocked=True: {later!r}"
            )

    kit.run(check)


def test_blocking_a_card_twice_with_one_operation_id_blocks_it_once(kit: Kit) -> None:
    """The same operation id gives the same BlockResult (infolinia asks again
    after a timeout), and the card is blocked afterwards."""

    async def check(bank: CoreBanking) -> None:
        customer = await kit.login(bank)
        card = pick_card(await cards_of(kit, bank, customer), prefer=CardStatus.ACTIVE)
        operation_id = new_operation_id(card.card_id)
        first = await bank.block_card(customer, card.card_id, operation_id)
        again = await bank.block_card(customer, card.card_id, operation_id)
        assert isinstance(first, BlockResult), f"block_card returned {first!r}"
        assert again == first, (
            f"block_card with one operation id must answer the same both times: "
            f"first {first!r}, then {again!r}"
        )
        status = {c.card_id: c.status for c in await bank.list_cards(customer)}
        assert status.get(card.card_id) is CardStatus.BLOCKED, (
            f"card {card.last4} is {status.get(card.card_id)!r} after block_card said {first!r}"
        )

    kit.run(check)


def test_blocking_internet_banking_twice_with_one_operation_id_blocks_it_once(kit: Kit) -> None:
    async def check(bank: CoreBanking) -> None:
        customer = await kit.login(bank)
        operation_id = new_operation_id("internet-banking")
        first = await bank.block_internet_banking(customer, operation_id)
        again = await bank.block_internet_banking(customer, operation_id)
        assert isinstance(first, BlockResult), f"block_internet_banking returned {first!r}"
        assert again == first, (
            f"block_internet_banking with one operation id must answer the same both "
            f"times: first {first!r}, then {again!r}"
        )

    kit.run(check)


def test_block_references_are_digits(kit: Kit) -> None:
    """The caller hears the reference digit by digit."""

    async def check(bank: CoreBanking) -> None:
        customer = await kit.login(bank)
        card = pick_card(await cards_of(kit, bank, customer), prefer=CardStatus.BLOCKED)
        for call, result in (
            ("block_card", await bank.block_card(customer, card.card_id, new_operation_id("c"))),
            (
                "block_internet_banking",
                await bank.block_internet_banking(customer, new_operation_id("internet-banking")),
            ),
        ):
            reference = result.reference
            assert isinstance(reference, str) and DIGITS.fullmatch(reference), (
                f"{call} returned reference {reference!r}: it must be digits 0-9 only"
            )

    kit.run(check)


def test_an_operation_id_is_not_reused_for_another_block(kit: Kit) -> None:
    """An operation id that comes back with another target is Refused, and
    does not answer with the first block's reference."""

    async def check(bank: CoreBanking) -> None:
        customer = await kit.login(bank)
        cards = await cards_of(kit, bank, customer)
        card = pick_card(cards, prefer=CardStatus.BLOCKED)
        operation_id = new_operation_id(card.card_id)
        await bank.block_card(customer, card.card_id, operation_id)
        others: list[tuple[str, Callable[[], Awaitable[BlockResult]]]] = [
            ("block_internet_banking", partial(bank.block_internet_banking, customer, operation_id))
        ]
        other = next((c for c in cards if c.card_id != card.card_id), None)
        if other is not None:
            others.append(
                (
                    f"block_card of card {other.last4}",
                    partial(bank.block_card, customer, other.card_id, operation_id),
                )
            )
        for call, block in others:
            outcome = await attempt(block())
            assert isinstance(outcome, Refused), (
                f"{call} with the operation id of the block of card {card.last4} must be "
                f"refused, but it {told(outcome)}"
            )

    kit.run(check)


def test_blocking_an_unknown_card_is_not_found(kit: Kit) -> None:
    async def check(bank: CoreBanking) -> None:
        customer = await kit.login(bank)
        card_id = f"no-such-card-{uuid.uuid4().hex}"
        outcome = await attempt(bank.block_card(customer, card_id, new_operation_id(card_id)))
        assert isinstance(outcome, NotFound), (
            f"block_card of a card the customer does not have {told(outcome)}, not NotFound"
        )

    kit.run(check)


def test_an_unknown_customer_has_no_cards_accounts_or_blocks(kit: Kit) -> None:
    """Given a customer the core does not know, reads return nothing (or raise
    NotFound) and blocks raise NotFound, even of the test customer's card."""

    async def check(bank: CoreBanking) -> None:
        customer = await kit.login(bank)
        card = (await cards_of(kit, bank, customer))[0]
        stranger = Customer(kit.unknown_customer)
        for call, outcome in (
            ("list_cards", await attempt(bank.list_cards(stranger))),
            ("list_accounts", await attempt(bank.list_accounts(stranger))),
            ("last_operations", await attempt(bank.last_operations(stranger))),
        ):
            assert outcome == [] or isinstance(outcome, NotFound), (
                f"{call} of an unknown customer must return [] or raise NotFound; it "
                f"{told(outcome)}"
            )
        for call, refusal in (
            (
                "block_internet_banking",
                await attempt(bank.block_internet_banking(stranger, new_operation_id("ib"))),
            ),
            (
                f"block_card of the test customer's card {card.last4}",
                await attempt(bank.block_card(stranger, card.card_id, new_operation_id("c"))),
            ),
        ):
            assert isinstance(refusal, NotFound), (
                f"{call} for an unknown customer must raise NotFound; it {told(refusal)}"
            )

    kit.run(check)


# --- optional operations (each checked only if the adapter offers it) ---------------


def test_offered_operations_are_async_methods(kit: Kit) -> None:
    """Every optional operation the factory says the adapter offers is there,
    an ``async def`` of that name."""

    async def check(bank: CoreBanking) -> None:
        missing = [op.value for op in sorted(kit.offers) if not hasattr(bank, op.value)]
        assert not missing, f"the adapter says it offers {missing} but has no such method"
        plain = [
            op.value
            for op in sorted(kit.offers)
            if not inspect.iscoroutinefunction(getattr(bank, op.value))
        ]
        assert not plain, f"these offered operations must be 'async def': {plain}"

    kit.run(check)


async def summaries(kit: Kit, bank: Any, customer: Customer) -> list[AccountSummary]:
    accounts = await bank.account_list(customer)
    assert isinstance(accounts, list), f"account_list returned {accounts!r}, not a list"
    assert accounts, (
        f"the test customer {kit.customer.number} has no accounts in account_list: the "
        "config must name a customer of the sandbox with at least one account"
    )
    return accounts


def test_account_list_gives_kind_last_digits_and_currency(kit: Kit) -> None:
    """account_list: AccountSummary items with an AccountKind, four last digits
    (never the whole number), an ISO currency and a string id."""
    kit.require(OptionalOperation.ACCOUNT_LIST)

    async def check(bank: Any) -> None:
        for account in await summaries(kit, bank, await kit.login(bank)):
            assert isinstance(account, AccountSummary), f"account_list returned {account!r}"
            assert isinstance(account.account_id, str) and account.account_id, f"{account!r}"
            assert isinstance(account.kind, AccountKind), (
                f"kind must be an AccountKind member: {account!r}"
            )
            assert isinstance(account.last4, str) and LAST4.fullmatch(account.last4), (
                f"last4 must be the last four digits of the number: {account!r}"
            )
            assert isinstance(account.currency, str) and CURRENCY.fullmatch(account.currency), (
                f"currency must be an ISO 4217 code such as 'PLN': {account!r}"
            )
            assert not ACCOUNT_NUMBER.search(repr(account)), (
                f"an account must not carry its whole number: {account!r}"
            )

    kit.run(check)


async def account_ids(kit: Kit, bank: Any, customer: Customer) -> list[str]:
    """The test customer's account ids: from account_list if offered."""
    if OptionalOperation.ACCOUNT_LIST in kit.offers:
        return [account.account_id for account in await summaries(kit, bank, customer)]
    return [account.account_id for account in await bank.list_accounts(customer)]


def test_account_balance_gives_decimal_balance_and_available_funds(kit: Kit) -> None:
    """account_balance of each of the customer's accounts: a Balance of that
    account, balance and available both Decimal, an ISO currency."""
    kit.require(OptionalOperation.ACCOUNT_BALANCE)

    async def check(bank: Any) -> None:
        customer = await kit.login(bank)
        for account_id in await account_ids(kit, bank, customer):
            balance = await bank.account_balance(customer, account_id)
            assert isinstance(balance, Balance), f"account_balance returned {balance!r}"
            assert balance.account_id == account_id, (
                f"account_balance of {account_id!r} returned another account's: {balance!r}"
            )
            for name in ("balance", "available"):
                money = getattr(balance, name)
                assert isinstance(money, Decimal) and money.is_finite(), (
                    f"{name} must be a Decimal, not {type(money).__name__}: {balance!r}"
                )
            assert isinstance(balance.currency, str) and CURRENCY.fullmatch(balance.currency), (
                f"currency must be an ISO 4217 code such as 'PLN': {balance!r}"
            )

    kit.run(check)


def test_account_operations_are_typed_newest_first_and_limited(kit: Kit) -> None:
    """account_operations of each account: Operations as last_operations gives
    (date, positive Decimal, Direction, ISO currency), newest first, at most limit."""
    kit.require(OptionalOperation.ACCOUNT_OPERATIONS)

    async def check(bank: Any) -> None:
        customer = await kit.login(bank)
        for account_id in await account_ids(kit, bank, customer):
            operations = await bank.account_operations(customer, account_id, 5)
            assert isinstance(operations, list), f"account_operations returned {operations!r}"
            assert len(operations) <= 5, f"limit=5 gave {len(operations)} operations"
            for op in operations:
                assert isinstance(op, Operation), f"account_operations returned {op!r}"
                assert type(op.booked) is date, f"booked must be a date: {op!r}"
                assert isinstance(op.amount, Decimal) and op.amount > 0, (
                    f"amount must be a positive Decimal: {op!r}"
                )
                assert isinstance(op.direction, Direction), f"not a Direction: {op!r}"
                assert CURRENCY.fullmatch(str(op.currency)), f"currency not ISO 4217: {op!r}"
            days = [op.booked for op in operations]
            assert days == sorted(days, reverse=True), (
                f"account_operations must be newest first: {days}"
            )
            one = await bank.account_operations(customer, account_id, 1)
            assert len(one) == min(1, len(operations)), f"limit=1 gave {len(one)} operations"

    kit.run(check)


def test_another_accounts_balance_and_operations_are_not_found(kit: Kit) -> None:
    """account_balance and account_operations of an account that is not the
    customer's raise NotFound."""
    kit.require(OptionalOperation.ACCOUNT_BALANCE, OptionalOperation.ACCOUNT_OPERATIONS)

    async def check(bank: Any) -> None:
        customer = await kit.login(bank)
        stranger = f"testkit-no-such-account-{uuid.uuid4().hex[:8]}"
        for call, outcome in (
            ("account_balance", await attempt(bank.account_balance(customer, stranger))),
            ("account_operations", await attempt(bank.account_operations(customer, stranger))),
        ):
            assert isinstance(outcome, NotFound), (
                f"{call} of an account that is not the customer's {told(outcome)}, not NotFound"
            )

    kit.run(check)


def test_exchange_rates_are_positive_decimals_per_currency(kit: Kit) -> None:
    """exchange_rates: ExchangeRate rows, an ISO currency other than PLN each
    once, buy and sell positive Decimals with buy <= sell, units a positive int."""
    kit.require(OptionalOperation.EXCHANGE_RATES)

    async def check(bank: Any) -> None:
        rates = await bank.exchange_rates()
        assert isinstance(rates, list) and rates, f"exchange_rates returned {rates!r}"
        for rate in rates:
            assert isinstance(rate, ExchangeRate), f"exchange_rates returned {rate!r}"
            assert CURRENCY.fullmatch(str(rate.currency)) and rate.currency != "PLN", (
                f"currency must be an ISO 4217 code of a foreign currency: {rate!r}"
            )
            for name in ("buy", "sell"):
                money = getattr(rate, name)
                assert isinstance(money, Decimal) and money.is_finite() and money > 0, (
                    f"{name} must be a positive Decimal: {rate!r}"
                )
            assert rate.buy <= rate.sell, f"the bank buys dearer than it sells: {rate!r}"
            assert type(rate.units) is int and rate.units > 0, f"units: {rate!r}"
        currencies = [rate.currency for rate in rates]
        assert len(set(currencies)) == len(currencies), f"a currency twice: {currencies}"

    kit.run(check)


def test_bank_information_is_a_short_text_or_none(kit: Kit) -> None:
    """bank_information: None, or a text of 1 to 600 characters without markup."""
    kit.require(OptionalOperation.BANK_INFORMATION)

    async def check(bank: Any) -> None:
        text = await bank.bank_information()
        if text is None:
            return
        assert isinstance(text, str), f"bank_information returned {text!r}"
        assert len(text.strip()) > 0 and len(text) <= 600, f"length {len(text)}: {text!r}"
        assert "<" not in text and ">" not in text, f"markup in the text: {text!r}"

    kit.run(check)


def new_pin_for(kit: Kit) -> str:
    if kit.config.new_pin is not None:
        return kit.config.new_pin
    pin = kit.customer.pin
    candidate = "5803917264"[: len(pin)]
    return candidate if candidate != pin else wrong_pin(pin)


def test_change_telekod_takes_the_new_one_and_refuses_a_wrong_old_one(kit: Kit) -> None:
    """change_telekod with a wrong old telekod is Refused (and changes nothing);
    with the right one the new telekod logs in and the old one is refused;
    neither telekod is in any exception. The telekod is changed back."""
    kit.require(OptionalOperation.CHANGE_TELEKOD)
    pin, new = kit.customer.pin, new_pin_for(kit)

    async def check(bank: Any) -> None:
        customer = await kit.login(bank)
        number = (kit.customer.number, kit.unknown_customer)
        wrong = await attempt(bank.change_telekod(customer, wrong_pin(pin), new))
        assert isinstance(wrong, Refused), f"a wrong old telekod {told(wrong)}, not Refused"
        await forgive(kit, bank)
        changed = await attempt(bank.change_telekod(customer, pin, new))
        try:
            assert changed is None, f"change_telekod {told(changed)}"
            moved = await attempt(bank.authenticate(kit.customer.number, new))
            assert isinstance(moved, Customer), f"the new telekod logging in {told(moved)}"
            old = await attempt(bank.authenticate(kit.customer.number, pin))
            assert isinstance(old, Refused), f"the old telekod after the change {told(old)}"
        finally:
            back = await attempt(bank.change_telekod(customer, new, pin))
            await forgive(kit, bank)
        assert back is None, f"changing the telekod back {told(back)}"
        for outcome in (wrong, changed, back):
            found = leaked(outcome, pin, kit.customer.birth_date, number)
            found += leaked(outcome, new, kit.customer.birth_date, number)
            assert not found, f"a telekod came back: {found}"

    kit.run(check)


async def a_transfer(kit: Kit, bank: Any, customer: Customer) -> list[PredefinedTransfer]:
    found: list[PredefinedTransfer] = []
    for account_id in await account_ids(kit, bank, customer):
        found += await bank.predefined_transfers(customer, account_id)
    return found


def test_predefined_transfers_are_typed(kit: Kit) -> None:
    """predefined_transfers of each account: PredefinedTransfer items with
    string id, payee and title, a positive Decimal amount, an ISO currency."""
    kit.require(OptionalOperation.PREDEFINED_TRANSFERS)

    async def check(bank: Any) -> None:
        for transfer in await a_transfer(kit, bank, await kit.login(bank)):
            assert isinstance(transfer, PredefinedTransfer), f"returned {transfer!r}"
            for name in ("transfer_id", "payee", "title"):
                assert isinstance(getattr(transfer, name), str), f"{name}: {transfer!r}"
            assert transfer.transfer_id and transfer.payee, f"empty id or payee: {transfer!r}"
            assert isinstance(transfer.amount, Decimal) and transfer.amount > 0, (
                f"amount must be a positive Decimal: {transfer!r}"
            )
            assert CURRENCY.fullmatch(str(transfer.currency)), f"currency: {transfer!r}"

    kit.run(check)


def test_execute_transfer_once_per_operation_id_and_only_as_ordered(kit: Kit) -> None:
    """execute_transfer twice with one operation id gives one reference
    (digits); the order changed (another amount) is Refused; the operation id
    sent again for another order is Refused."""
    kit.require(OptionalOperation.PREDEFINED_TRANSFERS, OptionalOperation.EXECUTE_TRANSFER)

    async def check(bank: Any) -> None:
        customer = await kit.login(bank)
        transfers = await a_transfer(kit, bank, customer)
        if not transfers:
            pytest.fail(
                f"the test customer {kit.customer.number} has no predefined transfers: the "
                "config must name a customer of the sandbox with one",
                pytrace=False,
            )
        transfer = transfers[0]
        changed = replace(transfer, amount=transfer.amount + Decimal("1.00"))
        outcome = await attempt(bank.execute_transfer(customer, changed, new_operation_id("t")))
        assert isinstance(outcome, Refused), f"a changed order {told(outcome)}, not Refused"
        operation_id = new_operation_id("transfer")
        first = await bank.execute_transfer(customer, transfer, operation_id)
        again = await bank.execute_transfer(customer, transfer, operation_id)
        assert isinstance(first, TransferResult), f"execute_transfer returned {first!r}"
        assert DIGITS.fullmatch(first.reference), f"reference must be digits: {first!r}"
        assert again == first, f"the same operation id gave {first!r} and then {again!r}"
        if len(transfers) > 1:
            other = await attempt(bank.execute_transfer(customer, transfers[1], operation_id))
            assert isinstance(other, Refused), (
                f"an operation id sent again for another order {told(other)}, not Refused"
            )

    kit.run(check)


# --- failures and the end -----------------------------------------------------------


def test_odd_input_raises_only_adapter_errors(kit: Kit) -> None:
    """Whatever goes wrong, the adapter raises the adapters.errors tree, never
    its own ValueError or KeyError."""

    async def check(bank: CoreBanking) -> None:
        customer = await kit.login(bank)
        number, long = kit.customer.number, "9" * 300
        calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("authenticate('', '')", lambda: bank.authenticate("", "")),
            ("authenticate('ab-12', 'x')", lambda: bank.authenticate("ab-12", "x")),
            ("authenticate(300 digits, 300 digits)", lambda: bank.authenticate(long, long)),
            ("authenticate(number, '')", lambda: bank.authenticate(number, "")),
            ("identify('', 1900-01-01)", lambda: bank.identify("", date(1900, 1, 1))),
            (
                "block_card(customer, '', …)",
                lambda: bank.block_card(customer, "", new_operation_id("empty")),
            ),
            (
                "block_card(customer, '../ą%00', …)",
                lambda: bank.block_card(customer, "../ą%00", new_operation_id("odd")),
            ),
            ("last_operations(customer, 0)", lambda: bank.last_operations(customer, 0)),
        ]
        strays: list[str] = []
        try:
            for call, make in calls:
                outcome = await attempt(make())
                if isinstance(outcome, Exception) and not isinstance(outcome, AdapterError):
                    strays.append(f"{call} {told(outcome)}")
        finally:
            await forgive(kit, bank)
        assert not strays, "failures must raise adapters.errors only: " + "; ".join(strays)

    kit.run(check)


def test_close_returns_quietly(kit: Kit) -> None:
    async def check(bank: CoreBanking) -> None:
        await kit.login(bank)  # so there is something to release
        closed = await attempt(bank.close())
        assert closed is None, f"close() {told(closed)}"

    kit.run(check, close=False)
