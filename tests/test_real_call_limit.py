"""``ari.max_calls``: with that many calls in progress, the next caller is
handed back to the dialplan at once and hears the Polish fallback on the way
to a consultant, while the call in progress goes on. Runs its own app, whose
config allows one call."""

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devtools.sandbox import Sandbox
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari, Event, Witness
from tests.support.standalone_config import demo_bank_on_100, standalone_config
from voice import fallback

pytestmark = pytest.mark.asterisk


@pytest.fixture
def one_call_app(app: AppProcess, sandbox: Sandbox, tmp_path: Path) -> Iterator[AppProcess]:
    base = yaml.safe_load(TEST_CONFIG.read_text())
    config = standalone_config(
        tmp_path,
        ari={**base["ari"], "max_calls": 1},
        tenants=demo_bank_on_100(tmp_path),
    )
    path = tmp_path / "infolinia.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    app.stop()  # the next test restarts the tests' own app
    env = {"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()}
    process = AppProcess(path, env, tmp_path / "app.log").start()
    yield process
    process.stop()


def ran(events: list[Event]) -> list[tuple[str, str]]:
    return [
        (e["dialplan_app"], e["dialplan_app_data"])
        for e in events
        if e["type"] == "ChannelDialplan"
    ]


def test_a_call_beyond_max_calls_hears_the_fallback_and_the_first_goes_on(
    one_call_app: AppProcess, ari: Ari
) -> None:
    async def two_calls() -> tuple[list[Event], list[Event]]:
        async with Witness(ari) as witness:
            first_name = await ari.call_with_keys("100", "2", wait=1, hold=30)
            first = await witness.channel_named(first_name)
            await witness.prompt_started(first, timeout=15)  # the app serves it
            second_name = await ari.call_with_keys("100", "2", wait=1, hold=30)
            second = await witness.channel_named(second_name)
            await witness.wait_for(
                lambda e: (
                    e["type"] == "ChannelDialplan"
                    and e["channel"]["id"] == second
                    and e["dialplan_app"] == "Playback"
                    and e["dialplan_app_data"] == fallback.SOUND_NAME
                ),
                timeout=15,
            )
            # The first call is still in the app.
            assert first in await ari.app_channel_ids("infolinia")
            assert not [e for e in one_call_app.entries() if e.get("event") == "call ended"]
            for name in (first_name, second_name):  # the callers hang up
                caller = await witness.channel_named(name.removesuffix(";2") + ";1")
                with contextlib.suppress(AssertionError):  # already gone
                    await ari.request("DELETE", f"channels/{caller}")
            await witness.hangup_of(second, timeout=10)
            return witness.on_channel(first), witness.on_channel(second)

    first, second = asyncio.run(two_calls())
    second_ran = ran(second)
    assert ("Stasis", "infolinia,100") in second_ran
    assert second_ran.index(("Stasis", "infolinia,100")) < second_ran.index(
        ("Playback", fallback.SOUND_NAME)
    )
    handed_back = [
        e["value"]
        for e in second
        if e["type"] == "ChannelVarset" and e["variable"] == "STASISSTATUS"
    ]
    assert handed_back[-1] == "SUCCESS"  # the app took it and gave it back: not "FAILED"
    assert ("Playback", fallback.SOUND_NAME) not in ran(first)
    full = [
        e
        for e in one_call_app.entries()
        if e.get("event") == "line full: call handed back to the dialplan"
    ]
    assert [e.get("max_calls") for e in full] == [1]
    assert one_call_app.count(lambda e: e.get("event") == "call started") == 1
