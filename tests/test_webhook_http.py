"""The webhook verb over real HTTP on 127.0.0.1: it never follows a redirect
(the signed call context must not travel to another host), it reads a reply
to its end however the wire splits it, and it refuses a reply over the cap."""

import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from stasis_app.flow.context import CallContext
from stasis_app.verbs.webhook import (
    MAX_REPLY,
    SIGNATURE_HEADER,
    Webhook,
    WebhookParams,
    reply_signed_bytes,
    sign,
)
from tests.support.fake_call import FakeCall
from tests.support.outbound_server import Bystander, answer_in_pieces, serving

pytestmark = pytest.mark.unit

SECRET = b"webhook-http-test-secret"
SECRET_ENV = "INFOLINIA_TEST_WEBHOOK_HTTP_SECRET"
CALL = "1700000000.42"


def webhook_call() -> FakeCall:
    """Just the prompts the webhook tests' bank may ask for."""
    return FakeCall(channel_id=CALL, line="104", prompts=["greeting", "bank_unavailable"])


def signed_reply(round_number: int, reply: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(reply).encode()
    return body, {SIGNATURE_HEADER: sign(SECRET, reply_signed_bytes(CALL, round_number, body))}


async def run_webhook(url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, FakeCall]:
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    call = webhook_call()
    tenant = SimpleNamespace(id="izbica")
    ctx = CallContext(call=call, tenant=tenant, bank=None, state="ask_bank")  # type: ignore[arg-type]
    event = await Webhook().run(ctx, WebhookParams(url=url, secret_env=SECRET_ENV, timeout=5))
    return event, call


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.error for r in caplog.records if r.getMessage() == "webhook failed"]  # type: ignore[attr-defined]


async def test_a_redirect_is_not_followed_and_the_other_host_sees_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with Bystander().running() as elsewhere:

        async def redirect(request: web.Request) -> web.Response:
            await request.read()
            location = f"http://127.0.0.1:{elsewhere.port}/steal"
            return web.Response(status=307, headers={"Location": location})

        app = web.Application()
        app.router.add_post("/infolinia", redirect)
        caplog.set_level(logging.WARNING, "stasis_app.verbs.webhook")
        async with serving(app) as base:
            event, call = await run_webhook(base + "infolinia", monkeypatch)
    assert event == "failed"
    assert call.heard == [["bank_unavailable"]]  # the flow's failed_prompt
    assert elsewhere.connections == 0 and elsewhere.received == b""
    [why] = failures(caplog)
    assert "307" in why and f"127.0.0.1:{elsewhere.port}" in why and "not followed" in why


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
async def test_a_reply_split_into_pieces_with_pauses_is_read_whole(
    monkeypatch: pytest.MonkeyPatch, chunked: bool
) -> None:
    rounds: list[int] = []

    async def bank(request: web.Request) -> web.StreamResponse:
        asked = json.loads(await request.read())
        rounds.append(asked["round"])
        if asked["round"] == 1:
            say = {"verb": "say", "params": {"prompt": ["greeting"]}}
            # Large enough that no client reads it in one go by luck.
            body, headers = signed_reply(1, {"verbs": [say], "note": "x" * 20_000})
        else:
            body, headers = signed_reply(asked["round"], {"verbs": []})
        return await answer_in_pieces(request, body, headers, pieces=5, chunked=chunked)

    app = web.Application()
    app.router.add_post("/infolinia", bank)
    async with serving(app) as base:
        event, call = await run_webhook(base + "infolinia", monkeypatch)
    assert (event, call.heard, rounds) == ("done", [["greeting"]], [1, 2])


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
async def test_a_reply_over_the_cap_is_refused(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, chunked: bool
) -> None:
    async def bank(request: web.Request) -> web.StreamResponse:
        await request.read()
        body, headers = signed_reply(1, {"verbs": [], "padding": "x" * MAX_REPLY})
        return await answer_in_pieces(request, body, headers, pieces=8, chunked=chunked)

    app = web.Application()
    app.router.add_post("/infolinia", bank)
    caplog.set_level(logging.WARNING, "stasis_app.verbs.webhook")
    async with serving(app) as base:
        event, call = await run_webhook(base + "infolinia", monkeypatch)
    assert (event, call.heard) == ("failed", [["bank_unavailable"]])
    assert failures(caplog) == [f"reply too large (over {MAX_REPLY} bytes)"]


async def test_a_reply_speaking_a_value_as_the_wrong_kind_is_the_replys_fault(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A reply asks to speak a collected text as a date: the webhook fails
    (the fallback prompt, the log names the type, never the value) the same
    way with or without ``python -O`` (no assert decides it)."""

    async def bank(request: web.Request) -> web.Response:
        await request.read()
        say = {"verb": "say", "params": {"prompt": [{"value": "account", "as": "date"}]}}
        body, headers = signed_reply(1, {"verbs": [say]})
        return web.Response(body=body, headers=headers, content_type="application/json")

    app = web.Application()
    app.router.add_post("/infolinia", bank)
    caplog.set_level(logging.WARNING, "stasis_app.verbs.webhook")
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    call = webhook_call()
    ctx = CallContext(call=call, tenant=SimpleNamespace(id="izbica"), bank=None)  # type: ignore[arg-type]
    ctx.values["account"] = "12345678"
    async with serving(app) as base:
        params = WebhookParams(url=base + "infolinia", secret_env=SECRET_ENV, timeout=5)
        event = await Webhook().run(ctx, params)
    assert (event, call.heard) == ("failed", [["bank_unavailable"]])
    [failure] = failures(caplog)
    assert "UnspeakableValue" in failure and "12345678" not in failure
