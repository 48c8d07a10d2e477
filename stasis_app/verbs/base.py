"""The base every verb implements, and helpers verbs share.

A verb carries its own rules: the flow model, the graph, the engine and
the deployment ask the verb (its class attributes and methods below), never
its name, so a plugin's verb that declares the same is treated like a
built-in one. ``Verb`` is generic over its params: ``class Say(Verb[SayParams])``
runs with ``params: SayParams``.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from stasis_app.flow.context import CallContext, Skipped
from stasis_app.flow.speech import PromptItem, prompt_keys, static_prompts
from stasis_app.telephony.call import DigitTimeouts
from stasis_app.telephony.key_waits import BANK, waiting_on

T = TypeVar("T")


class VerbParams(BaseModel):
    """Base of every verb's params: unknown params are an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


P = TypeVar("P", bound=VerbParams)


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


@dataclass(frozen=True)
class Gathered:
    """What a state keeps of the keys the caller types: the name, and whether
    it is a secret (a PIN, a date of birth: never logged, used once)."""

    into: str
    secret: bool


class Verb(Generic[P]):
    """One kind of step in a flow. Stateless: one instance serves every call.

    Subclass it as ``class Greet(Verb[GreetParams])`` with ``name``,
    ``Params = GreetParams`` (the model that validates the state's YAML
    ``params``) and ``async def run(self, ctx, params: GreetParams) -> str``.
    """

    name: ClassVar[str]
    # Validates the state's ``params`` when the flow loads (a ClassVar cannot
    # name ``P``: keep it the same class as the one ``Verb[...]`` is given).
    Params: ClassVar[type[VerbParams]] = VerbParams
    # Ends the flow (hangup, transfer): its "done" needs no transition, and
    # the flow's picture draws it as an end.
    terminal: ClassVar[bool] = False
    # The secrets the caller typed in this state live until the very next
    # state (the login that uses them); after any other verb they are dropped.
    passes_secrets: ClassVar[bool] = False
    # Offers the bank's other languages and switches the call to the one
    # picked (the ``language`` verb): a bank with ``languages`` needs one.
    offers_languages: ClassVar[bool] = False

    def events(self, params: P, transitions: Sequence[str]) -> set[str]:
        """The events this state can emit (each needs a transition)."""
        return {"done"}

    def transitions(self, params: P, on: Mapping[str, str]) -> dict[str, str]:
        """The state's transitions, from its ``on`` (``goto`` makes its own)."""
        return dict(on)

    def prompts(self, params: P) -> set[str]:
        """Static prompt keys this state plays (each must exist for every tenant)."""
        needed: set[str] = set()
        for name in type(params).model_fields:
            value = getattr(params, name)
            if name.endswith("prompt") and isinstance(value, list):
                needed |= static_prompts(value)
        return needed

    def gathers(self, params: P) -> Gathered | None:
        """What the state keeps of the keys the caller types (None: nothing)."""
        return None

    def uses_secret(self, params: P) -> str | None:
        """The secret this state needs (it must come from a gather that keeps
        it secret), or None."""
        return None

    def uses_secrets(self, params: P) -> tuple[str, ...]:
        """Every secret this state needs (each must come only from gathers
        that keep it secret): :meth:`uses_secret`'s, unless a verb takes more."""
        name = self.uses_secret(params)
        return () if name is None else (name,)

    def test_call_skip(self, params: P) -> Skipped | None:
        """How a test call goes on past this state if it changes something at
        the bank or sends something to a customer (blocks, transfers, SMS
        codes, telekods): the engine does not run it. None: it only reads."""
        return None

    def queue(self, params: P) -> str | None:
        """The tenant's consultant queue this state sends the caller to, if
        it names one (it must be one of the tenant's queues)."""
        return None

    def adapter_operations(self, params: P) -> set[str]:
        """The optional adapter operations (``adapters.spec.OptionalOperation``
        values) this state may run: the flow checker refuses a bank's flow
        whose adapter does not offer one, unless the state is reached only
        through a guard of a feature the bank has off (:meth:`features`)."""
        return set()

    def features(self, params: P) -> dict[str, str]:
        """The events this state emits only when a feature is on for the bank
        (event -> feature name, :data:`stasis_app.features.FEATURES`)."""
        return {}

    def label(self, params: P) -> str:
        """What the flow's picture writes in the state's box under its name:
        the verb and the first prompt key it plays."""
        prompt = getattr(params, "prompt", None) or []
        first = next((p for p in prompt if isinstance(p, str)), None)
        return f"{self.name}: {first}" if first else self.name

    async def run(self, ctx: CallContext, params: P) -> str:
        """Do the step; return the event that picks the next state."""
        raise NotImplementedError


async def say(ctx: CallContext, items: Sequence[PromptItem], *, barge_in: bool = False) -> bool:
    """Play ``items`` (prompt keys and spoken values) as one playback."""
    keys = prompt_keys(items, ctx.values, ctx.call.language, ctx.call.whole_phrase)
    return await ctx.call.say(keys, barge_in=barge_in)


@dataclass(frozen=True)
class Answer:
    """What the caller answered to one asking (see :func:`ask`)."""

    event: str | None = None  # the event the state emits; None: no good answer
    typed: str = ""  # what was typed ("": silence, the caller hears "no_input")
    again: bool = False  # ask again without counting a miss (a menu's repeat key)


async def ask(ctx: CallContext, params: AskParams, listen: Callable[[], Awaitable[Answer]]) -> str:
    """Ask and retry, for every verb that reads an answer (menu, choose,
    confirm, gather): say ``params.prompt`` (a key stops it), let ``listen``
    read the answer; a good answer's event is returned; a wrong answer or
    silence re-asks after ``invalid_prompt`` or ``no_input``, and after
    ``params.retries`` re-asks the event is ``failed``."""
    misses = 0
    while True:
        await say(ctx, params.prompt, barge_in=True)
        answer = await listen()
        if answer.event is not None:
            return answer.event
        if answer.again:
            continue
        misses += 1
        if misses > params.retries:
            return "failed"
        await say(ctx, params.invalid_prompt if answer.typed else ["no_input"])


async def wait_for_bank(ctx: CallContext, work: Awaitable[T]) -> T:
    """Await the bank's answer; past ``security.filler_after`` seconds the
    caller hears "please wait" until it comes (no safeguards: just await)."""
    with waiting_on(BANK):  # the key-to-prompt figures' bank part
        if ctx.safeguards is None:
            return await work
        after = ctx.safeguards.settings.filler_after
        return await ctx.call.while_waiting(work, "please_wait", after)
