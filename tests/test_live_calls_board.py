"""Calls in progress on every node: two nodes sharing one state store (on
each engine) each see the other's calls on the live page, a call that ended
leaves at the next write, and a node that stopped writing drops out."""

from pathlib import Path

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
