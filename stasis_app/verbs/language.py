"""``language``: greet the caller, offer the bank's other languages, and
speak the rest of the call in the one whose key is pressed.

The greeting plays in Polish; then each language the bank offers
(``tenants.ID.languages``) is offered in its own voice and words ("Для
української мови натисніть 8."), in the order of the config. A key pressed
during the greeting or the offers, or up to ``wait`` seconds after them,
picks the language if it is one of theirs: from then on every prompt and
every number comes from that language (the flow stays the same). Any other
key stays for the next state (a caller who knows the menu may press 1 at
once). For a bank that offers no other language this is ``say`` with
``barge_in``: the greeting, nothing more.
"""

import logging
import time

from pydantic import Field

from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import PromptItem
from stasis_app.verbs.base import Verb, VerbParams, say
from voice.languages import OFFER_PROMPT

log = logging.getLogger(__name__)


class LanguageParams(VerbParams):
    prompt: list[PromptItem] = Field(min_length=1, description="the greeting, in Polish")
    wait: float = Field(
        default=1.5,
        ge=0,
        le=10,
        description="seconds to wait for a key after the offers (only when the bank offers any)",
    )


class Language(Verb[LanguageParams]):
    name = "language"
    Params = LanguageParams
    offers_languages = True

    async def run(self, ctx: CallContext, params: LanguageParams) -> str:
        offers = ctx.tenant.languages
        answered = await say(ctx, params.prompt, barge_in=True)
        if not offers:
            return "done"
        for language in offers:
            if answered:
                break
            answered = await ctx.call.say([OFFER_PROMPT], barge_in=True, language=language)
        deadline = time.monotonic() + params.wait
        while not ctx.call.has_keys() and (left := deadline - time.monotonic()) > 0:
            await ctx.call.next_event(left)
        for language, offer in offers.items():
            if ctx.call.drop_key(offer.key):
                ctx.call.use_language(language)
                ctx.trail.language = language
                log.info("language chosen", extra={"language": language})
                break
        return "done"
