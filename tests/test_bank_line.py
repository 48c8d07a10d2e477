"""Issue 21's optional services without Asterisk: the adapter contract's
optional operations (offered, guarded, refused by the flow checker when not
offered), the demo bank's, and the default bank flow's several accounts,
bank information and exchange rates on a fake call."""

import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.demo import OFFERS, DemoBank, DemoSettings
from adapters.errors import NotFound, Refused, Unavailable
from adapters.guard import GuardedAdapter
from adapters.hookspecs import AdapterFactory, hookimpl
from adapters.registry import AdapterRegistry, AdapterSetupError
from adapters.spec import (
    AccountKind,
    Customer,
    ExchangeRate,
    OptionalOperation,
)
from plugin.manager import get_plugin_manager
from stasis_app.cli import main
from stasis_app.errors import ConfigError
from stasis_app.features import FEATURES, Features, check_features, check_operations
from stasis_app.flow.context import CallContext
from stasis_app.flow.engine import run_flow
from stasis_app.flow.model import Flow, load_flow, load_flow_text
from stasis_app.flow.speech import words
from stasis_app.tenants import Tenant
from stasis_app.verbs.registry import VerbRegistry
from tests.support.fake_call import FakeCall
from voice.live import live_key
from voice.polish import amount_words, digit_words

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent
BANK_FLOW = REPO / "config" / "flows" / "bank.yaml"
MARIA, JAN = Customer("12345678"), Customer("87654321")
ALL_ON = Features.model_validate(
    {
        "several_accounts": True,
        "bank_information": {"until": "2099-12-31"},
        "exchange_rates": {"currencies": ["CHF", "EUR"]},
    }
)


@pytest.fixture(scope="module")
def verbs() -> VerbRegistry:
    return VerbRegistry(get_plugin_manager())


@pytest.fixture(scope="module")
def flow(verbs: VerbRegistry) -> Flow:
    return load_flow(BANK_FLOW, verbs)


@pytest.fixture
def demo(tmp_path: Path) -> DemoBank:
    return DemoBank(DemoSettings(database=tmp_path / "demo.sqlite", tenant="konta"))


def tenant(features: Features | dict[str, Any]) -> Tenant:
    return Tenant.model_validate(
        {
            "id": "konta",
            "name": "Bank",
            "lines": ["150"],
            "flow": BANK_FLOW,
            "adapter": {"name": "demo"},
            "features": features,
        }
    )


class Caller(FakeCall):
    """A caller who types each group of keys when the line asks for keys (after
    hearing the prompt), not ahead of it."""

    def __init__(self, groups: list[str]) -> None:
        super().__init__(line="150")
        self.groups = list(groups)

    async def read_digits(self, *args: Any, **kwargs: Any) -> str:
        if not self.has_keys() and self.groups:
            self.press(self.groups.pop(0))
        return await super().read_digits(*args, **kwargs)


async def call(flow: Flow, demo: DemoBank, features: Any, *groups: str) -> list[list[str]]:
    """A whole call on the bank flow, the caller typing ``groups`` one per
    question: what was heard (after the greeting)."""
    fake = Caller(list(groups))
    bank = GuardedAdapter(demo, "demo", timeout=5, offers=frozenset(OptionalOperation))
    await run_flow(flow, CallContext(call=fake, tenant=tenant(features), bank=bank))
    return fake.heard


def said(keys: list[str]) -> list[str]:
    return words(keys)


# --- the contract ---------------------------------------------------------------------


def test_the_demo_adapter_offers_every_optional_operation_and_the_webservice_none() -> None:
    registry = AdapterRegistry(get_plugin_manager(env={}))
    settings = {"database": "/tmp/x.sqlite", "tenant": "t"}
    assert registry.offers("demo", settings) == frozenset(OptionalOperation)
    assert {op.value for op in OptionalOperation} == OFFERS
    web = {"base_url": "http://127.0.0.1:1/", "secret_env": "X"}
    assert registry.offers("webservice", web) == frozenset()


class _Vendor:
    """A vendor's plugin whose offers are a function of its settings, and one
    that names an operation that does not exist."""

    @hookimpl
    def infolinia_register_adapters(self) -> list[AdapterFactory]:
        return [
            AdapterFactory(
                "by-settings",
                DemoSettings,
                DemoBank,
                offers=lambda s: ["exchange_rates"] if s.tenant == "rates" else [],
            ),
            AdapterFactory("typo", DemoSettings, DemoBank, offers={"exchange_rate"}),
        ]


def test_offers_may_depend_on_the_settings_and_must_be_known_operations() -> None:
    manager = get_plugin_manager(env={})
    manager.register(_Vendor())
    registry = AdapterRegistry(manager)
    rates = {"database": "/tmp/x.sqlite", "tenant": "rates"}
    assert registry.offers("by-settings", rates) == {OptionalOperation.EXCHANGE_RATES}
    assert registry.offers("by-settings", {**rates, "tenant": "other"}) == frozenset()
    with pytest.raises(AdapterSetupError) as typo:
        registry.offers("typo", rates)
    assert "'exchange_rate', which is no optional operation" in str(typo.value)
    with pytest.raises(AdapterSetupError) as bad:
        registry.offers("by-settings", {"tenant": "rates"})
    assert bad.value.field == "adapter_settings.database"


async def test_the_guard_never_asks_for_an_operation_not_offered(demo: DemoBank) -> None:
    asked: list[str] = []

    class Spy(DemoBank):
        async def exchange_rates(self) -> list[ExchangeRate]:
            asked.append("rates")
            return await super().exchange_rates()

    spy = Spy(DemoSettings(database=demo.path, tenant="konta"))
    guarded = GuardedAdapter(spy, "spy", timeout=1)
    with pytest.raises(Unavailable, match="does not offer exchange_rates"):
        await guarded.exchange_rates()
    assert asked == []
    offered = GuardedAdapter(spy, "spy", timeout=1, offers={OptionalOperation.EXCHANGE_RATES})  # type: ignore[arg-type]
    assert [rate.currency for rate in await offered.exchange_rates()][:2] == ["EUR", "USD"]
    assert asked == ["rates"]
    await spy.close()


# --- the flow checker ----------------------------------------------------------------

UNGUARDED = """
initial: menu
states:
  menu:
    verb: menu
    params: {prompt: [main_menu]}
    on: {"6": rates, failed: bye}
  rates:
    verb: operation
    params: {name: exchange_rates}
    on: {ok: bye, empty: bye, refused: bye, unavailable: bye}
  bye:
    verb: hangup
"""
GUARDED = UNGUARDED.replace(
    "params: {prompt: [main_menu]}",
    'params: {prompt: [main_menu], extras: [{key: "6", prompt: [main_menu_rates], '
    "feature: exchange_rates}]}",
)


def test_a_reachable_operation_the_adapter_does_not_offer_is_refused(verbs: VerbRegistry) -> None:
    flow = load_flow_text(UNGUARDED, Path("rates.yaml"), verbs, None, "rates.yaml")
    with pytest.raises(ConfigError) as refused:
        check_operations("rates.yaml", flow, Features(), "webservice", frozenset())
    assert str(refused.value).startswith(
        "rates.yaml: states.rates.params.name: runs the adapter operation 'exchange_rates', "
        "which the bank's adapter 'webservice' does not offer (it offers: none)"
    )
    # Offered: fine.
    check_operations("rates.yaml", flow, Features(), "demo", frozenset(OFFERS))


def test_an_operation_behind_a_feature_the_bank_has_off_is_not_reachable(
    verbs: VerbRegistry, flow: Flow
) -> None:
    guarded = load_flow_text(GUARDED, Path("rates.yaml"), verbs, None, "rates.yaml")
    check_operations("rates.yaml", guarded, Features(), "webservice", frozenset())
    on = Features.model_validate({"exchange_rates": {"currencies": ["EUR"]}})
    with pytest.raises(ConfigError, match=r"states\.rates\.params\.name"):
        check_operations("rates.yaml", guarded, on, "webservice", frozenset())
    # The shipped flow serves a bank whose adapter offers nothing, with its features off...
    check_operations(str(BANK_FLOW), flow, Features(), "webservice", frozenset())
    # ...and refuses one that turns a feature on its adapter cannot serve.
    with pytest.raises(ConfigError) as refused:
        check_features("infolinia.yaml", "konta", ALL_ON, "webservice", frozenset())
    assert str(refused.value).startswith(
        "infolinia.yaml: tenants.konta.features.several_accounts: needs the adapter operation"
    )
    check_features("infolinia.yaml", "konta", ALL_ON, "demo", frozenset(OFFERS))


def test_flow_check_refuses_it_naming_file_state_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flows = tmp_path / "rates.yaml"
    flows.write_text(UNGUARDED)
    config = tmp_path / "infolinia.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            voice:
              engines: [{{name: espeak-ng}}]
              cache_dir: {tmp_path / "cache"}
            prompts: {REPO / "config" / "prompts" / "pl.yaml"}
            state: {tmp_path / "state.sqlite"}
            tenants:
              web:
                name: Bank
                lines: ["100"]
                flow: {flows}
                adapter:
                  name: webservice
                  settings: {{base_url: "http://127.0.0.1:9/", secret_env: NO_SUCH_KEY}}
            """
        )
    )
    assert main(["--config", str(config), "flow", "check"]) == 2
    error = capsys.readouterr().err
    assert f"{flows}: states.rates.params.name: runs the adapter operation 'exchange_rates'" in (
        error
    )
    assert "'webservice' does not offer" in error


def test_a_feature_and_a_menu_extra_must_be_known(verbs: VerbRegistry) -> None:
    with pytest.raises(ConfigError, match="no feature 'rates'"):
        load_flow_text(
            GUARDED.replace("feature: exchange_rates", "feature: rates"),
            Path("f.yaml"),
            verbs,
            None,
            "f.yaml",
        )
    with pytest.raises(ValidationError, match="'JPY': rates can be read for EUR"):
        Features.model_validate({"exchange_rates": {"currencies": ["EUR", "JPY"]}})


def test_the_information_is_offered_up_to_its_date_inclusive() -> None:
    information = FEATURES["bank_information"]
    until = Features.model_validate({"bank_information": {"until": "2026-12-31"}})
    assert information.is_on(until, date(2026, 12, 31))
    assert not information.is_on(until, date(2027, 1, 1))
    assert information.is_on(Features.model_validate({"bank_information": {}}), date(2099, 1, 1))
    assert not information.is_on(Features(), date(2020, 1, 1))


# --- the demo bank ---------------------------------------------------------------------


async def test_the_demo_customer_has_a_savings_account_with_its_own_operations(
    demo: DemoBank,
) -> None:
    accounts = await demo.account_list(MARIA)
    assert [(a.kind, a.last4, a.currency) for a in accounts] == [
        (AccountKind.CURRENT, "4711", "PLN"),
        (AccountKind.SAVINGS, "9023", "PLN"),
    ]
    current = await demo.account_balance(MARIA, accounts[0].account_id)
    savings = await demo.account_balance(MARIA, accounts[1].account_id)
    assert (current.balance, current.available) == (Decimal("1234.56"), Decimal("1734.56"))
    assert (savings.balance, savings.available) == (Decimal("15000.00"), Decimal("15000.00"))
    history = await demo.account_operations(MARIA, accounts[1].account_id)
    assert [o.counterparty for o in history] == ["Odsetki", "Przelew własny"]
    # The last operations across accounts are still the personal account's five.
    assert "Odsetki" not in [o.counterparty for o in await demo.last_operations(MARIA)]
    with pytest.raises(NotFound):
        await demo.account_balance(JAN, accounts[0].account_id)
    with pytest.raises(NotFound):
        await demo.account_operations(JAN, accounts[1].account_id)
    await demo.close()


async def test_demo_rates_telekod_and_transfers(demo: DemoBank) -> None:
    demo.set_rates([ExchangeRate("EUR", Decimal("4.20"), Decimal("4.40"))])
    assert await demo.exchange_rates() == [ExchangeRate("EUR", Decimal("4.20"), Decimal("4.40"))]
    assert await demo.bank_information() is None
    demo.set_information("Nowa placówka.")
    assert await demo.bank_information() == "Nowa placówka."
    with pytest.raises(Refused) as wrong:
        await demo.change_telekod(JAN, "0000", "5803")
    assert "5803" not in str(wrong.value) and "0000" not in str(wrong.value)
    with pytest.raises(Refused):
        await demo.change_telekod(JAN, "4321", "12")  # too short for the demo core
    await demo.change_telekod(JAN, "4321", "5803")
    assert await demo.authenticate(JAN.number, "5803") == JAN
    with pytest.raises(Refused):
        await demo.authenticate(JAN.number, "4321")
    [first, second] = await demo.predefined_transfers(MARIA, "acc-12345678")
    assert (first.payee, first.amount, first.title) == (
        "PGE Obrót",
        Decimal("120.00"),
        "energia elektryczna",
    )
    done = await demo.execute_transfer(MARIA, first, "op-1")
    assert done.reference.isdigit() and await demo.execute_transfer(MARIA, first, "op-1") == done
    with pytest.raises(Refused):
        await demo.execute_transfer(MARIA, second, "op-1")
    with pytest.raises(NotFound):
        await demo.execute_transfer(JAN, first, "op-2")
    await demo.close()


# --- the bank flow on a fake call --------------------------------------------------------


async def test_several_accounts_are_listed_and_the_chosen_ones_funds_heard(
    flow: Flow, demo: DemoBank
) -> None:
    heard = await call(flow, demo, ALL_ON, "2", "12345678", "1234#", "2", "1")
    listed = next(keys for keys in heard if "account_savings" in keys and "press" in keys)
    assert listed == [
        "account_current", "account_ending", *said(digit_words("4711")), "press", *said(["jeden"]),
        "account_savings", "account_ending", *said(digit_words("9023")), "press", *said(["dwa"]),
    ]  # fmt: skip
    balance = next(keys for keys in heard if "available_is" in keys)
    assert balance == [
        "account_savings", "account_ending", *said(digit_words("9023")),
        "balance_is", *said(amount_words(Decimal("15000.00"))),
        "available_is", *said(amount_words(Decimal("15000.00"))),
    ]  # fmt: skip
    history = next(keys for keys in heard if keys[0] == "history_intro")
    assert live_key("Odsetki") in history and live_key("Biedronka") not in history
    assert ["balance_is"] not in [keys[:1] for keys in heard]  # not the old reading


async def test_one_account_hears_no_list_but_its_available_funds(
    flow: Flow, demo: DemoBank
) -> None:
    heard = await call(flow, demo, ALL_ON, "2", "87654321", "4321#")
    assert not [keys for keys in heard if "choose_account" in keys or "press" in keys]
    balance = next(keys for keys in heard if "available_is" in keys)
    assert balance[:2] == ["account_current", "account_ending"]
    assert balance[balance.index("balance_is") + 1 :] == [
        *said(amount_words(Decimal("0.01"))),
        "available_is",
        *said(amount_words(Decimal("0.01"))),
    ]


async def test_without_the_feature_the_balance_is_read_as_before(
    flow: Flow, demo: DemoBank
) -> None:
    heard = await call(flow, demo, Features(), "2", "12345678", "1234#")
    balances = next(keys for keys in heard if keys[0] == "balance_is")
    assert balances[1 : 1 + 8] == said(amount_words(Decimal("1234.56")))
    assert not [keys for keys in heard if "choose_account" in keys or "available_is" in keys]
    assert heard[1] == ["main_menu"]  # and the main menu offers nothing more


async def test_the_main_menu_offers_information_and_rates_when_on(
    flow: Flow, demo: DemoBank
) -> None:
    heard = await call(flow, demo, ALL_ON, "5")
    assert heard[1] == ["main_menu", "main_menu_information", "main_menu_rates"]
    assert heard[2] == ["bank_information"]
    heard = await call(flow, demo, ALL_ON, "6")
    rates = heard[2]
    assert rates == [
        "rates_intro",
        "currency_chf",
        "rate_buy",
        *said(amount_words(Decimal("4.50"))),
        "rate_sell",
        *said(amount_words(Decimal("4.69"))),
        "currency_eur",
        "rate_buy",
        *said(amount_words(Decimal("4.22"))),
        "rate_sell",
        *said(amount_words(Decimal("4.39"))),
    ]  # fmt: skip  (the bank's order, rounded to the grosz)


async def test_past_its_date_the_information_is_neither_offered_nor_taken(
    flow: Flow, demo: DemoBank
) -> None:
    past = {"bank_information": {"until": "2020-01-31"}}
    heard = await call(flow, demo, past, "5")
    assert heard[1] == ["main_menu"]
    assert ["bank_information"] not in heard
    assert heard[2] == ["invalid_choice"]


def test_the_demo_bank_cli_sets_and_shows_the_rates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "infolinia.yaml"
    config.write_text(
        "tenants:\n  konta: {name: K, lines: ['1'], flow: f.yaml, adapter: {name: demo, "
        f"settings: {{database: {tmp_path / 'd.sqlite'}, tenant: konta}}}}}}\n"
    )
    rates = ["--config", str(config), "demo-bank", "rates", "konta"]
    assert main([*rates, "--set", "EUR=4.21/4.38", "chf=4.5/4.69"]) == 0
    assert main([*rates, "--json"]) == 0
    shown = capsys.readouterr().out
    assert '"currency": "CHF"' in shown and '"sell": "4.38"' in shown
    assert main([*rates, "--set", "EUR=4.40/4.30"]) == 2  # buys above it sells
    assert "write CUR=BUY/SELL" in capsys.readouterr().err
    bank = DemoBank(DemoSettings(database=tmp_path / "d.sqlite", tenant="konta"))
    assert [r.currency for r in bank.rates()] == ["EUR", "CHF"]  # unchanged by the refusal
