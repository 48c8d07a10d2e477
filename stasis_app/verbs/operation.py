"""``operation``: ask the bank's core system to do or tell something.

Operations and the login level they need:

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

A block, once asked for, completes even if the caller hangs up meanwhile: it
is shielded from cancellation, asked again once with the same operation id
after a timeout, and journalled when the bank still cannot confirm it. While
the bank is slow the caller hears "please wait". Every operation is audited.
"""

import asyncio
import logging
from collections.abc import Awaitable
from functools import partial
from typing import Any, Literal

from adapters.errors import AdapterError, NotFound, Refused, Timeout, Unavailable
from adapters.spec import BlockResult, CardStatus
from stasis_app.flow.context import CallContext
from stasis_app.journal import JournalEntry
from stasis_app.verbs.base import Verb, VerbParams, wait_for_bank

log = logging.getLogger(__name__)

LEVELS = {"identified": 1, "authenticated": 2}
NEEDS = {
    "list_cards": "identified",
    "block_card": "identified",
    "block_internet_banking": "identified",
    "accounts": "authenticated",
    "last_operations": "authenticated",
}
LISTS = {"list_cards", "accounts", "last_operations"}
BLOCKS = {"block_card", "block_internet_banking"}


class OperationParams(VerbParams):
    name: Literal[
        "list_cards", "block_card", "block_internet_banking", "accounts", "last_operations"
    ]


class OperationVerb(Verb):
    name = "operation"
    Params = OperationParams

    def events(self, params: Any, transitions: Any) -> set[str]:
        events = {"ok", "refused", "unavailable", "not_allowed"}
        if params.name in BLOCKS:
            events.add("registered")
        return events | ({"empty"} if params.name in LISTS else set())

    async def run(self, ctx: CallContext, params: Any) -> str:
        operation = params.name
        if ctx.customer is None or LEVELS.get(ctx.level or "", 0) < LEVELS[NEEDS[operation]]:
            log.info("operation not allowed", extra={"operation": operation, "level": ctx.level})
            return "not_allowed"
        try:
            result = await self._perform(ctx, operation)
        except Unavailable:
            await self._audit(ctx, operation, "unavailable")
            return "unavailable"
        except (Refused, NotFound):
            if operation not in BLOCKS:  # a block's refusal is audited where it happens
                await self._audit(ctx, operation, "refused")
            return "refused"
        if isinstance(result, JournalEntry):
            return "registered"
        log.info("operation done", extra={"operation": operation})
        if operation not in BLOCKS:  # blocks are audited where they complete
            await self._audit(ctx, operation, "ok" if result else "empty")
        return "empty" if operation in LISTS and not result else "ok"

    async def _audit(
        self,
        ctx: CallContext,
        operation: str,
        result: str,
        reference: str = "",
        already_blocked: bool | None = None,
    ) -> None:
        if ctx.safeguards is None or ctx.customer is None:
            return
        detail = {} if already_blocked is None else {"already_blocked": already_blocked}
        await ctx.safeguards.audit.record(
            tenant=ctx.tenant.id,
            action=operation,
            result=result,
            call_id=ctx.call.channel_id,
            caller=ctx.call.handle.caller,
            customer=ctx.customer.number,
            reference=reference,
            detail=detail,
        )

    async def _perform(self, ctx: CallContext, operation: str) -> Any:
        bank, customer = ctx.bank, ctx.customer
        assert customer is not None
        if operation == "list_cards":
            cards = await wait_for_bank(ctx, bank.list_cards(customer))
            ctx.values["cards"] = [c for c in cards if c.status is CardStatus.ACTIVE]
            return ctx.values["cards"]
        if operation == "accounts":
            ctx.values["accounts"] = await wait_for_bank(ctx, bank.list_accounts(customer))
            return ctx.values["accounts"]
        if operation == "last_operations":
            ctx.values["operations"] = await wait_for_bank(ctx, bank.last_operations(customer, 5))
            return ctx.values["operations"]
        # A block's operation id names the call, the customer and what is blocked:
        # confirming the same block again (or a retry) blocks once, and another
        # card or customer in the same call is a block of its own.
        target = ctx.values["card"].card_id if operation == "block_card" else "internet-banking"
        operation_id = f"{ctx.call.channel_id}:{customer.number}:{target}"

        def block() -> Awaitable[BlockResult]:
            if operation == "block_card":
                return bank.block_card(customer, target, operation_id)
            return bank.block_internet_banking(customer, operation_id)

        async def block_durably() -> BlockResult | JournalEntry:
            # Runs to its end even when the caller hangs up: the audit entry is
            # the customer's proof of the report.
            try:
                result = await block_or_journal()
            except (Refused, NotFound):
                await self._audit(ctx, operation, "refused")
                raise
            if isinstance(result, BlockResult):
                await self._audit(
                    ctx, operation, "confirmed", result.reference, result.already_blocked
                )
            else:
                await self._audit(ctx, operation, "journaled", result.reference)
            return result

        async def block_or_journal() -> BlockResult | JournalEntry:
            try:
                return await block()
            except Timeout:
                # The bank may have blocked after all: ask once more with the same
                # id, which returns the block (and its reference), not a second one.
                log.warning("block timed out; asking again", extra={"operation": operation})
                try:
                    return await block()
                except Unavailable:
                    pass
            except Unavailable:
                pass
            if ctx.safeguards is None:
                raise Unavailable("the bank did not confirm the block")
            journal = ctx.safeguards.journal
            entry = await journal.store.run(
                partial(
                    journal.record,
                    operation_id=operation_id,
                    tenant=ctx.tenant.id,
                    call_id=ctx.call.channel_id,
                    caller=ctx.call.handle.caller,
                    customer=customer.number,
                    kind=operation,
                    target=target,
                )
            )
            log.warning("block journalled for later delivery", extra={"operation": operation})
            return entry

        # Shielded: a caller hanging up does not stop a confirmed block.
        durable = asyncio.ensure_future(block_durably())
        durable.add_done_callback(_retrieve)
        if ctx.safeguards is not None:
            ctx.safeguards.in_flight.add(durable)
            durable.add_done_callback(ctx.safeguards.in_flight.discard)
        result = await wait_for_bank(ctx, asyncio.shield(durable))
        ctx.values["reference"] = result.reference
        if isinstance(result, BlockResult):
            log.info("block confirmed by the bank", extra={"operation": operation})
        return result


def _retrieve(task: "asyncio.Future[Any]") -> None:
    # Nobody awaits a block whose caller hung up: its outcome is audited inside;
    # only a fault of our own (the journal's store failing, say) is logged here.
    if task.cancelled():
        return
    error = task.exception()
    if error is not None and not isinstance(error, AdapterError):
        log.error("block could not be completed", exc_info=error)
