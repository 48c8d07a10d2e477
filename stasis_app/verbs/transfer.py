"""``transfer``: hand the caller to a consultant; ends the flow (or ``failed``)."""

import logging
from typing import Any

from pydantic import Field

from stasis_app.errors import AriError, CallHungUp
from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import PromptItem
from stasis_app.verbs.base import Verb, VerbParams, say

log = logging.getLogger(__name__)


class TransferParams(VerbParams):
    prompt: list[PromptItem] = Field(default_factory=lambda: list[PromptItem](["transferring"]))
    unavailable_prompt: list[PromptItem] = Field(
        default_factory=lambda: list[PromptItem](["consultants_unavailable"])
    )
    closed_prompt: list[PromptItem] = Field(
        default_factory=lambda: list[PromptItem](["outside_hours"])
    )


class Transfer(Verb):
    """Hand the caller to a consultant: the tenant's consultant route in the
    dialplan (the Stasis queue of the queue issue will take its place)."""

    name = "transfer"
    Params = TransferParams
    terminal = True

    def events(self, params: Any, transitions: Any) -> set[str]:
        return {"failed"}

    async def run(self, ctx: CallContext, params: Any) -> str:
        route = ctx.tenant.consultant
        if route.hours is not None and not route.hours.is_open():
            log.info("outside consultants' working hours")
            await say(ctx, params.closed_prompt)
            return "failed"
        if route.endpoint and not await ctx.call.gateway.endpoint_online(route.endpoint):
            log.info("no consultant online", extra={"endpoint": route.endpoint})
            await say(ctx, params.unavailable_prompt)
            return "failed"
        if params.prompt:
            await say(ctx, params.prompt)
        try:
            await ctx.call.gateway.continue_in_dialplan(
                ctx.call.channel_id, route.context, route.extension
            )
        except CallHungUp:
            raise
        except AriError as exc:
            log.warning("transfer failed", extra={"error": str(exc)})
            return "failed"
        ctx.call.left_app = True
        ctx.ended = True
        log.info("transferred", extra={"context": route.context, "extension": route.extension})
        return "done"
