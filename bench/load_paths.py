"""The load benchmark's two caller paths through config/flows/bank.yaml,
and the SIPp scenario of a caller who follows one.

A path is a list of steps: the prompts the caller listens to (by name of a
*segment*, a run of prompt keys of the tenant's prompt book), then the keys
it presses. The same segments, as files, are what the pure-dialplan baseline
plays (docker/asterisk/etc/extensions.conf, [infolinia-bench-baseline]).
The caller waits for each prompt's real length (read from the rendered WAV)
plus a margin, so app and baseline get the same caller, key for key. In
long menus it knows, it presses its key a few seconds into the prompt (a
key stops a prompt in the app as in Read()): calls stay near a real
regular caller's length, and keys that stop a prompt are measured too.
"""

import sys
import wave
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

# The repository's root, for tests.sipp.dtmf_pcap (the pcaps the tests use too).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.sipp.dtmf_pcap import GAP_MS, PRESS_MS, rtp_packets, write_pcap
from voice.fragments import fragment_keys
from voice.polish import amount_words, digit_words
from voice.prompts import PromptBook

SCENARIO = Path(__file__).resolve().parent / "sipp" / "caller.xml"
CUSTOMER, TELEKOD = "12345678", "1234"
MARGIN_S = 0.7  # after a prompt's end, before the caller presses its keys
KNOWN_MENU_S = 3.0  # into a menu the caller knows, it presses its key


def _words(text: str) -> list[str]:
    return fragment_keys(digit_words(text))


def _card(kind: str, last4: str) -> list[str]:
    return [f"card_{kind}", "card_ending", *_words(last4)]


# The first demo customer's answers (the seed of adapters/demo.py), fixed.
SEGMENTS: dict[str, list[str]] = {
    "greeting": ["greeting"],
    "main_menu": ["main_menu"],
    "ask_customer_number": ["ask_customer_number"],
    "ask_telekod": ["ask_telekod"],
    "ask_telekod_or_star": ["ask_telekod_or_star"],
    # Two accounts (the personal one, then the savings account), one sentence;
    # a bank without several_accounts says each balance (no list, no choice).
    "balance": [
        "balance_is",
        *fragment_keys(amount_words(Decimal("1234.56"))),
        "balance_is",
        *fragment_keys(amount_words(Decimal("15000.00"))),
    ],
    "balance_menu": ["balance_menu"],
    "block_menu": ["block_menu"],
    "choose_card": [
        "choose_card",
        *_card("debit", "1111"),
        "press",
        *_words("1"),
        *_card("credit", "2222"),
        "press",
        *_words("2"),
    ],
    "confirm_card": [*_card("debit", "1111"), "confirm_card_block"],
    "card_blocked": ["card_blocked", *_words("00000000")],  # a reference: 8 digits
    "after_block_menu": ["after_block_menu"],
    "goodbye": ["goodbye"],
}


@dataclass(frozen=True)
class Step:
    heard: tuple[str, ...]  # segments played before the caller presses
    keys: str
    listen_s: float | None = None  # presses this far into the last segment, not after it


@dataclass(frozen=True)
class CallerPath:
    name: str
    app_line: str  # a demo bank's number (the app)
    baseline_line: str  # the same path in [infolinia-bench-baseline]
    steps: tuple[Step, ...]
    tail: tuple[str, ...]  # heard after the last keys
    hold_s: float  # listened to what follows the tail, then hangs up
    end_state: str  # where the app's flow is when the caller hangs up


BALANCE = CallerPath(
    "balance",
    "100",
    "200",
    (
        Step(("greeting", "main_menu"), "2", KNOWN_MENU_S),
        Step(("ask_customer_number",), CUSTOMER),
        Step(("ask_telekod",), TELEKOD + "#"),
    ),
    tail=("balance",),
    hold_s=2.0,
    end_state="balance_menu",
)
CARD_BLOCK = CallerPath(
    "card_block",
    "100",
    "201",
    (
        Step(("greeting", "main_menu"), "1", KNOWN_MENU_S),
        Step(("ask_customer_number",), CUSTOMER),
        Step(("ask_telekod_or_star",), TELEKOD + "#", KNOWN_MENU_S),
        Step(("block_menu",), "1", KNOWN_MENU_S),
        Step(("choose_card",), "1", 7.0),  # after the first card and "press 1"
        Step(("confirm_card",), "1", 6.0),  # after the card's ending
    ),
    tail=("card_blocked",),
    hold_s=2.0,
    end_state="after_card_block",
)
PATHS = {path.name: path for path in (BALANCE, CARD_BLOCK)}


def segment_files(book: PromptBook) -> dict[str, list[str]]:
    """Segment -> the prompt files (absolute, without extension) it plays."""
    uris = book.media_uris()
    return {
        name: [uris[key].removeprefix("sound:") for key in keys] for name, keys in SEGMENTS.items()
    }


def _seconds(files: list[str]) -> float:
    total = 0.0
    for base in files:
        with wave.open(base + ".wav") as wav:
            total += wav.getnframes() / wav.getframerate()
    return total


def _keys_seconds(keys: str) -> float:
    return len(keys) * (PRESS_MS + GAP_MS) / 1000


def write_scenario(path: CallerPath, files: dict[str, list[str]], workdir: Path) -> float:
    """Write the SIPp scenario (and its pcaps) into ``workdir``; returns the
    call's expected length in seconds, from answer to the caller's BYE."""
    workdir.mkdir(parents=True, exist_ok=True)
    blocks, total, previous_keys, seq = [], 0.0, 0.0, 1
    for n, step in enumerate(path.steps):
        heard = [_seconds(files[s]) for s in step.heard]
        if step.listen_s is not None and step.listen_s < heard[-1]:
            heard[-1] = step.listen_s - MARGIN_S
        pause = previous_keys + sum(heard) + MARGIN_S
        total += pause
        # Timestamps and sequence numbers go on from the earlier presses.
        pcap = write_pcap(step.keys, workdir / f"{path.name}-{n}.pcap", round(total * 1000), seq)
        seq += len(rtp_packets(step.keys))
        blocks.append(
            f'  <pause milliseconds="{round(pause * 1000)}"/>\n'
            f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>\n'
        )
        previous_keys = _keys_seconds(step.keys)
    hold = previous_keys + sum(_seconds(files[s]) for s in path.tail) + MARGIN_S + path.hold_s
    total += hold
    text = SCENARIO.read_text().replace("@STEPS@", "".join(blocks))
    (workdir / f"{path.name}.xml").write_text(text.replace("@HOLD@", str(round(hold * 1000))))
    return total
