"""The least a Python ARI app does for a load-benchmark path: the floor
``bench/load.py --targets ari-floor`` measures (issue 24).

It plays the same prompt files in the same order as the baseline's dialplan
(docker/asterisk/etc/extensions.conf, [infolinia-bench-baseline]: Answer,
Playback, Read with a 6-s timeout, a key stopping the prompt), over the
app's own ARI transport (stasis_app/telephony/ari_http.py: the events
websocket, requests sent over it, the gateway's EVENT_FILTER), with a dict of
calls by channel id. No flow, no bank, no audit, no store, no log line but
one when a call ends: what is left is what any Python app that drives a
call through ARI pays, on this machine, in this run.

    ari_floor_app.py --path balance --segments segments.json   (password in $ARI_PASSWORD)

The Stasis app's name is ``infolinia``: the bench runs it instead of the app,
on the app's line.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools.sandbox import ARI_URL, ARI_USER
from stasis_app.telephony.ari_http import AriClient, AriHttpClient
from stasis_app.telephony.gateway import EVENT_FILTER, wait_for_websocket

APP = "infolinia"
READ_TIMEOUT_S = 6.0  # Read()'s timeout in the baseline's dialplan


@dataclass(frozen=True)
class Step:
    segment: str  # bench/load_paths.py's SEGMENTS
    max_digits: int = 0  # 0: Playback (keys ignored); else Read() of up to this many, # ends


# [infolinia-bench-baseline], extension by extension.
PROGRAMS: dict[str, tuple[Step, ...]] = {
    "balance": (
        Step("greeting"),
        Step("main_menu", 1),
        Step("ask_customer_number", 8),
        Step("ask_telekod", 6),
        Step("balance"),
        Step("balance_menu", 1),
        Step("goodbye"),
    ),
    "card_block": (
        Step("greeting"),
        Step("main_menu", 1),
        Step("ask_customer_number", 8),
        Step("ask_telekod_or_star", 6),
        Step("block_menu", 1),
        Step("choose_card", 1),
        Step("confirm_card", 1),
        Step("card_blocked"),
        Step("after_block_menu", 1),
        Step("goodbye"),
    ),
}


class HungUp(Exception):
    pass


class FloorApp:
    def __init__(self, client: AriClient, program: tuple[Step, ...], media: dict[str, list[str]]):
        self.client, self.program = client, program
        self.media = {name: [f"sound:{f}" for f in files] for name, files in media.items()}
        self.calls: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.playback_ids = (f"floor-{n}" for n in itertools.count(1))

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "StasisStart":
            channel_id = event["channel"]["id"]
            queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            self.calls[channel_id] = queue
            task = asyncio.create_task(self.run_call(channel_id, queue))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return
        if kind == "PlaybackFinished":
            target = event["playback"]["target_uri"].removeprefix("channel:")
        elif "channel" in event:
            target = event["channel"]["id"]
        else:
            return
        waiting = self.calls.get(target)
        if waiting is not None:
            waiting.put_nowait(event)

    async def next_event(self, queue: asyncio.Queue[dict[str, Any]], timeout: float | None) -> Any:
        try:
            event = await asyncio.wait_for(queue.get(), timeout)
        except TimeoutError:
            return None
        if event["type"] in ("StasisEnd", "ChannelHangupRequest", "ChannelDestroyed"):
            raise HungUp
        return event

    async def play(self, channel_id: str, segment: str) -> str:
        playback = next(self.playback_ids)
        await self.client.rest(
            "POST",
            f"channels/{channel_id}/play",
            {"media": self.media[segment], "playbackId": playback},
        )
        return playback

    async def step(self, channel_id: str, queue: asyncio.Queue[dict[str, Any]], step: Step) -> None:
        playback = await self.play(channel_id, step.segment)
        playing, digits = True, ""
        deadline = None
        while True:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            event = await self.next_event(queue, timeout)
            if event is None:  # Read() timed out
                return
            if event["type"] == "PlaybackFinished" and event["playback"]["id"] == playback:
                if not step.max_digits:
                    return
                playing, deadline = False, time.monotonic() + READ_TIMEOUT_S
            elif event["type"] == "ChannelDtmfReceived" and step.max_digits:
                if playing:  # a key stops the prompt, as in Read()
                    playing = False
                    with contextlib.suppress(Exception):  # it may have just ended
                        await self.client.rest("DELETE", f"playbacks/{playback}")
                digit = event["digit"]
                if digit == "#":
                    return
                digits += digit
                if len(digits) >= step.max_digits:
                    return
                deadline = time.monotonic() + READ_TIMEOUT_S

    async def run_call(self, channel_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        state, outcome = "start", "done"
        try:
            await self.client.rest("POST", f"channels/{channel_id}/answer")
            for step in self.program:
                state = step.segment
                await self.step(channel_id, queue, step)
            await self.client.rest("DELETE", f"channels/{channel_id}")
        except HungUp:
            outcome = "caller hung up"
        except Exception as exc:  # a request refused because the caller left meanwhile
            outcome = f"failed: {type(exc).__name__}"
        finally:
            self.calls.pop(channel_id, None)
            line = {"event": "call ended", "outcome": outcome, "state": state}
            print(json.dumps(line), flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", choices=sorted(PROGRAMS), required=True)
    parser.add_argument("--segments", type=Path, required=True, help="segment -> prompt files")
    args = parser.parse_args()
    password = os.environ["ARI_PASSWORD"]
    http = AriHttpClient(ARI_URL, ARI_USER, password, heartbeat=5.0)
    client = AriClient(ARI_URL, http)
    await client.init()
    app = FloorApp(client, PROGRAMS[args.path], json.loads(args.segments.read_text()))
    client.on_event("*", app.on_event)
    reader = asyncio.create_task(client.run(apps=APP))
    await wait_for_websocket(client, reader, 10.0)
    await client.use_websocket_requests(3.0)
    await client.rest("PUT", f"applications/{APP}/eventFilter", body=EVENT_FILTER)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    reader.cancel()
    await http.close()


if __name__ == "__main__":
    asyncio.run(main())
