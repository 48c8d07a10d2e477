"""bench/ari_floor_app.py does what the baseline's dialplan does (Read():
a key stops the prompt, # or the last digit ends it; Playback ignores keys)
and says where each call was when the caller hung up."""

import asyncio
import json
from typing import Any

import pytest

from bench.ari_floor_app import FloorApp, Step

pytestmark = pytest.mark.unit

CHANNEL = "c1"


class FakeClient:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []

    async def rest(self, method: str, path: str, params: Any = None, body: Any = None) -> None:
        self.requests.append((method, path, params))


def event(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "channel": {"id": CHANNEL}, **fields}


def finished(playback: str) -> dict[str, Any]:
    return {
        "type": "PlaybackFinished",
        "playback": {"id": playback, "target_uri": f"channel:{CHANNEL}"},
    }


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_path_played_as_the_dialplan_reads_it(capsys: pytest.CaptureFixture[str]) -> None:
    client = FakeClient()
    program = (Step("greeting"), Step("main_menu", 1), Step("ask_telekod", 6), Step("menu", 1))
    media = {name: [f"/p/{name}"] for name in ("greeting", "main_menu", "ask_telekod", "menu")}
    app = FloorApp(client, program, media)  # type: ignore[arg-type]
    app.on_event(event("StasisStart"))
    await settle()
    assert client.requests[:2] == [
        ("POST", f"channels/{CHANNEL}/answer", None),
        (
            "POST",
            f"channels/{CHANNEL}/play",
            {"media": ["sound:/p/greeting"], "playbackId": "floor-1"},
        ),
    ]
    app.on_event(event("ChannelDtmfReceived", digit="5"))  # Playback: keys ignored
    app.on_event(finished("floor-1"))
    await settle()
    app.on_event(event("ChannelDtmfReceived", digit="2"))  # stops main_menu, its one digit
    await settle()
    assert ("DELETE", "playbacks/floor-2", None) in client.requests
    app.on_event(finished("floor-3"))
    app.on_event(event("ChannelDtmfReceived", digit="1"))
    app.on_event(event("ChannelDtmfReceived", digit="#"))  # ends the telekod's read
    await settle()
    plays = [p["media"] for m, path, p in client.requests if path.endswith("/play")]
    assert plays == [
        ["sound:/p/greeting"],
        ["sound:/p/main_menu"],
        ["sound:/p/ask_telekod"],
        ["sound:/p/menu"],
    ]
    app.on_event(event("StasisEnd"))
    await settle()
    ended = json.loads(capsys.readouterr().out)
    assert ended == {"event": "call ended", "outcome": "caller hung up", "state": "menu"}
    assert not app.calls and not app.tasks
