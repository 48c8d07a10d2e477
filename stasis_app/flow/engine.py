"""Running a flow for one call: state by state until a hangup or transfer.

Every transition is logged (``from``, ``event``, ``to``). A flow that loops
without end (states that lead back to each other) is stopped politely after
``MAX_STEPS`` steps. Secrets gathered in a state are dropped after the
state that follows it (the login that uses them). A hangup anywhere raises
``CallHungUp`` out of the verb, which ends the run: nothing runs after a hangup.
In a test call (the admin page's) a verb that writes at the bank
(:meth:`~stasis_app.verbs.base.Verb.test_call_skip`) is not run: the caller
hears ``test_call_no_write`` and the flow goes on as after its success.
"""

import logging

from stasis_app.flow.context import TEST_REFERENCE, CallContext
from stasis_app.flow.model import Flow

log = logging.getLogger(__name__)

MAX_STEPS = 300


async def run_flow(flow: Flow, ctx: CallContext) -> str:
    """Run ``flow`` from its initial state; returns the name of the last state."""
    name = flow.initial
    for _ in range(MAX_STEPS):
        state = flow.states[name]
        ctx.state, ctx.transitions = name, state.on
        ctx.trail.entered(name)
        skip = state.verb.test_call_skip(state.params) if ctx.test_call else None
        if skip is None:
            event = await state.verb.run(ctx, state.params)
        else:  # a test call changes nothing at the bank: on as after a success
            log.info("test call: write skipped", extra={"state": name, "verb": state.verb.name})
            await ctx.call.say(["test_call_no_write"])
            if skip.keeps:
                ctx.values[skip.keeps] = TEST_REFERENCE
            event = skip.event
        if not state.verb.passes_secrets:
            ctx.secrets.clear()  # a secret lives from its gather to the very next state
        if ctx.ended or (state.verb.terminal and event == "done"):
            log.info("flow ended", extra={"state": name, "verb": state.verb.name})
            return name
        target = state.on[event]  # validation guarantees every emitted event has one
        log.debug("transition", extra={"from": name, "on": event, "to": target})
        name = target
    log.warning("flow stopped after too many steps", extra={"state": name})
    await ctx.call.say(["goodbye"])
    await ctx.call.hangup()
    return name
