"""``infolinia adapters list`` and ``infolinia demo-bank show|reset|sms|rates``:
the core-banking adapters installed, and the demo bank's data."""

import argparse
import json
import sys
from typing import Any

from stasis_app.config import load_settings


def add_commands(commands: Any) -> None:
    adapters = commands.add_parser(
        "adapters",
        help="list the core-banking adapters the installed plugins provide",
        description="Load adapter plugins as 'infolinia run' does (entry point group "
        "infolinia.adapters, then the built-ins; $INFOLINIA_DISABLE_PLUGINS blocks some) and "
        "list each adapter with the package and version it comes from.",
    )
    adapters.add_argument("action", choices=["list"])
    adapters.add_argument("--json", action="store_true", help="as JSON")

    demo_bank = commands.add_parser(
        "demo-bank",
        help="look at or reset the demo bank's data",
        description="The demo adapter's sandbox bank. 'show TENANT CUSTOMER' prints the "
        "customer's cards, internet-banking status, balances and blocks with their "
        "references; 'reset' restores the seed data of every demo tenant (or of TENANT); "
        "'sms [TENANT [CUSTOMER]]' shows the text messages the demo-outbox SMS sender "
        "wrote (the one-time codes a customer's phone would get), newest last; "
        "'rates TENANT' prints the bank's table of exchange rates, and with "
        "--set EUR=4.21/4.38 USD=3.95/4.12 ... replaces it (buy/sell in złoty for one unit).",
    )
    demo_bank.add_argument("action", choices=["show", "reset", "sms", "rates"])
    demo_bank.add_argument("tenant", nargs="?", help="tenant id, e.g. izbica")
    demo_bank.add_argument("customer", nargs="?", help="customer number, e.g. 12345678")
    demo_bank.add_argument("--json", action="store_true", help="state as JSON")
    demo_bank.add_argument(
        "--set",
        nargs="+",
        metavar="CUR=BUY/SELL",
        help="rates: the new table, e.g. EUR=4.21/4.38 CHF=4.50/4.69",
    )
    adapters.set_defaults(handler=_adapters)
    demo_bank.set_defaults(handler=_demo_bank)


def _adapters(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from adapters.registry import AdapterRegistry

    infos = AdapterRegistry().describe()
    if args.json:
        print(json.dumps([asdict(info) for info in infos], indent=2))
        return 0
    width = max((len(f"{i.package} {i.version}") for i in infos), default=0)
    for info in infos:
        origin = f"{info.package} {info.version}"
        print(f"{info.name:12} {origin:{width}}  {info.description}")
    return 0


def _demo_bank(args: argparse.Namespace) -> int:
    from adapters.demo import DemoBank, DemoSettings
    from adapters.errors import NotFound

    settings = load_settings(args.config, resolve_secrets=False)
    if args.action == "sms":
        return _demo_sms(settings, args)
    banks = {
        tenant_id: DemoBank(DemoSettings(**tenant.adapter.settings))
        for tenant_id, tenant in settings.tenants.items()
        if tenant.adapter.name == "demo" and args.tenant in (None, tenant_id)
    }
    if not banks:
        print(f"infolinia: no demo-bank tenant {args.tenant or ''}".rstrip(), file=sys.stderr)
        return 2
    if args.action == "rates":
        return _demo_rates(banks, args)
    if args.action == "reset":
        for tenant_id, bank in banks.items():
            bank.reset()
            print(f"{tenant_id}: demo bank reset to its seed data")
        return 0
    if args.tenant is None or args.customer is None:
        print("infolinia: demo-bank show needs TENANT and CUSTOMER", file=sys.stderr)
        return 2
    try:
        state = banks[args.tenant].snapshot(args.customer)
    except NotFound:
        print(f"infolinia: no customer {args.customer} at {args.tenant}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(state, indent=2, ensure_ascii=False))
        return 0
    print(f"{state['tenant']} customer {state['customer']}")
    print(f"  internet banking: {state['internet_banking']}")
    for card in state["cards"]:
        print(f"  card ...{card['last4']} ({card['kind']}): {card['status']}")
    for account in state["accounts"]:
        print(f"  {account['name']}: {account['balance']} {account['currency']}")
    for block in state["blocks"]:
        print(f"  block {block['kind']} {block['target']}: reference {block['reference']}")
    return 0


def _demo_rates(banks: dict[str, Any], args: argparse.Namespace) -> int:
    """Print a demo bank's exchange rates, or replace them (``--set``)."""
    from decimal import Decimal, InvalidOperation

    from adapters.spec import ExchangeRate

    if args.tenant is None:
        print("infolinia: demo-bank rates needs TENANT", file=sys.stderr)
        return 2
    bank = banks[args.tenant]
    if args.set:
        table = []
        for given in args.set:
            currency, _, prices = given.partition("=")
            buy, _, sell = prices.partition("/")
            try:
                rate = ExchangeRate(currency.strip().upper(), Decimal(buy), Decimal(sell))
            except InvalidOperation:
                rate = None
            if (
                rate is None
                or len(rate.currency) != 3
                or not rate.currency.isalpha()
                or not (0 < rate.buy <= rate.sell)
            ):
                print(
                    f"infolinia: --set {given!r}: write CUR=BUY/SELL, e.g. EUR=4.21/4.38 "
                    "(positive, buy not above sell)",
                    file=sys.stderr,
                )
                return 2
            table.append(rate)
        bank.set_rates(table)
    rates = bank.rates()
    if args.json:
        shown = [
            {"currency": r.currency, "buy": str(r.buy), "sell": str(r.sell), "units": r.units}
            for r in rates
        ]
        print(json.dumps(shown, indent=2))
        return 0
    for rate in rates:
        print(f"{rate.currency}  buy {rate.buy}  sell {rate.sell}")
    return 0


def _demo_sms(settings: Any, args: argparse.Namespace) -> int:
    """The messages of every bank whose SMS sender is the demo outbox (or of TENANT)."""
    from pathlib import Path

    from adapters.sms_outbox import read_outbox

    outboxes = {
        Path(tenant.sms.settings["outbox"])
        for tenant_id, tenant in settings.tenants.items()
        if tenant.sms is not None
        and tenant.sms.sender == "demo-outbox"
        and "outbox" in tenant.sms.settings
        and args.tenant in (None, tenant_id)
    }
    if not outboxes:
        print(f"infolinia: no demo-outbox SMS sender {args.tenant or ''}".rstrip(), file=sys.stderr)
        return 2
    messages = sorted(
        (
            message
            for outbox in outboxes
            for message in read_outbox(outbox)
            if args.tenant in (None, message.get("tenant"))
            and args.customer in (None, message.get("customer"))
        ),
        key=lambda message: str(message.get("at")),
    )
    if args.json:
        print(json.dumps(messages, indent=2, ensure_ascii=False))
        return 0
    for message in messages:
        print(f"{message['at']} {message['tenant']} {message['customer']}: {message['text']}")
    return 0
