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
==========================  ==============  =====================================

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
from typing import Any, Literal

from adapters.errors import NotFound, Refused, Unavailable
from adapters.spec import BlockResult, CardStatus, CoreBanking, Customer
from stasis_app.errors import CallHungUp
from stasis_app.flow.context import CallContext
from stasis_app.safeguards.blocks import INTERNET_BANKING, BlockOrder, BlockService
from stasis_app.safeguards.journal import JournalEntry
from stasis_app.verbs.base import Verb, VerbParams, wait_for_bank

log = logging.getLogger(__name__)

LEVELS = {"identified": 1, "authenticated": 2}


async def _active_cards(bank: CoreBanking, customer: Customer) -> list[Any]:
    return [c for c in await bank.list_cards(customer) if c.status is CardStatus.ACTIVE]


@dataclass(frozen=True)
class Question:
    """An operation that asks the bank for a list and keeps it (``empty`` when none)."""

    needs: str  # the login level, a key of LEVELS
    keeps: str  # the value it sets in ctx.values
    ask: Callable[[CoreBanking, Customer], Awaitable[Any]]  # how the adapter is asked
    reads: tuple[str, ...] = ()  # values of the customer it uses (set by other states)


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
    "list_cards": Question("identified", "cards", ask=_active_cards),
    "block_card": Block("identified", lambda values: values["card"].card_id, reads=("card",)),
    "block_internet_banking": Block("identified", lambda values: INTERNET_BANKING),
    "accounts": Question(
        "authenticated", "accounts", ask=lambda bank, customer: bank.list_accounts(customer)
    ),
    "last_operations": Question(
        "authenticated", "operations", ask=lambda bank, customer: bank.last_operations(customer, 5)
    ),
}

# What the operations keep or read about the logged-in customer: a new login forgets it.
CUSTOMER_VALUES: tuple[str, ...] = tuple(
    dict.fromkeys(key for op in OPERATIONS.values() for key in (op.keeps, *op.reads))
)


class OperationParams(VerbParams):
    name: Literal[
        "list_cards", "block_card", "block_internet_banking", "accounts", "last_operations"
    ]


class OperationVerb(Verb[OperationParams]):
    name = "operation"
    Params = OperationParams

    def events(self, params: OperationParams, transitions: Sequence[str]) -> set[str]:
        events = {"ok", "refused", "unavailable", "not_allowed"}
        if isinstance(OPERATIONS[params.name], Block):
            return events | {"registered"}
        return events | {"empty"}

    def label(self, params: OperationParams) -> str:
        return f"operation: {params.name}"

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
        if ctx.customer is None or LEVELS.get(ctx.level or "", 0) < LEVELS[operation.needs]:
            log.info("operation not allowed", extra={"operation": name, "level": ctx.level})
            return "not_allowed"
        result: Any
        try:
            if isinstance(operation, Block):
                result = await self._block(ctx, name, operation, ctx.customer)
            else:
                result = await wait_for_bank(ctx, operation.ask(ctx.bank, ctx.customer))
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
        await self._audit(ctx, name, "ok" if result else "empty")
        return "ok" if result else "empty"

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
