"""The bank line's key map, on real calls to the three demo banks, checked
against what the demo bank's core system recorded afterwards."""

import asyncio
import time
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.demo import DemoBank, DemoSettings
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.simulator import CallSimulator, Transcript
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess
from tests.support.sipp import sipp_call
from voice.polish import UNITS, amount_words

pytestmark = pytest.mark.asterisk

LINES = {"izbica": "100", "cieszyn": "101", "staszow": "102"}
TEXTS = dict(
    build_deployment(load_settings(TEST_CONFIG, resolve_secrets=False, env={}), with_adapters=False)
    .tenants["izbica"]
    .prompts.texts
)


@pytest.fixture
def banks() -> dict[str, DemoBank]:
    """The demo bank of each tenant, reset to its seed before the test."""
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    banks = {
        tenant: DemoBank(DemoSettings(**settings.tenants[tenant].adapter.settings))
        for tenant in LINES
    }
    for bank in banks.values():
        bank.reset()
    return banks


def said(transcript: Transcript) -> list[str]:
    return [step.text for step in transcript.steps if step.kind == "prompt"]


def words_after(transcript: Transcript, prompt: str) -> list[str]:
    """The prompts played right after the last ``prompt`` (e.g. a reference's digits)."""
    spoken = said(transcript)
    start = len(spoken) - 1 - spoken[::-1].index(prompt)
    return spoken[start + 1 :]


def digits_from_words(words: list[str]) -> str:
    digits = ""
    for word in words:
        if word not in UNITS[:10]:
            break
        digits += str(UNITS.index(word))
    return digits


async def call_all(
    simulator: CallSimulator, calls: dict[str, str], hangup_after: float | None = 1.5
) -> dict[str, Transcript]:
    """Calls at the same time, one per line: {line: keys} -> {line: transcript}.
    The caller hangs up once the line waits after the last keys."""
    transcripts = await asyncio.gather(
        *(
            simulator.call(
                line, keys.split(), quiet_gap=0.3, timeout=150, hangup_after=hangup_after
            )
            for line, keys in calls.items()
        )
    )
    return dict(zip(calls, transcripts, strict=True))


def test_card_1111_is_blocked_at_all_three_banks_with_the_reference_read_back(
    simulator: CallSimulator, banks: dict[str, DemoBank]
) -> None:
    """1 blocking, customer number, telekod + #, 1 card, 1 the first card, 1 confirm."""
    transcripts = asyncio.run(
        call_all(simulator, {line: "1 12345678 1234# 1 1 1" for line in LINES.values()})
    )
    for tenant, line in LINES.items():
        transcript = transcripts[line]
        spoken = said(transcript)
        assert (
            spoken[0] == {"izbica": "Izbica.", "cieszyn": "Cieszyn.", "staszow": "Staszów."}[tenant]
        )
        assert TEXTS["confirm_card_block"] in spoken
        state = banks[tenant].snapshot("12345678")
        assert [(c["last4"], c["status"]) for c in state["cards"]] == [
            ("1111", "blocked"),
            ("2222", "active"),
        ]
        [block] = state["blocks"]
        heard_reference = digits_from_words(words_after(transcript, TEXTS["card_blocked"]))
        assert heard_reference == block["reference"] and len(heard_reference) == 8


def test_internet_banking_block_and_balance_in_polish_at_all_three_banks(
    simulator: CallSimulator, banks: dict[str, DemoBank]
) -> None:
    """Six calls at once: at each bank one caller blocks internet banking and
    another hears the balance and the last operations."""
    ib_keys, balance_keys = "1 87654321 4321# 2 1", "2 12345678 1234# 1"

    async def six_calls() -> list[Transcript]:
        return await asyncio.gather(
            *(
                simulator.call(line, keys.split(), quiet_gap=0.3, timeout=150, hangup_after=1.5)
                for line in LINES.values()
                for keys in (ib_keys, balance_keys)
            )
        )

    transcripts = iter(asyncio.run(six_calls()))
    for tenant in LINES:
        ib, balance_call = next(transcripts), next(transcripts)
        state = banks[tenant].snapshot("87654321")
        assert state["internet_banking"] == "blocked"
        assert state["cards"][0]["status"] == "active"
        heard_reference = digits_from_words(words_after(ib, TEXTS["ib_blocked"]))
        assert heard_reference == state["blocks"][0]["reference"]

        balance = said(balance_call)
        at = balance.index(TEXTS["balance_is"])
        sentence = balance[at + 1 : at + 1 + 8]
        assert " ".join(sentence) == (
            "tysiąc dwieście trzydzieści cztery złote pięćdziesiąt sześć groszy"
        )
        assert sentence == amount_words(Decimal("1234.56"))
        # 1: the last five operations, newest first, with their direction.
        history = balance[balance.index(TEXTS["history_intro"]) + 1 :]
        assert history.count(TEXTS["operation_out"]) + history.count(TEXTS["operation_in"]) == 5
        assert " ".join(amount_words(Decimal("2500.00"))) in " ".join(history)
        # Each operation's counterparty is customer text: rendered for the call only...
        assert history.count("(spoken live)") == 5
    # ...and gone once the calls are over.
    live = Path("/var/lib/infolinia/prompts/live")
    for _ in range(50):
        if not live.exists() or not any(live.iterdir()):
            break
        time.sleep(0.1)
    assert not live.exists() or not any(live.iterdir())


def test_date_of_birth_allows_blocking_but_not_the_balance(
    simulator: CallSimulator, banks: dict[str, DemoBank]
) -> None:
    """* instead of the telekod, then DDMMYYYY: the credit card can be blocked;
    the balance path has no * and never reads a balance without the telekod."""
    transcripts = asyncio.run(
        call_all(simulator, {"100": "1 12345678 * 01021950 1 2 1", "101": "2 12345678 *01021950#"})
    )
    assert TEXTS["ask_birth_date"] in said(transcripts["100"])
    state = banks["izbica"].snapshot("12345678")
    assert [(c["last4"], c["status"]) for c in state["cards"]] == [
        ("1111", "active"),
        ("2222", "blocked"),
    ]
    no_balance = said(transcripts["101"])
    assert TEXTS["balance_is"] not in no_balance
    assert TEXTS["invalid_choice"] in no_balance


def test_three_wrong_telekods_end_the_call_politely(
    simulator: CallSimulator, banks: dict[str, DemoBank]
) -> None:
    keys = "2 12345678 0000# 12345678 0000# 12345678 0000#"
    transcript = asyncio.run(call_all(simulator, {"102": keys}, hangup_after=None))["102"]
    spoken = said(transcript)
    assert spoken.count(TEXTS["login_refused"]) == 2
    assert spoken[-1] == TEXTS["too_many_failures"]
    assert transcript.outcome == "the line hung up"
    assert banks["staszow"].snapshot("12345678")["failed_logins"] == 3


def test_a_confirmed_block_survives_the_caller_hanging_up_at_once(
    simulator: CallSimulator, banks: dict[str, DemoBank]
) -> None:
    """The caller presses 1 to confirm and hangs up in the same breath."""
    transcript = asyncio.run(
        call_all(simulator, {"101": "1 12345678 1234# 1 2 1"}, hangup_after=0)
    )["101"]
    assert transcript.outcome == "the caller hung up"
    for _ in range(50):
        state = banks["cieszyn"].snapshot("12345678")
        if state["blocks"]:
            break
        time.sleep(0.1)
    assert [(c["last4"], c["status"]) for c in state["cards"]] == [
        ("1111", "active"),
        ("2222", "blocked"),
    ]
    assert len(state["blocks"]) == 1


def test_sipp_caller_blocks_internet_banking_typing_ahead(
    live_app: AppProcess, banks: dict[str, DemoBank], tmp_path: Path
) -> None:
    """A real SIP caller types everything at once with RFC 4733 keys: keys
    pressed before a prompt asks for them are kept, prompts they answer are
    skipped, and the block lands."""
    result = asyncio.run(sipp_call("102", "1876543214321#21", wait_ms=1500, workdir=tmp_path))
    assert result.returncode == 0, result.output
    state = banks["staszow"].snapshot("87654321")
    assert state["internet_banking"] == "blocked"
    assert len(state["blocks"]) == 1
