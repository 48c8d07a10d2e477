"""The webhook verb on real calls: a bank's webservice drives the call; a
slow or badly signed webservice leads to an apology and the flow's fallback."""

import asyncio
from collections.abc import Iterator

import pytest

from tests.conftest import SpokenPrompts, spoken_keys
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari, Witness, heard
from tests.support.webhook_server import WebhookServer

pytestmark = pytest.mark.asterisk


@pytest.fixture(scope="module")
def webservice() -> Iterator[WebhookServer]:
    server = WebhookServer().start()
    yield server
    server.stop()


async def served(ari: Ari, line: str, keys: str, wait: float) -> list[str]:
    async with Witness(ari) as witness:
        name = await ari.call_with_keys(line, keys, wait=wait)
        channel_id = await witness.channel_named(name)
        await witness.hangup_of(channel_id, timeout=30)
        return heard(witness.on_channel(channel_id))


def test_the_webservice_drives_the_call(
    live_app: AppProcess, ari: Ari, spoken: SpokenPrompts, webservice: WebhookServer
) -> None:
    said = asyncio.run(served(ari, "104", "42#", wait=2.5))
    assert spoken.keys(said) == [
        "greeting",
        "ask_digits",
        "you_entered",
        *spoken_keys("42"),
        "goodbye",
    ]
    rounds = [r for r in webservice.requests if r["line"] == "104"]
    assert [r["round"] for r in rounds] == [1, 2]
    assert rounds[1]["values"] == {"digits": "42"} and rounds[1]["event"] == "done"
    assert rounds[0]["tenant"] == "webhook" and rounds[0]["state"] == "ask_bank"
    assert webservice.bad_signatures == 0


@pytest.mark.parametrize(
    ("line", "why"),
    [("105", "no reply within"), ("106", "signature"), ("113", "too large")],
)
def test_a_slow_badly_signed_or_oversized_reply_means_an_apology_and_the_fallback(
    live_app: AppProcess,
    ari: Ari,
    spoken: SpokenPrompts,
    webservice: WebhookServer,
    line: str,
    why: str,
) -> None:
    said = asyncio.run(served(ari, line, "", wait=0.1))
    assert spoken.keys(said) == ["greeting", "bank_unavailable", "apology"]
    live_app.wait_for(lambda e: e["event"] == "webhook failed" and why in e["error"], 5)
