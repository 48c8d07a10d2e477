"""What a webservice's reply may make the call do (issue 25), over real HTTP
on 127.0.0.1 with a fake call: any text (public: rendered by the bank's
engines and cached; private: only the offline engine, never cached), a menu
whose key goes back to the webservice, transfers to a queue, a named
consultant or another line, ``set`` (never a secret) and ``goto``; a bad
reply means the failure prompt, never silence."""

import asyncio
import json
import logging
import math
import struct
import wave
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web

from stasis_app.flow.context import CallContext
from stasis_app.telephony.call import Call
from stasis_app.telephony.gateway import ChannelHandle
from stasis_app.tenants import ConsultantRoute, Tenant
from stasis_app.verbs.webhook import (
    SIGNATURE_HEADER,
    Webhook,
    WebhookParams,
    reply_signed_bytes,
    sign,
)
from tests.support.fake_call import FakeCall, FakeGateway
from tests.support.outbound_server import serving
from voice.cache import PromptCache
from voice.chain import EngineChain
from voice.live import LiveSpeech
from voice.prompts import PromptBook

pytestmark = pytest.mark.unit

SECRET = b"webhook-replies-test-secret"
SECRET_ENV = "INFOLINIA_TEST_WEBHOOK_REPLIES_SECRET"
CALL = "1700000000.42"
PROMPTS = ["bank_unavailable", "main_menu", "invalid_choice", "no_input", "transferring"]
PROMPTS += ["consultants_unavailable", "outside_hours"]
Script = Callable[[dict[str, Any]], list[dict[str, Any]]]


def bank_tenant() -> Tenant:
    return Tenant.model_validate(
        {
            "id": "izbica",
            "name": "Izbica",
            "lines": ["100", "101"],
            "flow": "bank.yaml",
            "adapter": {"name": "demo"},
            "consultants": {"anna": {"extension": "anna"}},
        }
    )


class Bank:
    """A webservice answering each round with ``script(request)``, signed."""

    def __init__(self, script: Script, *, tamper: bool = False) -> None:
        self.script = script
        self.tamper = tamper
        self.asked: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        asked = json.loads(await request.read())
        self.asked.append(asked)
        body = json.dumps({"verbs": self.script(asked)}, ensure_ascii=False).encode()
        signature = sign(SECRET, reply_signed_bytes(CALL, asked["round"], body))
        if self.tamper:  # a text changed on the way: the signature no longer fits
            body = body.replace("piątek".encode(), "sobotę".encode())
        return web.Response(
            body=body, headers={SIGNATURE_HEADER: signature}, content_type="application/json"
        )


async def drive(
    bank: Bank,
    monkeypatch: pytest.MonkeyPatch,
    call: Any = None,
    goto: tuple[str, ...] = (),
    moment: float | None = None,
) -> tuple[str, Any, CallContext]:
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    call = call or FakeCall(channel_id=CALL, prompts=PROMPTS)
    ctx = CallContext(call=call, tenant=bank_tenant(), bank=None, state="ask_bank")  # type: ignore[arg-type]
    if moment is not None:  # security.filler_after, as the safeguards give it
        ctx.safeguards = SimpleNamespace(settings=SimpleNamespace(filler_after=moment))  # type: ignore[assignment]
    app = web.Application()
    app.router.add_post("/infolinia", bank.handle)
    async with serving(app) as base:
        params = WebhookParams(
            url=base + "infolinia", secret_env=SECRET_ENV, timeout=5, goto=list(goto)
        )
        event = await Webhook().run(ctx, params)
    return event, call, ctx


def once(*verbs: dict[str, Any]) -> Script:
    return lambda asked: list(verbs) if asked["round"] == 1 else []


def say(*items: Any) -> dict[str, Any]:
    return {"verb": "say", "params": {"prompt": list(items)}}


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.error for r in caplog.records if r.getMessage() == "webhook failed"]  # type: ignore[attr-defined]


class Recorder:
    """An engine that records what it was asked to speak (a short tone)."""

    def __init__(self, name: str, offline: bool) -> None:
        self.identity = f"recorder {name}"
        self.offline = offline
        self.spoken: list[str] = []

    async def synthesize(self, text: str, out: Path) -> None:
        self.spoken.append(text)
        with wave.open(str(out), "wb") as audio:
            audio.setnchannels(1)
            audio.setsampwidth(2)
            audio.setframerate(16000)
            audio.writeframes(
                b"".join(
                    struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / 16000)))
                    for n in range(1600)
                )
            )


def connected(gateway: FakeGateway) -> ChannelHandle:
    handle = ChannelHandle(CALL, "100", "600100200")
    gateway.connect(handle)
    return handle


async def test_public_text_goes_to_the_engine_chain_and_cache_private_only_offline_and_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a real Call: the public text is rendered by the chain's first
    (online) engine into the cache; the private one only by the offline
    engine, into the call's folder; no online request names it."""
    online, offline = Recorder("online", offline=False), Recorder("offline", offline=True)
    cache = PromptCache(tmp_path / "cache", EngineChain([online, offline]))
    book = PromptBook({"bank_unavailable": "Bank niedostępny."}, cache)
    await book.render_all()
    online.spoken.clear()
    live = LiveSpeech(tmp_path / "cache" / "live", offline)
    gateway = FakeGateway(speech_seconds=0.01)
    call = Call(connected(gateway), gateway, book, live)
    public, private = "Od poniedziałku lokata pięć procent.", "Twoje saldo to sto złotych."
    bank = Bank(once(say({"text": public, "public": True}, {"text": private, "public": False})))
    event, _, _ = await drive(bank, monkeypatch, call)
    assert event == "done"
    assert online.spoken == [public] and offline.spoken == [private]
    assert cache.cached(public) == cache.base_path(public, online)
    assert cache.cached(private) is None
    # One prompt; the public text may play alone while the private one renders.
    media = [m for r in gateway.requests if r.operation == "play" for m in r.args["media"]]
    assert len(media) == 2
    assert media[0] == f"sound:{cache.base_path(public, online)}"
    assert media[1].startswith(f"sound:{tmp_path / 'cache' / 'live' / CALL}/")
    # A second call replays the public text from the cache: no engine asked.
    other = FakeGateway(speech_seconds=0.01)
    again = Call(connected(other), other, book)
    await drive(Bank(once(say({"text": public, "public": True}))), monkeypatch, again)
    assert online.spoken == [public]


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ({"text": "<speak>Hej</speak>", "public": True}, "markup"),
        ({"text": "a" * 601, "public": True}, "at most 600"),
        ({"text": "Bez flagi"}, "Field required"),
        ({"text": "Tak", "public": "yes"}, "boolean"),
        ({"text": "   ", "public": False}, "blanks"),
        ("live:Ala ma kota", "only the app"),
        ("text:0123456789abcdef", "only the app"),
    ],
)
async def test_a_bad_text_means_the_failure_prompt(
    item: Any, why: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "stasis_app.verbs.webhook")
    event, call, _ = await drive(Bank(once(say(item))), monkeypatch)
    assert (event, call.heard) == ("failed", [["bank_unavailable"]])
    [failure] = failures(caplog)
    assert why in failure and "Ala" not in failure


async def test_the_signature_covers_the_text(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "stasis_app.verbs.webhook")
    bank = Bank(once(say({"text": "Otwarte w piątek.", "public": True})), tamper=True)
    event, call, _ = await drive(bank, monkeypatch)
    assert (event, call.heard, call.public_texts) == ("failed", [["bank_unavailable"]], {})
    assert failures(caplog) == ["reply signature missing or wrong"]


async def test_a_menu_sends_the_key_pressed_back(monkeypatch: pytest.MonkeyPatch) -> None:
    menu = {"verb": "menu", "params": {"prompt": ["main_menu"], "options": ["1", "2"]}}
    bank = Bank(once(menu))
    call = FakeCall(channel_id=CALL, keys="72", prompts=PROMPTS)  # typed ahead: no menu heard
    event, call, _ = await drive(bank, monkeypatch, call)
    assert (event, call.heard) == ("done", [["invalid_choice"]])
    assert [(a["round"], a["event"]) for a in bank.asked] == [(1, None), (2, "2")]


async def test_transfers_to_another_line_and_to_a_named_consultant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    to_line = {"verb": "transfer", "params": {"line": "101"}}
    event, call, ctx = await drive(Bank(once(to_line)), monkeypatch)
    assert (event, call.transferred_to, call.heard, ctx.ended) == (
        "done",
        ("infolinia-lines", "101"),
        [],
        True,
    )
    to_anna = {"verb": "transfer", "params": {"consultant": "anna"}}
    event, call, _ = await drive(Bank(once(to_anna)), monkeypatch)
    assert (event, call.transferred_to) == ("done", ("infolinia-consultants", "anna"))
    assert bank_tenant().consultants["anna"] == ConsultantRoute(extension="anna")


@pytest.mark.parametrize(
    ("where", "why"),
    [
        ({"line": "100"}, "not another of the bank's lines"),  # the line it is on
        ({"line": "102"}, "not another of the bank's lines"),  # another bank's
        ({"queue": "nowhere"}, "no queue 'nowhere'"),
        ({"consultant": "bob"}, "no consultant 'bob'"),
        ({"line": "101", "queue": "main"}, "one place"),
    ],
)
async def test_a_transfer_anywhere_else_means_the_failure_prompt(
    where: dict[str, str],
    why: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "stasis_app.verbs.webhook")
    event, call, _ = await drive(Bank(once({"verb": "transfer", "params": where})), monkeypatch)
    assert (event, call.heard, call.transferred_to) == ("failed", [["bank_unavailable"]], None)
    [failure] = failures(caplog)
    assert why in failure


async def test_set_values_reach_the_flow_and_the_next_request_goto_hands_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def script(asked: dict[str, Any]) -> list[dict[str, Any]]:
        if asked["round"] == 1:
            return [{"verb": "set", "params": {"values": {"customer_number": "12345678"}}}]
        return [{"verb": "goto", "params": {"state": "block_pin"}}]

    bank = Bank(script)
    event, call, ctx = await drive(bank, monkeypatch, goto=("block_pin",))
    assert (event, call.heard) == ("goto block_pin", [])
    assert ctx.values["customer_number"] == "12345678"
    assert bank.asked[1]["values"] == {"customer_number": "12345678"}


@pytest.mark.parametrize(
    ("verb", "why"),
    [
        ({"verb": "set", "params": {"values": {"pin": "1234"}}}, "names a secret"),
        ({"verb": "set", "params": {"values": {"telekod": "1234"}}}, "names a secret"),
        ({"verb": "set", "params": {"values": {"birth_date": "01011990"}}}, "names a secret"),
        ({"verb": "set", "params": {"values": {"cards": "x"}}}, "the flow's own"),
        ({"verb": "goto", "params": {"state": "card_block"}}, "not one of the state's goto"),
    ],
)
async def test_a_secret_set_or_a_goto_elsewhere_means_the_failure_prompt(
    verb: dict[str, Any],
    why: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "stasis_app.verbs.webhook")
    event, call, ctx = await drive(Bank(once(verb)), monkeypatch, goto=("block_pin",))
    assert (event, call.heard) == ("failed", [["bank_unavailable"]])
    assert not ctx.values
    [failure] = failures(caplog)
    assert why in failure and "1234" not in failure


async def test_a_slow_public_text_has_a_filler(monkeypatch: pytest.MonkeyPatch) -> None:
    class SlowCall(FakeCall):
        async def public_text(self, text: str) -> str:
            await asyncio.sleep(0.3)  # longer than a moment
            return await super().public_text(text)

    call = SlowCall(channel_id=CALL)
    event, _, _ = await drive(
        Bank(once(say({"text": "Nowa oferta.", "public": True}))), monkeypatch, call, moment=0.1
    )
    assert (event, call.heard) == ("done", [["please_wait"], ["text:Nowa oferta."]])
