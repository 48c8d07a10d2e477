"""``hangup``: say a last prompt (optional) and hang up; ends the flow."""

from collections.abc import Sequence

from pydantic import Field

from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import PromptItem
from stasis_app.verbs.base import Verb, VerbParams, say


class HangupParams(VerbParams):
    prompt: list[PromptItem] = Field(default_factory=list)


class Hangup(Verb[HangupParams]):
    """Say a last prompt (optional) and hang up."""

    name = "hangup"
    Params = HangupParams
    terminal = True

    def events(self, params: HangupParams, transitions: Sequence[str]) -> set[str]:
        return set()

    async def run(self, ctx: CallContext, params: HangupParams) -> str:
        if params.prompt:
            await say(ctx, params.prompt)
        await ctx.call.hangup()
        ctx.ended = True
        return "done"
