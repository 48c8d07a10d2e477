"""``say``: play prompts (and spoken values), then go on."""

from typing import Any

from pydantic import Field

from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import PromptItem
from stasis_app.verbs.base import Verb, VerbParams, say


class SayParams(VerbParams):
    prompt: list[PromptItem] = Field(min_length=1)
    barge_in: bool = False


class Say(Verb):
    name = "say"
    Params = SayParams

    async def run(self, ctx: CallContext, params: Any) -> str:
        await say(ctx, params.prompt, barge_in=params.barge_in)
        return "done"
