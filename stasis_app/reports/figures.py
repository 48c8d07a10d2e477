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

Every figure is one aggregate query over "one bank, a period" (the
indexes on tenant and start), so a month of a busy bank stays quick.
"""

import math
from dataclasses import dataclass, field
from typing import Any

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


def figures(store: Store, tenant: str, start: float, end: float) -> Figures:
    """``tenant``'s figures for the calls that started in [start, end)."""
    args = (tenant, start, end)

    def work(db: Connection) -> Figures:
        found = Figures(tenant, start, end)
        calls, self_service, transfers = db.execute(
            "SELECT COUNT(*), "
            "COALESCE(SUM(CASE WHEN done > 0 AND consultant = 0 THEN 1 ELSE 0 END), 0), "
            "COALESCE(SUM(consultant), 0) "
            f"FROM call_records WHERE {PERIOD}",
            args,
        ).fetchone()
        found.calls, found.self_service, found.transfers = (
            int(calls),
            int(self_service),
            int(transfers),
        )
        endings = dict(
            db.execute(
                f"SELECT ending, COUNT(*) FROM call_records WHERE {PERIOD} GROUP BY ending", args
            ).fetchall()
        )
        found.endings = {name: int(endings.get(name, 0)) for name in ENDINGS}
        found.endings.update({k: int(v) for k, v in endings.items() if k not in ENDINGS})
        for kind, outcome, n in db.execute(
            f"SELECT kind, outcome, COUNT(*) FROM call_operations WHERE {PERIOD} "
            "GROUP BY kind, outcome ORDER BY kind, outcome",
            args,
        ):
            found.operations.setdefault(str(kind), {})[str(outcome)] = int(n)
        outcomes = {
            str(outcome): int(n)
            for outcome, n in db.execute(
                f"SELECT queue_outcome, COUNT(*) FROM call_records WHERE {PERIOD} "
                "AND queue <> '' GROUP BY queue_outcome ORDER BY queue_outcome",
                args,
            )
        }
        waits = [
            float(row[0])
            for row in db.execute(
                f"SELECT queue_wait FROM call_records WHERE {PERIOD} "
                "AND queue_wait IS NOT NULL ORDER BY queue_wait",
                args,
            )
        ]
        found.queue = {
            "offered": sum(outcomes.values()),
            **{name: outcomes.pop(name, 0) for name in ("answered", "abandoned", "callback")},
            "timed_out": outcomes.pop("timed_out", 0),
            **outcomes,
            "wait_p50": percentile(waits, 0.5),
            "wait_p90": percentile(waits, 0.9),
        }
        found.drop_off = {
            str(state): int(n)
            for state, n in db.execute(
                f"SELECT last_state, COUNT(*) FROM call_records WHERE {PERIOD} "
                "AND ending = ? GROUP BY last_state ORDER BY COUNT(*) DESC, last_state",
                (*args, HUNG_UP),
            )
        }
        found.nodes = {
            str(node): int(n)
            for node, n in db.execute(
                f"SELECT node, COUNT(*) FROM call_records WHERE {PERIOD} "
                "GROUP BY node ORDER BY node",
                args,
            )
        }
        return found

    return store.read(work)
