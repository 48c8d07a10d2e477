"""``infolinia recordings purge``: delete the consultant recordings older
than each bank's ``recordings.keep_days`` (for cron; the running app does
the same hourly). Safe on a cluster: each recording is deleted once."""

import argparse
import sys
from typing import Any

from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.queue.recordings import RecordingBook
from stasis_app.store import Store


def add_commands(commands: Any) -> None:
    recordings = commands.add_parser(
        "recordings",
        help="consultant recordings: delete those past the bank's retention",
        description="'purge' deletes every bank's consultant recordings (the files and "
        "their rows) that started more than the bank's recordings.keep_days ago, and "
        "prints how many per bank. The running app does this hourly; run it from cron "
        "where the app is not always up. On a cluster any node may run it: each "
        "recording is deleted by exactly one.",
    )
    recordings.add_argument("action", choices=["purge"])
    recordings.add_argument("tenant", nargs="?", help="one bank only")
    recordings.set_defaults(handler=run_recordings)


def run_recordings(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, resolve_secrets=False)
    tenants = build_deployment(settings, with_adapters=False).tenants
    if args.tenant is not None and args.tenant not in tenants:
        print(f"infolinia: no bank {args.tenant!r}", file=sys.stderr)
        return 2
    book = RecordingBook(Store(settings.state))
    for name, served in sorted(tenants.items()):
        if args.tenant in (None, name):
            deleted = book.delete_expired(name, served.tenant.recordings.keep_days)
            print(f"{name}: {deleted} deleted")
    return 0
