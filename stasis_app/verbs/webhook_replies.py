"""What a webservice's reply may ask of the call (the ``webhook`` verb):
the verbs it may name, and the texts it may have spoken.

Verbs: ``say``, ``gather``, ``confirm``, ``hangup`` (as in flows); ``menu``
(``options``: the keys offered; the key pressed goes back to the webservice
as the next round's ``event``); ``transfer`` to a ``queue`` of the bank's,
a ``consultant`` the bank named (``consultants`` in its tenant config) or
another of the bank's ``line``-s; ``set`` (``values`` the flow uses later,
never a secret); ``goto`` (``state``, one of the webhook state's ``goto``
list: the flow goes on there).

Texts: every prompt slot (``prompt``, ``invalid_prompt``, ...) takes, beside
prompt keys and spoken values, ``{"text": "...", "public": true|false}``.
A public text (news, terms: the same for every caller) is rendered by the
bank's engine chain into the shared cache, as a prompt is, before the verb
plays it; a caller waiting longer than ``security.filler_after`` seconds for
it hears "please wait". A private text (anything about the caller) is spoken
only by the offline engine into the call's own folder, never cached, never
sent to an online engine (:mod:`voice.live`). A text is at most
:data:`MAX_TEXT` characters, and markup (``<``, ``>``) is refused: SSML
could make an engine say or fetch anything.
"""

import asyncio
import logging
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stasis_app.errors import AriError, CallHungUp, InfoliniaError
from stasis_app.flow.context import CallContext
from stasis_app.telephony.call import PUBLIC_PREFIX
from stasis_app.verbs.base import Answer, AskParams, Verb, VerbParams, ask, say
from stasis_app.verbs.confirm import Confirm
from stasis_app.verbs.gather import Gather
from stasis_app.verbs.hangup import Hangup
from stasis_app.verbs.menu import KEYS
from stasis_app.verbs.operation import CUSTOMER_VALUES
from stasis_app.verbs.say import Say
from stasis_app.verbs.transfer import Transfer, TransferParams, to_route
from voice.engine import SynthesisError
from voice.live import LIVE_PREFIX, live_key

log = logging.getLogger(__name__)

MAX_TEXT = 600  # characters of one text
# Where the dialplan takes a dialled line into the app (docker/asterisk/etc/extensions.conf).
LINES_CONTEXT = "infolinia-lines"
# Seconds a caller waits for a public text before "please wait" (no safeguards).
DEFAULT_MOMENT = 1.5
# Names a reply may not ``set``: secrets, and what the flow's own verbs keep.
SECRET_NAME = re.compile(r"pin|kod|code|pass|has[lł]o|secret|birth|dob|pesel|cvv|cvc|otp|token")
RESERVED = frozenset({"cards", "card", "accounts", "operations", "reference", *CUSTOMER_VALUES})


class ReplyError(InfoliniaError):
    """A reply the call cannot act on (the message says why, never a text)."""


class SpokenText(BaseModel):
    """A text a reply has spoken: ``public`` (cached) or not (live, offline)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    public: bool

    @field_validator("text")
    @classmethod
    def _plain(cls, text: str) -> str:
        if "<" in text or ">" in text:
            raise ValueError("markup (< or >) is not spoken")
        if any(ord(c) < 32 and c not in "\t\n" for c in text) or not text.strip():
            raise ValueError("a text is words, not control characters or blanks")
        return text


async def speak_texts(ctx: CallContext, raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` params with each text in a prompt slot made a key the call
    plays: public texts rendered (all at once, "please wait" after a moment),
    private ones as live keys. :class:`ReplyError` for a bad text, a key
    that only the app may make, or a text no engine could render."""
    slots: dict[str, list[Any]] = {}
    public: dict[str, None] = {}
    for name, items in raw.items():
        if not (name.endswith("prompt") and isinstance(items, list)):
            continue
        slot: list[Any] = []
        for item in items:
            if isinstance(item, str) and item.startswith((LIVE_PREFIX, PUBLIC_PREFIX)):
                raise ReplyError(f"{name} names a key only the app may make")
            if isinstance(item, dict) and "text" in item:
                try:
                    text = SpokenText.model_validate(item)
                except ValidationError as exc:
                    raise ReplyError(f"a text in {name}: {exc.errors()[0]['msg']}") from None
                slot.append(text)
                if text.public:
                    public[text.text] = None
            else:
                slot.append(item)
        slots[name] = slot
    keys = await _render_public(ctx, list(public))
    out = dict(raw)
    for name, slot in slots.items():
        out[name] = [
            (keys[item.text] if item.public else live_key(item.text))
            if isinstance(item, SpokenText)
            else item
            for item in slot
        ]
    return out


async def _render_public(ctx: CallContext, texts: Sequence[str]) -> dict[str, str]:
    if not texts:
        return {}
    moment = ctx.safeguards.settings.filler_after if ctx.safeguards else DEFAULT_MOMENT
    work = asyncio.gather(*(ctx.call.public_text(text) for text in texts))
    try:
        keys = await ctx.call.while_waiting(work, "please_wait", moment)
    except (SynthesisError, OSError) as exc:
        raise ReplyError(f"a public text could not be rendered: {type(exc).__name__}") from None
    return dict(zip(texts, keys, strict=True))


class ReplyMenuParams(AskParams):
    options: list[str] = Field(min_length=1, max_length=12, description="the keys offered")
    repeat: list[str] = Field(default_factory=lambda: ["9", "*"])

    @model_validator(mode="after")
    def _keys(self) -> "ReplyMenuParams":
        wrong = sorted(set(self.options) - KEYS)
        if wrong:
            raise ValueError(f"option {wrong[0]!r} is not one key")
        clash = sorted(set(self.options) & set(self.repeat))
        if clash:
            raise ValueError(f"key {clash[0]!r} is both an option and a repeat key")
        return self


class ReplyMenu(Verb[ReplyMenuParams]):
    """Offer ``options``; the key pressed is the event sent back ("failed": none)."""

    name = "menu"
    Params = ReplyMenuParams

    async def run(self, ctx: CallContext, params: ReplyMenuParams) -> str:
        async def listen() -> Answer:
            key = await ctx.call.read_digits(1, terminator=None, timeouts=params.timeouts)
            if key in params.options:
                return Answer(key)
            return Answer(typed=key, again=bool(key) and key in params.repeat)

        return await ask(ctx, params, listen)


class ReplyTransferParams(TransferParams):
    consultant: str | None = Field(default=None, description="one of the bank's consultants")
    line: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$", description="a bank's line")

    @model_validator(mode="after")
    def _one_place(self) -> "ReplyTransferParams":
        places = [p for p in ("queue", "consultant", "line") if getattr(self, p) is not None]
        if len(places) > 1:
            raise ValueError(f"a transfer goes to one place, not to {' and '.join(places)}")
        return self


class ReplyTransfer(Verb[ReplyTransferParams]):
    """Transfer to a queue, a named consultant, another of the bank's lines,
    or (none named) where the flow's ``transfer`` would."""

    name = "transfer"
    Params = ReplyTransferParams

    async def run(self, ctx: CallContext, params: ReplyTransferParams) -> str:
        tenant = ctx.tenant
        if params.queue is not None:
            known = ctx.queues is not None and ctx.queues.queue(tenant.id, params.queue)
            if not known:
                raise ReplyError(f"the bank has no queue {params.queue!r}")
        if params.consultant is not None:
            route = tenant.consultants.get(params.consultant)
            if route is None:
                raise ReplyError(f"the bank has no consultant {params.consultant!r}")
            return await to_route(ctx, params, route)
        if params.line is not None:
            return await _to_line(ctx, params, params.line)
        return await Transfer().run(ctx, params)


async def _to_line(ctx: CallContext, params: ReplyTransferParams, line: str) -> str:
    if line not in ctx.tenant.lines or line == ctx.call.line:
        raise ReplyError(f"{line!r} is not another of the bank's lines")
    if "prompt" in params.model_fields_set and params.prompt:
        await say(ctx, params.prompt)  # only when asked: the other line greets
    try:
        await ctx.call.continue_in_dialplan(LINES_CONTEXT, line)
    except CallHungUp:
        raise
    except AriError as exc:
        log.warning("transfer to a line failed", extra={"error": str(exc)})
        return "failed"
    ctx.ended = True
    log.info("transferred to a line", extra={"line": line})
    return "done"


class SetParams(VerbParams):
    values: dict[str, str] = Field(min_length=1, max_length=10)

    @field_validator("values")
    @classmethod
    def _not_secret(cls, values: dict[str, str]) -> dict[str, str]:
        for name, value in values.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", name):
                raise ValueError(f"{name!r} is not a value's name (a-z, 0-9, _)")
            if SECRET_NAME.search(name):
                raise ValueError(f"{name!r} names a secret: a reply never sets one")
            if name in RESERVED:
                raise ValueError(f"{name!r} is the flow's own (what the bank's system answers)")
            if len(value) > 100:
                raise ValueError(f"{name!r} is longer than 100 characters")
        return values


class SetValues(Verb[SetParams]):
    """Keep ``values`` for the flow (e.g. the customer number the bank knows
    from the caller's number); never a secret."""

    name = "set"
    Params = SetParams

    async def run(self, ctx: CallContext, params: SetParams) -> str:
        ctx.values.update(params.values)
        return "done"


class GotoParams(VerbParams):
    state: str = Field(description="one of the webhook state's goto states")


# What a reply may ask for, by name (``goto`` is the webhook's own: it ends
# the exchange). One object each serves every call, as in the registry.
REPLY_VERBS: dict[str, Verb[Any]] = {
    verb.name: verb
    for verb in (Say(), Gather(), Confirm(), Hangup(), ReplyMenu(), ReplyTransfer(), SetValues())
}
