"""The demo balance on a real call, as ``./dev demo`` places it: how long the
amount lasts in the recording against the same words synthesized whole by
the engine that rendered its fragments, and the longest silence inside it.

    flock /tmp/infolinia-asterisk.lock .venv/bin/python bench/voice_demo_call.py [--json]

Starts the Asterisk sandbox if it is down (and stops it again), runs
``infolinia run`` with the shipped config (``--config`` for another),
resets the demo bank, and calls line 100 with the demo's keys
("2 12345678 1234# 1": the demo banks offer a choice of account, issue 21),
recording what the caller heard. The amount is cut
out of the recording at the moments Asterisk reported (the recording's
start, the amount's first word, the start of what follows it:
``tests/support/heard_speech.py``). Prints the call's transcript too.
Needs the lock: it registers the app name the tests use.
Targets (issue 22): ratio <= 1.25, longest silence <= 100 ms.
"""

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

# The repository's root, for tests.support (the tests measure the same way).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator, Transcript
from stasis_app.config import DEFAULT_CONFIG, AriSettings, load_settings
from stasis_app.deployment import Deployment, build_deployment
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari, Event, Witness
from tests.support.heard_speech import spoken_whole, value_heard
from voice.fragments import fragment_keys
from voice.polish import amount_words

BALANCE = Decimal("1234.56")  # the demo bank's first customer (adapters/demo.py)
KEYS = ["2", "12345678", "1234#", "1"]  # 1: the personal account (several accounts)
RESET = ["demo-bank", "reset"]


def measure(config: Path, wav: Path) -> dict[str, object]:
    settings = load_settings(config)
    deployment = build_deployment(settings, with_adapters=False)
    book = deployment.tenants["izbica"].prompts
    words = amount_words(BALANCE)
    sandbox = Sandbox.default(prompt_dir=settings.voice.cache_dir)
    was_running = sandbox.pid() is not None
    sandbox.up()
    try:
        with tempfile.TemporaryDirectory(prefix="infolinia-bench-") as scratch:
            app = AppProcess(config, {}, Path(scratch) / "app.log").start(wait_connected=600)
            try:
                subprocess.run(
                    [sys.executable, "-m", "stasis_app", "--config", str(config), *RESET],
                    check=True,
                    capture_output=True,
                )
                uris = book.media_uris()  # after the app rendered them: what it plays
                events, transcript = asyncio.run(_call(settings.ari, deployment, wav))
            finally:
                app.stop()
    finally:
        if not was_running:
            sandbox.down()
    media = [uris[key] for key in fragment_keys(words)]
    amount = value_heard(events, wav, media)
    first = Path(media[0].removeprefix("sound:"))
    engine = book.cache.engine_of(words[0], first, fragment=True)
    if engine is None:
        raise RuntimeError("the fragments were not rendered by this config's engines")
    whole = spoken_whole(engine, words)
    return {
        "engine": engine.identity,
        "pause_ms": settings.voice.fragment_pause_ms,
        "amount": " ".join(words),
        "fragments_ms": amount.duration_ms,
        "whole_ms": whole.duration_ms,
        "ratio": round(amount.duration_ms / whole.duration_ms, 2),
        "longest_silence_ms": amount.longest_pause_ms,
        "transcript": transcript.as_text(),
        "recording": str(wav),
    }


async def _call(
    ari: AriSettings, deployment: Deployment, wav: Path
) -> tuple[list[Event], Transcript]:
    simulator = CallSimulator(ari, deployment.heard_texts())
    async with Witness(Ari(ari.url, ari.user, ari.password or "")) as witness:
        transcript = await simulator.call("100", KEYS, wav=wav, hangup_after=2)
        return list(witness.events), transcript


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="infolinia.yaml")
    parser.add_argument(
        "--wav", type=Path, default=Path("var/bench-demo-call.wav"), help="keep the recording here"
    )
    parser.add_argument("--json", action="store_true", help="results as JSON")
    args = parser.parse_args()
    args.wav.parent.mkdir(parents=True, exist_ok=True)
    report = measure(args.config.resolve(), args.wav.resolve())
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    print(report["transcript"])
    print(f"\n{report['engine']}, pause {report['pause_ms']} ms: {report['amount']}")
    print(
        f"  through fragments {report['fragments_ms']} ms, whole {report['whole_ms']} ms,"
        f" ratio {report['ratio']}, longest silence inside {report['longest_silence_ms']} ms"
    )


if __name__ == "__main__":
    main()
