"""``infolinia report TENANT``: a bank's figures over a period, from its call
records in the state store (stasis_app/reports): for the operators, as a
table, JSON (--json) or CSV (--csv). Reads the store only: works while the
app is stopped, and on any node of a cluster."""

import argparse
import csv
import json
import sys
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from stasis_app.config import load_settings
from stasis_app.errors import ConfigError
from stasis_app.reports.figures import Figures, figures
from stasis_app.store import Store

DESCRIPTION = """\
A bank's figures for the calls that started in a period (default: today),
from the call records the app writes when each call ends:

  calls          calls that started in the period
  self_service   calls that did at least one operation (a block confirmed or
                 registered, a balance or history heard) and never reached a
                 consultant
  transfers      calls that reached a consultant (answered in a queue, or
                 handed to the dialplan's consultant route)
  endings        calls by how they ended: caller hung up, completed,
                 transferred, failed
  operations     operations by kind and outcome (block_card ok, accounts ok,
                 last_operations empty, ...)
  queue          calls that came to a consultant queue (offered) by outcome:
                 answered, abandoned, callback, timed_out (closed, no_agents
                 when nobody could answer); the wait of those who joined,
                 p50 and p90, in seconds
  drop_off       calls the caller hung up, by the flow state they were in
  nodes          calls by the node that served them

Days are the bank's (tenants.ID.records.timezone, default Europe/Warsaw):
--from 2026-12-01 --to 2026-12-31 is December there, both days included.
It reads the state store only: it works while the app is stopped, and in a
cluster it counts every node's calls. Records are kept
tenants.ID.records.keep_days days (default 400), then deleted by the app.

  infolinia report izbica                       today
  infolinia report izbica --from 2026-12-01 --to 2026-12-31 --csv > grudzien.csv
  infolinia report izbica --from 2026-12-06 --json
"""


def add_commands(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="a bank's call figures for a period: self-service, transfers, drop-off, queue",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("tenant", metavar="TENANT", help="the bank's id (tenants: in the config)")
    report.add_argument(
        "--from",
        dest="first",
        type=date.fromisoformat,
        metavar="DATE",
        help="the first day, YYYY-MM-DD (default: today in the bank's time zone)",
    )
    report.add_argument(
        "--to",
        dest="last",
        type=date.fromisoformat,
        metavar="DATE",
        help="the last day, included (default: the first day)",
    )
    output = report.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="as JSON (for machines)")
    output.add_argument(
        "--csv", action="store_true", help="as CSV: figure,item,value rows (for spreadsheets)"
    )
    report.set_defaults(handler=run_report)


def period(zone: ZoneInfo, first: date | None, last: date | None) -> tuple[float, float]:
    """[start, end) in Unix time of the days ``first`` to ``last`` in ``zone``."""
    first = first or datetime.now(zone).date()
    last = last or first
    start = datetime.combine(first, time(), tzinfo=zone).timestamp()
    end = datetime.combine(last + timedelta(days=1), time(), tzinfo=zone).timestamp()
    return start, end


def run_report(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, resolve_secrets=False)
    tenant = settings.tenants.get(args.tenant)
    if tenant is None:
        known = ", ".join(sorted(settings.tenants)) or "none"
        raise ConfigError(str(settings.source), "tenants", f"no bank {args.tenant!r} ({known})")
    zone = ZoneInfo(tenant.records.timezone)
    first = args.first or datetime.now(zone).date()  # --to alone: from today
    if args.last and args.last < first:
        raise ConfigError("--to", "period", f"the last day is before the first ({first})")
    start, end = period(zone, first, args.last)
    store = Store(settings.state)
    try:
        found = figures(store, tenant.id, start, end)
    finally:
        store.close()
    days = (
        datetime.fromtimestamp(start, zone).date().isoformat(),
        (datetime.fromtimestamp(end, zone).date() - timedelta(days=1)).isoformat(),
    )
    if args.json:
        print(json.dumps({**found.as_dict(), "from": days[0], "to": days[1],
                          "timezone": tenant.records.timezone}, indent=2))  # fmt: skip
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(("figure", "item", "value"))
        writer.writerows(found.rows())
    else:
        print(_text(found, tenant.name, days, tenant.records.timezone))
    return 0


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _text(found: Figures, name: str, days: tuple[str, str], zone: str) -> str:
    span = days[0] if days[0] == days[1] else f"{days[0]} to {days[1]}"
    lines = [
        f"{name} ({found.tenant}), {span} ({zone})",
        f"  calls          {found.calls}",
        f"  self-service   {found.self_service} ({_share(found.self_service, found.calls)})",
        f"  transfers      {found.transfers} ({_share(found.transfers, found.calls)})",
        "  endings        " + ", ".join(f"{ending} {n}" for ending, n in found.endings.items()),
    ]
    if found.operations:
        lines.append("  operations")
        for kind, outcomes in found.operations.items():
            done = ", ".join(f"{outcome} {n}" for outcome, n in outcomes.items())
            lines.append(f"    {kind:24} {done}")
    queue = dict(found.queue)
    if queue.get("offered"):
        p50, p90 = queue.pop("wait_p50"), queue.pop("wait_p90")
        lines.append("  queue          " + ", ".join(f"{k} {v}" for k, v in queue.items()))
        lines.append(f"  queue wait     p50 {p50} s, p90 {p90} s")
    if found.drop_off:
        lines.append("  hung up in     " + ", ".join(f"{s} {n}" for s, n in found.drop_off.items()))
    if found.nodes:
        lines.append("  by node        " + ", ".join(f"{s} {n}" for s, n in found.nodes.items()))
    return "\n".join(lines)
