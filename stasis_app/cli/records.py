"""``infolinia audit ...`` and ``infolinia journal ...``: the records a bank
keeps of what its phone line did."""

import argparse
import getpass
import heapq
import json
import sys
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from stasis_app.config import Settings, load_settings
from stasis_app.safeguards.audit import AuditLog, ExpectedHead
from stasis_app.safeguards.audit_heads import parse_expected, read_heads
from stasis_app.safeguards.journal import (
    CONFIRMED,
    DECLINED,
    PENDING,
    REQUESTED,
    BlockJournal,
    NoSuchRequest,
)
from stasis_app.store import Store


def add_commands(commands: Any) -> None:
    audit = commands.add_parser(
        "audit",
        help="check and read the audit trail (logins, operations, prompt edits)",
        description="'verify' checks the keyed hash chain (HMAC under the audit key: "
        "$INFOLINIA_AUDIT_KEY or audit.key_file) from the last checkpoint, page by page, and "
        "that it still reaches every signed head of the heads file (audit.heads_file, or "
        "--heads) and every --expect-head; it names the first entry that was changed, "
        "removed, moved, re-hashed or cut off the end (exit 1), and stores a signed "
        "checkpoint when all is whole. 'show' prints entries: with --reference R, the proof "
        "of a block report (when, which bank, which call, the masked customer number).",
    )
    audit.add_argument("action", choices=["verify", "show"])
    audit.add_argument(
        "--full", action="store_true", help="verify: recompute every entry, not from the checkpoint"
    )
    audit.add_argument(
        "--heads",
        type=Path,
        help="verify: a heads file, or its copy from the log system (default: audit.heads_file)",
    )
    audit.add_argument(
        "--expect-head",
        action="append",
        default=[],
        metavar="SEQ:HASH",
        help="verify: a head the trail must still reach (from the bank's log system); repeatable",
    )
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
        "delivers pending ones by itself. Block requests (state requested) are left by "
        "callers who could not log in on the blocking path when no consultant answered: "
        "nobody proved who called, so they are never sent to the core; call the customer "
        "back, then 'close REFERENCE --confirmed' or '--declined' (audited with who).",
    )
    journal.add_argument("action", choices=["list", "close"])
    journal.add_argument(
        "reference", nargs="?", help="close: the block request's reference (starts with 9)"
    )
    journal.add_argument("--pending", action="store_true", help="only those still pending")
    journal.add_argument(
        "--requests",
        action="store_true",
        help="only block requests awaiting the bank (callers who could not log in)",
    )
    outcome = journal.add_mutually_exclusive_group()
    outcome.add_argument(
        "--confirmed", action="store_true", help="close: the customer was reached, blocks done"
    )
    outcome.add_argument(
        "--declined", action="store_true", help="close: it could not be confirmed as the customer"
    )
    journal.add_argument("--by", help="close: who closes it (default: this login name)")
    journal.add_argument("--note", default="", help="close: a note kept with it (no secrets)")
    journal.add_argument("--json", action="store_true", help="as JSON")
    audit.set_defaults(handler=run_audit)
    journal.set_defaults(handler=run_journal)


def _store(args: argparse.Namespace) -> Store:
    return Store(load_settings(args.config, resolve_secrets=False).state)


def run_audit(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, resolve_secrets=False)
    audit = AuditLog(Store(settings.state))
    if args.action == "verify":
        return _verify(args, settings, audit)
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


def _verify(args: argparse.Namespace, settings: Settings, audit: AuditLog) -> int:
    try:
        expected = sorted((parse_expected(text) for text in args.expect_head), key=_seq)
    except ValueError as exc:
        print(f"infolinia: --expect-head: {exc}", file=sys.stderr)
        return 2
    heads_file = args.heads or settings.audit.heads_file
    if args.heads is not None and not args.heads.is_file():
        print(f"infolinia: --heads: no file {args.heads}", file=sys.stderr)
        return 2
    heads: Iterable[ExpectedHead] = expected
    if heads_file is not None and heads_file.is_file():
        heads = heapq.merge(expected, read_heads(heads_file, audit.key()), key=_seq)
    else:
        heads_file = None
    check = audit.verify(full=args.full, heads=heads, save_checkpoint=True)
    seq, head = audit.head()
    if args.json:
        report = {**asdict(check), "head_seq": seq, "head_hash": head}
        print(json.dumps({**report, "heads_file": str(heads_file or "")}, indent=2))
    elif check.ok:
        print(f"audit trail intact: {check.entries} entries, head #{seq} {head}")
        how = f"from checkpoint #{check.from_seq}" if check.from_seq else "every entry"
        print(f"  recomputed {check.checked} ({how}; every entry last on {check.full_at or '-'})")
        if check.unkeyed:
            print(f"  entries 1..{check.unkeyed} predate the audit key: anchored, not signed")
        given = [str(heads_file)] if heads_file else []
        given += ["--expect-head"] if args.expect_head else []
        print(f"  reaches all {check.heads} signed heads given ({', '.join(given) or 'none'})")
        if heads_file is None:
            print("  no heads file: a trail cut short at its end is not seen", file=sys.stderr)
    else:
        at = f" at entry #{check.first_bad}" if check.first_bad else ""
        print(
            f"audit trail BROKEN{at}: {check.problem} ({check.entries} entries verified before it)"
        )
    return 0 if check.ok else 1


def _seq(head: ExpectedHead) -> int:
    return head.seq


def run_journal(args: argparse.Namespace) -> int:
    journal = BlockJournal(_store(args))
    if args.action == "close":
        return _close_request(args, journal)
    state = PENDING if args.pending else REQUESTED if args.requests else None
    entries = journal.entries(state)
    if args.json:
        print(json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=2))
        return 0
    if not entries:
        print(
            "nothing pending"
            if args.pending
            else "no block requests await the bank"
            if args.requests
            else "the journal is empty"
        )
    for e in entries:
        print(
            f"{e.reference} {e.state:9} {e.tenant} {e.kind} {e.target} since {e.created} "
            f"attempts {e.attempts} {e.last_error}"
            + (f" bank ref {e.bank_reference}" if e.bank_reference else "")
        )
    return 0


def _close_request(args: argparse.Namespace, journal: BlockJournal) -> int:
    if not args.reference or not (args.confirmed or args.declined):
        print("journal close REFERENCE --confirmed|--declined [--by NAME]", file=sys.stderr)
        return 2
    who = args.by or getpass.getuser()
    outcome = CONFIRMED if args.confirmed else DECLINED
    try:
        entry = journal.close_request(args.reference, outcome, who, args.note)
    except NoSuchRequest:
        print(f"no block request {args.reference} awaits the bank", file=sys.stderr)
        return 1
    AuditLog(journal.store).append(
        tenant=entry.tenant,
        action="block_request",
        result=outcome,
        call_id=entry.call_id,
        caller=entry.caller,
        customer=entry.customer,
        reference=entry.reference,
        detail={"by": who},
    )
    print(f"{entry.reference} {outcome} by {who}")
    return 0
