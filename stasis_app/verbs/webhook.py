"""``webhook``: let the bank's own webservice drive the call (the "Integrate"
model): POST the call's context as JSON, run the verbs it answers with, and
POST again with what they collected, until it answers with no verbs, or a
``hangup`` or ``transfer`` ends the call.

Request (``POST url``, ``Content-Type: application/json``)::

    {"tenant": "izbica", "line": "100", "caller": "600100200", "language": "pl", "call": "<id>",
     "state": "ask_bank", "round": 1, "event": null, "values": {"digits": "42"}}

Reply (status 200)::

    {"verbs": [{"verb": "say", "params": {"prompt": ["greeting",
                    {"text": "Od poniedziałku lokata 5 procent.", "public": true}]}},
               {"verb": "gather", "params": {"prompt": ["ask_digits"], "into": "digits"}}]}

The verbs and texts a reply may use: :mod:`stasis_app.verbs.webhook_replies`;
``{"verb": "goto", "params": {"state": "block_pin"}}`` ends the exchange and
the flow goes on at that state (one of the state's ``goto`` list, each an
event ``goto <state>`` with its own transition). The contract as OpenAPI:
``stasis_app/verbs/webhook.openapi.yaml``.

Both are signed: header ``X-Infolinia-Signature: sha256=<hex>``, an
HMAC-SHA256 with the shared secret named by ``secret_env`` (an environment
variable: secrets never live in flow files) of the exact request body, and
for the reply of ``<call>:<round>\n`` followed by the exact reply body (so a
reply cannot be replayed into another call). ``url`` must be https, except
to this machine.
Each request carries ``sent_at`` (Unix seconds) inside the signed body, and
``call`` + ``round`` never repeat: the bank's service should refuse a request
more than five minutes old or one it has already answered (a replay).

A reply with a missing or wrong signature, larger than 64 KiB, a timeout, an
error status, a redirect (never followed: it would carry the signed call
context elsewhere), an unknown verb, prompt, queue, line or ``goto`` state,
a bad text: the caller hears
``failed_prompt`` and the flow goes on at ``failed``, and a ``webhook failed``
warning says why. A reply is read to its end however it is split on the wire
(:mod:`adapters.http_body`). Values collected with ``secret: true`` are never
sent.
"""

import hashlib
import hmac
import json
import logging
import os
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from pydantic import Field, ValidationError, field_validator

from adapters.http_body import IDENTITY_HEADERS, BodyTooLarge, read_capped
from stasis_app.errors import CallHungUp, InfoliniaError
from stasis_app.flow.context import CallContext
from stasis_app.flow.speech import PromptItem
from stasis_app.verbs.base import Verb, VerbParams, say
from stasis_app.verbs.webhook_replies import REPLY_VERBS, GotoParams, ReplyError, speak_texts
from voice.live import LIVE_PREFIX

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Infolinia-Signature"
GOTO = "goto "  # a reply's goto: the event "goto <state>"
MAX_REPLY = 64 * 1024  # bytes


class WebhookFailed(InfoliniaError):
    """The webservice could not drive the call (message says why, no secrets)."""


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def reply_signed_bytes(call: str, round_number: int, body: bytes) -> bytes:
    """What a reply's signature covers: ``<call>:<round>\n`` then the body."""
    return f"{call}:{round_number}\n".encode() + body


def signature_ok(secret: bytes, body: bytes, header: str | None) -> bool:
    # A non-ASCII header (bytes decoded by aiohttp) is simply wrong, not a TypeError.
    if header is None or not header.isascii():
        return False
    return hmac.compare_digest(sign(secret, body), header)


class WebhookParams(VerbParams):
    url: str = Field(pattern=r"^https?://")

    @field_validator("url")
    @classmethod
    def _https_unless_local(cls, url: str) -> str:
        host = urllib.parse.urlsplit(url).hostname or ""
        if not url.startswith("https://") and host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("must be https:// (plain http only to this machine)")
        return url

    secret_env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="env var with the key")
    timeout: float = Field(default=3.0, gt=0, le=30)
    max_rounds: int = Field(default=20, ge=1, le=100)
    failed_prompt: list[PromptItem] = Field(
        default_factory=lambda: list[PromptItem](["bank_unavailable"])
    )
    goto: list[str] = Field(
        default_factory=list, description="states a reply's goto may hand the caller to"
    )


class Webhook(Verb[WebhookParams]):
    name = "webhook"
    Params = WebhookParams

    def events(self, params: WebhookParams, transitions: Sequence[str]) -> set[str]:
        return {"done", "failed"} | {GOTO + state for state in params.goto}

    def transitions(self, params: WebhookParams, on: Mapping[str, str]) -> dict[str, str]:
        return {**on, **{GOTO + state: state for state in params.goto}}

    async def run(self, ctx: CallContext, params: WebhookParams) -> str:
        secret = os.environ.get(params.secret_env, "").encode()
        try:
            if not secret:
                raise WebhookFailed(f"${params.secret_env} is not set")
            return await self._drive(ctx, params, secret)
        except CallHungUp:
            raise
        except WebhookFailed as exc:
            log.warning("webhook failed", extra={"url": params.url, "error": str(exc)})
            await say(ctx, params.failed_prompt)
            return "failed"

    async def _drive(self, ctx: CallContext, params: WebhookParams, secret: bytes) -> str:
        event: str | None = None
        timeout = aiohttp.ClientTimeout(total=params.timeout)
        # auto_decompress off: the signature covers the bytes on the wire.
        async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as http:
            for round_number in range(1, params.max_rounds + 1):
                reply = await self._post(http, ctx, params, secret, round_number, event)
                if not reply:
                    return "done"
                for step in reply:
                    event = await self._step(ctx, params, step)
                    if ctx.ended:
                        return "done"
                    if event.startswith(GOTO):
                        return event
        raise WebhookFailed(f"still talking after {params.max_rounds} rounds")

    async def _step(self, ctx: CallContext, params: WebhookParams, step: dict[str, Any]) -> str:
        """Run one verb of a reply; its event ("goto <state>" for a goto)."""
        name, params_raw = step.get("verb"), step.get("params") or {}
        if not isinstance(name, str) or not isinstance(params_raw, dict):
            raise WebhookFailed("reply's verbs need a 'verb' name and 'params'")
        if name == "goto":
            try:
                state = GotoParams(**params_raw).state
            except ValidationError as exc:
                raise WebhookFailed(f"bad params for goto: {exc.errors()[0]['msg']}") from None
            if state not in params.goto:
                raise WebhookFailed(f"reply's goto {state!r} is not one of the state's goto")
            log.info("webhook goto", extra={"to": state})
            return GOTO + state
        verb = REPLY_VERBS.get(name)
        if verb is None:
            raise WebhookFailed(f"reply asks for verb {name!r}")
        try:
            params_raw = await speak_texts(ctx, params_raw)
        except ReplyError as exc:
            raise WebhookFailed(f"bad params for {verb.name}: {exc}") from None
        try:
            step_params = verb.Params(**params_raw)
        except ValidationError as exc:
            problem = exc.errors()[0]["msg"]
            raise WebhookFailed(f"bad params for {verb.name}: {problem}") from None
        wanted = (key for key in verb.prompts(step_params) if not key.startswith(LIVE_PREFIX))
        missing = ctx.call.unknown_prompts(wanted)
        if missing:
            raise WebhookFailed(f"reply asks for unknown prompt {sorted(missing)[0]!r}")
        try:
            return await verb.run(ctx, step_params)
        except ReplyError as exc:
            raise WebhookFailed(f"reply's {verb.name} cannot run: {exc}") from None
        except (KeyError, TypeError, ValueError) as exc:
            # e.g. a {value: ...} nothing collected, or not of the kind it
            # is to be spoken as (UnspeakableValue): the reply's fault
            raise WebhookFailed(f"reply's {verb.name} cannot run: {exc!r}") from None

    async def _post(
        self,
        http: aiohttp.ClientSession,
        ctx: CallContext,
        params: WebhookParams,
        secret: bytes,
        round_number: int,
        event: str | None,
    ) -> list[dict[str, Any]]:
        body = json.dumps(
            {
                "tenant": ctx.tenant.id,
                "line": ctx.call.line,
                "caller": ctx.call.caller,
                "language": ctx.call.language,
                "call": ctx.call.channel_id,
                "state": ctx.state,
                "round": round_number,
                "sent_at": int(time.time()),
                "event": event,
                "values": {k: v for k, v in ctx.values.items() if isinstance(v, str)},
            },
            ensure_ascii=False,
        ).encode()
        return await exchange(
            http, params.url, secret, body, ctx.call.channel_id, round_number, params.timeout
        )


async def exchange(
    http: aiohttp.ClientSession,
    url: str,
    secret: bytes,
    body: bytes,
    call: str,
    round_number: int,
    timeout: float,
) -> list[dict[str, Any]]:
    """POST one round's signed ``body`` to ``url`` and return the verbs of its
    verified reply; :class:`WebhookFailed` for anything else.

    Redirects are not followed: a 3xx is a failure (following one would send
    the signed call context, perhaps in clear, to wherever it points). The
    reply is read to its end, never more than :data:`MAX_REPLY` bytes.
    """
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body),
        **IDENTITY_HEADERS,
    }
    try:
        async with http.post(url, data=body, headers=headers, allow_redirects=False) as response:
            if 300 <= response.status < 400:
                target = urllib.parse.urlsplit(response.headers.get("Location", ""))
                raise WebhookFailed(
                    f"HTTP {response.status} redirect to {target.netloc or 'nowhere'!r} "
                    "not followed (give the webhook its final URL)"
                )
            try:
                reply_body = await read_capped(response.content, MAX_REPLY, response.content_length)
            except BodyTooLarge:
                raise WebhookFailed(f"reply too large (over {MAX_REPLY} bytes)") from None
            status, signature = response.status, response.headers.get(SIGNATURE_HEADER)
    except TimeoutError:
        raise WebhookFailed(f"no reply within {timeout}s") from None
    except aiohttp.ClientError as exc:
        raise WebhookFailed(type(exc).__name__) from None
    return check_reply(secret, call, round_number, status, reply_body, signature)


def check_reply(
    secret: bytes, call: str, round_number: int, status: int, body: bytes, signature: str | None
) -> list[dict[str, Any]]:
    """The verbs of a reply that is a genuine answer to ``call``'s round
    ``round_number``; :class:`WebhookFailed` (and nothing else) otherwise."""
    if status != 200:
        raise WebhookFailed(f"HTTP {status}")
    # The reply is signed together with the call and round it answers,
    # so an old reply cannot be replayed into another call.
    if not signature_ok(secret, reply_signed_bytes(call, round_number, body), signature):
        raise WebhookFailed("reply signature missing or wrong")
    return parse_reply(body)


def parse_reply(body: bytes) -> list[dict[str, Any]]:
    """The ``verbs`` list of a reply's JSON body; :class:`WebhookFailed` when
    the body is not a JSON object whose ``verbs`` (if any) is a list of objects."""
    try:
        reply = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested too deep
        raise WebhookFailed("reply is not a JSON object") from None
    if not isinstance(reply, dict):
        raise WebhookFailed("reply is not a JSON object")
    verbs = reply.get("verbs", [])
    if not isinstance(verbs, list) or not all(isinstance(v, dict) for v in verbs):
        raise WebhookFailed("reply 'verbs' is not a list of verbs")
    return verbs
