"""A verb of the vendor's own, for a bank's flows: ``example-announce`` plays
the bank's announcement (prompt keys, as ``say`` does) and goes on."""

from pydantic import Field

from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import PromptItem
from stasis_app.verbs.base import Verb, VerbParams, say


class AnnounceParams(VerbParams):
    prompt: list[PromptItem] = Field(min_length=1)
    barge_in: bool = False  # a key stops the announcement and counts for the next state


class Announce(Verb[AnnounceParams]):
    """Play the bank's announcement, then go on."""

    name = "example-announce"
    Params = AnnounceParams

    async def run(self, ctx: CallContext, params: AnnounceParams) -> str:
        await say(ctx, params.prompt, barge_in=params.barge_in)
        return "done"
