"""``block_request``: a caller who could not log in still reports a lost card.

PSD2 art. 70 wants a lost card reportable *at all times*. A caller whose
telekod and date of birth were refused, or locked by someone else's
guessing, first goes to a consultant; when nobody can answer (out of hours,
nobody online), this verb keeps a block request in the block journal,
through the block service (:mod:`stasis_app.safeguards.blocks`): the customer number
as typed, the calling number, and a reference the caller is read back.
It is not sent to the bank's core on its own (nobody proved who the caller
is): the bank's staff see it in ``infolinia journal list``
(state ``requested``), call the customer back and block what they confirm.
The request is audited and logged as a warning, so it is not missed.

Event: ``done`` (``reference`` holds the journal's reference).
"""

import logging

from pydantic import Field

from stasis_app.flow.context import CallContext, Skipped
from stasis_app.safeguards.blocks import BlockOrder
from stasis_app.verbs.base import Verb, VerbParams

log = logging.getLogger(__name__)


class BlockRequestParams(VerbParams):
    number: str = Field(default="customer_number", description="value with the customer number")


class BlockRequest(Verb[BlockRequestParams]):
    name = "block_request"
    Params = BlockRequestParams

    def test_call_skip(self, params: BlockRequestParams) -> Skipped | None:
        return Skipped("done", "reference")

    async def run(self, ctx: CallContext, params: BlockRequestParams) -> str:
        if ctx.safeguards is None:
            raise RuntimeError("block_request needs the block journal (the app's safeguards)")
        number = str(ctx.values.get(params.number, ""))
        call = ctx.call
        order = BlockOrder.request(number, call.channel_id, ctx.tenant.id, call.caller)
        entry = await ctx.safeguards.blocks.request(order)
        log.warning(
            "a block request awaits the bank: call the customer back",
            extra={"tenant": ctx.tenant.id, "reference": entry.reference},
        )
        ctx.values["reference"] = entry.reference
        ctx.trail.operation("block_request", "registered")  # for the call record
        return "done"
