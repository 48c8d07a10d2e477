"""Calls in progress on every node: two nodes sharing one state store (on
each engine) each see the other's calls on the live page, a call that ended
leaves at the next write, and a node that stopped writing drops out."""

from pathlib import Path
from typing import Any

import pytest

from stasis_app.store import Store
from stasis_app.telephony.live_calls import FRESH_SECONDS, CallRegistry, CallsBoard

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def everyone(tenant: str) -> bool:
    return True


async def test_each_node_sees_the_calls_of_the_other(state_where: Path | str) -> None:
    clock = Clock()
    store = Store(state_where)
    first, second = CallRegistry(clock, node="n1"), CallRegistry(clock, node="n2")
    boards = CallsBoard(store, first), CallsBoard(Store(state_where), second)
    first.started("ch-a", "cieszyn").state = lambda: "menu"
    clock.now += 5
    second.started("ch-b", "izbica").state = lambda: "login"
    first.started("ch-none", None)  # a number no bank has: not on the page
    for board in boards:
        await board.exchange()
    clock.now += 1
    for board in boards:
        await board.exchange()

    seen = [(v.channel_id, v.tenant, v.state, v.seconds, v.node) for v in second.views(everyone)]
    assert seen == [("ch-a", "cieszyn", "menu", 6, "n1"), ("ch-b", "izbica", "login", 1, "n2")]
    assert [v.channel_id for v in first.views(lambda t: t == "izbica")] == ["ch-b"]

    first.ended("ch-a")
    await boards[0].exchange()
    await boards[1].exchange()
    assert [v.channel_id for v in second.views(everyone)] == ["ch-b"]

    # n2 stops writing (killed): after FRESH_SECONDS its calls leave n1's page.
    first.started("ch-c", "cieszyn")
    clock.now += FRESH_SECONDS + 1
    await boards[0].exchange()
    assert [v.node for v in first.views(everyone)] == ["n1"]

    await boards[0].leave()  # n1 stops cleanly: gone from n2's page at once
    await boards[1].exchange()
    assert [(v.channel_id, v.node) for v in second.views(everyone)] == [("ch-b", "n2")]


class Spy:
    """A store connection that notes how many rows each write names."""

    def __init__(self, db: Any, seen: list[tuple[str, int]]) -> None:
        self.db, self.seen = db, seen

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        self.seen.append((sql.split()[0] + " " + sql.split()[2], 1))
        return self.db.execute(sql, parameters)

    def executemany(self, sql: str, rows: Any, /) -> Any:
        rows = list(rows)
        self.seen.append((sql.split()[0] + " " + sql.split()[2], len(rows)))
        return self.db.executemany(sql, rows)


async def test_a_node_writes_only_what_changed(
    state_where: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 calls that wait cost the store a heartbeat every 2 s, not 300 rows."""
    store, clock = Store(state_where), Clock()
    registry = CallRegistry(clock, node="n1")
    board = CallsBoard(store, registry)
    waiting = {f"ch-{n}": registry.started(f"ch-{n}", "cieszyn") for n in range(300)}
    for info in waiting.values():
        info.state = lambda: "queue"
    await board.exchange()
    seen: list[tuple[str, int]] = []
    transaction = store.transaction
    monkeypatch.setattr(
        store,
        "transaction",
        lambda work, scope=None: transaction(lambda db: work(Spy(db, seen)), scope),
    )

    clock.now += 2
    await board.exchange()
    assert seen == [("INSERT live_nodes", 1)]  # nothing changed: the heartbeat only

    seen.clear()
    waiting["ch-7"].state = lambda: "talking"
    registry.ended("ch-8")
    registry.started("ch-new", "izbica")
    clock.now += 2
    await board.exchange()
    assert sorted(seen) == [
        ("DELETE live_calls", 1), ("INSERT live_calls", 2), ("INSERT live_nodes", 1)
    ]  # fmt: skip
    other = CallRegistry(clock, node="n2")
    await CallsBoard(Store(state_where), other).exchange()
    shown = {v.channel_id: v.state for v in other.views(everyone)}
    assert len(shown) == 300 and shown["ch-7"] == "talking" and "ch-8" not in shown
