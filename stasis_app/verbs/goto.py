"""``goto``: go to another state."""

from collections.abc import Mapping

from pydantic import Field

from stasis_app.flow.context import CallContext
from stasis_app.verbs.base import Verb, VerbParams


class GotoParams(VerbParams):
    to: str = Field(description="the state to go to")


class Goto(Verb[GotoParams]):
    """Go to another state (its ``on`` is made from ``to``)."""

    name = "goto"
    Params = GotoParams

    def transitions(self, params: GotoParams, on: Mapping[str, str]) -> dict[str, str]:
        return {"done": params.to}

    async def run(self, ctx: CallContext, params: GotoParams) -> str:
        return "done"
