"""The figures of one bank over a period, from its call records: what
``infolinia report`` prints and the admin page's *Raporty* shows.

* ``calls``: calls that started in the period;
* ``self_service``: calls that did at least one operation (a block
  confirmed or journaled, a list heard) and never reached a consultant;
* ``transfers``: calls that reached a consultant (answered in a queue, or
  handed to the dialplan's consultant route); both also as a share of the
  calls, in percent;
* ``endings``: calls by how they ended (caller hung up, completed,
  transferred, failed);
* ``operations``: operations by kind and outcome;
* ``queue``: calls that came to a queue (``offered``, even when it was
  closed or nobody was logged in), by the last visit's outcome (answered,
  abandoned, callback, timed_out, closed, no_agents, ...); of those who
  joined it (``queued``: their wait is known), the wait p50 and p90
  (seconds, nearest rank), the ``service_level``: the share of them a
  consultant answered within the bank's ``records.service_level_seconds``
  (``answered_within`` of ``queued``, in percent), and the wait of the
  abandoned ones, p50 and p90;
* ``abandoned_after``: the abandoned calls by how long they had waited;
* ``announcements``: the calls that joined a queue, by how many
  waiting-time announcements they heard there, and how many of those
  abandoned or were answered (does telling the wait keep callers?);
* ``callbacks``: the callback requests the bank's callers left in the
  period and how many of those staff have marked done (the app itself does
  not call back); left out for a report of one flow version;
* ``survey``: when calls carry a survey's score: how many, the mean and
  each score's calls (empty otherwise: no survey asked);
* ``drop_off``: calls the caller hung up, by the state they hung up in
  (a call that reached a consultant is not a drop-off);
* ``funnel``: per path through the flow, how many calls reached each step
  and hung up there (:mod:`~stasis_app.reports.funnel`);
* ``nodes``: calls by the node that served them.

Every figure can be of one flow version (records carry the flow's hash),
and :func:`compare` sets two reports' rows side by side. :func:`calls_per`
counts the calls of a period per day, or per hour of one day, in the bank's
time zone (the admin page's chart of calls).

A handful of queries over "one bank, a period", each reading only an index
that starts with tenant and start and holds the columns counted
(migrations 9 and 11): the records grouped by everything counted, the
queue's waits, the operations by kind and outcome, the states reached; and
the callback book's rows of the period.
"""

import math
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from stasis_app.reports.funnel import Path, funnel
from stasis_app.reports.records import ENDINGS, HUNG_UP
from stasis_app.reports.trail import ANSWERED
from stasis_app.store import Connection, Store

# A callback request marked done in the callbacks table (the queue's
# callbacks.DONE: reports read the table and may not import the call logic).
CALLBACK_DONE = "done"
# The CSV's header: of one report's rows, and of two side by side (compare).
CSV_HEADER = ("figure", "item", "value")
COMPARE_HEADER = ("figure", "item", "value", "compared", "difference")
# The abandoned calls' waits, by how long (seconds: [low, high)).
ABANDON_BUCKETS = ((0, 10), (10, 30), (30, 60), (60, 120), (120, None))


def bucket_name(low: int, high: int | None) -> str:
    return f"{low}-{high}s" if high is not None else f"{low}s+"


@dataclass
class Figures:
    tenant: str
    start: float  # Unix time, inclusive
    end: float  # exclusive
    flow_version: str | None = None  # only the calls of this flow version (None: all)
    service_level_seconds: int = 30
    calls: int = 0
    self_service: int = 0
    transfers: int = 0
    endings: dict[str, int] = field(default_factory=dict)
    operations: dict[str, dict[str, int]] = field(default_factory=dict)
    queue: dict[str, Any] = field(default_factory=dict)
    abandoned_after: dict[str, int] = field(default_factory=dict)
    announcements: dict[str, dict[str, int]] = field(default_factory=dict)
    callbacks: dict[str, int] = field(default_factory=dict)
    survey: dict[str, Any] = field(default_factory=dict)
    drop_off: dict[str, int] = field(default_factory=dict)
    reached: dict[str, int] = field(default_factory=dict)
    funnel: list[dict[str, Any]] = field(default_factory=list)
    nodes: dict[str, int] = field(default_factory=dict)

    @property
    def self_service_rate(self) -> float | None:
        return share(self.self_service, self.calls)

    @property
    def transfer_rate(self) -> float | None:
        return share(self.transfers, self.calls)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "start": self.start,
            "end": self.end,
            "flow_version": self.flow_version,
            "calls": self.calls,
            "self_service": self.self_service,
            "self_service_rate": self.self_service_rate,
            "transfers": self.transfers,
            "transfer_rate": self.transfer_rate,
            "endings": self.endings,
            "operations": self.operations,
            "queue": self.queue,
            "abandoned_after": self.abandoned_after,
            "announcements": self.announcements,
            "callbacks": self.callbacks,
            "survey": self.survey,
            "drop_off": self.drop_off,
            "funnel": self.funnel,
            "nodes": self.nodes,
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """The figures as (figure, item, value) rows: a spreadsheet's CSV."""

        def text(value: object) -> str:
            return "" if value is None else str(value)

        out: list[tuple[str, str, str]] = [
            ("calls", "", str(self.calls)),
            ("self_service", "", str(self.self_service)),
            ("self_service_rate", "", text(self.self_service_rate)),
            ("transfers", "", str(self.transfers)),
            ("transfer_rate", "", text(self.transfer_rate)),
        ]
        out += [("ending", name, str(n)) for name, n in self.endings.items()]
        for kind, outcomes in self.operations.items():
            out += [("operation", f"{kind} {outcome}", str(n)) for outcome, n in outcomes.items()]
        out += [("queue", name, text(value)) for name, value in self.queue.items()]
        out += [("abandoned_after", name, str(n)) for name, n in self.abandoned_after.items()]
        for heard, counts in self.announcements.items():
            out += [("announcements", f"{heard} {what}", str(n)) for what, n in counts.items()]
        out += [("callbacks", name, str(n)) for name, n in self.callbacks.items()]
        for name, value in self.survey.items():
            if isinstance(value, dict):
                out += [("survey", f"{name} {k}", str(n)) for k, n in value.items()]
            else:
                out.append(("survey", name, text(value)))
        out += [("drop_off", state, str(n)) for state, n in self.drop_off.items()]
        for path in self.funnel:
            for step in path["steps"]:
                item = f"{path['path']} {step['state']}"
                out.append(("funnel", f"{item} reached", str(step["reached"])))
                out.append(("funnel", f"{item} hung_up", str(step["hung_up"])))
        out += [("node", node, str(n)) for node, n in self.nodes.items()]
        return out


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` in percent, one decimal (None: nothing to share)."""
    return round(100 * part / whole, 1) if whole else None


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted ``values`` (None: no values)."""
    if not values:
        return None
    rank = max(1, math.ceil(share * len(values)))
    return round(values[rank - 1], 1)


PERIOD = "tenant = ? AND started >= ? AND started < ?"
VERSION = " AND flow_version = ?"
# The records of a period grouped by everything a report counts (the first
# parameter: the ending whose last state is a drop-off). Grouped by position:
# PostgreSQL does not take two parameters as the same expression.
GROUPS = (
    "SELECT ending, CASE WHEN ending = ? THEN last_state ELSE '' END, "
    "CASE WHEN queue = '' THEN NULL ELSE queue_outcome END, node, "
    "CASE WHEN done > 0 AND consultant = 0 THEN 1 ELSE 0 END, consultant, "
    "CASE WHEN queue_wait IS NULL THEN NULL ELSE announcements END, survey_score, COUNT(*) "
    f"FROM call_records WHERE {PERIOD}{{version}} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8"
)


def figures(
    store: Store,
    tenant: str,
    start: float,
    end: float,
    *,
    flow_version: str | None = None,
    service_level_seconds: int = 30,
    flow_paths: list[Path] | None = None,
) -> Figures:
    """``tenant``'s figures for the calls that started in [start, end) (of
    one flow version, when given); with ``flow_paths``, their funnels."""
    version = VERSION if flow_version else ""
    args: tuple[object, ...] = (tenant, start, end, *((flow_version,) if flow_version else ()))

    def work(db: Connection) -> Figures:
        # One pass over the period's index entries, grouped by everything
        # counted; then the queue's waits, the operations, the states
        # reached and the callbacks.
        groups = db.execute(GROUPS.format(version=version), (HUNG_UP, *args)).fetchall()
        waits = db.execute(
            f"SELECT queue_outcome, queue_wait FROM call_records WHERE {PERIOD}{version} "
            "AND queue_wait IS NOT NULL ORDER BY queue_wait",
            args,
        ).fetchall()
        operations = db.execute(
            f"SELECT kind, outcome, COUNT(*) FROM call_operations WHERE {PERIOD}{version} "
            "GROUP BY kind, outcome ORDER BY kind, outcome",
            args,
        ).fetchall()
        reached = db.execute(
            f"SELECT state, COUNT(*) FROM call_states WHERE {PERIOD}{version} GROUP BY state",
            args,
        ).fetchall()
        found = Figures(tenant, start, end, flow_version, service_level_seconds)
        _count(found, groups, waits, operations)
        found.reached = {str(state): int(n) for state, n in reached}
        if not flow_version:  # a callback request does not know the flow's version
            found.callbacks = _callbacks(db, tenant, start, end)
        return found

    found = store.read(work)
    if flow_paths is not None:
        found.funnel = funnel(flow_paths, found.reached, found.drop_off)
    return found


def _callbacks(db: Connection, tenant: str, start: float, end: float) -> dict[str, int]:
    """The bank's callback requests of the period (by when they were
    requested) and how many of them staff marked done."""
    bounds = [datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds") for at in (start, end)]
    rows = db.execute(
        "SELECT state, COUNT(*) FROM callbacks WHERE tenant = ? AND requested >= ? "
        "AND requested < ? GROUP BY state",
        (tenant, *bounds),
    ).fetchall()
    states = {str(state): int(n) for state, n in rows}
    return {"requested": sum(states.values()), "done": states.get(CALLBACK_DONE, 0)}


def _count(found: Figures, groups: list[Any], waits: list[Any], operations: list[Any]) -> None:
    endings: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    drop_off: Counter[str] = Counter()
    nodes: Counter[str] = Counter()
    heard: dict[int, Counter[str]] = {}
    scores: Counter[int] = Counter()
    for row in groups:
        ending, hung_up_in, queue_outcome, node, self_service, consultant = row[:6]
        announcements, score, n = row[6], row[7], int(row[8])
        found.calls += n
        found.self_service += n * int(self_service)
        found.transfers += n * int(consultant)
        endings[str(ending)] += n
        nodes[str(node)] += n
        if ending == HUNG_UP:
            drop_off[str(hung_up_in)] += n
        if queue_outcome is not None:
            outcomes[str(queue_outcome)] += n
        if announcements is not None:  # joined the queue
            counted = heard.setdefault(int(announcements), Counter())
            counted["queued"] += n
            counted[str(queue_outcome)] += n
        if score is not None:
            scores[int(score)] += n
    found.endings = {name: endings.pop(name, 0) for name in ENDINGS} | dict(sorted(endings.items()))
    everyone = [float(wait) for _, wait in waits]
    abandoned = [float(wait) for outcome, wait in waits if outcome == "abandoned"]
    threshold = found.service_level_seconds
    in_time = sum(1 for outcome, wait in waits if outcome == ANSWERED and wait <= threshold)
    found.queue = {
        "offered": sum(outcomes.values()),
        **{name: outcomes.pop(name, 0) for name in ("answered", "abandoned", "callback")},
        "timed_out": outcomes.pop("timed_out", 0),
        **dict(sorted(outcomes.items())),
        "wait_p50": percentile(everyone, 0.5),
        "wait_p90": percentile(everyone, 0.9),
        "queued": len(everyone),
        "answered_within": in_time,
        "service_level_seconds": threshold,
        "service_level": share(in_time, len(everyone)),
        "abandoned_wait_p50": percentile(abandoned, 0.5),
        "abandoned_wait_p90": percentile(abandoned, 0.9),
    }
    if abandoned:
        found.abandoned_after = {
            bucket_name(low, high): sum(
                1 for wait in abandoned if low <= wait and (high is None or wait < high)
            )
            for low, high in ABANDON_BUCKETS
        }
    found.announcements = {
        str(k): {"queued": c["queued"], "abandoned": c["abandoned"], "answered": c["answered"]}
        for k, c in sorted(heard.items())
    }
    if scores:
        answered = sum(scores.values())
        found.survey = {
            "answered": answered,
            "mean": round(sum(score * n for score, n in scores.items()) / answered, 2),
            "score": {str(score): n for score, n in sorted(scores.items())},
        }
    found.drop_off = dict(sorted(drop_off.items(), key=lambda item: (-item[1], item[0])))
    found.nodes = dict(sorted(nodes.items()))
    for kind, outcome, n in operations:
        found.operations.setdefault(str(kind), {})[str(outcome)] = int(n)


def flow_versions(store: Store, tenant: str, start: float, end: float) -> dict[str, int]:
    """The flow versions ``tenant``'s calls of [start, end) ran, with their
    calls, the most used first (the page's choice of versions)."""
    rows = store.read(
        lambda db: db.execute(
            f"SELECT flow_version, COUNT(*) FROM call_records WHERE {PERIOD} GROUP BY flow_version",
            (tenant, start, end),
        ).fetchall()
    )
    return dict(sorted(((str(v), int(n)) for v, n in rows), key=lambda item: (-item[1], item[0])))


def compare(
    this: list[tuple[str, str, str]], other: list[tuple[str, str, str]]
) -> list[tuple[str, str, str, str, str]]:
    """Two reports' rows side by side: (figure, item, this, other, this
    minus other); a row only one of them has is empty on the other side, a
    difference is empty unless both are numbers."""
    theirs = {(figure, item): value for figure, item, value in other}
    keys = [(figure, item) for figure, item, _ in this]
    keys += [key for key in theirs if key not in set(keys)]
    ours = {(figure, item): value for figure, item, value in this}
    out = []
    for figure, item in keys:
        a, b = ours.get((figure, item), ""), theirs.get((figure, item), "")
        out.append((figure, item, a, b, _difference(a, b)))
    return out


def _difference(a: str, b: str) -> str:
    try:
        if "." not in a + b:
            return str(int(a) - int(b))
        return str(round(float(a) - float(b), 1))
    except ValueError:
        return ""


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
    store: Store,
    tenant: str,
    start: float,
    end: float,
    zone: ZoneInfo,
    hourly: bool = False,
    flow_version: str | None = None,
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
    version = (flow_version,) if flow_version else ()
    rows = store.read(
        lambda db: db.execute(
            f"SELECT started FROM call_records WHERE {PERIOD}{VERSION if version else ''}",
            (tenant, start, end, *version),
        ).fetchall()
    )
    for (started,) in rows:
        index = bisect_right(starts, float(started)) - 1
        if index >= 0:
            counts[index] += 1
    return [(label, n) for (label, _), n in zip(spans, counts, strict=True)]
