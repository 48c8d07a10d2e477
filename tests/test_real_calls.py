"""Real calls through the real Asterisk sandbox to a real ``infolinia run``.

A witness (a second Stasis app subscribed to every channel) records what
Asterisk did: which prompts started and finished playing on the caller's
channel, which keys arrived, who hung up.
"""

import asyncio
import json
import os
import struct
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from devtools.sandbox import Sandbox
from stasis_app.config import load_prompt_texts
from tests.conftest import TEST_CONFIG, SpokenPrompts, spoken_keys
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari, Witness, digits_received, heard
from tests.support.sipp import sipp_call

pytestmark = pytest.mark.asterisk

# Short test prompts at 280 wpm: greeting + ask_digits last well under 2.5 s.
KEYS_AFTER = 2.5


def outcome(app: AppProcess, channel_id: str) -> str:
    """How the app says the call on ``channel_id`` ended (waits for its log line)."""
    entry = app.wait_for(
        lambda e: e["event"] == "call ended" and e.get("call_id") == channel_id, timeout=10
    )
    return str(entry["outcome"])


async def local_call(ari: Ari, witness: Witness, line: str, keys: str) -> str:
    """A Local channel call; returns the id of the channel the app serves."""
    name = await ari.call_with_keys(line, keys, wait=KEYS_AFTER)
    return await witness.channel_named(name)


def test_local_calls_hear_greeting_and_keys_are_read_back(
    live_app: AppProcess, ari: Ari, spoken: SpokenPrompts
) -> None:
    """Three calls at once on three lines, each with its own keys (repeats included)."""
    calls = {"107": "4711#", "108": "90210#", "109": "3#"}

    async def scenario() -> list[str]:
        async with Witness(ari) as witness:
            ids = await asyncio.gather(
                *(local_call(ari, witness, line, keys) for line, keys in calls.items())
            )
            for channel_id in ids:
                await witness.hangup_of(channel_id, timeout=30)
            for channel_id, keys in zip(ids, calls.values(), strict=True):
                events = witness.on_channel(channel_id)
                started = [e for e in events if e["type"] == "PlaybackStarted"]
                finished = [e for e in events if e["type"] == "PlaybackFinished"]
                assert started[0]["playback"]["media_uri"] == spoken.uri["greeting"]
                assert finished[0]["playback"]["media_uri"] == spoken.uri["greeting"]
                assert finished[0]["playback"]["state"] == "done"
                assert digits_received(events) == keys
                assert spoken.keys(heard(events)) == [
                    "greeting",
                    "ask_digits",
                    "you_entered",
                    *spoken_keys(keys.rstrip("#")),
                    "goodbye",
                ]
            return ids

    ids = asyncio.run(scenario())
    # The app hung up after "goodbye", not the caller (who holds for 20 s).
    for channel_id in ids:
        assert outcome(live_app, channel_id) == "completed"


def test_sipp_call_with_rfc4733_keys(
    live_app: AppProcess, ari: Ari, spoken: SpokenPrompts, tmp_path: Path
) -> None:
    """A real SIP caller (SIPp) presses "11*0#" as RFC 4733 events; the repeated
    1 and the * arrive, the app reads them back and hangs up with a BYE."""

    async def scenario() -> None:
        async with Witness(ari) as witness:
            result = await sipp_call(
                "109", "11*0#", wait_ms=int(KEYS_AFTER * 1000), workdir=tmp_path
            )
            assert result.returncode == 0, result.output
            created = await witness.wait_for(
                lambda e: (
                    e["type"] == "ChannelCreated"
                    and e["channel"]["name"].startswith("PJSIP/testcaller")
                ),
                timeout=1,
            )
            events = witness.on_channel(created["channel"]["id"])
            assert created["channel"]["caller"]["number"] == "48500100200"
            assert digits_received(events) == "11*0#"
            assert spoken.keys(heard(events)) == [
                "greeting",
                "ask_digits",
                "you_entered",
                *spoken_keys("11*0"),
                "goodbye",
            ]

    asyncio.run(scenario())


def test_softphone_registers_and_calls_with_its_password(
    live_app: AppProcess, ari: Ari, sandbox: Sandbox, spoken: SpokenPrompts, tmp_path: Path
) -> None:
    """What README tells a person to do: register as "softphone" and dial a line."""
    password = sandbox.softphone_password_file.read_text().strip()

    async def scenario() -> None:
        async with Witness(ari) as witness:
            result = await sipp_call(
                "109",
                "5#",
                wait_ms=int(KEYS_AFTER * 1000),
                workdir=tmp_path,
                scenario_name="softphone.xml",
                extra_args=("-au", "softphone", "-ap", password),
            )
            assert result.returncode == 0, result.output
            created = await witness.wait_for(
                lambda e: (
                    e["type"] == "ChannelCreated"
                    and e["channel"]["name"].startswith("PJSIP/softphone-")
                ),
                timeout=1,
            )
            events = witness.on_channel(created["channel"]["id"])
            assert spoken.keys(heard(events))[-3:] == ["you_entered", *spoken_keys("5"), "goodbye"]

    asyncio.run(scenario())


def test_hangup_during_prompt_ends_the_call_task(live_app: AppProcess, ari: Ari) -> None:
    """The caller hangs up while the greeting plays: the call's task ends cleanly."""

    async def scenario() -> str:
        async with Witness(ari) as witness:
            name = await ari.call_with_keys("109", "1", wait=0.3, hold=0)
            channel_id = await witness.channel_named(name)
            await witness.hangup_of(channel_id, timeout=15)
        assert await ari.app_channel_ids("infolinia") == []
        return channel_id

    channel_id = asyncio.run(scenario())
    assert outcome(live_app, channel_id) == "caller hung up"


def test_call_simulator_prints_what_the_caller_heard(
    live_app: AppProcess, sandbox: Sandbox, tmp_path: Path
) -> None:
    """``infolinia call`` presses keys when the line falls quiet and records the call."""
    wav = tmp_path / "heard.wav"
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("infolinia")),
            "--config",
            str(TEST_CONFIG),
            "call",
            "108",
            "--keys",
            "90#",
            "--wav",
            str(wav),
            "--json",
            "--gap",
            "0.4",
        ],
        env={
            **os.environ,
            "INFOLINIA_ARI_PASSWORD": sandbox.ari_password(),
            # The test config's online stand-in (tests/conftest.py's TEST_PLUGINS):
            # a console script does not have the repository on its path.
            "PYTHONPATH": str(TEST_CONFIG.parents[3]),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    transcript = json.loads(result.stdout)
    texts = load_prompt_texts(TEST_CONFIG.parent / "prompts-short.yaml")
    steps = [(step["kind"], step["text"]) for step in transcript["steps"]]
    assert steps == [
        ("prompt", texts["greeting"]),
        ("prompt", texts["ask_digits"]),
        ("keys", "90#"),
        ("prompt", texts["you_entered"]),
        ("prompt", "dziewięć"),
        ("prompt", "zero"),
        ("prompt", texts["goodbye"]),
        ("hangup", "the line hung up"),
    ]
    with wave.open(str(wav)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
        frames = audio.readframes(audio.getnframes())
    assert seconds == pytest.approx(transcript["seconds"], abs=1.0)
    assert max(abs(v) for (v,) in struct.iter_unpack("<h", frames)) > 3000  # speech, not silence
