"""The calls in progress, as a supervisor may see them: which tenant, where in
the flow, since when. Nothing about the caller or the customer is kept here
(no number, no customer, no keys), so nothing of it can leak to a page."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field


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


class CallRegistry:
    """Filled by the app's ``handle_call``; read by the admin page."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._calls: dict[str, CallInfo] = {}
        self.clock = clock

    def started(self, channel_id: str, tenant: str | None) -> CallInfo:
        info = CallInfo(channel_id, tenant, self.clock())
        self._calls[channel_id] = info
        return info

    def ended(self, channel_id: str) -> None:
        self._calls.pop(channel_id, None)

    def views(self, visible: Callable[[str], bool]) -> list[CallView]:
        """The calls of tenants ``visible`` says yes to, oldest first."""
        now = self.clock()
        return [
            CallView(info.channel_id, info.tenant, info.state(), int(now - info.started))
            for info in sorted(self._calls.values(), key=lambda i: i.started)
            if info.tenant is not None and visible(info.tenant)
        ]
