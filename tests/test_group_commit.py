"""Group commit (stasis_app/safeguards/group_commit.py) without a store: what
arrives while a write is in flight goes into the next write, each caller gets
its own result, a failed write fails exactly its own callers, and a caller who
stops waiting still has its item written. (tests/test_store_nodes.py shows it
on the audit chain of two PostgreSQL nodes.)"""

import asyncio
from collections.abc import Callable

import pytest

from stasis_app.safeguards.group_commit import GroupCommit

pytestmark = pytest.mark.unit


class Writer:
    """Writes items into ``written`` (one list per write); the write after
    ``fail_at`` writes raises. Each write waits for ``go`` when it is set up."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.written: list[list[str]] = []
        self.fail_at = fail_at
        self.go: asyncio.Event | None = None

    def write(self, items: list[str]) -> list[str]:
        if self.fail_at is not None and len(self.written) == self.fail_at:
            self.written.append([])
            raise ConnectionError("the store is down")
        self.written.append(list(items))
        return [item.upper() for item in items]

    async def run(self, work: Callable[[], list[str]]) -> list[str]:
        if self.go is not None:
            await self.go.wait()
        return work()


async def test_items_submitted_during_a_write_go_together_into_the_next() -> None:
    writer = Writer()
    writer.go = asyncio.Event()
    group: GroupCommit[str, str] = GroupCommit(writer.write, writer.run)
    first = asyncio.ensure_future(group.submit("a"))
    await asyncio.sleep(0)  # "a"'s write is in flight, held by go
    later = [asyncio.ensure_future(group.submit(x)) for x in "bcd"]
    await asyncio.sleep(0)
    writer.go.set()
    assert await first == "A" and await asyncio.gather(*later) == ["B", "C", "D"]
    assert writer.written == [["a"], ["b", "c", "d"]] and group.writes == 2


async def test_a_quiet_line_writes_each_item_on_its_own() -> None:
    writer = Writer()
    group: GroupCommit[str, str] = GroupCommit(writer.write, writer.run)
    assert [await group.submit(x) for x in "xy"] == ["X", "Y"]
    assert writer.written == [["x"], ["y"]]


async def test_a_failed_write_fails_its_own_callers_and_the_next_write_goes_on() -> None:
    writer = Writer(fail_at=0)
    writer.go = asyncio.Event()
    group: GroupCommit[str, str] = GroupCommit(writer.write, writer.run)
    doomed = [asyncio.ensure_future(group.submit(x)) for x in "ab"]
    await asyncio.sleep(0)
    fine = asyncio.ensure_future(group.submit("c"))
    await asyncio.sleep(0)
    writer.go.set()
    results = await asyncio.gather(*doomed, return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await fine == "C"


async def test_a_caller_who_stops_waiting_still_has_its_item_written() -> None:
    writer = Writer()
    writer.go = asyncio.Event()
    group: GroupCommit[str, str] = GroupCommit(writer.write, writer.run)
    gone = asyncio.ensure_future(group.submit("hung-up"))
    await asyncio.sleep(0)
    gone.cancel()
    writer.go.set()
    assert await group.submit("next") == "NEXT"
    assert [item for write in writer.written for item in write] == ["hung-up", "next"]


async def test_at_most_most_items_go_into_one_write() -> None:
    writer = Writer()
    group: GroupCommit[str, str] = GroupCommit(writer.write, writer.run, most=3)
    await asyncio.gather(*(group.submit(str(n)) for n in range(7)))
    assert [len(w) for w in writer.written] == [3, 3, 1]
