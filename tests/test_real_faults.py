"""Faults on a real line: Asterisk restarts, the ARI link is cut or freezes,
the app dies mid-call. After each, the next call is served and no channel is
left sitting in the Stasis app in silence."""

import asyncio

import pytest

from devtools.sandbox import Sandbox
from tests.conftest import SpokenPrompts, spoken_keys
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari, Witness, digits_received, heard
from tests.support.proxy import AriProxy
from tests.test_real_calls import local_call, outcome

pytestmark = pytest.mark.asterisk


def connections(app: AppProcess) -> int:
    return app.count(lambda e: e["event"] == "ARI connected")


def link_dropped(app: AppProcess) -> None:
    """Wait until the app noticed its link is gone: the websocket closed (or
    its ping/pong failed), or the REST heartbeat failed, whichever came first."""
    app.wait_for(lambda e: e["event"] in ("ARI websocket closed", "ARI heartbeat failed"), 10)


def reconnected(app: AppProcess, number: int) -> None:
    """Wait until the app reports its ``number``-th ARI connection (and no more)."""
    app.wait_for(lambda e: e["event"] == "ARI connected" and e["connection"] == number, 20)
    assert connections(app) == number


async def served_call(ari: Ari, spoken: SpokenPrompts, keys: str = "12#") -> str:
    """Place a call and check it was served start to end; returns its channel id."""
    async with Witness(ari) as witness:
        channel_id = await local_call(ari, witness, "108", keys)
        await witness.hangup_of(channel_id, timeout=30)
        events = witness.on_channel(channel_id)
        assert digits_received(events) == keys
        assert spoken.keys(heard(events))[-1] == "goodbye"
    return channel_id


async def nothing_left_in_stasis(ari: Ari) -> None:
    assert await ari.app_channel_ids("infolinia") == []
    assert [c["name"] for c in await ari.channels()] == []


def test_asterisk_restart_under_running_app(
    live_app: AppProcess, ari: Ari, sandbox: Sandbox, spoken: SpokenPrompts
) -> None:
    before = connections(live_app)
    sandbox.restart()
    link_dropped(live_app)
    reconnected(live_app, before + 1)

    channel_id = asyncio.run(served_call(ari, spoken))
    assert outcome(live_app, channel_id) == "completed"
    asyncio.run(nothing_left_in_stasis(ari))


def test_websocket_cut_mid_call_the_call_goes_on(
    live_app: AppProcess, ari: Ari, proxy: AriProxy, spoken: SpokenPrompts
) -> None:
    """The app's link is cut while a caller hears the greeting; the app
    reconnects and the same call carries on to its end."""
    before = connections(live_app)

    async def scenario() -> str:
        async with Witness(ari) as witness:
            # Keys come after the reconnect (its backoff may be a few seconds after
            # the previous test's); keys pressed during one are lost and asked again.
            name = await ari.call_with_keys("107", "42#", wait=6)
            channel_id = await witness.channel_named(name)
            await witness.prompt_started(channel_id, timeout=10)
            assert proxy.cut() >= 1
            await witness.hangup_of(channel_id, timeout=30)
            events = witness.on_channel(channel_id)
            assert digits_received(events) == "42#"
            assert spoken.keys(heard(events))[-4:] == [
                "you_entered",
                *spoken_keys("42"),
                "goodbye",
            ]
        await nothing_left_in_stasis(ari)
        return channel_id

    channel_id = asyncio.run(scenario())
    reconnected(live_app, before + 1)
    assert outcome(live_app, channel_id) == "completed"


def test_frozen_link_is_noticed_by_the_heartbeat(
    live_app: AppProcess, ari: Ari, proxy: AriProxy, spoken: SpokenPrompts
) -> None:
    """The TCP links stay open but carry nothing (half-dead connections):
    a heartbeat notices, the app reconnects and serves the next call."""
    before = connections(live_app)
    assert proxy.freeze() >= 1
    link_dropped(live_app)
    reconnected(live_app, before + 1)
    assert proxy.drop_frozen() >= 1
    asyncio.run(served_call(ari, spoken))
    assert connections(live_app) == before + 1


def test_call_left_in_stasis_by_a_dead_app_is_resumed(
    live_app: AppProcess, ari: Ari, spoken: SpokenPrompts
) -> None:
    """The app is killed (no goodbye, no hangup) while a caller is in the
    greeting. Asterisk keeps the channel in the Stasis app; the restarted app
    finds it, apologises for the break and serves the caller to the end."""

    async def scenario() -> None:
        async with Witness(ari) as witness:
            name = await ari.call_with_keys("109", "7#", wait=8)
            channel_id = await witness.channel_named(name)
            await witness.prompt_started(channel_id, timeout=10)
            live_app.kill()
            assert await ari.app_channel_ids("infolinia") == [channel_id]
            live_app.start()
            await witness.hangup_of(channel_id, timeout=30)
            events = witness.on_channel(channel_id)
            said = spoken.keys(heard(events))
            assert said[1:3] == ["resumed", "greeting"]
            assert said[-3:] == ["you_entered", *spoken_keys("7"), "goodbye"]
        await nothing_left_in_stasis(ari)

    asyncio.run(scenario())
    live_app.wait_for(lambda e: e["event"] == "call started" and e["resumed"] is True, timeout=5)
