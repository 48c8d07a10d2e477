"""What a call waited on between a key and its next prompt.

The key-to-prompt wait (``infolinia_key_to_prompt_seconds``) mixes the app's
own work with the bank's: a menu key is followed by nothing but the next
play request, a telekod by the login guard, the bank's check and audit
entries. Each call's task holds one :class:`KeyWaits` (set by its
:class:`~stasis_app.telephony.call.Call`); the code that waits on something
marks it with :func:`waiting_on` (``bank``: an adapter's answer; ``audit``:
an audit entry committed; ``store``: another state-store transaction, the
login guard's), and the metrics split the histogram by what was waited on
and count the app's share (the wait less the bank's part).

Tasks a call starts copy its context, so their waits count for the call;
with no call (a test of a verb alone, the CLI) nothing is kept.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

BANK, AUDIT, STORE = "bank", "audit", "store"
NOTHING = "nothing"  # the label of a wait with none of the above


@dataclass
class KeyWaits:
    """Seconds waited on each kind of work since the call's last key."""

    since: float | None = None  # time.monotonic() of the key; None: no key waiting
    spent: dict[str, float] = field(default_factory=dict)

    def key(self, at: float) -> None:
        """A key the app can act on arrived at ``at``: count afresh from it."""
        self.since = at
        self.spent.clear()

    def add(self, kind: str, started: float, ended: float) -> None:
        if self.since is None:
            return
        seconds = ended - max(started, self.since)  # the part after the key
        if seconds > 0:
            self.spent[kind] = self.spent.get(kind, 0.0) + seconds

    def label(self) -> str:
        """What was waited on, e.g. ``audit+bank+store`` or ``nothing``."""
        return "+".join(sorted(self.spent)) or NOTHING

    def app_share(self, total: float) -> float:
        """Of ``total`` seconds from the key to the prompt, those not spent
        waiting for the bank (audit and store writes are the app's)."""
        return max(0.0, total - self.spent.get(BANK, 0.0))


_current: ContextVar[KeyWaits | None] = ContextVar("key_waits", default=None)


def hold(waits: KeyWaits) -> None:
    """The running task (a call's) counts its waits in ``waits``."""
    _current.set(waits)


def current() -> KeyWaits | None:
    return _current.get()


@contextmanager
def waiting_on(kind: str) -> Iterator[None]:
    """Count the time inside the block as the call waiting on ``kind``."""
    waits = _current.get()
    if waits is None:
        yield
        return
    started = time.monotonic()
    try:
        yield
    finally:
        waits.add(kind, started, time.monotonic())
