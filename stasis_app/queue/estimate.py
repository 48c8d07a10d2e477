"""How long a waiting caller will likely wait.

Not one queue-wide average: the caller at ``position`` is served in wave
``ceil(position / agents)`` (each logged-in agent takes one caller per
wave). The first wave starts when an agent's current call ends, on average
half a call from now; every later wave takes one whole call. A call's length
is the mean of the queue's recent calls (talk and wrap-up), or the
configured ``handle_seconds`` until there are some.
"""

import math
from collections import deque

RECENT_CALLS = 20  # handle times the estimate goes by


class HandleTimes:
    """The queue's most recent call lengths, in seconds."""

    def __init__(self, default: float, keep: int = RECENT_CALLS) -> None:
        self.default = default
        self._recent: deque[float] = deque(maxlen=keep)

    def add(self, seconds: float) -> None:
        self._recent.append(max(0.0, seconds))

    def mean(self) -> float:
        return sum(self._recent) / len(self._recent) if self._recent else self.default

    def __len__(self) -> int:
        return len(self._recent)


def estimate_wait(position: int, agents: int, handle_seconds: float) -> float:
    """Seconds the caller at ``position`` (1 = next) likely waits, with
    ``agents`` agents logged in and calls lasting ``handle_seconds``."""
    if position < 1:
        raise ValueError("positions start at 1")
    waves = math.ceil(position / max(1, agents))
    return (waves - 0.5) * handle_seconds


def spoken_minutes(seconds: float) -> int:
    """The wait as it is said: 0 (under a minute), whole minutes up to ten,
    then in fives (callers hear "about", not a promise), 61 for over an hour."""
    if seconds < 60:
        return 0
    minutes = math.ceil(seconds / 60)
    if minutes > 10:
        minutes = 5 * math.ceil(minutes / 5)
    return minutes if minutes <= 60 else 61
