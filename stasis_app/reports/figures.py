"""The figures of one bank over a period, from its call records: what
``infolinia report`` prints (and, later, the admin page's *Raporty*).

* ``calls``: calls that started in the period;
* ``self_service``: calls that did at least one operation (a block
  confirmed or journaled, a list heard) and never reached a consultant;
* ``transfers``: calls that reached a consultant (answered in a queue, or
  handed to the dialplan's consultant route);
* ``endings``: calls by how they ended (caller hung up, completed,
  transferred, failed);
* ``operations``: operations by kind and outcome;
* ``queue``: calls that came to a queue (``offered``, even when it was
  closed or nobody was logged in), by the last visit's outcome (answered,
  abandoned, callback, timed_out, closed, no_agents, ...), and the wait of
  those who joined it, p50 and p90 (seconds, nearest rank);
* ``drop_off``: calls the caller hung up, by the state they hung up in
  (a call that reached a consultant is not a drop-off);
* ``nodes``: calls by the node that served them.

:func:`calls_per` counts the calls of a period per day, or per hour of one
day, in the bank's time zone (the admin page's chart of calls).

Three queries over "one bank, a period", each reading only the index that
starts with tenant and start and holds the columns counted (migration 9):
the records grouped by everything counted, the queue's waits, the
operations by kind and outcome.
"""

import math
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from stasis_app.reports.records import ENDINGS, HUNG_UP
from stasis_app.store import Connection, Store


@dataclass
class Figures:
    tenant: str
    start: float  # Unix time, inclusive
    end: float  # exclusive
    calls: int = 0
    self_service: int = 0
    transfers: int = 0
    endings: dict[str, int] = field(default_factory=dict)
    operations: dict[str, dict[str, int]] = field(default_factory=dict)
    queue: dict[str, Any] = field(default_factory=dict)
    drop_off: dict[str, int] = field(default_factory=dict)
    nodes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "start": self.start,
            "end": self.end,
            "calls": self.calls,
            "self_service": self.self_service,
            "transfers": self.transfers,
            "endings": self.endings,
            "operations": self.operations,
            "queue": self.queue,
            "drop_off": self.drop_off,
            "nodes": self.nodes,
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """The figures as (figure, item, value) rows: a spreadsheet's CSV."""
        out: list[tuple[str, str, str]] = [
            ("calls", "", str(self.calls)),
            ("self_service", "", str(self.self_service)),
            ("transfers", "", str(self.transfers)),
        ]
        out += [("ending", name, str(n)) for name, n in self.endings.items()]
        for kind, outcomes in self.operations.items():
            out += [("operation", f"{kind} {outcome}", str(n)) for outcome, n in outcomes.items()]
        for name, value in self.queue.items():
            out.append(("queue", name, "" if value is None else str(value)))
        out += [("drop_off", state, str(n)) for state, n in self.drop_off.items()]
        out += [("node", node, str(n)) for node, n in self.nodes.items()]
        return out


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted ``values`` (None: no values)."""
    if not values:
        return None
    rank = max(1, math.ceil(share * len(values)))
    return round(values[rank - 1], 1)


PERIOD = "tenant = ? AND started >= ? AND started < ?"
# The records of a period grouped by everything a report counts (the first
# parameter: the ending whose last state is a drop-off). Grouped by position:
# PostgreSQL does not take two parameters as the same expression.
GROUPS = (
    "SELECT ending, CASE WHEN ending = ? THEN last_state ELSE '' END, "
    "CASE WHEN queue = '' THEN NULL ELSE queue_outcome END, node, "
    "CASE WHEN done > 0 AND consultant = 0 THEN 1 ELSE 0 END, consultant, COUNT(*) "
    f"FROM call_records WHERE {PERIOD} GROUP BY 1, 2, 3, 4, 5, 6"
)


def figures(store: Store, tenant: str, start: float, end: float) -> Figures:
    """``tenant``'s figures for the calls that started in [start, end)."""
    args = (tenant, start, end)

    def work(db: Connection) -> Figures:
        # One pass over the period's index entries, grouped by everything
        # counted; then the queue's waits, and the operations.
        groups = db.execute(GROUPS, (HUNG_UP, *args)).fetchall()
        waits = [
            float(row[0])
            for row in db.execute(
                f"SELECT queue_wait FROM call_records WHERE {PERIOD} "
                "AND queue_wait IS NOT NULL ORDER BY queue_wait",
                args,
            )
        ]
        operations = db.execute(
            f"SELECT kind, outcome, COUNT(*) FROM call_operations WHERE {PERIOD} "
            "GROUP BY kind, outcome ORDER BY kind, outcome",
            args,
        ).fetchall()
        return _count(Figures(tenant, start, end), groups, waits, operations)

    return store.read(work)


def _count(found: Figures, groups: list[Any], waits: list[float], operations: list[Any]) -> Figures:
    endings: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    drop_off: Counter[str] = Counter()
    nodes: Counter[str] = Counter()
    for ending, hung_up_in, queue_outcome, node, self_service, consultant, n in groups:
        n = int(n)
        found.calls += n
        found.self_service += n * int(self_service)
        found.transfers += n * int(consultant)
        endings[str(ending)] += n
        nodes[str(node)] += n
        if ending == HUNG_UP:
            drop_off[str(hung_up_in)] += n
        if queue_outcome is not None:
            outcomes[str(queue_outcome)] += n
    found.endings = {name: endings.pop(name, 0) for name in ENDINGS} | dict(sorted(endings.items()))
    found.queue = {
        "offered": sum(outcomes.values()),
        **{name: outcomes.pop(name, 0) for name in ("answered", "abandoned", "callback")},
        "timed_out": outcomes.pop("timed_out", 0),
        **dict(sorted(outcomes.items())),
        "wait_p50": percentile(waits, 0.5),
        "wait_p90": percentile(waits, 0.9),
    }
    found.drop_off = dict(sorted(drop_off.items(), key=lambda item: (-item[1], item[0])))
    found.nodes = dict(sorted(nodes.items()))
    for kind, outcome, n in operations:
        found.operations.setdefault(str(kind), {})[str(outcome)] = int(n)
    return found


HOUR = 3600.0


def buckets(start: float, end: float, zone: ZoneInfo, hourly: bool) -> list[tuple[str, float]]:
    """The (label, Unix start) of each day in [start, end) in ``zone``
    (label ``2026-12-06``), or of each hour (label ``2026-12-06 14:00``;
    a day when the clocks change has 23 or 25 of them)."""
    if hourly:
        out: list[tuple[str, float]] = []
        at = start
        while at < end:
            out.append((datetime.fromtimestamp(at, zone).strftime("%Y-%m-%d %H:%M"), at))
            at += HOUR
        return out
    day: date = datetime.fromtimestamp(start, zone).date()
    days: list[tuple[str, float]] = []
    while (at := datetime.combine(day, time(), tzinfo=zone).timestamp()) < end:
        days.append((day.isoformat(), max(at, start)))
        day += timedelta(days=1)
    return days


def calls_per(
    store: Store, tenant: str, start: float, end: float, zone: ZoneInfo, hourly: bool = False
) -> list[tuple[str, int]]:
    """``tenant``'s calls that started in [start, end), per day (or hour) of
    ``zone``: every day (hour) of the period, those without calls as 0.

    The start times are read from the period's index (no row is read) and
    counted here: a day in a bank's zone is not a whole number of any unit
    SQLite and PostgreSQL both round the same way (DST days have 23 or 25
    hours), and a month of a busy bank is some tens of thousands of floats."""
    spans = buckets(start, end, zone, hourly)
    starts = [at for _, at in spans]
    counts = [0] * len(spans)
    rows = store.read(
        lambda db: db.execute(
            f"SELECT started FROM call_records WHERE {PERIOD}", (tenant, start, end)
        ).fetchall()
    )
    for (started,) in rows:
        index = bisect_right(starts, float(started)) - 1
        if index >= 0:
            counts[index] += 1
    return [(label, n) for (label, _), n in zip(spans, counts, strict=True)]
