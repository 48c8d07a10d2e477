"""``transfer``: hand the caller to a consultant; ends the flow (or ``failed``)."""

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import Field

from stasis_app.errors import AriError, CallHungUp
from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import PromptItem, prompt_keys
from stasis_app.queue.caller import QueueCaller
from stasis_app.verbs.base import Verb, VerbParams, say

if TYPE_CHECKING:
    from stasis_app.tenants import ConsultantRoute

log = logging.getLogger(__name__)


class TransferParams(VerbParams):
    prompt: list[PromptItem] = Field(default_factory=lambda: list[PromptItem](["transferring"]))
    unavailable_prompt: list[PromptItem] = Field(
        default_factory=lambda: list[PromptItem](["consultants_unavailable"])
    )
    closed_prompt: list[PromptItem] = Field(
        default_factory=lambda: list[PromptItem](["outside_hours"])
    )
    queue: str | None = Field(
        default=None,
        description="the tenant's queue to wait in; default: the tenant's consultant.queue",
    )


class Transfer(Verb[TransferParams]):
    """Hand the caller to a consultant: through the tenant's consultant queue
    (stasis_app.queue) when it has one, otherwise the consultant route in
    the dialplan. "done": the call's part in the flow is over (talked, left a
    callback, or said goodbye); "failed": nobody can answer and no callback
    was left, the flow goes on."""

    name = "transfer"
    Params = TransferParams
    terminal = True

    def events(self, params: TransferParams, transitions: Sequence[str]) -> set[str]:
        return {"failed"}

    def queue(self, params: TransferParams) -> str | None:
        return params.queue

    async def run(self, ctx: CallContext, params: TransferParams) -> str:
        name = params.queue or ctx.tenant.consultant.queue
        if name is not None:
            return await self._queue(ctx, params, name)
        return await to_route(ctx, params, ctx.tenant.consultant)

    async def _queue(self, ctx: CallContext, params: TransferParams, name: str) -> str:
        queue = ctx.queues.queue(ctx.tenant.id, name) if ctx.queues is not None else None
        if queue is None or ctx.queues is None:
            raise LookupError(f"tenant {ctx.tenant.id} has no queue {name!r}")
        caller = QueueCaller(queue, ctx, ctx.queues.callbacks, ctx.queues.recordings)
        event = await caller.run(
            prompt_keys(params.prompt, ctx.values, ctx.call.language, ctx.call.whole_phrase),
            prompt_keys(params.closed_prompt, ctx.values, ctx.call.language, ctx.call.whole_phrase),
        )
        if event == "done":
            ctx.ended = True
        return event


async def to_route(ctx: CallContext, params: TransferParams, route: "ConsultantRoute") -> str:
    """Hand the caller to the consultants of a dialplan ``route`` (the
    tenant's, or one a webhook reply names): told at once when it is closed
    or its endpoint is not online."""
    if route.hours is not None and not route.hours.is_open():
        log.info("outside consultants' working hours")
        await say(ctx, params.closed_prompt)
        return "failed"
    if route.endpoint and not await ctx.call.endpoint_online(route.endpoint):
        log.info("no consultant online", extra={"endpoint": route.endpoint})
        await say(ctx, params.unavailable_prompt)
        return "failed"
    if params.prompt:
        await say(ctx, params.prompt)
    try:
        await ctx.call.continue_in_dialplan(route.context, route.extension)
    except CallHungUp:
        raise
    except AriError as exc:
        log.warning("transfer failed", extra={"error": str(exc)})
        return "failed"
    ctx.ended = True
    ctx.trail.to_consultant_route()
    log.info("transferred", extra={"context": route.context, "extension": route.extension})
    return "done"
