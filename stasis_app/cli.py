"""The ``infolinia`` command."""

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from stasis_app import __version__
from stasis_app.cli_prompts import add_commands as add_prompt_commands
from stasis_app.cli_prompts import run_admin, run_prompts
from stasis_app.cli_queue import add_commands as add_queue_commands
from stasis_app.cli_queue import run_queue
from stasis_app.cli_records import add_commands as add_record_commands
from stasis_app.cli_records import run_audit, run_journal
from stasis_app.config import DEFAULT_CONFIG, load_settings
from stasis_app.errors import AriRefusedLogin, ConfigError
from stasis_app.logs import setup_logging
from stasis_app.sandbox import Sandbox, SandboxError

DESCRIPTION = """\
infolinia: self-service phone banking for cooperative banks, served as an
Asterisk ARI (Stasis) application that speaks Polish.

  infolinia sandbox up      build (once) and start a real Asterisk 22 on this machine
  infolinia run             render the prompts and serve calls on the demo numbers
  infolinia call 100 --keys "4711#"   call a line and print what the caller heard
  infolinia sandbox status  what runs, where, and how to reach it (--json)
  infolinia prompts set cieszyn greeting "Dzień dobry..."   change a prompt, live
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="infolinia",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"infolinia {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG,
        help=f"config file (default: {DEFAULT_CONFIG}; or $INFOLINIA_CONFIG)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser(
        "run",
        help="serve calls: render prompts, connect to ARI, one task per call",
        description="Render every prompt, connect to Asterisk's ARI (URL, user and password "
        "from the config or INFOLINIA_ARI_URL/_USER/_PASSWORD), register the Stasis app and "
        "serve calls until Ctrl-C or SIGTERM. Logs are JSON lines on stderr.",
    )

    call = commands.add_parser(
        "call",
        help="place a real call to a line and print what the caller heard",
        description="Call LINE through Asterisk (a Local channel whose caller half is driven "
        "over ARI). Each time the line falls quiet after a prompt, the next key group is "
        "pressed. Prints a transcript: each prompt's text, each key group, the outcome.",
    )
    call.add_argument("line", help="the dialled number, e.g. 100")
    call.add_argument(
        "--keys", default="", help='key groups separated by spaces, e.g. "1 12345678 1234#"'
    )
    call.add_argument("--wav", type=Path, help="record what the caller heard to this WAV file")
    call.add_argument(
        "--caller", default="600000000", help="the calling number (default 600000000)"
    )
    call.add_argument("--json", action="store_true", help="transcript as JSON")
    call.add_argument(
        "--gap", type=float, default=0.6, help="seconds of quiet before keys are pressed"
    )
    call.add_argument(
        "--hangup-after",
        type=float,
        metavar="SECONDS",
        help="hang up this long after the last keys once the line is quiet (0: at once); "
        "default: wait for the line to hang up",
    )

    flow = commands.add_parser(
        "flow",
        help="check every tenant's call flow",
        description="'check' loads and validates every tenant's flow as 'infolinia run' "
        "would: unknown verbs or params, missing prompts, transitions to missing states, dead "
        "ends and unreachable states are reported with file, state and field (exit 2). "
        "'graph TENANT' writes the tenant's flow as a diagram: Mermaid text and an SVG "
        "(drawn by Graphviz).",
    )
    flow.add_argument("action", choices=["check", "graph"])
    flow.add_argument("tenant", nargs="?", help="graph: whose flow to draw")
    flow.add_argument("--json", action="store_true", help="check: report as JSON")
    flow.add_argument(
        "--out",
        type=Path,
        default=Path("."),
        help="graph: folder for TENANT-flow.mmd (Mermaid) and TENANT-flow.svg (default: .)",
    )

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
        "references; 'reset' restores the seed data of every demo tenant (or of TENANT).",
    )
    demo_bank.add_argument("action", choices=["show", "reset"])
    demo_bank.add_argument("tenant", nargs="?", help="tenant id, e.g. izbica")
    demo_bank.add_argument("customer", nargs="?", help="customer number, e.g. 12345678")
    demo_bank.add_argument("--json", action="store_true", help="state as JSON")

    sandbox = commands.add_parser(
        "sandbox",
        help="a real Asterisk 22 on this machine (Debian unstable root, chroot)",
        description="Manage the Asterisk sandbox. 'up' debootstraps a Debian unstable root with "
        "Asterisk once into $INFOLINIA_SANDBOX_DIR (default /var/cache/infolinia/sandbox), "
        "installs docker/asterisk/etc, starts Asterisk and waits for ARI. Needs root.",
    )
    add_prompt_commands(commands)
    add_record_commands(commands)
    add_queue_commands(commands)
    sandbox.add_argument("action", choices=["up", "down", "status", "restart"])
    sandbox.add_argument("--json", action="store_true", help="status as JSON")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "sandbox":
            return _sandbox(args)
        if args.command == "call":
            return _call(args)
        if args.command == "flow":
            return _flow(args)
        if args.command == "demo-bank":
            return _demo_bank(args)
        if args.command == "adapters":
            return _adapters(args)
        if args.command == "prompts":
            return run_prompts(args)
        if args.command == "admin":
            return run_admin(args)
        if args.command == "audit":
            return run_audit(args)
        if args.command == "journal":
            return run_journal(args)
        if args.command == "queue":
            return run_queue(args)
        return _run(args)
    except (ConfigError, SandboxError) as exc:
        print(f"infolinia: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from stasis_app.app import InfoliniaApp  # imports aioari; not needed for sandbox commands

    settings = load_settings(args.config)
    setup_logging(settings.log_level)
    try:
        asyncio.run(InfoliniaApp(settings).serve())
    except AriRefusedLogin:
        print(
            f"infolinia: {settings.source}: ari.user/ari.password: Asterisk at "
            f"{settings.ari.url} refused user {settings.ari.user!r} (wrong password? it comes "
            "from $INFOLINIA_ARI_PASSWORD or ari.password_file)",
            file=sys.stderr,
        )
        return 2
    return 0


def _call(args: argparse.Namespace) -> int:
    from stasis_app.deployment import build_deployment
    from stasis_app.prompt_admin import PromptAdmin
    from stasis_app.simulator import CallSimulator
    from stasis_app.store import Store

    settings = load_settings(args.config)
    deployment = build_deployment(settings, with_adapters=False)
    PromptAdmin(deployment, Store(settings.state)).load_stored()  # name edited prompts too
    simulator = CallSimulator(settings.ari, deployment.heard_texts())
    wav = args.wav.resolve() if args.wav else None
    transcript = asyncio.run(
        simulator.call(
            args.line,
            args.keys.split(),
            wav=wav,
            quiet_gap=args.gap,
            hangup_after=args.hangup_after,
            caller_number=args.caller,
        )
    )
    print(transcript.as_json() if args.json else transcript.as_text())
    return 0 if transcript.outcome in ("the line hung up", "the caller hung up") else 1


def _flow(args: argparse.Namespace) -> int:
    from stasis_app.deployment import build_deployment

    settings = load_settings(args.config, resolve_secrets=False)
    deployment = build_deployment(settings, with_adapters=False)
    if args.action == "graph":
        return _flow_graph(args, deployment)
    report: dict[str, dict[str, Any]] = {
        tenant_id: {
            "flow": str(line.flow.source),
            "states": len(line.flow.states),
            "prompts": len(line.flow.prompt_keys()),
            "lines": line.tenant.lines,
        }
        for tenant_id, line in deployment.tenants.items()
    }
    if args.json:
        print(json.dumps({"ok": True, "tenants": report}, indent=2))
    else:
        for tenant_id, info in report.items():
            print(
                f"{tenant_id}: {info['flow']} ok ({info['states']} states, "
                f"{info['prompts']} prompts, lines {', '.join(info['lines'])})"
            )
    return 0


def _flow_graph(args: argparse.Namespace, deployment: Any) -> int:
    from stasis_app.flow.graph import render_svg, to_dot, to_mermaid

    line = deployment.tenants.get(args.tenant)
    if line is None:
        known = ", ".join(deployment.tenants)
        print(f"infolinia: flow graph needs a tenant: one of {known}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    mermaid = args.out / f"{args.tenant}-flow.mmd"
    svg = args.out / f"{args.tenant}-flow.svg"
    mermaid.write_text(to_mermaid(line.flow), encoding="utf-8")
    render_svg(to_dot(line.flow), svg)
    print(f"{mermaid}\n{svg}")
    return 0


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
    banks = {
        tenant_id: DemoBank(DemoSettings(**tenant.adapter.settings))
        for tenant_id, tenant in settings.tenants.items()
        if tenant.adapter.name == "demo" and args.tenant in (None, tenant_id)
    }
    if not banks:
        print(f"infolinia: no demo-bank tenant {args.tenant or ''}".rstrip(), file=sys.stderr)
        return 2
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


def _sandbox(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, resolve_secrets=False)
    sandbox = Sandbox.default(prompt_dir=settings.voice.cache_dir)
    if args.action == "up":
        sandbox.up()
    elif args.action == "down":
        sandbox.down()
    elif args.action == "restart":
        sandbox.restart()
    status = sandbox.status()
    if args.json:
        print(json.dumps(status, indent=2))
    elif args.action == "status":
        for key, value in status.items():
            print(f"{key:24} {value}")
    return 0 if args.action == "down" or status["ari_answers"] else 1
