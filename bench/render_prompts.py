"""Cold render of every prompt of the default config (texts + word fragments)
into a scratch cache, with 1 worker (the baseline) and with 2, in one run.
The engine is the first offline engine of the config's chain (espeak-ng):
gTTS needs the internet and is not measured here.

    .venv/bin/python bench/render_prompts.py [--json]
"""

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from plugin.manager import get_plugin_manager
from stasis_app.config import load_settings
from stasis_app.deployment import tenant_texts
from voice.cache import PromptCache
from voice.chain import EngineChain
from voice.engine import TtsEngine
from voice.prompts import PromptBook
from voice.registry import EngineRegistry


def offline_engine(
    engines: EngineRegistry, choices: list[tuple[str, dict[str, object]]]
) -> TtsEngine:
    """The first engine of the chain that needs no network."""
    return EngineChain(
        [engines.create(name, settings) for name, settings in choices]
    ).first_offline()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="results as JSON")
    args = parser.parse_args()
    settings = load_settings(resolve_secrets=False)
    texts = tenant_texts(settings, None)
    results = []
    registry = EngineRegistry(get_plugin_manager())
    engine = offline_engine(registry, [(c.name, c.settings) for c in settings.voice.chain()])
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as scratch:
            book = PromptBook(texts, PromptCache(Path(scratch), engine))
            started = time.monotonic()
            asyncio.run(book.render_all(workers))
            results.append({"workers": workers, "seconds": round(time.monotonic() - started, 2)})
    baseline = results[0]["seconds"]
    for result in results:
        result["ratio_to_1_worker"] = round(result["seconds"] / baseline, 2)
    report = {
        "prompts": len(texts),
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "engine": engine.identity,
        "results": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['prompts']} prompts, {report['engine']}, {report['cpus']} CPUs")
    for r in results:
        print(f"  {r['workers']} worker(s): {r['seconds']:6.2f} s  ({r['ratio_to_1_worker']:.2f}x)")


if __name__ == "__main__":
    main()
