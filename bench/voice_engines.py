"""Cold synthesis of one ~100-character Polish sentence with espeak-ng
against a cache hit for the same sentence, in one run.

    .venv/bin/python bench/voice_engines.py [--repeat N] [--json]

Cold: a fresh cache folder each time, so ``PromptCache.render`` runs
espeak-ng and the conversion for Asterisk (what one prompt costs at a cold
start); espeak-ng alone is timed too. Hit: ``render`` of a sentence already
in the cache (what every prompt costs at a warm start). espeak-ng's settings
are those of the default config's chain. gTTS is not measured: it needs
translate.google.com, which these machines cannot reach.
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

from plugin.manager import get_plugin_manager
from stasis_app.config import load_settings
from voice.cache import PromptCache
from voice.chain import EngineChain
from voice.registry import EngineRegistry

SENTENCE = (
    "Aby poznać saldo i ostatnie operacje, naciśnij dwa. "
    "Aby połączyć się z konsultantem, naciśnij zero."
)


async def measure(repeat: int) -> dict[str, object]:
    settings = load_settings(resolve_secrets=False)
    registry = EngineRegistry(get_plugin_manager())
    chain = EngineChain([registry.create(c.name, c.settings) for c in settings.voice.chain()])
    espeak = chain.first_offline()
    engine_only, cold, hit = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        for n in range(repeat):
            out = Path(scratch) / f"raw{n}.wav"
            started = time.perf_counter()
            await espeak.synthesize(SENTENCE, out)
            engine_only.append(time.perf_counter() - started)
        for n in range(repeat):
            cache = PromptCache(Path(scratch) / f"cold{n}", espeak)
            started = time.perf_counter()
            await cache.render(SENTENCE)
            cold.append(time.perf_counter() - started)
        cache = PromptCache(Path(scratch) / "cold0", espeak)
        for _ in range(repeat * 100):
            started = time.perf_counter()
            await cache.render(SENTENCE)
            hit.append(time.perf_counter() - started)
    cold_s, hit_s = statistics.median(cold), statistics.median(hit)
    return {
        "sentence_chars": len(SENTENCE),
        "engine": espeak.identity,
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "repeat": repeat,
        "espeak_only_ms": round(statistics.median(engine_only) * 1000, 1),
        "cold_render_ms": round(cold_s * 1000, 1),
        "cache_hit_us": round(hit_s * 1e6, 1),
        "cold_to_hit_ratio": round(cold_s / hit_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10, help="cold renders (hits: 100x)")
    parser.add_argument("--json", action="store_true", help="results as JSON")
    args = parser.parse_args()
    report = asyncio.run(measure(args.repeat))
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['sentence_chars']} characters, {report['engine']}, {report['cpus']} CPUs")
    print(f"  espeak-ng alone:           {report['espeak_only_ms']:8} ms")
    print(f"  cold render (+conversion): {report['cold_render_ms']:8} ms")
    print(f"  cache hit:                 {report['cache_hit_us']:8} µs")
    print(f"  cold / hit:                {report['cold_to_hit_ratio']:8}x")


if __name__ == "__main__":
    main()
