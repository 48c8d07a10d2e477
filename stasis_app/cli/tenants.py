"""``infolinia tenant list|show|export``: the banks a deployment serves, the
config file's and those added on the admin page (kept in the state store),
each saying where it came from (stasis_app/tenancy)."""

import argparse
import json
import sys
from typing import Any

import yaml

from stasis_app.config import load_settings

DESCRIPTION = """\
list            every bank: id, name, numbers, adapter and where it came from (the
                config file, or the admin page: who added it, when).
show TENANT     one bank: where it came from and its whole config.
export [TENANT] the bank (or every bank of the store) as YAML to put under 'tenants:' in
                the config file (its flow named relative to the file); with --json, JSON.

A bank of the store that does not load here (its adapter's plugin is missing,
the file took its number) is listed with its problem.
"""


def add_commands(commands: Any) -> None:
    tenant = commands.add_parser(
        "tenant",
        help="the banks served: from the config file and added on the admin page",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tenant.add_argument("action", choices=["list", "show", "export"])
    tenant.add_argument("tenant", nargs="?", help="show, export: which bank")
    tenant.add_argument("--json", action="store_true", help="as JSON")
    tenant.set_defaults(handler=_tenant)


def _tenant(args: argparse.Namespace) -> int:
    from stasis_app.store import Store
    from stasis_app.tenancy.stored import TenantStore, file_entry, origins, with_stored

    settings = load_settings(args.config, resolve_secrets=False)
    stored = TenantStore(Store(settings.state)).all()
    merged, left_out = with_stored(settings, stored)
    found = origins(settings, stored, left_out)
    specs: dict[str, dict[str, Any]] = {
        tenant: file_entry(settings, config) for tenant, config in merged.tenants.items()
    }
    for bank in stored:  # one left out here: as the page saved it
        specs.setdefault(bank.id, bank.spec)
    if args.action in ("show", "export") and args.tenant is not None:
        if args.tenant not in found:
            print(f"infolinia: no bank {args.tenant} (banks: {', '.join(found)})", file=sys.stderr)
            return 2
        found = {args.tenant: found[args.tenant]}
    elif args.action == "show":
        print("infolinia: tenant show needs a bank", file=sys.stderr)
        return 2
    elif args.action == "export":  # every bank of the store: what the file lacks
        found = {tenant: origin for tenant, origin in found.items() if origin.kind == "store"}
    if args.action == "export":
        entries = {tenant: specs[tenant] for tenant in found}
        if args.json:
            print(json.dumps(entries, indent=2, ensure_ascii=False))
        else:
            print(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), end="")
        return 0
    if args.json:
        listed = [
            {
                "id": tenant,
                "name": specs[tenant].get("name", ""),
                "lines": specs[tenant].get("lines", []),
                "adapter": specs[tenant].get("adapter", {}).get("name", ""),
                "origin": origin.as_json(),
                **({"config": specs[tenant]} if args.action == "show" else {}),
            }
            for tenant, origin in found.items()
        ]
        print(
            json.dumps(listed if args.action == "list" else listed[0], indent=2, ensure_ascii=False)
        )
        return 0
    for tenant, origin in found.items():
        spec = specs[tenant]
        lines = ", ".join(spec.get("lines", []))
        adapter = spec.get("adapter", {}).get("name", "")
        problem = f"  NOT SERVED: {origin.problem}" if origin.problem else ""
        if args.action == "list":
            name = spec.get("name", "")
            print(f"{tenant:14} {name} [{lines}] {adapter}; {origin.describe()}{problem}")
            continue
        print(f"{tenant}: {spec.get('name', '')}\nfrom: {origin.describe()}{problem}")
        print(yaml.safe_dump({tenant: spec}, allow_unicode=True, sort_keys=False), end="")
    return 0
