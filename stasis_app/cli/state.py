"""``infolinia state ...``: the state store itself. ``migrate --to URL``
moves a deployment's state (SQLite, the one-node default) into an empty
PostgreSQL store that several nodes can share."""

import argparse
import json
from typing import Any

from stasis_app.config import check_state_url, load_settings
from stasis_app.errors import ConfigError
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.audit_key import AuditKeyMissing
from stasis_app.store import LATEST, Store
from stasis_app.store.transfer import copy_store


def add_commands(commands: Any) -> None:
    state = commands.add_parser(
        "state",
        help="the state store: move it into PostgreSQL (several nodes), see its version",
        description="'migrate --to postgresql://USER@HOST:PORT/DATABASE' copies everything "
        "in this deployment's state store (state: in the config: prompt texts and their "
        "history, recordings, admin users, sessions and tokens, the audit trail, the block "
        "journal, callbacks, the login guard's locks) into an empty PostgreSQL store, in one "
        "transaction, and then verifies the audit trail there with the deployment's audit "
        "key. A store that is not empty is refused. The password is never in the URL: give "
        "it in $INFOLINIA_STATE_PASSWORD, in a 0600 file named by "
        "$INFOLINIA_STATE_PASSWORD_FILE, or in ~/.pgpass. Stop the app first (what it "
        "writes after the copy began is not moved), then set state: to the URL. "
        "'version' prints the store's schema version.",
    )
    state.add_argument("action", choices=["migrate", "version"])
    state.add_argument("--to", metavar="URL", help="migrate: the PostgreSQL store to fill")
    state.add_argument("--json", action="store_true", help="as JSON")
    state.set_defaults(handler=run_state)


def run_state(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, resolve_secrets=False)
    source = Store(settings.state)
    if args.action == "version":
        found = source.schema_version()
        print(json.dumps({"version": found, "latest": LATEST}) if args.json else found)
        return 0
    if not args.to:
        raise ConfigError(str(args.config), "--to", "migrate needs --to postgresql://...")
    try:
        url = check_state_url(args.to)
    except ValueError as exc:
        raise ConfigError("--to", "state", str(exc)) from None
    target = Store(url)
    copied = copy_store(source, target)
    check = _verify(source, target)
    report = {"to": url, "rows": copied, "audit": check}
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"copied {sum(copied.values())} rows into {url}:")
        for table, count in copied.items():
            print(f"  {table:20} {count}")
        print(f"audit trail there: {check['verdict']}")
        print(f"next: set state: {url} in {settings.source} (and the password's env or file)")
    source.close()
    target.close()
    return 0 if check["ok"] else 1


def _verify(source: Store, target: Store) -> dict[str, Any]:
    """The audit trail as moved, verified whole with the deployment's key."""
    try:
        key = AuditLog(source).key()
    except AuditKeyMissing:
        entries = len(AuditLog(target).page(limit=1))
        verdict = "empty" if not entries else "not verified: no audit key"
        return {"ok": not entries, "entries": 0, "verdict": verdict}
    check = AuditLog(target, key).verify(full=True)
    verdict = (
        f"intact, {check.entries} entries"
        if check.ok
        else f"BROKEN at entry #{check.first_bad}: {check.problem}"
    )
    return {"ok": check.ok, "entries": check.entries, "verdict": verdict}
