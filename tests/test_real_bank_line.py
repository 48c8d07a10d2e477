"""Issue 21's optional services on real calls through the sandbox: the test
config's bank ``konta`` (line 150: the shipped bank flow with several
accounts, the bank's information and exchange rates turned on) and
``konta_po_terminie`` (151: several accounts, its information past its
date). Four calls at once: a customer with two accounts chooses the savings
account and hears its balance and available funds; the bank's information;
the exchange rates the demo-bank CLI set just before; the main menu of the
bank whose information expired, which neither offers nor takes it."""

import asyncio
import time
from decimal import Decimal

import pytest

from adapters.demo import DemoBank, DemoSettings
from devtools.sandbox import Sandbox
from devtools.simulator import Transcript
from stasis_app.cli import main
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from tests.conftest import TEST_CONFIG, call_simulator, connected
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari
from voice.polish import amount_words, digit_words

pytestmark = pytest.mark.asterisk

BANK, LINE, EXPIRED_LINE = "konta", "150", "151"
TEXTS = dict(
    build_deployment(load_settings(TEST_CONFIG, resolve_secrets=False, env={}), with_adapters=False)
    .tenants[BANK]
    .prompts.texts
)
CALLS = {  # name: (line, key groups, seconds the caller stays after the last keys)
    # At 151 (several accounts too): a main menu of one word, so a shorter call.
    "savings": (EXPIRED_LINE, ["2", "12345678", "1234#", "2"], 0.1),
    "information": (LINE, ["5"], 0.1),
    "rates": (LINE, ["6"], 0.1),
    "expired": (EXPIRED_LINE, ["5"], 0.1),
}


def said(transcript: Transcript) -> list[str]:
    return [step.text for step in transcript.steps if step.kind == "prompt"]


def after(spoken: list[str], prompt: str) -> list[str]:
    """What was said after the last ``prompt``."""
    return spoken[len(spoken) - spoken[::-1].index(prompt) :]


@pytest.fixture(scope="module")
def heard(app: AppProcess, ari: Ari, sandbox: Sandbox) -> dict[str, list[str]]:
    connected(app, ari)
    simulator = call_simulator(sandbox)
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    DemoBank(DemoSettings(**settings.tenants[BANK].adapter.settings)).reset()
    # The bank's table, as its operator sets it in the demo.
    rates = ["--config", str(TEST_CONFIG), "demo-bank", "rates", BANK]
    assert main([*rates, "--set", "EUR=4.21/4.38", "CHF=4.50/4.69", "USD=3.95/4.12"]) == 0

    async def one(name: str, line: str, keys: list[str], stay: float) -> Transcript:
        began = time.monotonic()
        transcript = await simulator.call(line, keys, quiet_gap=0.2, timeout=60, hangup_after=stay)
        print(f"{name}: {time.monotonic() - began:.1f} s")
        return transcript

    async def all_at_once() -> list[Transcript]:
        return await asyncio.gather(*(one(name, *call) for name, call in CALLS.items()))

    started = time.monotonic()
    transcripts = asyncio.run(all_at_once())
    print(f"\nfour calls at once: {time.monotonic() - started:.1f} s")
    for t in transcripts:
        print([(st.kind, st.text) for st in t.steps])
    return {name: said(t) for name, t in zip(CALLS, transcripts, strict=True)}


def test_a_customer_with_two_accounts_chooses_one_and_hears_its_available_funds(
    heard: dict[str, list[str]],
) -> None:
    spoken = heard["savings"]
    listed = after(spoken, TEXTS["choose_account"])
    press, ending = TEXTS["press"], TEXTS["account_ending"]
    assert listed[: listed.index(TEXTS["account_savings"])] == [
        TEXTS["account_current"], ending, *digit_words("4711"), press, "jeden",
    ]  # fmt: skip
    balance = after(spoken, TEXTS["account_savings"])  # the list, then the chosen one
    fifteen_thousand = amount_words(Decimal("15000.00"))
    expected = [
        ending, *digit_words("9023"),
        TEXTS["balance_is"], *fifteen_thousand, TEXTS["available_is"], *fifteen_thousand,
    ]  # fmt: skip
    assert balance[: len(expected)] == expected
    assert TEXTS["balance_menu"] in balance


def test_the_bank_information_is_offered_in_the_main_menu_and_played(
    heard: dict[str, list[str]],
) -> None:
    spoken = heard["information"]
    menu = after(spoken, TEXTS["main_menu"])
    assert menu[:2] == [TEXTS["main_menu_information"], TEXTS["main_menu_rates"]]
    assert TEXTS["bank_information"] == "Informacja banku testowego."  # the bank's own text
    assert after(spoken, TEXTS["main_menu_rates"])[:2] == [
        TEXTS["bank_information"],
        TEXTS["after_information_menu"],
    ]


def test_exchange_rates_are_read_from_the_table_the_cli_set(heard: dict[str, list[str]]) -> None:
    rates = after(heard["rates"], TEXTS["rates_intro"])
    buy, sell = TEXTS["rate_buy"], TEXTS["rate_sell"]
    expected = [  # the bank's currencies (EUR, CHF) in its order; USD is not its
        TEXTS["currency_eur"], buy, *amount_words(Decimal("4.21")),
        sell, *amount_words(Decimal("4.38")),
        TEXTS["currency_chf"], buy, *amount_words(Decimal("4.50")),
        sell, *amount_words(Decimal("4.69")),
    ]  # fmt: skip
    assert rates[: len(expected)] == expected
    assert TEXTS["currency_usd"] not in rates


def test_past_its_date_the_information_is_not_offered(heard: dict[str, list[str]]) -> None:
    spoken = heard["expired"]
    assert TEXTS["main_menu"] in spoken
    assert TEXTS["main_menu_information"] not in spoken
    assert TEXTS["bank_information"] not in spoken
    assert TEXTS["invalid_choice"] in spoken  # 5 is no option there
