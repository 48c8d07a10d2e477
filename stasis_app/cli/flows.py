"""``infolinia flow check|graph``: every tenant's call flow, checked or drawn."""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from stasis_app.config import load_settings


def add_commands(commands: Any) -> None:
    flow = commands.add_parser(
        "flow",
        help="check every tenant's call flow",
        description="'check' loads and validates every tenant's flow as 'infolinia run' "
        "would: unknown verbs or params, missing prompts, transitions to missing states, dead "
        "ends and unreachable states are reported with file, state and field (exit 2); so is "
        "every key a language's prompt catalogue (uk.yaml, en.yaml next to pl.yaml) lacks "
        "or has that pl.yaml does not, with file and key. "
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
    flow.set_defaults(handler=_flow)


def _flow(args: argparse.Namespace) -> int:
    from stasis_app.deployment import build_deployment, catalogue_problems

    settings = load_settings(args.config, resolve_secrets=False)
    if args.action == "check":
        # Every language's missing keys at once (loading stops at the first).
        problems = catalogue_problems(settings)
        if problems:
            if args.json:
                listed = [{"file": p.file, "key": p.field, "problem": p.problem} for p in problems]
                print(json.dumps({"ok": False, "problems": listed}, indent=2))
            for problem in problems:
                print(f"infolinia: {problem}", file=sys.stderr)
            return 2
    deployment = build_deployment(settings, with_adapters=False)
    if args.action == "graph":
        return _flow_graph(args, deployment)
    report: dict[str, dict[str, Any]] = {
        tenant_id: {
            "flow": str(served.flow.source),
            "states": len(served.flow.states),
            "prompts": len(served.flow.prompt_keys()),
            "lines": served.tenant.lines,
            "languages": ["pl", *served.books],
        }
        for tenant_id, served in deployment.tenants.items()
    }
    if args.json:
        print(json.dumps({"ok": True, "tenants": report}, indent=2))
    else:
        for tenant_id, info in report.items():
            print(
                f"{tenant_id}: {info['flow']} ok ({info['states']} states, "
                f"{info['prompts']} prompts, lines {', '.join(info['lines'])}, "
                f"languages {', '.join(info['languages'])})"
            )
    return 0


def _flow_graph(args: argparse.Namespace, deployment: Any) -> int:
    from stasis_app.flow.graph import render_svg, to_dot, to_mermaid

    served = deployment.tenants.get(args.tenant)
    if served is None:
        known = ", ".join(deployment.tenants)
        print(f"infolinia: flow graph needs a tenant: one of {known}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    mermaid = args.out / f"{args.tenant}-flow.mmd"
    svg = args.out / f"{args.tenant}-flow.svg"
    mermaid.write_text(to_mermaid(served.flow), encoding="utf-8")
    render_svg(to_dot(served.flow), svg)
    print(f"{mermaid}\n{svg}")
    return 0
