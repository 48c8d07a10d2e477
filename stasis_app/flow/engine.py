"""Running a flow for one call: state by state until a hangup or transfer.

Every transition is logged (``from``, ``event``, ``to``). A flow that loops
without end (a caller who keeps pressing "repeat") is stopped politely after
``MAX_STEPS`` steps. A hangup anywhere raises ``CallHungUp`` out of the verb,
which ends the run: nothing runs after a hangup.
"""

import logging

from stasis_app.flow.context import CallContext
from stasis_app.flow.model import Flow

log = logging.getLogger(__name__)

MAX_STEPS = 300


async def run_flow(flow: Flow, ctx: CallContext) -> str:
    """Run ``flow`` from its initial state; returns the name of the last state."""
    name = flow.initial
    for _ in range(MAX_STEPS):
        state = flow.states[name]
        ctx.state, ctx.transitions = name, state.on
        event = await state.verb.run(ctx, state.params)
        if ctx.ended or (state.verb.terminal and event == "done"):
            log.info("flow ended", extra={"state": name, "verb": state.verb.name})
            return name
        target = state.on[event]  # validation guarantees every emitted event has one
        log.info("transition", extra={"from": name, "on": event, "to": target})
        name = target
    log.warning("flow stopped after too many steps", extra={"state": name})
    await ctx.call.say(["goodbye"])
    await ctx.call.hangup()
    return name
