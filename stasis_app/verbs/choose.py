"""``choose``: read a list (e.g. the caller's cards) as numbered options and
keep the one chosen: "karta debetowa zakończona cyframi 1111, naciśnij 1".

Extra one-key events in ``on`` (like ``"0"`` for a consultant) work as in a menu.
``read_as: account`` reads the caller's accounts ("konto osobiste o numerze
zakończonym cyframi 4711, naciśnij 1"); ``one_is_chosen: true`` takes a list
of one without asking (a customer with one account hears no list).
"""

from collections.abc import Sequence
from typing import Literal

from pydantic import Field

from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import PROMPTS_FOR_KIND, value_keys, words
from stasis_app.verbs.base import Answer, AskParams, Verb, ask
from stasis_app.verbs.menu import option_keys
from voice.languages import numbers


class ChooseParams(AskParams):
    items: str = Field(description="the list to choose from, e.g. cards")
    read_as: Literal["card", "transfer", "account"] = "card"
    into: str = Field(pattern=r"^[a-z_]+$")
    max_items: int = Field(default=8, ge=1, le=9)
    one_is_chosen: bool = Field(default=False, description="a list of one is chosen unasked")


class Choose(Verb[ChooseParams]):
    name = "choose"
    Params = ChooseParams

    def events(self, params: ChooseParams, transitions: Sequence[str]) -> set[str]:
        extra = option_keys(transitions)
        clash = sorted(extra & {str(n) for n in range(1, params.max_items + 1)})
        if clash:
            raise ValueError(f"key {clash[0]!r} is an option and also chooses an item")
        return {"chosen", "failed"} | extra

    def prompts(self, params: ChooseParams) -> set[str]:
        return super().prompts(params) | {"press", *PROMPTS_FOR_KIND[params.read_as]}

    async def run(self, ctx: CallContext, params: ChooseParams) -> str:
        items = list(ctx.values.get(params.items) or [])[: params.max_items]
        if not items:
            return "failed"
        if params.one_is_chosen and len(items) == 1:
            ctx.values[params.into] = items[0]
            return "chosen"
        extra = option_keys(list(ctx.transitions))
        keys: list[str] = []
        language = ctx.call.language
        say = numbers(language)
        for number, item in enumerate(items, start=1):
            keys += [*value_keys(params.read_as, item, language, ctx.call.whole_phrase), "press"]
            keys += words(say.digit_words(str(number)))

        # Each card's ending renders now (a number some languages speak whole),
        # so the prompt that reads the chosen one back does not wait for it.
        ctx.call.prepare(keys)

        async def listen() -> Answer:
            if not ctx.call.has_keys():  # a key already pressed answers: no list
                await ctx.call.say(keys, barge_in=True)
            key = await ctx.call.read_digits(1, terminator=None, timeouts=params.timeouts)
            if key in extra:
                return Answer(key)
            if key.isdigit() and 1 <= int(key) <= len(items):
                ctx.values[params.into] = items[int(key) - 1]
                return Answer("chosen")
            return Answer(typed=key)

        return await ask(ctx, params, listen)
