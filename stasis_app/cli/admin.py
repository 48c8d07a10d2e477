"""``infolinia admin ...``: tokens for the admin HTTP API and users of the
admin page, made and removed from a shell (each audited)."""

import argparse
import getpass
import sys
from typing import Any

from stasis_app.admin.web.accounts import ROLES, AccountError, Accounts
from stasis_app.config import load_settings
from stasis_app.safeguards.audit import AuditLog
from stasis_app.store import TOKEN_SCOPES, Store


def add_commands(commands: Any) -> None:
    admin = commands.add_parser(
        "admin",
        help="tokens for the admin HTTP API, users of the admin page",
        description="'token NAME --tenant T --scope S' makes (or replaces) NAME's token for "
        "tenant T ('*' for all) that may do S (prompts, queues, supervise; repeat or comma-"
        "separate for more; default prompts) and prints it once; only its hash is kept. "
        "'revoke NAME' removes it. "
        "'user NAME --role R --tenant T' makes (or replaces) a user of the admin page "
        "(/admin/ on the admin server); the password is read from standard input "
        "(one line) or asked for twice on a terminal, never taken from the command line. "
        "'remove-user NAME' removes one.",
    )
    admin.add_argument("action", choices=["token", "revoke", "user", "remove-user"])
    admin.add_argument("name", help="who the token or user is for, e.g. anna.kowalska")
    admin.add_argument("--tenant", help="token/user: the tenant id they may see, or '*'")
    admin.add_argument(
        "--scope",
        action="append",
        help="token: what it may do: prompts (edit prompts), queues (queues, callbacks), "
        "supervise (listen in to calls); default prompts only",
    )
    admin.add_argument(
        "--role",
        choices=ROLES,
        help="user: admin (prompts, flow), supervisor (live calls), "
        "auditor (audit trail, read only)",
    )
    admin.set_defaults(handler=run_admin)


def run_admin(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, resolve_secrets=False)
    store = Store(settings.state)
    audit = AuditLog(store)
    if args.action == "revoke":
        if not store.revoke_token(args.name):
            print(f"infolinia: no token named {args.name}", file=sys.stderr)
            return 1
        audit.append(tenant="*", action="admin_token", result="revoked", detail={"name": args.name})
        print(f"{args.name}: token revoked")
        return 0
    if args.action == "remove-user":
        if not Accounts(store).remove_user(args.name):
            print(f"infolinia: no user named {args.name}", file=sys.stderr)
            return 1
        audit.append(tenant="*", action="admin_user", result="removed", detail={"name": args.name})
        print(f"{args.name}: user removed")
        return 0
    if args.tenant is None:
        print(f"infolinia: {args.action} needs --tenant (a tenant id, or '*')", file=sys.stderr)
        return 2
    if args.tenant != "*" and args.tenant not in settings.tenants:
        known = ", ".join(sorted(settings.tenants))
        print(f"infolinia: no tenant {args.tenant!r} (tenants: {known})", file=sys.stderr)
        return 2
    if args.action == "user":
        return _make_user(args, store, audit)
    scopes = tuple(s.strip() for given in args.scope or ["prompts"] for s in given.split(","))
    if not scopes or not set(scopes) <= set(TOKEN_SCOPES):
        print(f"infolinia: --scope is one of {', '.join(TOKEN_SCOPES)}", file=sys.stderr)
        return 2
    token = store.create_token(args.name, args.tenant, scopes)
    audit.append(
        tenant=args.tenant,
        action="admin_token",
        result="created",
        detail={"name": args.name, "scopes": sorted(set(scopes))},
    )
    print(token)
    print(
        f"(shown once: the token of {args.name} for {args.tenant}, "
        f"may: {' '.join(sorted(set(scopes)))})",
        file=sys.stderr,
    )
    return 0


def _read_password() -> str:
    """From a terminal: asked twice, not echoed. Otherwise the first line of stdin."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Hasło: ")
    if getpass.getpass("Powtórz hasło: ") != first:
        raise AccountError("the two passwords differ")
    return first


def _make_user(args: argparse.Namespace, store: Store, audit: AuditLog) -> int:
    if args.role is None:
        print("infolinia: user needs --role (admin, supervisor or auditor)", file=sys.stderr)
        return 2
    try:
        user = Accounts(store).set_user(args.name, args.role, args.tenant, _read_password())
    except AccountError as exc:
        print(f"infolinia: {exc}", file=sys.stderr)
        return 2
    audit.append(
        tenant=user.tenant,
        action="admin_user",
        result="created",
        detail={"name": user.name, "role": user.role},
    )
    print(f"{user.name}: {user.role} of {user.tenant}; logs in at /admin/ on the admin server")
    return 0
