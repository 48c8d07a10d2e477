"""``operation``: ask the bank's core system to do or tell something.

Operations and the login level they need (the table :data:`OPERATIONS`):

==========================  ==============  =====================================
operation                   needs           keeps
==========================  ==============  =====================================
``list_cards``              identified      ``cards`` (active cards only)
``block_card``              identified      ``reference`` (of the ``card`` chosen)
``block_internet_banking``  identified      ``reference``
``accounts``                authenticated   ``accounts``
``last_operations``         authenticated   ``operations``
``account_list``            authenticated   ``account_list`` (kind, last digits)
``account_balance``         authenticated   ``balance`` (of the ``account`` chosen)
``account_operations``      authenticated   ``operations`` (of the ``account`` chosen)
``exchange_rates``          none            ``rates`` (the bank's currencies, in order)
==========================  ==============  =====================================

The last four are optional operations of the adapter
(:class:`adapters.spec.OptionalOperation`): a flow may run them only where
the bank's adapter offers them (:mod:`stasis_app.features`).

Events: ``ok``, ``empty`` (a list came back empty), ``refused``,
``unavailable`` (no answer in time, or a failure), ``not_allowed`` (the caller
is not logged in at the needed level), and for blocks ``registered``: the
bank could not confirm the block, so it went to the block journal, which
delivers it when the bank is back; ``reference`` is then the journal's.

Blocks are durable: they go through the block service
(:mod:`stasis_app.safeguards.blocks`), which completes them even if the caller hangs up
meanwhile, asks again once with the same operation id after a timeout, and
journals them when the bank still cannot confirm. While the bank is slow the
caller hears "please wait". Every operation is audited.

A new operation is a row of :data:`OPERATIONS`: a :class:`Question`, or a
:class:`Block` with a function of the same name in
:data:`stasis_app.safeguards.blocks.DURABLE`; what it keeps and reads is forgotten
when the caller logs in again (:data:`CUSTOMER_VALUES`).
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from adapters.errors import NotFound, Refused, Unavailable
from adapters.spec import (
    AccountBalance,
    AccountList,
    AccountOperations,
    BlockResult,
    CardStatus,
    CoreBanking,
    Customer,
    ExchangeRate,
    ExchangeRates,
    OptionalOperation,
)
from stasis_app.errors import CallHungUp
from stasis_app.features import Features
from stasis_app.flow.context import CallContext, Skipped
from stasis_app.safeguards.blocks import INTERNET_BANKING, BlockOrder, BlockService
from stasis_app.safeguards.journal import JournalEntry
from stasis_app.verbs.base import Verb, VerbParams, wait_for_bank

log = logging.getLogger(__name__)

LEVELS = {"none": 0, "identified": 1, "authenticated": 2}


def logged_in_at(ctx: CallContext, level: str) -> bool:
    """Whether the caller is logged in at ``level`` (a key of LEVELS) or
    higher: the check every verb that needs a login makes first."""
    return level == "none" or (
        ctx.customer is not None and LEVELS.get(ctx.level or "", 0) >= LEVELS[level]
    )


async def _active_cards(bank: CoreBanking, customer: Customer) -> list[Any]:
    return [c for c in await bank.list_cards(customer) if c.status is CardStatus.ACTIVE]


@dataclass(frozen=True)
class Question:
    """An operation that asks the bank for a list and keeps it (``empty`` when none)."""

    needs: str  # the login level, a key of LEVELS
    keeps: str  # the value it sets in ctx.values
    # How the adapter is asked: with the customer (None at level "none") and the
    # call's values (what ``reads`` names), and the bank's features (config).
    ask: Callable[[CoreBanking, Any, dict[str, Any], Features], Awaitable[Any]]
    reads: tuple[str, ...] = ()  # values of the customer it uses (set by other states)
    lists: bool = True  # it answers a list (``empty`` when none); else one thing
    optional: frozenset[OptionalOperation] = frozenset()  # what the adapter must offer


def _rates(bank: CoreBanking, features: Features) -> Awaitable[list[ExchangeRate]]:
    """The adapter's table, only the bank's currencies, in the bank's order."""

    async def pick() -> list[ExchangeRate]:
        wanted = features.exchange_rates.currencies if features.exchange_rates else []
        table = {rate.currency: rate for rate in await cast(ExchangeRates, bank).exchange_rates()}
        return [table[code] for code in wanted if code in table]

    return pick()


@dataclass(frozen=True)
class Block:
    """A durable operation: done through the block service, whose kind is the
    operation's name (:data:`stasis_app.safeguards.blocks.DURABLE` asks the adapter)."""

    needs: str
    target: Callable[[dict[str, Any]], str]  # what it blocks, from the call's values
    reads: tuple[str, ...] = ()
    keeps: str = "reference"  # the bank's reference, or the journal's


Operation = Question | Block

OPERATIONS: dict[str, Operation] = {
    "list_cards": Question(
        "identified", "cards", ask=lambda bank, customer, values, f: _active_cards(bank, customer)
    ),
    "block_card": Block("identified", lambda values: values["card"].card_id, reads=("card",)),
    "block_internet_banking": Block("identified", lambda values: INTERNET_BANKING),
    "accounts": Question(
        "authenticated",
        "accounts",
        ask=lambda bank, customer, values, f: bank.list_accounts(customer),
    ),
    "last_operations": Question(
        "authenticated",
        "operations",
        ask=lambda bank, customer, values, f: bank.last_operations(customer, 5),
    ),
    "account_list": Question(
        "authenticated",
        "account_list",
        ask=lambda bank, customer, values, f: cast(AccountList, bank).account_list(customer),
        optional=frozenset({OptionalOperation.ACCOUNT_LIST}),
    ),
    "account_balance": Question(
        "authenticated",
        "balance",
        ask=lambda bank, customer, values, f: cast(AccountBalance, bank).account_balance(
            customer, values["account"].account_id
        ),
        reads=("account",),
        lists=False,
        optional=frozenset({OptionalOperation.ACCOUNT_BALANCE}),
    ),
    "account_operations": Question(
        "authenticated",
        "operations",
        ask=lambda bank, customer, values, f: cast(AccountOperations, bank).account_operations(
            customer, values["account"].account_id, 5
        ),
        reads=("account",),
        optional=frozenset({OptionalOperation.ACCOUNT_OPERATIONS}),
    ),
    "exchange_rates": Question(
        "none",
        "rates",
        ask=lambda bank, customer, values, features: _rates(bank, features),
        optional=frozenset({OptionalOperation.EXCHANGE_RATES}),
    ),
}

# What the operations keep or read about the logged-in customer: a new login forgets it.
CUSTOMER_VALUES: tuple[str, ...] = tuple(
    dict.fromkeys(key for op in OPERATIONS.values() for key in (op.keeps, *op.reads))
)


class OperationParams(VerbParams):
    name: Literal[
        "list_cards",
        "block_card",
        "block_internet_banking",
        "accounts",
        "last_operations",
        "account_list",
        "account_balance",
        "account_operations",
        "exchange_rates",
    ]


class OperationVerb(Verb[OperationParams]):
    name = "operation"
    Params = OperationParams

    def events(self, params: OperationParams, transitions: Sequence[str]) -> set[str]:
        operation = OPERATIONS[params.name]
        events = {"ok", "refused", "unavailable"}
        if operation.needs != "none":
            events.add("not_allowed")
        if isinstance(operation, Block):
            return events | {"registered"}
        return events | {"empty"} if operation.lists else events

    def adapter_operations(self, params: OperationParams) -> set[str]:
        operation = OPERATIONS[params.name]
        if isinstance(operation, Question):
            return {op.value for op in operation.optional}
        return set()

    def label(self, params: OperationParams) -> str:
        return f"operation: {params.name}"

    def test_call_skip(self, params: OperationParams) -> Skipped | None:
        operation = OPERATIONS[params.name]
        return Skipped("ok", operation.keeps) if isinstance(operation, Block) else None

    async def run(self, ctx: CallContext, params: OperationParams) -> str:
        try:
            event = await self._run(ctx, params)
        except CallHungUp:  # a block goes on all the same (shielded): its outcome is the journal's
            ctx.trail.operation(params.name, "hung_up")  # for the call record
            raise
        ctx.trail.operation(params.name, event)
        return event

    async def _run(self, ctx: CallContext, params: OperationParams) -> str:
        name, operation = params.name, OPERATIONS[params.name]
        if not logged_in_at(ctx, operation.needs):
            log.info("operation not allowed", extra={"operation": name, "level": ctx.level})
            return "not_allowed"
        if any(ctx.values.get(value) is None for value in operation.reads):
            log.info("operation without what it reads", extra={"operation": name})
            return "not_allowed"  # e.g. no account chosen: never ask the bank about nothing
        result: Any
        try:
            if isinstance(operation, Block):
                assert ctx.customer is not None  # needs a login level
                result = await self._block(ctx, name, operation, ctx.customer)
            else:
                ask = operation.ask(ctx.bank, ctx.customer, ctx.values, ctx.tenant.features)
                result = await wait_for_bank(ctx, ask)
        except Unavailable:
            await self._audit(ctx, name, "unavailable")
            return "unavailable"
        except (Refused, NotFound):
            if not isinstance(operation, Block):  # a block's refusal is audited where it happens
                await self._audit(ctx, name, "refused")
            return "refused"
        if isinstance(result, JournalEntry):
            return "registered"
        log.info("operation done", extra={"operation": name})
        if isinstance(operation, Block):  # blocks are audited where they complete
            return "ok"
        ctx.values[operation.keeps] = result
        event = "ok" if result or not operation.lists else "empty"
        # Committed while the answer's prompt starts, not before it (a read
        # changes nothing at the bank; a block's entry is written before).
        await ctx.call.after_prompt(self._audit(ctx, name, event))
        return event

    async def _block(
        self, ctx: CallContext, name: str, operation: Block, customer: Customer
    ) -> BlockResult | JournalEntry:
        target = operation.target(ctx.values)
        if ctx.safeguards is None:  # a flow tested alone: no journal, no audit
            order = BlockOrder.in_call(name, target, customer.number, ctx.call.channel_id)
            service = BlockService(journal=None, audit=None)
        else:
            order = BlockOrder.in_call(
                name,
                target,
                customer.number,
                ctx.call.channel_id,
                tenant=ctx.tenant.id,
                caller=ctx.call.caller,
            )
            service = ctx.safeguards.blocks
        # Shielded: a caller hanging up does not stop a confirmed block.
        result = await wait_for_bank(ctx, service.block(order, ctx.bank))
        ctx.values[operation.keeps] = result.reference
        if isinstance(result, BlockResult):
            log.info("block confirmed by the bank", extra={"operation": name})
        return result

    async def _audit(self, ctx: CallContext, operation: str, result: str) -> None:
        if ctx.safeguards is None or ctx.customer is None:
            return
        await ctx.safeguards.audit.record(
            tenant=ctx.tenant.id,
            action=operation,
            result=result,
            call_id=ctx.call.channel_id,
            caller=ctx.call.caller,
            customer=ctx.customer.number,
        )
