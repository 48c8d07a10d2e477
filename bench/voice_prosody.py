"""Prosody of word fragments: the pitch at the end of a word rendered final
("dwa": the last word of a number) and continuing ("dwa,": a word the number
goes on after), by espeak-ng, measured on the 8 kHz file a call plays.

    .venv/bin/python bench/voice_prosody.py [--languages pl,uk,en] [--speed 165] [--json]

For each word: the pitch (F0) at its start and end (medians of the first
and last three voiced 10 ms steps, devtools/pitch.py) and its lowest point;
"fall" is how far the end is below the start (0.20: 20 % lower), "rise" how
far the end is above the lowest point. A final word should fall; a
continuing one should end up again, so that a number sounds like one phrase
that ends once.
"""

import argparse
import asyncio
import json
import statistics
import tempfile
from pathlib import Path

from devtools.pitch import Contour, contour
from voice.cache import PromptCache
from voice.espeak import EspeakEngine
from voice.fragments import CONTINUING, FragmentShape

WORDS = {
    "pl": ["dwa", "jeden", "trzy", "tysiąc", "złote", "groszy", "listopada", "zero"],
    "uk": ["два", "один", "три", "тисяча", "злоті", "грошів", "листопада", "нуль"],
    "en": ["two", "one", "three", "thousand", "zloty", "groszy", "November", "zero"],
}


async def measure(language: str, speed: int, scratch: Path) -> list[tuple[str, Contour, Contour]]:
    cache = PromptCache(scratch / language, EspeakEngine(language, speed), FragmentShape())
    rows = []
    for word in WORDS[language]:
        final = await cache.render(word, fragment=True)
        going_on = await cache.render(word + CONTINUING, fragment=True)
        rows.append(
            (word, contour(final.with_suffix(".wav")), contour(going_on.with_suffix(".wav")))
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", default="pl,uk,en")
    parser.add_argument("--speed", type=int, default=165, help="espeak-ng words per minute")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = []
    with tempfile.TemporaryDirectory(prefix="infolinia-prosody-") as scratch:
        for language in args.languages.split(","):
            rows = asyncio.run(measure(language, args.speed, Path(scratch)))
            report.append({"language": language, "rows": rows})
            if not args.json:
                print(f"espeak-ng {language}, {args.speed} words a minute (Hz; fall, rise)")
                print(f"  {'word':12} {'final: start end':>18} {'fall':>6} "
                      f"{'continuing: start end':>22} {'fall':>6} {'rise':>6}")  # fmt: skip
                for word, final, going_on in rows:
                    print(
                        f"  {word:12} {final.start_hz:8} {final.end_hz:9} {final.fall:6.2f}"
                        f" {going_on.start_hz:12} {going_on.end_hz:9} {going_on.fall:6.2f}"
                        f" {going_on.rise_at_end:6.2f}"
                    )
                finals = statistics.median(f.fall for _, f, _ in rows)
                going = statistics.median(g.fall for _, _, g in rows)
                print(f"  median fall: final {finals:.2f}, continuing {going:.2f}\n")
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "language": r["language"],
                        "words": [
                            {"word": w, "final": vars(f), "continuing": vars(g)}
                            for w, f, g in r["rows"]  # type: ignore[attr-defined]
                        ],
                    }
                    for r in report
                ],
                ensure_ascii=False,
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
