"""The 828 828 828 hand-over: whether a call was handed to the bank by the
banking sector's central card-restriction number, by the bank's own rules
(``tenants.ID.handover``): the line dialled, the calling number (or its
start) the transfers come from, or a SIP header the transferring exchange
sets. A flow's ``route`` asks it with ``{handed_over: true, to: ...}``; the
bank flow then goes straight to card blocking, the date of birth first."""

import logging

from stasis_app.flow.context import CallContext

log = logging.getLogger(__name__)


def _digits(number: str) -> str:
    return number.strip().removeprefix("+")


async def handed_over(ctx: CallContext) -> bool:
    """Whether this call came from the card-restriction number, by any of
    the bank's rules (none: no call is)."""
    rules = ctx.tenant.handover
    if rules is None:
        return False
    call = ctx.call
    if call.line in rules.lines:
        return True
    caller = _digits(call.caller)
    if caller.isdigit() and any(caller.startswith(_digits(c)) for c in rules.callers):
        return True
    if rules.header is not None:
        value = await call.sip_header(rules.header.name)
        if value.strip() == rules.header.value:
            return True
    return False
