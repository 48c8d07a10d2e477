"""Group commit: what callers submit while a write is in flight is written
together, in the next one.

The audit chain takes one append at a time across every node (its scope's
lock is held to the commit, and a commit waits for its WAL flush: about
3 ms on PostgreSQL with fsync). One entry per transaction caps a deployment
near 300 entries a second; entries that arrive while one transaction commits
wait for it anyway, so the next transaction takes all of them: a quiet line
writes one entry per transaction as before, a busy one tens, under one lock
and one flush. Every caller still returns only once its entry is committed,
in the order submitted.

A caller that stops waiting (a hung-up call's task is cancelled) does not
take its item back: it is written with the rest, as it would have been by a
write already running on the store's thread.
"""

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MOST = 200  # items in one write, at most


class GroupCommit(Generic[Item, Result]):
    """Batches ``submit``-ted items into calls of ``write`` (run by ``run``,
    e.g. on the store's threads); each submitter gets its own item's result."""

    def __init__(
        self,
        write: Callable[[list[Item]], list[Result]],
        run: Callable[[Callable[[], list[Result]]], Awaitable[list[Result]]],
        most: int = MOST,
    ) -> None:
        self._write = write
        self._run = run
        self._most = most
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.writes = 0  # calls of ``write`` so far (benchmarks report items per write)

    async def submit(self, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (a test's asyncio.run): start afresh
            self._loop, self._pending, self._flusher = loop, [], None
        future: asyncio.Future[Result] = loop.create_future()
        self._pending.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush(), name="group-commit")
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self._most], self._pending[self._most :]
            items = [item for item, _ in batch]
            self.writes += 1
            try:
                results = await self._run(functools.partial(self._write, items))
                if len(results) != len(batch):
                    raise RuntimeError(f"{len(batch)} items written as {len(results)}")
            except Exception as exc:  # the store is down: every waiter hears it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:  # cancelled (the app stops): nobody is left waiting
                for _, future in [*batch, *self._pending]:
                    if not future.done():
                        future.cancel()
                self._pending = []
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
