"""The short survey after a consultant call, for a bank that turns it on
(``tenants.ID.survey``): when the consultant hung up first and the caller
is still on the line, they hear ``survey_question`` and rate the call with
one key, 1 to 5; the score goes into the call's record (``survey_score``,
shown by the reports), and they hear ``survey_thanks``. A wrong key asks
once more; silence, or a second wrong key, leaves no score (a goodbye).
Nothing about the caller is kept with the score."""

import logging

from stasis_app.flow.context import CallContext
from stasis_app.telephony.call import DigitTimeouts

log = logging.getLogger(__name__)

SCORES = "12345"
ANSWER_TIMEOUTS = DigitTimeouts(first=6.0, between=1.0)
TRIES = 2


async def ask_survey(ctx: CallContext) -> int | None:
    """Ask the caller to rate the consultant call; the score, or None."""
    if not ctx.tenant.survey.enabled:
        return None
    call = ctx.call
    call.clear_keys()  # keys pressed while talking to the consultant are no answer
    call.interrupts.clear()  # the consultant's leaving, acted on: no barge-in for it
    for _ in range(TRIES):
        await call.say(["survey_question"], barge_in=True)
        key = await call.read_digits(1, terminator=None, timeouts=ANSWER_TIMEOUTS)
        if key and key in SCORES:
            ctx.trail.surveyed(int(key))
            log.info("survey answered", extra={"score": int(key)})
            await call.say(["survey_thanks"])
            return int(key)
        if not key:
            break  # silence: the caller does not want to answer
    log.info("survey not answered")
    await call.say(["goodbye"])
    return None
