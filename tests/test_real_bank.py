"""The bank line's key map, on real calls to the three demo banks, checked
against what the demo bank's core system recorded afterwards."""

import asyncio
import time
import urllib.request
from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.demo import DemoBank, DemoSettings
from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator, Transcript
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.safeguards.audit import AuditLog
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG, call_simulator, connected
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari
from tests.support.sipp import SippResult, sipp_call
from voice.polish import UNITS, amount_words

pytestmark = pytest.mark.asterisk

LINES = {"izbica": "100", "cieszyn": "101", "staszow": "102"}
ADMIN_PORT = 18090  # the test config's admin server: /metrics
TEXTS = dict(
    build_deployment(load_settings(TEST_CONFIG, resolve_secrets=False, env={}), with_adapters=False)
    .tenants["izbica"]
    .prompts.texts
)


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


# Each test's calls are a coroutine below, and two module fixtures place the
# calls of several tests at once: the tests of one round touch different
# customers (or different banks), so their calls cannot change what another
# test of the round checks. Each coroutine reads the bank records it is about
# as soon as its own calls (and any wait after them) are over; the tests then
# assert on their own transcripts and records.

Records = dict[str, Any]  # DemoBank.snapshot of one customer at one bank


@dataclass
class Heard:
    transcripts: dict[str, Transcript]
    records: dict[str, Records]  # by tenant
    sipp: SippResult | None = None
    live_left: list[Path] | None = None


def reset_banks() -> dict[str, DemoBank]:
    """The demo bank of each tenant, reset to its seed."""
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    banks = {
        tenant: DemoBank(DemoSettings(**settings.tenants[tenant].adapter.settings))
        for tenant in LINES
    }
    for bank in banks.values():
        bank.reset()
    return banks


# What one test's round of calls found (each module has its own ``Heard``).
R = TypeVar("R")


async def together(**rounds: Awaitable[R]) -> dict[str, R | BaseException]:
    """Runs several tests' calls at once; a test whose calls failed gets its error."""
    results = await asyncio.gather(*rounds.values(), return_exceptions=True)
    return dict(zip(rounds, results, strict=True))


def heard(results: dict[str, R | BaseException], name: str) -> R:
    result = results[name]
    if isinstance(result, BaseException):
        raise result
    return result


async def card_1111_calls(simulator: CallSimulator, banks: dict[str, DemoBank]) -> Heard:
    transcripts = await call_all(
        simulator, {line: "1 12345678 1234# 1 1 1" for line in LINES.values()}
    )
    return Heard(transcripts, {tenant: banks[tenant].snapshot("12345678") for tenant in LINES})


async def ib_and_balance_calls(simulator: CallSimulator, banks: dict[str, DemoBank]) -> Heard:
    ib_keys, balance_keys = "1 87654321 4321# 2 1", "2 12345678 1234# 1"
    calls = [(line, keys) for line in LINES.values() for keys in (ib_keys, balance_keys)]
    transcripts = await asyncio.gather(
        *(
            simulator.call(line, keys.split(), quiet_gap=0.3, timeout=150, hangup_after=1.5)
            for line, keys in calls
        )
    )
    live = Path("/var/lib/infolinia/prompts/live")
    for _ in range(50):
        if not live.exists() or not any(live.iterdir()):
            break
        await asyncio.sleep(0.1)
    return Heard(
        {
            f"{line} {'ib' if keys == ib_keys else 'balance'}": t
            for (line, keys), t in zip(calls, transcripts, strict=True)
        },
        {tenant: banks[tenant].snapshot("87654321") for tenant in LINES},
        live_left=sorted(live.iterdir()) if live.exists() else [],
    )


async def date_of_birth_calls(simulator: CallSimulator, banks: dict[str, DemoBank]) -> Heard:
    transcripts = await call_all(
        simulator, {"100": "1 12345678 * 01021950 1 2 1", "101": "2 12345678 *01021950#"}
    )
    return Heard(transcripts, {"izbica": banks["izbica"].snapshot("12345678")})


async def wrong_telekod_calls(simulator: CallSimulator, banks: dict[str, DemoBank]) -> Heard:
    keys = "2 12345678 0000# 12345678 0000# 12345678 0000#"
    transcripts = await call_all(simulator, {"102": keys}, hangup_after=None)
    return Heard(transcripts, {"staszow": banks["staszow"].snapshot("12345678")})


async def hang_up_at_once_calls(simulator: CallSimulator, banks: dict[str, DemoBank]) -> Heard:
    transcripts = await call_all(simulator, {"101": "1 12345678 1234# 1 2 1"}, hangup_after=0)
    for _ in range(50):
        records = banks["cieszyn"].snapshot("12345678")
        if records["blocks"]:
            break
        await asyncio.sleep(0.1)
    return Heard(transcripts, {"cieszyn": records})


async def sipp_calls(banks: dict[str, DemoBank], workdir: Path) -> Heard:
    result = await sipp_call("102", "1876543214321#21", wait_ms=1500, workdir=workdir)
    return Heard({}, {"staszow": banks["staszow"].snapshot("87654321")}, sipp=result)


@pytest.fixture(scope="module")
def first_round(app: AppProcess, ari: Ari, sandbox: Sandbox) -> dict[str, Heard | BaseException]:
    """Customer 12345678 blocks card 1111 at every bank while 87654321 blocks
    internet banking and 12345678 hears the balance (nothing the card test checks)."""
    connected(app, ari)
    simulator, banks = call_simulator(sandbox), reset_banks()
    return asyncio.run(
        together(
            card_1111=card_1111_calls(simulator, banks),
            ib_and_balance=ib_and_balance_calls(simulator, banks),
        )
    )


@pytest.fixture(scope="module")
def second_round(
    app: AppProcess, ari: Ari, sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Heard | BaseException]:
    """On fresh banks: 12345678 blocks a card by date of birth at Izbica, tries
    the balance with * at Cieszyn and blocks a card there hanging up at once,
    and types three wrong telekods at Staszów, where SIPp blocks internet
    banking of 87654321."""
    connected(app, ari)
    simulator, banks = call_simulator(sandbox), reset_banks()
    workdir = tmp_path_factory.mktemp("sipp")
    return asyncio.run(
        together(
            date_of_birth=date_of_birth_calls(simulator, banks),
            wrong_telekods=wrong_telekod_calls(simulator, banks),
            hang_up_at_once=hang_up_at_once_calls(simulator, banks),
            sipp=sipp_calls(banks, workdir),
        )
    )


def test_card_1111_is_blocked_at_all_three_banks_with_the_reference_read_back(
    first_round: dict[str, Heard | BaseException],
) -> None:
    """1 blocking, customer number, telekod + #, 1 card, 1 the first card, 1 confirm."""
    calls = heard(first_round, "card_1111")
    for tenant, line in LINES.items():
        transcript = calls.transcripts[line]
        spoken = said(transcript)
        assert (
            spoken[0] == {"izbica": "Izbica.", "cieszyn": "Cieszyn.", "staszow": "Staszów."}[tenant]
        )
        assert TEXTS["confirm_card_block"] in spoken
        state = calls.records[tenant]
        assert [(c["last4"], c["status"]) for c in state["cards"]] == [
            ("1111", "blocked"),
            ("2222", "active"),
        ]
        [block] = state["blocks"]
        heard_reference = digits_from_words(words_after(transcript, TEXTS["card_blocked"]))
        assert heard_reference == block["reference"] and len(heard_reference) == 8


def test_internet_banking_block_and_balance_in_polish_at_all_three_banks(
    first_round: dict[str, Heard | BaseException],
) -> None:
    """Six calls at once: at each bank one caller blocks internet banking and
    another hears the balance and the last operations."""
    calls = heard(first_round, "ib_and_balance")
    for tenant, line in LINES.items():
        ib, balance_call = calls.transcripts[f"{line} ib"], calls.transcripts[f"{line} balance"]
        state = calls.records[tenant]
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
    assert calls.live_left == []


def test_date_of_birth_allows_blocking_but_not_the_balance(
    second_round: dict[str, Heard | BaseException],
) -> None:
    """* instead of the telekod, then DDMMYYYY: the credit card can be blocked;
    the balance path has no * and never reads a balance without the telekod."""
    calls = heard(second_round, "date_of_birth")
    assert TEXTS["ask_birth_date"] in said(calls.transcripts["100"])
    state = calls.records["izbica"]
    assert [(c["last4"], c["status"]) for c in state["cards"]] == [
        ("1111", "active"),
        ("2222", "blocked"),
    ]
    no_balance = said(calls.transcripts["101"])
    assert TEXTS["balance_is"] not in no_balance
    assert TEXTS["invalid_choice"] in no_balance


def test_three_wrong_telekods_end_the_call_politely(
    second_round: dict[str, Heard | BaseException],
) -> None:
    calls = heard(second_round, "wrong_telekods")
    transcript = calls.transcripts["102"]
    spoken = said(transcript)
    assert spoken.count(TEXTS["login_refused"]) == 2
    assert spoken[-1] == TEXTS["too_many_failures"]
    assert transcript.outcome == "the line hung up"
    assert calls.records["staszow"]["failed_logins"] == 3


def test_a_confirmed_block_survives_the_caller_hanging_up_at_once(
    second_round: dict[str, Heard | BaseException],
) -> None:
    """The caller presses 1 to confirm and hangs up in the same breath."""
    calls = heard(second_round, "hang_up_at_once")
    assert calls.transcripts["101"].outcome == "the caller hung up"
    state = calls.records["cieszyn"]  # read once a block landed, or after 5 s
    assert [(c["last4"], c["status"]) for c in state["cards"]] == [
        ("1111", "active"),
        ("2222", "blocked"),
    ]
    assert len(state["blocks"]) == 1


def test_sipp_caller_blocks_internet_banking_typing_ahead(
    second_round: dict[str, Heard | BaseException],
) -> None:
    """A real SIP caller types everything at once with RFC 4733 keys: keys
    pressed before a prompt asks for them are kept, prompts they answer are
    skipped, and the block lands."""
    calls = heard(second_round, "sipp")
    assert calls.sipp is not None
    assert calls.sipp.returncode == 0, calls.sipp.output
    state = calls.records["staszow"]
    assert state["internet_banking"] == "blocked"
    assert len(state["blocks"]) == 1


def metric_families() -> dict[str, Any]:
    """The tests' app's /metrics, by family name."""
    with urllib.request.urlopen(f"http://127.0.0.1:{ADMIN_PORT}/metrics", timeout=5) as answer:
        return {f.name: f for f in text_string_to_metric_families(answer.read().decode())}


def histogram_count(families: dict[str, Any], name: str) -> float:
    """A histogram's count over all its labels (every bank's calls)."""
    return float(sum(s.value for s in families[name].samples if s.name.endswith("_count")))


def test_each_calls_requests_events_and_waits_after_keys_are_counted(
    first_round: dict[str, Heard | BaseException],
) -> None:
    """After the nine calls of the first round, /metrics counts their ARI
    requests and events (with their size), splits each wait from a key to the
    next prompt by what the call waited on (a login: the guard, the bank, the
    audit; a menu key: nothing), and the balance reads' audit entries, which
    commit while the balance starts playing, are in the trail."""
    heard(first_round, "ib_and_balance")
    # The first round's calls are of three banks: each figure is summed over
    # the banks (a call's last wait may also still be on its way: read again
    # for a few seconds at most).
    deadline = time.monotonic() + 5
    while True:
        families = metric_families()
        waits: dict[str, float] = {}  # over every bank's calls
        for sample in families["infolinia_key_to_prompt_by_wait_seconds"].samples:
            if sample.name.endswith("_count"):
                label = sample.labels["waited_on"]
                waits[label] = waits.get(label, 0.0) + sample.value
        total = histogram_count(families, "infolinia_key_to_prompt_seconds")
        app_share = histogram_count(families, "infolinia_key_to_prompt_app_seconds")
        if app_share == total == sum(waits.values()) or time.monotonic() > deadline:
            break
        time.sleep(0.2)

    def counted(family: str, label: str) -> dict[str, float]:
        return {
            s.labels[label]: s.value for s in families[family].samples if s.name.endswith("_total")
        }

    requests = counted("infolinia_ari_requests", "operation")
    assert requests["channels.answer"] >= 9 and requests["channels.play"] >= 9 * 4
    events = counted("infolinia_ari_events", "type")
    sizes = counted("infolinia_ari_event_bytes", "type")
    assert events["ChannelDtmfReceived"] >= 9 * 10  # every key the callers typed
    assert sizes["ChannelDtmfReceived"] / events["ChannelDtmfReceived"] > 200  # a channel's JSON
    assert "ChannelVarset" not in events  # filtered out by Asterisk
    assert waits["nothing"] > 0  # menu keys
    # A login: the guard (store) and the bank between the # and the next prompt
    # (unless the caller typed the next key before that prompt: then its wait
    # starts at that key).
    assert any("bank" in label and "store" in label for label in waits)
    assert app_share == total == sum(waits.values()), (app_share, total, waits)
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    trail = AuditLog(Store(settings.state)).entries(limit=1000)
    assert sum((e.action, e.result) == ("accounts", "ok") for e in trail) >= 3
