"""The base every verb implements, and helpers verbs share."""

from collections.abc import Awaitable, Sequence
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import PromptItem, prompt_keys, static_prompts
from stasis_app.telephony.call import DigitTimeouts

T = TypeVar("T")


class VerbParams(BaseModel):
    """Base of every verb's params: unknown params are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class AskParams(VerbParams):
    """Params of verbs that ask and read keys."""

    prompt: list[PromptItem] = Field(min_length=1)
    retries: int = Field(default=2, ge=0, le=5, description="re-asks after a wrong or no answer")
    invalid_prompt: list[PromptItem] = Field(
        default_factory=lambda: list[PromptItem](["invalid_choice"])
    )
    first_timeout: float = Field(default=6.0, gt=0, le=30)
    between_timeout: float = Field(default=4.0, gt=0, le=30)

    @property
    def timeouts(self) -> DigitTimeouts:
        return DigitTimeouts(first=self.first_timeout, between=self.between_timeout)


class Verb:
    """One kind of step in a flow. Stateless: one instance serves every call."""

    name: ClassVar[str]
    Params: ClassVar[type[VerbParams]] = VerbParams
    # Ends the flow (hangup, transfer): its "done" needs no transition.
    terminal: ClassVar[bool] = False

    def events(self, params: Any, transitions: Sequence[str]) -> set[str]:
        """The events this state can emit (each needs a transition)."""
        return {"done"}

    def prompts(self, params: Any) -> set[str]:
        """Static prompt keys this state plays (each must exist for every tenant)."""
        needed: set[str] = set()
        for name in type(params).model_fields:
            value = getattr(params, name)
            if name.endswith("prompt") and isinstance(value, list):
                needed |= static_prompts(value)
        return needed

    async def run(self, ctx: CallContext, params: Any) -> str:
        """Do the step; return the event that picks the next state."""
        raise NotImplementedError


async def say(ctx: CallContext, items: Sequence[PromptItem], *, barge_in: bool = False) -> bool:
    """Play ``items`` (prompt keys and spoken values) as one playback."""
    return await ctx.call.say(prompt_keys(items, ctx.values), barge_in=barge_in)


async def wait_for_bank(ctx: CallContext, work: Awaitable[T]) -> T:
    """Await the bank's answer; past ``security.filler_after`` seconds the
    caller hears "please wait" until it comes (no safeguards: just await)."""
    if ctx.safeguards is None:
        return await work
    after = ctx.safeguards.settings.filler_after
    return await ctx.call.while_waiting(work, "please_wait", after)
