"""Numbers spoken through word fragments against the same words synthesized
whole, by the same engine: how much longer, and the longest silence inside.

    .venv/bin/python bench/voice_fragments.py [--speeds 165,300] [--pause-ms 60]
        [--languages pl,uk,en] [--json]

For each value (amounts, references, card endings, dates, a callback
number, a queue position) the words of the language's module
(:mod:`voice.polish`, :mod:`voice.ukrainian`, :mod:`voice.english`) are rendered as
the prompt book renders them, into a scratch cache: as fragments (cut to
their speech, then the pause; :mod:`voice.fragments`) and, for comparison,
as they were before (each word as the engine speaks it alone). The files
are laid end to end as one ARI playback plays them, and measured on their
16 kHz ``.sln16`` (what Asterisk reads): from the first word's onset to the
last word's end, and the longest run of 5 ms frames under -55 dBFS inside.
"Whole" is the same words as one sentence through the same engine and the
same conversion. Targets (issue 22): ratio <= 1.25, longest silence <= 100 ms.

Asterisk adds a little between two files of one playback; the real call of
``tests/test_real_voice_fragments.py`` measures that on a recording.

For the kinds a language speaks whole at call time instead (the defaults of
``voice.whole_phrase``: Ukrainian digits, English digits and amounts), the
value is also rendered as a call renders it (:class:`voice.live.LiveSpeech`:
the offline engine, then the in-process conversion for Asterisk,
:mod:`voice.slin`, into a call's folder): its duration against the whole
sentence ("phrase", should be 1.0) and the time that rendering takes (median
of 3, in ms; the call renders it while the prompt before the number plays,
``bench/voice_phrase_wait.py`` measures what the caller waits).
"""

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from voice.cache import PromptCache
from voice.convert import convert_for_asterisk
from voice.espeak import EspeakEngine
from voice.fragments import CONTINUING, DEFAULT_PAUSE_MS, FragmentShape
from voice.languages import numbers
from voice.live import DEFAULT_WHOLE_PHRASE, LiveSpeech
from voice.pauses import SpeechSpan, pcm_span

RATE = 16000  # .sln16
# The bench's kinds of value as voice.whole_phrase names them.
WHOLE_KIND = {
    "amount": "amount",
    "reference": "digits",
    "card ending": "digits",
    "callback number": "digits",
    "date": "date",
}


def values(language: str) -> list[tuple[str, str, list[str]]]:
    """The values measured, as words of ``language``."""
    say = numbers(language)
    return [
        ("amount", "1234.56 (the demo balance)", say.amount_words(Decimal("1234.56"))),
        ("amount", "0.01", say.amount_words(Decimal("0.01"))),
        ("amount", "45.50", say.amount_words(Decimal("45.50"))),
        ("amount", "2500.00", say.amount_words(Decimal("2500.00"))),
        ("amount", "987654.32", say.amount_words(Decimal("987654.32"))),
        ("amount", "-15.99", say.amount_words(Decimal("-15.99"))),
        ("reference", "482913", say.digit_words("482913")),
        ("reference", "20261206", say.digit_words("20261206")),
        ("card ending", "1111", say.digit_words("1111")),
        ("card ending", "4821", say.digit_words("4821")),
        ("date", "22 November", say.date_words(date(2026, 11, 22))),
        ("date", "1 February", say.date_words(date(2026, 2, 1))),
        ("date", "31 December", say.date_words(date(2026, 12, 31))),
        ("callback number", "600123456", say.digit_words("600123456")),
        (
            "queue position",
            "21 (about 5 minutes)",
            [*say.position_words(21), *say.minutes_words(5)],
        ),
    ]


@dataclass
class Row:
    kind: str
    value: str
    words: int
    whole_ms: int
    whole_longest_silence_ms: int
    before_ms: int
    before_longest_silence_ms: int
    fragments_ms: int
    fragments_longest_silence_ms: int
    # Spoken whole at call time (voice.whole_phrase), else None.
    phrase_ms: int | None = None
    phrase_longest_silence_ms: int | None = None
    phrase_render_ms: float | None = None

    @property
    def ratio(self) -> float:
        return round(self.fragments_ms / self.whole_ms, 2)

    @property
    def phrase_ratio(self) -> float | None:
        return None if self.phrase_ms is None else round(self.phrase_ms / self.whole_ms, 2)

    @property
    def heard_ratio(self) -> float:
        """What a caller hears: the phrase when the kind is spoken whole."""
        return self.ratio if self.phrase_ratio is None else self.phrase_ratio

    @property
    def before_ratio(self) -> float:
        return round(self.before_ms / self.whole_ms, 2)


def _span(pcm: bytes, rate: int = RATE) -> SpeechSpan:
    span = pcm_span(pcm, rate)
    if span is None:
        raise RuntimeError("the engine produced silence")
    return span


async def measure(speed: int, pause_ms: int, scratch: Path, language: str = "pl") -> list[Row]:
    engine = EspeakEngine(language, speed)
    folder = scratch / f"cache-{language}-{speed}-{pause_ms}"
    cache = PromptCache(folder, engine, FragmentShape(pause_ms))
    live = LiveSpeech(scratch / "live", engine)
    whole_kinds: list[str] = list(dict(DEFAULT_WHOLE_PHRASE).get(language, []))  # type: ignore[call-overload]
    rows = []
    for kind, label, words in values(language):
        before = b"".join([await _pcm(cache, word, fragment=False) for word in words])
        # As a call plays them: each word continuing ("dwa,"), the last one final.
        texts = [word + CONTINUING for word in words[:-1]] + words[-1:]
        after = b"".join([await _pcm(cache, text, fragment=True) for text in texts])
        raw, whole = scratch / "whole.wav", scratch / "whole"
        await engine.synthesize(" ".join(words), raw)
        await asyncio.to_thread(convert_for_asterisk, raw, whole)
        whole_span = _span(whole.with_suffix(".sln16").read_bytes())
        before_span, after_span = _span(before), _span(after)
        phrase_ms, phrase_silence_ms, render_ms = None, None, None
        if WHOLE_KIND.get(kind) in whole_kinds:
            times, spans = [], []
            for _ in range(3):
                started = time.perf_counter()
                uri = await live.media("bench-call", " ".join(words))
                times.append((time.perf_counter() - started) * 1000)
                # voice.slin: espeak-ng's 22050 Hz doubled to 44100 (.sln44).
                played = Path(uri.removeprefix("sound:")).with_suffix(".sln44")
                spans.append(_span(played.read_bytes(), 44100))
            phrase_ms, phrase_silence_ms = spans[-1].duration_ms, spans[-1].longest_pause_ms
            render_ms = round(statistics.median(times), 1)
            live.forget("bench-call")
        rows.append(
            Row(
                kind,
                label,
                len(words),
                whole_span.duration_ms,
                whole_span.longest_pause_ms,
                before_span.duration_ms,
                before_span.longest_pause_ms,
                after_span.duration_ms,
                after_span.longest_pause_ms,
                phrase_ms,
                phrase_silence_ms,
                render_ms,
            )
        )
    return rows


async def _pcm(cache: PromptCache, word: str, *, fragment: bool) -> bytes:
    base = await cache.render(word, fragment=fragment)
    return base.with_suffix(".sln16").read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--speeds",
        default="165,300",
        help="espeak-ng words per minute, comma-separated "
        "(165: the default config; 300: the tests' config)",
    )
    parser.add_argument(
        "--pause-ms",
        type=int,
        default=DEFAULT_PAUSE_MS,
        help=f"pause between fragments (voice.fragment_pause_ms; default {DEFAULT_PAUSE_MS})",
    )
    parser.add_argument(
        "--languages", default="pl", help="pl, uk, en, comma-separated (espeak-ng's voice)"
    )
    parser.add_argument("--json", action="store_true", help="results as JSON")
    args = parser.parse_args()
    speeds = [int(s) for s in args.speeds.split(",")]
    languages = args.languages.split(",")
    report: dict[str, object] = {
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "pause_ms": args.pause_ms,
        "runs": [],
    }
    with tempfile.TemporaryDirectory(prefix="infolinia-bench-") as scratch:
        for language, speed in [(lang, speed) for lang in languages for speed in speeds]:
            rows = asyncio.run(measure(speed, args.pause_ms, Path(scratch), language))
            engine = EspeakEngine(language, speed).identity
            runs = report["runs"]
            assert isinstance(runs, list)
            runs.append(
                {
                    "engine": engine,
                    "values": [
                        {
                            **asdict(r),
                            "ratio": r.ratio,
                            "before_ratio": r.before_ratio,
                            "phrase_ratio": r.phrase_ratio,
                        }
                        for r in rows
                    ],
                    "worst_ratio": max(r.ratio for r in rows),
                    "worst_heard_ratio": max(r.heard_ratio for r in rows),
                    "worst_longest_silence_ms": max(r.fragments_longest_silence_ms for r in rows),
                }
            )
            if not args.json:
                _print(engine, args.pause_ms, rows)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))


def _print(engine: str, pause_ms: int, rows: list[Row]) -> None:
    print(f"{engine}, pause {pause_ms} ms (durations in ms; silence: longest inside)")
    print(
        f"  {'kind':16} {'value':28} {'whole':>6} {'silence':>8} {'before':>7} {'ratio':>6}"
        f" {'silence':>8}"
        f" {'now':>6} {'ratio':>6} {'silence':>8} {'phrase':>7} {'ratio':>6} {'silence':>8}"
        f" {'render':>7}"
    )
    for r in rows:
        print(
            f"  {r.kind:16} {r.value:28} {r.whole_ms:6} {r.whole_longest_silence_ms:8}"
            f" {r.before_ms:7} {r.before_ratio:6.2f}"
            f" {r.before_longest_silence_ms:8} {r.fragments_ms:6} {r.ratio:6.2f}"
            f" {r.fragments_longest_silence_ms:8}"
            + (
                f" {r.phrase_ms:7} {r.phrase_ratio:6.2f} {r.phrase_longest_silence_ms:8}"
                f" {r.phrase_render_ms:7.1f}"
                if r.phrase_ms is not None
                else ""
            )
        )
    print(
        f"  worst: ratio {max(r.ratio for r in rows):.2f}"
        f" (as heard, phrases spoken whole: {max(r.heard_ratio for r in rows):.2f}),"
        f" longest silence {max(r.fragments_longest_silence_ms for r in rows)} ms\n"
    )


if __name__ == "__main__":
    main()
