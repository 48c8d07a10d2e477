"""Prometheus figures: calls by outcome, active calls, the wait from a key to
the next prompt; served at /metrics without a token and without customer data."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from stasis_app.admin.api import AdminApi
from stasis_app.admin.prompts import PromptAdmin
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.metrics import AppMetrics
from stasis_app.store import Store
from stasis_app.telephony.ari_traffic import AriTraffic
from stasis_app.telephony.call import Call, DigitTimeouts
from stasis_app.telephony.gateway import RECEIVED_AT, ChannelHandle
from stasis_app.telephony.key_waits import AUDIT, BANK, KeyWaits, waiting_on
from tests.conftest import TEST_CONFIG

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]

CALLER = "48500100200"
CUSTOMER = "12345678"


class Prompts:
    def media(self, key: str) -> str:
        return f"sound:/prompts/{key}"


class Gateway:
    def __init__(self) -> None:
        self.played: list[str] = []

    async def play(self, channel_id: str, media: list[str], playback_id: str) -> None:
        self.played.append(playback_id)

    async def stop_playback(self, playback_id: str) -> None:
        pass


def make_call(
    waits: list[float], labels: list[tuple[str, float]] | None = None
) -> tuple[Call, Gateway, ChannelHandle]:
    handle = ChannelHandle(channel_id="c1", line="100", caller=CALLER)
    gateway = Gateway()

    def observe(seconds: float, waited: KeyWaits) -> None:
        waits.append(seconds)
        if labels is not None:
            labels.append((waited.label(), waited.app_share(seconds)))

    call = Call(handle, gateway, Prompts(), key_to_prompt=observe)  # type: ignore[arg-type]
    return call, gateway, handle


def key(digit: str, received_at: float | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "ChannelDtmfReceived", "digit": digit}
    if received_at is not None:
        event[RECEIVED_AT] = received_at
    return event


def finished(playback_id: str) -> dict[str, Any]:
    return {"type": "PlaybackFinished", "playback": {"id": playback_id}}


async def finish_playing(call: Call, gateway: Gateway, handle: ChannelHandle, prompt: str) -> None:
    task = asyncio.create_task(call.say([prompt]))
    await asyncio.sleep(0.01)
    handle.events.put_nowait(finished(gateway.played[-1]))
    await task


async def test_the_wait_runs_from_the_key_reaching_the_app_to_the_next_prompt() -> None:
    waits: list[float] = []
    call, gateway, handle = make_call(waits)
    for digit in CUSTOMER:
        handle.events.put_nowait(key(digit, received_at=time.monotonic() - 0.3))
    assert await call.read_digits(8, timeouts=DigitTimeouts(0.2, 0.1)) == CUSTOMER
    await finish_playing(call, gateway, handle, "ask_telekod")
    assert len(waits) == 1  # once per prompt, from the last key
    assert 0.3 <= waits[0] < 1.0
    await finish_playing(call, gateway, handle, "goodbye")  # no key since: no wait
    assert len(waits) == 1


async def test_keys_typed_over_a_whole_prompt_are_not_a_wait_for_the_app() -> None:
    waits: list[float] = []
    call, gateway, handle = make_call(waits)
    task = asyncio.create_task(call.say(["main_menu"]))
    await asyncio.sleep(0.01)
    handle.events.put_nowait(key("2"))
    handle.events.put_nowait(finished(gateway.played[-1]))
    await task
    await finish_playing(call, gateway, handle, "ask_customer_number")
    assert waits == []


async def test_a_key_that_stops_a_prompt_is_timed_to_the_next_prompt() -> None:
    waits: list[float] = []
    call, gateway, handle = make_call(waits)
    task = asyncio.create_task(call.say(["main_menu"], barge_in=True))
    await asyncio.sleep(0.01)
    handle.events.put_nowait(key("2"))
    assert await task is True
    await finish_playing(call, gateway, handle, "ask_customer_number")
    assert len(waits) == 1


async def test_the_wait_is_split_by_what_the_call_waited_on_after_the_key() -> None:
    waits: list[float] = []
    labels: list[tuple[str, float]] = []

    async def the_call() -> tuple[Call, Gateway, ChannelHandle]:
        call, gateway, handle = make_call(waits, labels)
        with waiting_on(BANK):  # before the key: not part of its wait
            await asyncio.sleep(0.05)
        handle.events.put_nowait(key("2"))
        assert await call.read_digits(1, timeouts=DigitTimeouts(0.2, 0.1)) == "2"
        with waiting_on(BANK):
            await asyncio.sleep(0.1)
        with waiting_on(AUDIT):
            await asyncio.sleep(0.01)
        await finish_playing(call, gateway, handle, "balance_is")
        handle.events.put_nowait(key("1"))
        assert await call.read_digits(1, timeouts=DigitTimeouts(0.2, 0.1)) == "1"
        await finish_playing(call, gateway, handle, "goodbye")
        return call, gateway, handle

    # A call's task of its own, as the gateway runs each call.
    await asyncio.create_task(the_call())
    assert [label for label, _ in labels] == ["audit+bank", "nothing"]
    (_, app_share), total = labels[0], waits[0]
    assert 0.1 <= total - app_share < 0.15  # the bank's part, the key's wait before it left out
    assert 0.01 <= app_share < 0.05
    assert labels[1][1] == waits[1]  # no bank: all the app's


def test_ari_requests_and_events_are_counted_for_metrics() -> None:
    metrics = AppMetrics()
    traffic = AriTraffic()
    metrics.watch_ari(traffic)
    traffic.request("POST", "channels.play")
    traffic.request("POST", "channels.play")
    traffic.sent("websocket")
    traffic.received(1200)
    traffic.event("PlaybackFinished")
    text = metrics.render().decode()
    assert 'infolinia_ari_requests_total{method="POST",operation="channels.play"} 2.0' in text
    assert 'infolinia_ari_requests_sent_total{transport="websocket"} 1.0' in text
    assert 'infolinia_ari_events_total{type="PlaybackFinished"} 1.0' in text
    assert 'infolinia_ari_event_bytes_total{type="PlaybackFinished"} 1200.0' in text


def test_calls_are_counted_by_tenant_and_outcome() -> None:
    metrics = AppMetrics()
    observe = metrics.call_started("izbica")
    metrics.call_started(None)
    waited = KeyWaits(since=0.0, spent={BANK: 0.0105})
    observe(0.012, waited)
    metrics.call_ended("izbica", "caller hung up")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
    }
    assert samples[("infolinia_calls_total", (("outcome", "caller_hung_up"), ("tenant", "izbica")))]
    assert samples[("infolinia_active_calls", (("tenant", "izbica"),))] == 0
    assert samples[("infolinia_active_calls", (("tenant", "none"),))] == 1
    count = ("infolinia_key_to_prompt_seconds_count", (("tenant", "izbica"),))
    assert samples[count] == 1
    bucket = ("infolinia_key_to_prompt_seconds_bucket", (("le", "0.015"), ("tenant", "izbica")))
    assert samples[bucket] == 1
    by_wait = (
        "infolinia_key_to_prompt_by_wait_seconds_count",
        (("tenant", "izbica"), ("waited_on", "bank")),
    )
    assert samples[by_wait] == 1
    app = ("infolinia_key_to_prompt_app_seconds_bucket", (("le", "0.0025"), ("tenant", "izbica")))
    assert samples[app] == 1  # 12 ms less the bank's 10.5 ms
    assert samples[("infolinia_calls_over_limit_total", ())] == 0
    metrics.over_limit.inc()  # what the gateway calls for a call it hands back
    assert "infolinia_calls_over_limit_total 1.0" in metrics.render().decode()


def test_no_label_can_carry_a_caller_or_customer_number() -> None:
    metrics = AppMetrics()
    metrics.call_started("izbica")(0.01, KeyWaits())
    metrics.call_ended("izbica", "completed")
    labels = {
        name
        for family in metrics.registry.collect()
        for sample in family.samples
        for name in sample.labels
    }
    # waited_on is made of fixed words (stasis_app/telephony/key_waits.py); the
    # ARI counters' labels are an operation's name and Asterisk's event types.
    assert labels <= {"tenant", "outcome", "le", "waited_on"}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    env = {"INFOLINIA_STATE": str(tmp_path / "s.sqlite"), "INFOLINIA_PROMPT_DIR": str(tmp_path)}
    settings = load_settings(TEST_CONFIG, env=env, resolve_secrets=False)
    admin = PromptAdmin(build_deployment(settings, with_adapters=False), Store(settings.state))
    metrics = AppMetrics()
    metrics.call_started("izbica")
    async with TestClient(TestServer(AdminApi(admin, metrics).app())) as test_client:
        yield test_client


async def test_metrics_need_no_token_and_everything_else_still_does(
    client: TestClient[web.Request, web.Application],
) -> None:
    answer = await client.get("/metrics")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    text = await answer.text()
    assert 'infolinia_active_calls{tenant="izbica"} 1.0' in text
    assert "process_cpu_seconds_total" in text
    assert CALLER not in text and CUSTOMER not in text
    assert (await client.get("/api/tenants")).status == 401
    assert (await client.get("/metrics/../api/tenants")).status == 401
    assert (await client.post("/metrics")).status in (401, 405)


async def test_without_metrics_there_is_no_open_route(tmp_path: Path) -> None:
    env = {"INFOLINIA_STATE": str(tmp_path / "s.sqlite"), "INFOLINIA_PROMPT_DIR": str(tmp_path)}
    settings = load_settings(TEST_CONFIG, env=env, resolve_secrets=False)
    admin = PromptAdmin(build_deployment(settings, with_adapters=False), Store(settings.state))
    async with TestClient(TestServer(AdminApi(admin).app())) as test_client:
        assert (await test_client.get("/metrics")).status == 401
