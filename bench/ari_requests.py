"""CPU of one ARI request from the app's side: through aioari (the swagger
model builds each request and wraps each answer), through the app's own
client over HTTP, and over the events websocket (REST over WebSocket).

    flock /tmp/infolinia-asterisk.lock .venv/bin/python bench/ari_requests.py \
        [--requests 2000] [--rounds 3] [--json]

Each way sends the same request, ``GET /playbacks/{id}`` of a playback that
does not exist (Asterisk answers 404 at once, so Asterisk's work is small
and alike), one after another, and reports this process's CPU time per
request (``time.process_time``) and the wall time, as the median of
``--rounds`` rounds, and as ratios to aioari's in the same run. Needs the
sandbox (started if down).
"""

import argparse
import asyncio
import contextlib
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web_exceptions

from devtools.sandbox import ARI_URL, ARI_USER, Sandbox
from stasis_app.telephony.ari_http import AriClient, AriHttpClient

Send = Callable[[], Awaitable[Any]]


async def timed(send: Send, requests: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per request."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        with contextlib.suppress(web_exceptions.HTTPNotFound):
            await send()
    return (
        (time.process_time() - cpu) * 1e6 / requests,
        (time.perf_counter() - wall) * 1e6 / requests,
    )


async def measure(password: str, requests: int, rounds: int) -> dict[str, dict[str, float]]:
    http = AriHttpClient(ARI_URL, ARI_USER, password, heartbeat=30)
    client = AriClient(ARI_URL, http)
    await client.init()
    reader = asyncio.create_task(client.run(apps="infolinia-bench-requests"))
    try:
        while not client.websockets:  # noqa: ASYNC110 (aioari has no "connected" hook)
            await asyncio.sleep(0.01)

        async def over_websocket() -> Any:
            http.over_websocket = True
            try:
                return await client.rest("GET", "playbacks/none")
            finally:
                http.over_websocket = False

        ways: dict[str, Send] = {
            "aioari": lambda: client.playbacks.get(playbackId="none"),
            "http": lambda: client.rest("GET", "playbacks/none"),
            "websocket": over_websocket,
        }
        if not await client.use_websocket_requests(5):
            del ways["websocket"]  # an Asterisk before 22.3
        http.over_websocket = False
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
        for _ in range(rounds):  # interleaved, so drift hits every way alike
            for name, send in ways.items():
                samples[name].append(await timed(send, requests))
    finally:
        reader.cancel()
        await client.close()
    base = statistics.median(cpu for cpu, _ in samples["aioari"])
    return {
        name: {
            "cpu_us": round(statistics.median(cpu for cpu, _ in got), 1),
            "wall_us": round(statistics.median(wall for _, wall in got), 1),
            "cpu_ratio_to_aioari": round(statistics.median(cpu for cpu, _ in got) / base, 2),
        }
        for name, got in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per round and way")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    box = Sandbox.default(prompt_dir=Path("/var/lib/infolinia/prompts"))
    box.up()
    results = asyncio.run(measure(box.ari_password(), args.requests, args.rounds))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print("| way | CPU µs per request | wall µs | CPU ratio to aioari |")
    print("|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['cpu_us']} | {r['wall_us']} | {r['cpu_ratio_to_aioari']} |")


if __name__ == "__main__":
    main()
