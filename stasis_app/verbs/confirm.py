"""``confirm``: "1 yes, 2 no"; re-asks on anything else, ``failed`` after retries."""

from typing import Any

from stasis_app.flow.context import CallContext
from stasis_app.verbs.base import AskParams, Verb, say


class Confirm(Verb):
    name = "confirm"
    Params = AskParams

    def events(self, params: Any, transitions: Any) -> set[str]:
        return {"yes", "no", "failed"}

    async def run(self, ctx: CallContext, params: Any) -> str:
        misses = 0
        while True:
            await say(ctx, params.prompt, barge_in=True)
            key = await ctx.call.read_digits(1, terminator=None, timeouts=params.timeouts)
            if key == "1":
                return "yes"
            if key == "2":
                return "no"
            misses += 1
            if misses > params.retries:
                return "failed"
            await say(ctx, params.invalid_prompt if key else ["no_input"])
