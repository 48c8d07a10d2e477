"""``gather``: read a number typed on the keypad (customer number, telekod, date).

Ends at ``max_digits`` by itself, or at the terminator. With ``secret`` the
digits go to the call's secrets (never logged, used once). With ``star`` a
``*`` pressed first means "I do not have it" and emits ``star``.
"""

from collections.abc import Sequence
from typing import Literal

from pydantic import Field, model_validator

from stasis_app.flow.context import CallContext
from stasis_app.verbs.base import Answer, AskParams, Gathered, Verb, ask


class GatherParams(AskParams):
    into: str = Field(pattern=r"^[a-z_]+$", description="name the digits are kept under")
    min_digits: int = Field(default=1, ge=1, le=32)
    max_digits: int = Field(default=16, ge=1, le=32)
    terminator: str | None = Field(default="#", pattern=r"^[#*]$")
    secret: bool = False
    star: bool = False
    accept: Literal["digits", "keys"] = Field(
        default="digits", description="'keys' also accepts * inside the input"
    )

    @model_validator(mode="after")
    def _bounds(self) -> "GatherParams":
        if self.min_digits > self.max_digits:
            raise ValueError("min_digits is larger than max_digits")
        if self.star and self.terminator == "*":
            raise ValueError("'*' cannot be both the terminator and the star option")
        return self


class Gather(Verb[GatherParams]):
    name = "gather"
    Params = GatherParams
    passes_secrets = True  # to the login that follows

    def events(self, params: GatherParams, transitions: Sequence[str]) -> set[str]:
        return {"done", "failed", *(["star"] if params.star else [])}

    def gathers(self, params: GatherParams) -> Gathered:
        return Gathered(params.into, params.secret)

    async def run(self, ctx: CallContext, params: GatherParams) -> str:
        async def listen() -> Answer:
            first = ""
            if params.star:  # a leading * answers at once: no waiting for more keys
                first = await ctx.call.read_digits(1, terminator=None, timeouts=params.timeouts)
                if first == "*":
                    return Answer("star")
            digits = first
            if first != params.terminator and (first or not params.star):
                digits += await ctx.call.read_digits(
                    params.max_digits - len(first),
                    terminator=params.terminator,
                    timeouts=params.timeouts,
                )
            elif first == params.terminator:
                digits = ""
            if len(digits) == params.max_digits and params.terminator is not None:
                ctx.call.drop_key(params.terminator)  # a "#" after a number that ended by itself
            valid = digits.isdigit() or (
                params.accept == "keys" and bool(digits) and set(digits) <= set("0123456789*")
            )
            if valid and params.min_digits <= len(digits) <= params.max_digits:
                (ctx.secrets if params.secret else ctx.values)[params.into] = digits
                return Answer("done")
            return Answer(typed=digits)

        return await ask(ctx, params, listen)
