"""The recording notice (RODO art. 13) at the start of a call, for a bank
that turns it on (``tenants.ID.recording_notice``): the short notice
(prompt ``recording_notice``), then "to hear the full information, press
<key>" (``recording_notice_more``, ``press`` and the key's word). The key,
pressed during it or within :data:`WAIT` seconds after, plays the full
information (``recording_notice_full``, a prompt the bank edits like any
other). Any other key stays for the flow's first state (a caller who knows
the menu presses on). Played before the flow, on every line of the bank,
in Polish (the caller has not picked a language yet)."""

import logging
import time

from stasis_app.flow.context import CallContext
from voice.fragments import fragment_keys
from voice.languages import numbers

log = logging.getLogger(__name__)

WAIT = 2.0  # seconds after the notice for its key


async def recording_notice(ctx: CallContext) -> None:
    """Play the bank's notice (nothing when it is off); the full information
    when the caller presses its key."""
    notice = ctx.tenant.recording_notice
    if not notice.enabled:
        return
    call = ctx.call
    key = fragment_keys(numbers(call.language).digit_words(notice.key))
    await call.say(["recording_notice", "recording_notice_more", "press", *key], barge_in=True)
    deadline = time.monotonic() + WAIT
    while not call.has_keys() and (left := deadline - time.monotonic()) > 0:
        await call.next_event(left)
    if call.drop_key(notice.key):
        log.info("recording notice: the full information asked for")
        await call.say(["recording_notice_full"], barge_in=True)
