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
is not logged in at the needed level). A block, once asked for, completes
even if the caller hangs up meanwhile: it is shielded from cancellation.
"""

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, Literal

from adapters.errors import NotFound, Refused, Timeout, Unavailable
from adapters.spec import CardStatus
from stasis_app.flow.context import CallContext
from stasis_app.verbs.base import Verb, VerbParams

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


class OperationParams(VerbParams):
    name: Literal[
        "list_cards", "block_card", "block_internet_banking", "accounts", "last_operations"
    ]


class OperationVerb(Verb):
    name = "operation"
    Params = OperationParams

    def events(self, params: Any, transitions: Any) -> set[str]:
        events = {"ok", "refused", "unavailable", "not_allowed"}
        return events | ({"empty"} if params.name in LISTS else set())

    async def run(self, ctx: CallContext, params: Any) -> str:
        operation = params.name
        if ctx.customer is None or LEVELS.get(ctx.level or "", 0) < LEVELS[NEEDS[operation]]:
            log.info("operation not allowed", extra={"operation": operation, "level": ctx.level})
            return "not_allowed"
        try:
            result = await self._perform(ctx, operation)
        except Unavailable:
            return "unavailable"
        except (Refused, NotFound):
            return "refused"
        log.info("operation done", extra={"operation": operation})
        return "empty" if operation in LISTS and not result else "ok"

    async def _perform(self, ctx: CallContext, operation: str) -> Any:
        bank, customer = ctx.bank, ctx.customer
        assert customer is not None
        if operation == "list_cards":
            cards = [c for c in await bank.list_cards(customer) if c.status is CardStatus.ACTIVE]
            ctx.values["cards"] = cards
            return cards
        if operation == "accounts":
            ctx.values["accounts"] = await bank.list_accounts(customer)
            return ctx.values["accounts"]
        if operation == "last_operations":
            ctx.values["operations"] = await bank.last_operations(customer, 5)
            return ctx.values["operations"]
        # A block's operation id names the call, the customer and what is blocked:
        # confirming the same block again (or a retry) blocks once, and another
        # card or customer in the same call is a block of its own.
        target = ctx.values["card"].card_id if operation == "block_card" else "internet-banking"
        operation_id = f"{ctx.call.channel_id}:{customer.number}:{target}"

        def block() -> Awaitable[Any]:
            if operation == "block_card":
                return bank.block_card(customer, target, operation_id)
            return bank.block_internet_banking(customer, operation_id)

        try:
            result = await asyncio.shield(asyncio.ensure_future(block()))
        except Timeout:
            # The bank may have blocked after all: ask once more with the same id,
            # which returns the block (and its reference) rather than repeating it.
            log.warning("block timed out; asking again", extra={"operation": operation})
            result = await asyncio.shield(asyncio.ensure_future(block()))
        ctx.values["reference"] = result.reference
        log.info("block confirmed by the bank", extra={"operation": operation})
        return result
