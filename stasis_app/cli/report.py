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

from plugin.manager import get_plugin_manager
from stasis_app.config import load_settings
from stasis_app.errors import ConfigError
from stasis_app.flow.model import load_flow, load_flow_text
from stasis_app.flow.versions import FlowVersions
from stasis_app.reports.figures import COMPARE_HEADER, CSV_HEADER, Figures, compare, figures
from stasis_app.reports.funnel import Path, paths
from stasis_app.store import Store
from stasis_app.tenants import Tenant
from stasis_app.verbs.registry import VerbRegistry

# The queue's measures, beside its outcomes (the text shows them apart).
QUEUE_MEASURES = frozenset(
    {"wait_p50", "wait_p90", "queued", "answered_within", "service_level_seconds",
     "service_level", "abandoned_wait_p50", "abandoned_wait_p90"}
)  # fmt: skip

DESCRIPTION = """\
A bank's figures for the calls that started in a period (default: today),
from the call records the app writes when each call ends:

  calls          calls that started in the period
  self_service   calls that did at least one operation (a block confirmed or
                 registered, a balance or history heard) and never reached a
                 consultant (and their share of the calls, in percent)
  transfers      calls that reached a consultant (answered in a queue, or
                 handed to the dialplan's consultant route)
  endings        calls by how they ended: caller hung up, completed,
                 transferred, failed
  operations     operations by kind and outcome (block_card ok, accounts ok,
                 last_operations empty, ...)
  queue          calls that came to a consultant queue (offered) by outcome:
                 answered, abandoned, callback, timed_out (closed, no_agents
                 when nobody could answer); of those who joined it (queued):
                 the wait p50 and p90 in seconds, the service level (the
                 share answered within records.service_level_seconds,
                 default 30) and the abandoned calls' wait p50 and p90
  abandoned_after  the abandoned calls by how long they waited
  announcements  the queued calls by how many waiting-time announcements
                 they heard there, and how many of them abandoned
  callbacks      callback requests left in the period, and how many of them
                 staff marked done (infolinia queue callbacks)
  survey         a survey's scores, when calls carry one
  drop_off       calls the caller hung up, by the flow state they were in
  funnel         per path of the flow (each option of its first menu), how
                 many calls reached each step and hung up there
  nodes          calls by the node that served them

Days are the bank's (tenants.ID.records.timezone, default Europe/Warsaw):
--from 2026-12-01 --to 2026-12-31 is December there, both days included.
--flow-version counts only the calls that ran that version of the flow (the
12-character hash call records carry). --compare-from/--compare-to and/or
--compare-flow-version set a second report beside the first, with the
difference (first minus second); the second period defaults to the first.
It reads the state store only: it works while the app is stopped, and in a
cluster it counts every node's calls. Records are kept
tenants.ID.records.keep_days days (default 400), then deleted by the app.

  infolinia report izbica                       today
  infolinia report izbica --from 2026-12-01 --to 2026-12-31 --csv > grudzien.csv
  infolinia report izbica --from 2026-12-06 --json
  infolinia report izbica --from 2026-12-01 --to 2026-12-31 \\
      --compare-from 2026-11-01 --compare-to 2026-11-30
"""


def add_commands(commands: Any) -> None:
    report = commands.add_parser(
        "report",
        help="a bank's call figures for a period: self-service, transfers, drop-off, queue",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    report.add_argument("tenant", metavar="TENANT", help="the bank's id (tenants: in the config)")
    day = date.fromisoformat
    report.add_argument(
        "--from",
        dest="first",
        type=day,
        metavar="DATE",
        help="the first day, YYYY-MM-DD (default: today in the bank's time zone)",
    )
    report.add_argument(
        "--to",
        dest="last",
        type=day,
        metavar="DATE",
        help="the last day, included (default: the first day)",
    )
    report.add_argument(
        "--flow-version", metavar="HASH", help="only the calls that ran this flow version"
    )
    report.add_argument(
        "--compare-from", type=day, metavar="DATE", help="a second period to compare with"
    )
    report.add_argument(
        "--compare-to",
        type=day,
        metavar="DATE",
        help="its last day (default: --compare-from's day, or the first period's last)",
    )
    report.add_argument(
        "--compare-flow-version",
        metavar="HASH",
        help="compare with this flow version's calls (default: --flow-version's)",
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


def flow_paths(tenant: Tenant, store: Store) -> list[Path]:
    """The paths (the funnels) of the flow the bank has now: its published
    version in the store, or its file when it has none; a flow that does not
    load is the config's error, named."""
    verbs = VerbRegistry(get_plugin_manager())
    live = FlowVersions(store).published(tenant.id)
    if live is None:
        return paths(load_flow(tenant.flow, verbs))
    where = f"{tenant.id}'s flow version {live.number}"
    return paths(load_flow_text(live.text, tenant.flow, verbs, where=where))


def run_report(args: argparse.Namespace) -> int:
    settings = load_settings(args.config, resolve_secrets=False)
    tenant = settings.tenants.get(args.tenant)
    if tenant is None:
        known = ", ".join(sorted(settings.tenants)) or "none"
        raise ConfigError(str(settings.source), "tenants", f"no bank {args.tenant!r} ({known})")
    zone = ZoneInfo(tenant.records.timezone)
    first = args.first or datetime.now(zone).date()  # --to alone: from today
    last = args.last or first
    if last < first:
        raise ConfigError("--to", "period", f"the last day is before the first ({first})")
    comparing = bool(args.compare_from or args.compare_to or args.compare_flow_version)
    other_first = args.compare_from or first
    other_last = args.compare_to or (args.compare_from if args.compare_from else last)
    if comparing and other_last < other_first:
        raise ConfigError(
            "--compare-to", "period", f"the last day is before the first ({other_first})"
        )
    store = Store(settings.state)

    def report(first: date, last: date, version: str | None, found_paths: list[Path]) -> Figures:
        return figures(
            store,
            tenant.id,
            *period(zone, first, last),
            flow_version=version,
            service_level_seconds=tenant.records.service_level_seconds,
            flow_paths=found_paths,
        )

    try:
        found_paths = flow_paths(tenant, store)
        found = report(first, last, args.flow_version, found_paths)
        other = (
            report(
                other_first, other_last, args.compare_flow_version or args.flow_version, found_paths
            )
            if comparing
            else None
        )
    finally:
        store.close()
    shown = {"timezone": tenant.records.timezone}
    if other is None:
        if args.json:
            print(json.dumps({**found.as_dict(), **days(found, zone), **shown}, indent=2))
        elif args.csv:
            writer = csv.writer(sys.stdout, lineterminator="\n")
            writer.writerow(CSV_HEADER)
            writer.writerows(found.rows())
        else:
            print(_text(found, tenant.name, days(found, zone), tenant.records.timezone))
        return 0
    rows = compare(found.rows(), other.rows())
    if args.json:
        both: dict[str, Any] = {
            "this": {**found.as_dict(), **days(found, zone)},
            "compared": {**other.as_dict(), **days(other, zone)},
            "difference": [dict(zip(COMPARE_HEADER, row, strict=True)) for row in rows],
            **shown,
        }
        print(json.dumps(both, indent=2))
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(COMPARE_HEADER)
        writer.writerows(rows)
    else:
        print(_compared(found, other, rows, tenant.name, zone))
    return 0


def days(found: Figures, zone: ZoneInfo) -> dict[str, str]:
    """The first and last day (in ``zone``) of a report's period."""
    return {
        "from": datetime.fromtimestamp(found.start, zone).date().isoformat(),
        "to": (datetime.fromtimestamp(found.end, zone).date() - timedelta(days=1)).isoformat(),
    }


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _text(found: Figures, name: str, span: dict[str, str], zone: str) -> str:
    when = span["from"] if span["from"] == span["to"] else f"{span['from']} to {span['to']}"
    version = f", flow version {found.flow_version}" if found.flow_version else ""
    lines = [
        f"{name} ({found.tenant}), {when} ({zone}){version}",
        f"  calls          {found.calls}",
        f"  self-service   {found.self_service} ({_share(found.self_service_rate)})",
        f"  transfers      {found.transfers} ({_share(found.transfer_rate)})",
        "  endings        " + ", ".join(f"{ending} {n}" for ending, n in found.endings.items()),
    ]
    if found.operations:
        lines.append("  operations")
        for kind, outcomes in found.operations.items():
            done = ", ".join(f"{outcome} {n}" for outcome, n in outcomes.items())
            lines.append(f"    {kind:24} {done}")
    queue = dict(found.queue)
    if queue.get("offered"):
        outcomes = {k: v for k, v in queue.items() if k not in QUEUE_MEASURES}
        lines.append("  queue          " + ", ".join(f"{k} {v}" for k, v in outcomes.items()))
        lines.append(f"  queue wait     p50 {queue['wait_p50']} s, p90 {queue['wait_p90']} s")
        lines.append(
            f"  service level  {_share(queue['service_level'])} "
            f"({queue['answered_within']} of {queue['queued']} queued answered within "
            f"{queue['service_level_seconds']} s)"
        )
    if queue.get("abandoned"):
        lines.append(
            f"  abandoned      after p50 {queue['abandoned_wait_p50']} s, "
            f"p90 {queue['abandoned_wait_p90']} s; "
            + ", ".join(f"{k} {n}" for k, n in found.abandoned_after.items())
        )
    if found.announcements:
        lines.append(
            "  announcements  heard: "
            + "; ".join(
                f"{k}: {c['queued']} queued, {c['abandoned']} abandoned"
                for k, c in found.announcements.items()
            )
        )
    if found.callbacks.get("requested"):
        lines.append(
            f"  callbacks      {found.callbacks['requested']} requested, "
            f"{found.callbacks['done']} done"
        )
    if found.survey:
        scores = ", ".join(f"{k}: {n}" for k, n in found.survey["score"].items())
        lines.append(
            f"  survey         {found.survey['answered']} scores, mean {found.survey['mean']} "
            f"({scores})"
        )
    if found.drop_off:
        lines.append("  hung up in     " + ", ".join(f"{s} {n}" for s, n in found.drop_off.items()))
    for path in found.funnel:
        steps = " > ".join(
            f"{step['state']} {step['reached']}"
            + (f" (hung up {step['hung_up']})" if step["hung_up"] else "")
            for step in path["steps"]
        )
        lines.append(f"  funnel {path['path']:8} {steps}")
    if found.nodes:
        lines.append("  by node        " + ", ".join(f"{s} {n}" for s, n in found.nodes.items()))
    return "\n".join(lines)


def _compared(
    found: Figures,
    other: Figures,
    rows: list[tuple[str, str, str, str, str]],
    name: str,
    zone: ZoneInfo,
) -> str:
    def span(figures: Figures) -> str:
        shown = days(figures, zone)
        version = f" (flow {figures.flow_version})" if figures.flow_version else ""
        return f"{shown['from']} to {shown['to']}{version}"

    lines = [
        f"{name} ({found.tenant}): {span(found)} compared with {span(other)}",
        f"  {'figure':44} {'this':>10} {'compared':>10} {'change':>10}",
    ]
    for figure, item, this, compared, change in rows:
        label = f"{figure} {item}".strip()
        lines.append(f"  {label[:44]:44} {this:>10} {compared:>10} {change:>10}")
    return "\n".join(lines)
