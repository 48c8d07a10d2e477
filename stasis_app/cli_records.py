"""``infolinia audit ...`` and ``infolinia journal ...``: the records a bank
keeps of what its phone line did."""

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from stasis_app.audit import AuditLog
from stasis_app.config import load_settings
from stasis_app.journal import BlockJournal
from stasis_app.store import Store


def add_commands(commands: Any) -> None:
    audit = commands.add_parser(
        "audit",
        help="check and read the audit trail (logins, operations, prompt edits)",
        description="'verify' recomputes the hash chain and names the first entry that was "
        "changed or removed (exit 1). 'show' prints entries: with --reference R, the proof "
        "of a block report (when, which bank, which call, the masked customer number).",
    )
    audit.add_argument("action", choices=["verify", "show"])
    audit.add_argument("--reference", help="show: the entries of one reference")
    audit.add_argument("--tenant", help="show: one bank only")
    audit.add_argument("--since", help="show: entries from this time on (ISO 8601, UTC)")
    audit.add_argument("--limit", type=int, default=50, help="show: the newest N (default 50)")
    audit.add_argument("--json", action="store_true", help="as JSON")

    journal = commands.add_parser(
        "journal",
        help="blocks the bank has not confirmed yet, and what became of them",
        description="'list' prints the block journal: blocks callers confirmed while the "
        "bank's core system could not, with the reference the caller heard, the state "
        "(pending, delivered, refused), attempts and the last error. The running app "
        "delivers pending ones by itself.",
    )
    journal.add_argument("action", choices=["list"])
    journal.add_argument("--pending", action="store_true", help="only those still pending")
    journal.add_argument("--json", action="store_true", help="as JSON")


def _store(args: argparse.Namespace) -> Store:
    return Store(load_settings(args.config, resolve_secrets=False).state)


def run_audit(args: argparse.Namespace) -> int:
    audit = AuditLog(_store(args))
    if args.action == "verify":
        check = audit.verify()
        seq, head = audit.head()
        if args.json:
            print(json.dumps({**asdict(check), "head_seq": seq, "head_hash": head}, indent=2))
        elif check.ok:
            print(f"audit trail intact: {check.entries} entries, head #{seq} {head}")
        else:
            print(
                f"audit trail BROKEN at entry #{check.first_bad}: {check.problem} "
                f"({check.entries} entries verified before it)"
            )
        return 0 if check.ok else 1
    entries = audit.entries(
        reference=args.reference, tenant=args.tenant, since=args.since, limit=args.limit
    )
    if args.json:
        print(json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=2))
        return 0 if entries or not args.reference else 1
    if not entries:
        print("no entries", file=sys.stderr)
        return 1 if args.reference else 0
    for e in entries:
        reference = f" ref {e.reference}" if e.reference else ""
        print(
            f"#{e.seq} {e.at} {e.tenant} {e.action} {e.result}{reference} "
            f"customer {e.customer or '-'} caller {e.caller or '-'} call {e.call_id or '-'}"
        )
    return 0


def run_journal(args: argparse.Namespace) -> int:
    journal = BlockJournal(_store(args))
    entries = journal.entries("pending" if args.pending else None)
    if args.json:
        print(json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=2))
        return 0
    if not entries:
        print("the journal is empty" if not args.pending else "nothing pending")
    for e in entries:
        print(
            f"{e.reference} {e.state:9} {e.tenant} {e.kind} {e.target} since {e.created} "
            f"attempts {e.attempts} {e.last_error}"
            + (f" bank ref {e.bank_reference}" if e.bank_reference else "")
        )
    return 0
