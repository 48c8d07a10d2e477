"""``menu``: say the options, read one key, branch on it.

The options are the one-key events in the state's ``on`` (e.g. ``"1"``,
``"0"``). ``repeat`` keys (``9`` and ``*`` by default) say the menu again.
A wrong key or silence re-asks; after ``retries`` the event is ``failed``.

``extras`` are options a bank offers only when a feature is on for it
(``tenants.ID.features``, :mod:`stasis_app.features`): each names its key,
the prompt that offers it (said after ``prompt``) and the feature. When the
feature is off (not configured, or the bank information past its ``until``
date) the caller hears no word of it and its key is a wrong key.
"""

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from stasis_app.features import FEATURES, feature
from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import PromptItem, static_prompts
from stasis_app.verbs.base import Answer, AskParams, Verb, ask

KEYS = set("0123456789*#")


class MenuExtra(BaseModel):
    """An option offered only when a feature is on for the bank."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(pattern=r"^[0-9*#]$")
    prompt: list[PromptItem] = Field(min_length=1, description="what offers it")
    feature: str = Field(description="a feature of stasis_app/features.py")

    @field_validator("feature")
    @classmethod
    def _known(cls, name: str) -> str:
        feature(name)  # ValueError naming the known ones
        return name


class MenuParams(AskParams):
    repeat: list[str] = Field(default_factory=lambda: ["9", "*"])
    extras: list[MenuExtra] = Field(default_factory=list)


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
        extra_keys = [extra.key for extra in params.extras]
        for key in extra_keys:
            if key not in options:
                raise ValueError(f"the extra option {key!r} has no transition in 'on'")
            if extra_keys.count(key) > 1:
                raise ValueError(f"key {key!r} is two extra options")
        return options | {"failed"}

    def prompts(self, params: MenuParams) -> set[str]:
        needed = super().prompts(params)
        for extra in params.extras:
            needed |= static_prompts(extra.prompt)
        return needed

    def features(self, params: MenuParams) -> dict[str, str]:
        return {extra.key: extra.feature for extra in params.extras}

    async def run(self, ctx: CallContext, params: MenuParams) -> str:
        options = option_keys(list(ctx.transitions))
        if params.extras:
            # Only the extras whose feature is on: offered in words, and their keys.
            features = ctx.tenant.features
            on = [extra for extra in params.extras if FEATURES[extra.feature].is_on(features)]
            options -= {extra.key for extra in params.extras if extra not in on}
            prompt = [*params.prompt, *(item for extra in on for item in extra.prompt)]
            params = params.model_copy(update={"prompt": prompt})

        async def listen() -> Answer:
            key = await ctx.call.read_digits(1, terminator=None, timeouts=params.timeouts)
            if key in options:
                return Answer(str(key))
            return Answer(typed=key, again=bool(key) and key in params.repeat)

        return await ask(ctx, params, listen)
