"""What the app and Asterisk say to each other, counted: ARI requests by
method and operation (which names the path template: ``channels.play`` is
``POST /channels/{channelId}/play``) and how they went (over the events
websocket or HTTP), and events by type with their size.

Plain counters, cheap on the hot path (a dict increment per request and per
event); :mod:`stasis_app.metrics` exposes them as ``infolinia_ari_*`` and
``bench/load.py`` divides them by the calls a run completed.
"""

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class AriTraffic:
    """Counters of one app process's ARI requests and events, over every connection."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)  # (method, operation)
    transports: Counter[str] = field(default_factory=Counter)  # "websocket" or "http"
    events: Counter[str] = field(default_factory=Counter)  # by type
    event_bytes: Counter[str] = field(default_factory=Counter)  # by type
    _last_size: int = 0  # of the websocket message being dispatched

    def request(self, method: str, operation: str) -> None:
        """One request sent (a retry is one more)."""
        self.requests[(method, operation)] += 1

    def sent(self, transport: str) -> None:
        self.transports[transport] += 1

    def received(self, size: int) -> None:
        """A websocket message of ``size`` bytes arrived; :meth:`event` counts it
        once it is parsed (aioari dispatches each message before reading the next)."""
        self._last_size = size

    def event(self, kind: str) -> None:
        self.events[kind] += 1
        self.event_bytes[kind] += self._last_size
        self._last_size = 0
