"""``menu``: say the options, read one key, branch on it.

The options are the one-key events in the state's ``on`` (e.g. ``"1"``,
``"0"``). ``repeat`` keys (``9`` and ``*`` by default) say the menu again.
A wrong key or silence re-asks; after ``retries`` the event is ``failed``.
"""

from collections.abc import Sequence

from pydantic import Field

from stasis_app.flow.context import CallContext
from stasis_app.verbs.base import Answer, AskParams, Verb, ask

KEYS = set("0123456789*#")


class MenuParams(AskParams):
    repeat: list[str] = Field(default_factory=lambda: ["9", "*"])


def option_keys(transitions: Sequence[str]) -> set[str]:
    return {event for event in transitions if event in KEYS}


class Menu(Verb[MenuParams]):
    name = "menu"
    Params = MenuParams

    def events(self, params: MenuParams, transitions: Sequence[str]) -> set[str]:
        options = option_keys(transitions)
        if not options:
            raise ValueError("a menu needs at least one key option in 'on' (e.g. \"1\": next)")
        clash = options & set(params.repeat)
        if clash:
            raise ValueError(f"key {sorted(clash)[0]!r} is both an option and a repeat key")
        return options | {"failed"}

    async def run(self, ctx: CallContext, params: MenuParams) -> str:
        options = option_keys(list(ctx.transitions))

        async def listen() -> Answer:
            key = await ctx.call.read_digits(1, terminator=None, timeouts=params.timeouts)
            if key in options:
                return Answer(str(key))
            return Answer(typed=key, again=bool(key) and key in params.repeat)

        return await ask(ctx, params, listen)
