"""The calls in progress, as a supervisor may see them: which tenant, where in
the flow, since when, on which node. Nothing about the caller or the
customer is kept here (no number, no customer, no keys), so nothing of it
can leak to a page.

With several nodes sharing a state store, each node's :class:`CallsBoard`
writes the node's calls to the store every few seconds and reads the other
nodes' back (table ``live_calls``), so any node's admin page shows the calls
of every node: its own as they are, the others' as of their last write.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from stasis_app.store import Connection, Store

# A node whose calls were not written for this long has stopped: left out.
FRESH_SECONDS = 10.0


@dataclass
class CallInfo:
    channel_id: str
    tenant: str | None  # None: a number no tenant has
    started: float = field(default_factory=time.time)  # wall clock, seconds
    state: Callable[[], str] = lambda: ""  # the flow's current state, read when shown


@dataclass(frozen=True)
class CallView:
    """One row of the live page."""

    channel_id: str
    tenant: str
    state: str
    seconds: int
    node: str = ""


class CallRegistry:
    """Filled by the app's ``handle_call``; read by the admin page."""

    def __init__(self, clock: Callable[[], float] = time.time, node: str = "") -> None:
        self._calls: dict[str, CallInfo] = {}
        self.clock = clock
        self.node = node
        # The other nodes' calls as their last write left them (CallsBoard).
        self.elsewhere: list[tuple[CallView, float]] = []  # (view, started)

    def started(self, channel_id: str, tenant: str | None) -> CallInfo:
        info = CallInfo(channel_id, tenant, self.clock())
        self._calls[channel_id] = info
        return info

    def ended(self, channel_id: str) -> None:
        self._calls.pop(channel_id, None)

    def views(self, visible: Callable[[str], bool]) -> list[CallView]:
        """The calls of tenants ``visible`` says yes to, this node's and (with
        a board) every other node's, oldest first."""
        now = self.clock()
        return [
            CallView(view.channel_id, view.tenant, view.state, int(now - started), view.node)
            for view, started in sorted([*self.own(), *self.elsewhere], key=lambda pair: pair[1])
            if visible(view.tenant)
        ]

    def own(self) -> list[tuple[CallView, float]]:
        """This node's calls with a tenant, and when each started (for the board)."""
        return [
            (CallView(info.channel_id, info.tenant, info.state(), 0, self.node), info.started)
            for info in self._calls.values()
            if info.tenant is not None
        ]


Row = tuple[str, str, float]  # tenant, state, started: what the board keeps of a call


class CallsBoard:
    """This node's calls written to the shared store, the other nodes' read back.

    Only what changed since the last write is written (calls that started,
    ended or moved to another state), and the node's heartbeat (``live_nodes``):
    a node with 300 calls that mostly wait writes a few rows every 2 s, not
    300. Its first write, and the first after a failed one, replaces its rows whole.
    """

    def __init__(self, store: Store, registry: CallRegistry) -> None:
        self.store = store
        self.registry = registry
        self._written: dict[str, Row] | None = None  # None: the store's rows are unknown

    async def exchange(self) -> None:
        """Write this node's calls, read every other node's (off the event loop)."""
        registry = self.registry
        mine = {v.channel_id: (v.tenant, v.state, started) for v, started in registry.own()}
        now = registry.clock()
        written, self._written = self._written, None  # unknown until this write commits
        await self.store.run(partial(self._write, registry.node, mine, written, now))
        self._written = mine
        registry.elsewhere = await self.store.run(partial(self._read, registry.node, now))

    async def leave(self) -> None:
        """This node stops: its calls leave the board at once."""
        node = self.registry.node

        def work(db: Connection) -> None:
            db.execute("DELETE FROM live_calls WHERE node = ?", (node,))
            db.execute("DELETE FROM live_nodes WHERE node = ?", (node,))

        await self.store.run(partial(self.store.transaction, work, f"board:{node}"))
        self._written = None

    def _write(
        self, node: str, calls: dict[str, Row], written: dict[str, Row] | None, now: float
    ) -> None:
        def work(db: Connection) -> None:
            db.execute(
                "INSERT INTO live_nodes (node, seen) VALUES (?, ?) "
                "ON CONFLICT (node) DO UPDATE SET seen = excluded.seen",
                (node, now),
            )
            before = written
            if before is None:
                db.execute("DELETE FROM live_calls WHERE node = ?", (node,))
                before = {}
            ended = [(node, channel) for channel in before.keys() - calls.keys()]
            if ended:
                db.executemany("DELETE FROM live_calls WHERE node = ? AND channel_id = ?", ended)
            changed = [
                (node, channel, *row)
                for channel, row in calls.items()
                if before.get(channel) != row
            ]
            if changed:
                db.executemany(
                    "INSERT INTO live_calls (node, channel_id, tenant, state, started) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (node, channel_id) DO UPDATE SET "
                    "tenant = excluded.tenant, state = excluded.state, started = excluded.started",
                    changed,
                )

        self.store.transaction(work, f"board:{node}")  # only this node's rows

    def _read(self, node: str, now: float) -> list[tuple[CallView, float]]:
        rows = self.store.read(
            lambda db: db.execute(
                "SELECT c.node, c.channel_id, c.tenant, c.state, c.started "
                "FROM live_calls c JOIN live_nodes n ON n.node = c.node "
                "WHERE c.node <> ? AND n.seen >= ?",
                (node, now - FRESH_SECONDS),
            ).fetchall()
        )
        return [
            (CallView(str(channel), str(tenant), str(state), 0, str(where)), float(started))
            for where, channel, tenant, state, started in rows
        ]
