"""Time from a prompt text change to the new audio being live, through the
admin HTTP API, against the same change when its audio is already cached.

    .venv/bin/python bench/prompt_edit.py [--repeat N] [--json]

Each round PUTs a new greeting for one tenant of the default config (a text
never spoken before: espeak-ng, conversion, store, swap) and then PUTs the
previous text back (already cached: store and swap only, the baseline). The
API answers once the next playback would play the new audio. Cache and
state go to a scratch folder; the default config's engine chain is used
(gTTS is unreachable here: its one failed attempt happens before timing).
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from stasis_app.admin.api import AdminApi
from stasis_app.admin.prompts import PromptAdmin
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.store import Store


async def measure(repeat: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "INFOLINIA_PROMPT_DIR": f"{scratch}/prompts"}
        settings = load_settings(env=env, resolve_secrets=False)
        deployment = build_deployment(settings, with_adapters=False)
        admin = PromptAdmin(deployment, Store(Path(scratch) / "state.sqlite"))
        tenant = sorted(deployment.tenants)[0]
        book = deployment.tenants[tenant].prompts
        original = book.texts["greeting"]
        await book.set_text("greeting", original)  # engines tried once before timing
        token = admin.store.create_token("bench", "*")
        runner = web.AppRunner(AdminApi(admin).app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/api/tenants/{tenant}/prompts/greeting"
        headers = {"Authorization": f"Bearer {token}"}
        new_text, cached_text = [], []
        async with aiohttp.ClientSession() as http:
            for n in range(repeat):
                for text, times in (
                    (f"{original} Wersja {n + 1}.", new_text),
                    (original, cached_text),
                ):
                    started = time.perf_counter()
                    async with http.put(url, json={"text": text}, headers=headers) as answer:
                        assert answer.status == 200, await answer.text()
                    times.append(time.perf_counter() - started)
                    assert book.texts["greeting"] == text
        await runner.cleanup()
    cached, new = statistics.median(cached_text), statistics.median(new_text)
    return {
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "rounds": repeat,
        "cached_text_ms": round(cached * 1000, 2),
        "new_text_ms": round(new * 1000, 1),
        "ratio": round(new / cached, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(measure(args.repeat))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['machine']}, medians of {result['rounds']} edits each")
    print(f"  change to a cached text (baseline): {result['cached_text_ms']} ms")
    print(f"  change to a new text (render):      {result['new_text_ms']} ms")
    print(f"  ratio:                              {result['ratio']}x")


if __name__ == "__main__":
    main()
