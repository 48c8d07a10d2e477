"""``infolinia flow check|graph|export|import|publish|history|revert|diff``:
every tenant's call flow checked or drawn, and a bank's flow versions in the
state store (stasis_app/flow/versions.py)."""

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from stasis_app.config import load_settings

VERSION_ACTIONS = ("export", "import", "publish", "history", "revert", "diff")
DESCRIPTION = """\
check           load and validate every tenant's flow as 'infolinia run' would: unknown
                verbs or params, missing prompts, transitions to missing states, dead ends
                and unreachable states are reported with file, state and field (exit 2);
                so is every key a language's prompt catalogue (uk.yaml, en.yaml next to
                pl.yaml) lacks or has that pl.yaml does not, with file and key.
graph TENANT    write the tenant's flow as a diagram: Mermaid text and an SVG (Graphviz).

A bank's flow lives in the state store as versions (docs/flows.md, "Versions and
publishing"); its flow file is version 1 (a bank with no version yet gets it now):
export TENANT [--version N] [--out FILE]
                the live version's YAML (or version N's) to stdout or FILE.
import TENANT FILE [--comment C]
                FILE as a new draft, checked by the app's flow checker; a draft with a
                problem is kept but cannot be published (exit 2, the problem named by
                state and field).
publish TENANT [--version N]
                make the newest draft (or draft N) live: checked again, then published
                in one transaction; every node of the deployment takes it within a
                second, calls in progress finish on their version. Audited.
history TENANT [--json]
                every version, newest first: number, state, when, who, hash, comment.
revert TENANT --version N [--comment C]
                publish version N's text again, as a new version. Audited.
diff TENANT [--version N] [--against M]
                a unified diff of the YAML, from the live version (or M) to the newest
                draft (or N), and the states added, removed or changed.
"""


def add_commands(commands: Any) -> None:
    flow = commands.add_parser(
        "flow",
        help="check, draw and version every tenant's call flow",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    flow.add_argument("action", choices=["check", "graph", *VERSION_ACTIONS])
    flow.add_argument("tenant", nargs="?", help="whose flow (all but check)")
    flow.add_argument("file", nargs="?", type=Path, help="import: the YAML file")
    flow.add_argument("--json", action="store_true", help="check, history: as JSON")
    flow.add_argument(
        "--out",
        type=Path,
        default=None,
        help="graph: folder for TENANT-flow.mmd and TENANT-flow.svg (default: .); "
        "export: the file to write (default: stdout)",
    )
    flow.add_argument(
        "--version", type=int, help="export, publish, revert, diff: which version (a number)"
    )
    flow.add_argument("--against", type=int, help="diff: the version compared with (default: live)")
    flow.add_argument("--comment", default="", help="import, revert: what and why")
    flow.add_argument(
        "--as",
        dest="who",
        default=None,
        help="import, publish, revert: who does it (default: the system user)",
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
    if args.action in VERSION_ACTIONS:
        return _versions(args, settings, deployment)
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
    out = args.out or Path(".")
    out.mkdir(parents=True, exist_ok=True)
    mermaid = out / f"{args.tenant}-flow.mmd"
    svg = out / f"{args.tenant}-flow.svg"
    mermaid.write_text(to_mermaid(served.flow), encoding="utf-8")
    render_svg(to_dot(served.flow), svg)
    print(f"{mermaid}\n{svg}")
    return 0


def _fail(message: str) -> int:
    print(f"infolinia: {message}", file=sys.stderr)
    return 2


def _versions(args: argparse.Namespace, settings: Any, deployment: Any) -> int:
    from stasis_app.flow.versions import FlowRejected, FlowVersions, VersionError
    from stasis_app.store import Store

    tenant = args.tenant
    if tenant not in deployment.tenants:
        return _fail(f"flow {args.action} needs a tenant: one of {', '.join(deployment.tenants)}")
    flows = FlowVersions(Store(settings.state))
    flows.seed(deployment, changed_files=False)  # a bank with no version: its file is version 1
    who = args.who or getpass.getuser()
    check = deployment.check_flow
    try:
        if args.action == "export":
            version = (
                flows.get(tenant, args.version)
                if args.version is not None
                else flows.published(tenant)
            )
            if version is None:
                return _fail(f"{tenant} has no live version")
            if args.out is None:
                sys.stdout.write(version.text)
            else:
                args.out.write_text(version.text, encoding="utf-8")
                print(f"{args.out}: version {version.number} ({version.state}, {version.hash})")
            return 0
        if args.action == "import":
            if args.file is None:
                return _fail("flow import needs the YAML file: flow import TENANT FILE")
            try:
                text = args.file.read_text(encoding="utf-8")
            except OSError as exc:
                return _fail(f"{args.file}: {exc.strerror or exc}")
            draft = flows.save_draft(
                tenant, text, who, check, comment=args.comment, origin="import"
            )
            if draft.problem is not None:
                print(
                    f"{tenant}: draft {draft.number} saved with a problem, it cannot be "
                    f"published: {draft.problem}"
                    + (f" (state {draft.problem.state})" if draft.problem.state else ""),
                    file=sys.stderr,
                )
                return 2
            print(f"{tenant}: draft {draft.number} saved ({draft.hash}); checked: ok")
            return 0
        if args.action == "publish":
            number = args.version
            if number is None:
                newest = flows.newest_draft(tenant)
                if newest is None:
                    return _fail(f"{tenant} has no draft to publish (flow import first)")
                number = newest.number
            version = flows.publish(tenant, number, who, check)
            print(f"{tenant}: version {version.number} is live ({version.hash})")
            return 0
        if args.action == "revert":
            if args.version is None:
                return _fail("flow revert needs --version N (see flow history)")
            version = flows.revert(tenant, args.version, who, check, args.comment)
            print(
                f"{tenant}: version {version.number} is live "
                f"({version.hash}, the text of version {args.version})"
            )
            return 0
        if args.action == "history":
            history = flows.history(tenant)
            if args.json:
                print(json.dumps({"versions": [v.summary() for v in history]}, indent=2))
                return 0
            for v in history:
                problem = f"  problem: {v.problem}" if v.problem else ""
                print(
                    f"{v.number:>4}  {v.state:<9}  {v.at}  {v.author}  {v.hash}  "
                    f"{v.origin}  {v.comment}{problem}"
                )
            return 0
        return _diff(args, flows, tenant)
    except FlowRejected as exc:
        state = f" (state {exc.problem.state})" if exc.problem.state else ""
        return _fail(f"{tenant}: {exc}{state}; nothing changed")
    except VersionError as exc:
        return _fail(f"{tenant}: {exc}")


def _diff(args: argparse.Namespace, flows: Any, tenant: str) -> int:
    new = args.version
    if new is None:
        draft = flows.newest_draft(tenant)
        if draft is None:
            return _fail(f"{tenant} has no draft: name one with --version N")
        new = draft.number
    old = args.against
    if old is None:
        live = flows.published(tenant)
        if live is None:
            return _fail(f"{tenant} has no live version: name one with --against M")
        old = live.number
    diff = flows.diff(tenant, old, new)
    sys.stdout.write(diff.unified)
    for label, names in (
        ("added", diff.added),
        ("removed", diff.removed),
        ("changed", diff.changed),
    ):
        if names:
            print(f"# states {label}: {', '.join(names)}")
    if diff.initial:
        print(f"# initial state: {diff.initial[0]} -> {diff.initial[1]}")
    return 0
