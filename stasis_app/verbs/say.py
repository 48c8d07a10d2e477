"""``say``: play prompts (and spoken values), then go on."""

from pydantic import Field

from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import PromptItem
from stasis_app.verbs.base import Verb, VerbParams, say


class SayParams(VerbParams):
    prompt: list[PromptItem] = Field(min_length=1)
    barge_in: bool = False


class Say(Verb[SayParams]):
    name = "say"
    Params = SayParams

    async def run(self, ctx: CallContext, params: SayParams) -> str:
        await say(ctx, params.prompt, barge_in=params.barge_in)
        return "done"
