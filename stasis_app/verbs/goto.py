"""``goto``: go to another state."""

from typing import Any

from pydantic import Field

from stasis_app.flow.context import CallContext
from stasis_app.verbs.base import Verb, VerbParams


class GotoParams(VerbParams):
    to: str = Field(description="the state to go to")


class Goto(Verb):
    """Go to another state (its ``on`` is made from ``to``)."""

    name = "goto"
    Params = GotoParams

    async def run(self, ctx: CallContext, params: Any) -> str:
        return "done"
