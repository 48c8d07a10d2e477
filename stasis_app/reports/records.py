"""Call records in the state store (tables ``call_records``,
``call_operations`` and ``call_states``, migrations 9 and 11): written once
when a call ends, read by the reports, deleted after the bank's retention
(``records.keep_days``).

Writing never delays or fails a call: :meth:`CallRecords.keep` hands the
write to a thread of its own (one, not the store's: while PostgreSQL is
away each write waits for a connection, and a queue of them must not hold
the threads that logins, blocks and the spool need); a write that fails
(the store is down, a disk full) is logged and counted, never raised. Each
write is one transaction in the scope ``records:<bank>`` (only that bank's
records are written in it), inserting once: a record written again (the
same node and call id) is left as it was.
"""

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from stasis_app.reports.trail import DONE, CallTrail, QueueVisit
from stasis_app.store import Connection, Store

log = logging.getLogger(__name__)

DAY = 86400.0
LANGUAGE = "pl"  # every flow speaks Polish today

# How a call ended, as a record says it.
HUNG_UP, COMPLETED, TRANSFERRED, FAILED = "caller hung up", "completed", "transferred", "failed"
ENDINGS = (HUNG_UP, COMPLETED, TRANSFERRED, FAILED)


def ending(outcome: str, trail: CallTrail) -> str:
    """The record's ending from the app's outcome of the call: a call that
    reached a consultant (answered in a queue, or handed to the dialplan's
    consultant route) was transferred, however it ended after that."""
    if trail.reached_consultant or outcome == "transferred":
        return TRANSFERRED
    if outcome in (HUNG_UP, COMPLETED):
        return outcome
    return FAILED  # failed, Asterisk unavailable, the app stopping


@dataclass(frozen=True)
class CallRecord:
    """One call of a bank, as the reports read it."""

    tenant: str
    line: str
    node: str
    call_id: str  # the caller's channel id (unique on its node)
    started: float  # Unix time
    ended: float
    flow: str  # the flow's file name
    flow_version: str  # a hash of the flow's file
    ending: str  # one of ENDINGS
    states: tuple[tuple[str, float], ...] = ()  # (state, seconds in it), in order
    operations: tuple[tuple[str, str], ...] = ()  # (kind, outcome), in order
    queues: tuple[QueueVisit, ...] = ()
    language: str = LANGUAGE
    survey_score: int | None = None  # a satisfaction survey's answer, when one was asked

    @property
    def last_state(self) -> str:
        return self.states[-1][0] if self.states else ""

    @property
    def done(self) -> int:
        """Operations done (see :data:`~stasis_app.reports.trail.DONE`)."""
        return sum(1 for _, outcome in self.operations if outcome in DONE)

    @property
    def consultant(self) -> bool:
        return self.ending == TRANSFERRED

    @property
    def visited(self) -> list[str]:
        """Each state the call entered, once, in the order first entered."""
        return list(dict.fromkeys(state for state, _ in self.states))

    def as_dict(self) -> dict[str, object]:
        return {
            "tenant": self.tenant,
            "line": self.line,
            "node": self.node,
            "call_id": self.call_id,
            "started": self.started,
            "ended": self.ended,
            "flow": self.flow,
            "flow_version": self.flow_version,
            "language": self.language,
            "ending": self.ending,
            "states": [list(step) for step in self.states],
            "operations": [list(op) for op in self.operations],
            "queues": [_visit(v) for v in self.queues],
            "survey_score": self.survey_score,
        }


def _visit(visit: QueueVisit) -> dict[str, object]:
    return {
        "queue": visit.queue,
        "outcome": visit.outcome,
        "wait": visit.wait,
        "agent": visit.agent,
        "entered": visit.entered,
        "announcements": visit.announcements,
    }


def from_trail(
    trail: CallTrail,
    *,
    tenant: str,
    line: str,
    node: str,
    call_id: str,
    flow: str,
    flow_version: str,
    outcome: str,
    now: Callable[[], float] = time.time,
) -> CallRecord:
    """The record of a call that just ended (``outcome``: the app's)."""
    ended_mono = trail.clock()
    ended = now()
    return CallRecord(
        tenant=tenant,
        line=line,
        node=node,
        call_id=call_id,
        started=round(ended - (ended_mono - trail.started), 3),
        ended=round(ended, 3),
        flow=flow,
        flow_version=flow_version,
        ending=ending(outcome, trail),
        states=tuple(trail.steps(ended_mono)),
        operations=tuple(trail.operations),
        queues=tuple(trail.queues),
        language=trail.language,
        survey_score=trail.survey_score,
    )


_INSERT_RECORD = (
    "INSERT INTO call_records (node, call_id, tenant, line, started, ended, flow, flow_version, "
    "language, ending, last_state, done, consultant, queue, queue_outcome, queue_wait, agent, "
    "announcements, survey_score, states, operations, queues) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (node, call_id) DO NOTHING"
)
_INSERT_OPERATION = (
    "INSERT INTO call_operations (node, call_id, seq, tenant, started, flow_version, kind, "
    "outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (node, call_id, seq) DO NOTHING"
)
_INSERT_STATE = (
    "INSERT INTO call_states (node, call_id, state, tenant, started, flow_version) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (node, call_id, state) DO NOTHING"
)


def record_row(record: CallRecord) -> tuple[object, ...]:
    last = record.queues[-1] if record.queues else None
    return (
        record.node,
        record.call_id,
        record.tenant,
        record.line,
        record.started,
        record.ended,
        record.flow,
        record.flow_version,
        record.language,
        record.ending,
        record.last_state,
        record.done,
        int(record.consultant),
        last.queue if last else "",
        last.outcome if last else "",
        last.wait if last else None,
        last.agent if last else "",
        last.announcements if last else 0,
        record.survey_score,
        json.dumps([list(step) for step in record.states]),
        json.dumps([list(op) for op in record.operations]),
        json.dumps([_visit(v) for v in record.queues]),
    )


def insert(db: Connection, records: Sequence[CallRecord]) -> None:
    """Insert ``records`` with their operations and states (in the caller's
    transaction); a record already there (its node and call id) is left."""
    db.executemany(_INSERT_RECORD, [record_row(r) for r in records])
    operations = [
        (r.node, r.call_id, seq, r.tenant, r.started, r.flow_version, *op)
        for r in records
        for seq, op in enumerate(r.operations)
    ]
    if operations:
        db.executemany(_INSERT_OPERATION, operations)
    states = [
        (r.node, r.call_id, state, r.tenant, r.started, r.flow_version)
        for r in records
        for state in r.visited
    ]
    if states:
        db.executemany(_INSERT_STATE, states)


# Records deleted in one transaction at most (about: records that started at
# the same instant go together).
DELETE_BATCH = 5000


@dataclass
class CallRecords:
    """The call records of every bank in one store."""

    store: Store
    on_failed: Callable[[], None] = lambda: None  # counts a write that failed
    _pending: set["asyncio.Task[None]"] = field(default_factory=set)
    # Records are written one at a time on a thread of their own (see above).
    _writer: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="call-records")
    )

    def write(self, record: CallRecord) -> None:
        """Insert ``record`` (blocking: on the store's threads, or a test's)."""

        def work(db: Connection) -> None:
            insert(db, [record])

        self.store.transaction(work, f"records:{record.tenant}")

    def keep(self, record: CallRecord) -> None:
        """Write ``record`` in the background; never raises, never waits."""
        task = asyncio.ensure_future(self._keep(record))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _keep(self, record: CallRecord) -> None:
        try:
            context = contextvars.copy_context()
            await asyncio.get_running_loop().run_in_executor(
                self._writer, context.run, self.write, record
            )
        except Exception as exc:  # the store is down: the call is over anyway
            self.on_failed()
            log.error(
                "call record not written",
                extra={"tenant": record.tenant, "error": type(exc).__name__},
            )

    async def drain(self, timeout: float = 5.0) -> None:
        """Let the writes in progress finish (the app stopping)."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout)

    def delete_older(self, tenant: str, keep_days: int, now: float | None = None) -> int:
        """Delete ``tenant``'s records that started more than ``keep_days``
        days ago; how many were deleted. In transactions of at most
        :data:`DELETE_BATCH` records: a bank's year of records past a lowered
        ``keep_days`` never holds its scope (and the store) for long."""
        cutoff = (time.time() if now is None else now) - keep_days * DAY

        def batch(db: Connection) -> int:
            oldest = db.execute(
                "SELECT started FROM call_records WHERE tenant = ? AND started < ? "
                "ORDER BY started LIMIT 1 OFFSET ?",
                (tenant, cutoff, DELETE_BATCH - 1),
            ).fetchone()
            # Up to the batch's last start (itself < cutoff), or all that are left.
            until, op = (cutoff, "<") if oldest is None else (float(oldest[0]), "<=")
            for table in ("call_operations", "call_states"):
                db.execute(
                    f"DELETE FROM {table} WHERE tenant = ? AND started {op} ?", (tenant, until)
                )
            return int(
                db.execute(
                    f"DELETE FROM call_records WHERE tenant = ? AND started {op} ?",
                    (tenant, until),
                ).rowcount
            )

        deleted = 0
        while True:
            done = self.store.transaction(batch, f"records:{tenant}")
            deleted += done
            if done == 0:
                return deleted

    def records(self, tenant: str, start: float, end: float) -> list[CallRecord]:
        """``tenant``'s records that started in [start, end), oldest first."""
        rows = self.store.read(
            lambda db: db.execute(
                "SELECT tenant, line, node, call_id, started, ended, flow, flow_version, "
                "ending, states, operations, queues, language, survey_score FROM call_records "
                "WHERE tenant = ? AND started >= ? AND started < ? ORDER BY started, call_id",
                (tenant, start, end),
            ).fetchall()
        )
        return [
            CallRecord(
                tenant=row[0],
                line=row[1],
                node=row[2],
                call_id=row[3],
                started=float(row[4]),
                ended=float(row[5]),
                flow=row[6],
                flow_version=row[7],
                ending=row[8],
                states=tuple((str(s), float(t)) for s, t in json.loads(row[9])),
                operations=tuple((str(k), str(o)) for k, o in json.loads(row[10])),
                queues=tuple(QueueVisit(**v) for v in json.loads(row[11])),
                language=row[12],
                survey_score=None if row[13] is None else int(row[13]),
            )
            for row in rows
        ]
