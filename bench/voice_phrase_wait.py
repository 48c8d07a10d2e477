"""How long a caller waits for a number spoken whole (``voice.whole_phrase``):
from the moment the flow says the prompt that carries it (right after the
caller's key) to the first sound, and any silence inside that prompt.

    .venv/bin/python bench/voice_phrase_wait.py [--runs 30] [--cache DIR] [--json]

The real :class:`~stasis_app.telephony.call.Call` speaks the prompts of the
shipped Ukrainian and English catalogues with espeak-ng (165 words a minute,
prompts and fragments rendered into a scratch cache first), the number
through the real :class:`~voice.live.LiveSpeech`: the engine, then the
conversion for Asterisk, into the call's folder. Only Asterisk is stood in
for: each play request "plays" for the length of its files, at most
:data:`PLAY_CAP` seconds (shorter than every prompt that comes before a
number here, so a gap measured is at most the real one; the bench is
quicker), then its PlaybackFinished comes back. Per case, over ``--runs``
calls:

- **wait**: ``say()`` to its first play request: what the caller waits after
  the key because of the number (the flow's own work is the same either way);
- **gap**: a playback's end to the next play request inside the same prompt
  (a prompt before the number played while it rendered; 0 when one playback).

The cases are the ones a caller meets: the reference after "card blocked"
(known once the bank answers), the chosen card's ending before the
confirmation (the card list has it rendered ahead, ``Call.prepare``, when the
code has that), an English balance. Run it from another checkout's root (its
``Call``) to compare code before and after; the script only uses ``say``.
"""

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from stasis_app.flow.speech import value_keys
from stasis_app.telephony.call import Call
from stasis_app.telephony.gateway import ChannelHandle
from voice.cache import PromptCache
from voice.espeak import EspeakEngine
from voice.fragments import fragment_texts
from voice.languages import numbers
from voice.live import DEFAULT_WHOLE_PHRASE, LiveSpeech
from voice.prompts import PromptBook

BYTES_PER_SECOND = {".sln16": 32000, ".sln44": 88200, ".sln": 16000}
PLAY_CAP = 1.0  # seconds; "card blocked, your reference is" alone is longer


class Asterisk:
    """Plays each request for the length of its files, then says it finished."""

    def __init__(self, handle: ChannelHandle) -> None:
        self.handle = handle
        self.requests: list[tuple[float, list[str]]] = []  # (when, media)
        self.ends: list[float] = []

    async def play(self, channel_id: str, media: Sequence[str], playback_id: str) -> None:
        self.requests.append((time.perf_counter(), list(media)))
        asyncio.get_running_loop().call_later(
            min(PLAY_CAP, sum(map(_seconds, media))), self._finished, playback_id
        )

    def _finished(self, playback_id: str) -> None:
        self.ends.append(time.perf_counter())
        self.handle.events.put_nowait(
            {"type": "PlaybackFinished", "playback": {"id": playback_id, "state": "done"}}
        )

    async def stop_playback(self, playback_id: str) -> None:
        return None

    async def playback_exists(self, playback_id: str) -> bool:
        return True


def _seconds(uri: str) -> float:
    base = Path(uri.removeprefix("sound:"))
    for suffix, rate in BYTES_PER_SECOND.items():
        if base.with_suffix(suffix).exists():
            return base.with_suffix(suffix).stat().st_size / rate
    raise FileNotFoundError(uri)


async def book_of(language: str, scratch: Path) -> PromptBook:
    texts = yaml.safe_load(Path(f"config/prompts/{language}.yaml").read_text(encoding="utf-8"))
    keys = ("card_blocked", "card_debit", "card_ending", "confirm_card_block", "balance_is")
    wanted = {key: texts[key] for key in keys}
    wanted.update(fragment_texts(numbers(language).FRAGMENT_WORDS))
    book = PromptBook(wanted, PromptCache(scratch / "cache", EspeakEngine(language, 165)))
    await book.render_all()
    return book


async def one_call(
    language: str, book: PromptBook, live: LiveSpeech, case: str, run: int
) -> tuple[float, float]:
    handle = ChannelHandle(channel_id=f"bench{run}", line="130", caller="600")
    asterisk = Asterisk(handle)
    pl = book  # the call starts in its language's book (no greeting here)
    call = Call(handle, asterisk, pl, live, None, {language: book})  # type: ignore[arg-type]
    call.use_language(language)
    whole = call.whole_phrase
    if case == "reference":
        reference = f"{(run * 7919 + 12345678) % 100000000:08d}"
        keys = ["card_blocked", *value_keys("digits", reference, language, whole)]
    elif case == "card ending":
        card = f"{(run * 37 + 1111) % 10000:04d}"
        ending = value_keys("digits", card, language, whole)
        if hasattr(call, "prepare"):
            # The card list was read (or skipped) before the caller's key.
            call.prepare(ending)
            await asyncio.sleep(1.0)
        keys = ["card_debit", "card_ending", *ending, "confirm_card_block"]
    else:
        amount = Decimal(run * 1713 % 1000000) / 100
        keys = ["balance_is", *value_keys("amount", amount, language, whole)]
    start = time.perf_counter()
    await call.say(keys)
    wait = asterisk.requests[0][0] - start
    gaps = [
        request - end
        for (request, _), end in zip(asterisk.requests[1:], asterisk.ends, strict=False)
    ]
    live.forget(handle.channel_id)
    return wait * 1000, max(gaps, default=0.0) * 1000


def quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1)}


async def main(runs: int, cache: Path | None) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="phrase-wait-") as work:
        scratch = cache or Path(work)
        for language, cases in (
            ("uk", ("reference", "card ending")),
            ("en", ("reference", "card ending", "balance")),
        ):
            book = await book_of(language, scratch)
            live = LiveSpeech(
                Path(work) / "live", EspeakEngine(language, 165), DEFAULT_WHOLE_PHRASE
            )
            for case in cases:
                waits, gaps = [], []
                for run in range(runs):
                    wait, gap = await one_call(language, book, live, case, run)
                    waits.append(wait)
                    gaps.append(gap)
                results.append(
                    {
                        "language": language,
                        "case": case,
                        "runs": runs,
                        "wait_ms": quantiles(waits),
                        "gap_ms": quantiles(gaps),
                    }
                )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--cache", type=Path, help="keep the rendered prompts here (a second run reuses them)"
    )
    args = parser.parse_args()
    rows = asyncio.run(main(args.runs, args.cache))
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"  {'lang':4} {'case':12} {'wait p50':>9} {'p95':>6} {'gap p50':>8} {'p95':>6} (ms)")
        for r in rows:
            w, g = r["wait_ms"], r["gap_ms"]
            print(
                f"  {r['language']:4} {r['case']:12} {w['p50']:9.1f} {w['p95']:6.1f}"
                f" {g['p50']:8.1f} {g['p95']:6.1f}"
            )
