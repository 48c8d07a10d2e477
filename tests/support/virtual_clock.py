"""Virtual time for asyncio tests: an event loop whose clock jumps to the
next timer whenever nothing is ready, so a caller's six seconds of silence,
a bank that never answers and a 30 s playback cost no real time, and a run
is the same every time (no race with the wall clock).

Work sent to a thread (``asyncio.to_thread``, ``run_in_executor``) runs at
once, inline, in zero virtual time: the demo bank's SQLite calls stay real,
and nothing can finish "while the clock jumps". The loop owns no sockets,
so a loop with nothing ready and no timer left can only wait forever: it
raises :class:`Stuck` instead of hanging the test.

:func:`monotonic_follows_the_loop` makes ``time.monotonic()`` read the
virtual clock inside such a loop (the app measures deadlines with it), and
the real clock everywhere else.
"""

import asyncio
import contextlib
import selectors
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_real_monotonic = time.monotonic
TURN = 1e-9  # virtual seconds one turn of the loop takes
MAX_TURNS = 5_000_000  # a run that needs more spins (a real one takes a few thousand)


class Stuck(RuntimeError):
    """Every task waits for something nothing will ever do."""


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.turns = 0

    def select(self, timeout: float | None = None) -> list[Any]:
        ready: list[Any] = super().select(0)
        self.turns += 1
        if self.turns > MAX_TURNS:
            raise Stuck(f"the loop turned {MAX_TURNS} times: something spins without waiting")
        # Every turn takes a little time, as a real one does: a task that waits
        # for a deadline less than the loop's clock resolution away must not
        # see the same "now" forever.
        self.now += TURN
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise Stuck("no task is ready and no timer is pending: the run would wait forever")
        self.now += timeout
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on virtual time (see the module's docstring)."""

    def __init__(self) -> None:
        self._clock = _JumpingSelector()
        super().__init__(self._clock)

    def time(self) -> float:
        return self._clock.now

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        future: asyncio.Future[T] = self.create_future()
        try:
            future.set_result(func(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future


def _monotonic() -> float:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _real_monotonic()
    return loop.time() if isinstance(loop, VirtualClockLoop) else _real_monotonic()


@contextlib.contextmanager
def monotonic_follows_the_loop() -> Iterator[None]:
    """Inside a :class:`VirtualClockLoop`, ``time.monotonic()`` is its clock."""
    time.monotonic = _monotonic
    try:
        yield
    finally:
        time.monotonic = _real_monotonic
