"""``confirm``: "1 yes, 2 no"; re-asks on anything else, ``failed`` after retries."""

from collections.abc import Sequence

from stasis_app.flow.context import CallContext
from stasis_app.verbs.base import Answer, AskParams, Verb, ask

ANSWERS = {"1": "yes", "2": "no"}


class Confirm(Verb[AskParams]):
    name = "confirm"
    Params = AskParams

    def events(self, params: AskParams, transitions: Sequence[str]) -> set[str]:
        return {"yes", "no", "failed"}

    async def run(self, ctx: CallContext, params: AskParams) -> str:
        async def listen() -> Answer:
            key = await ctx.call.read_digits(1, terminator=None, timeouts=params.timeouts)
            return Answer(ANSWERS.get(key), typed=key)

        return await ask(ctx, params, listen)
