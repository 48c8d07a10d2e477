"""The agents of one queue: who is free, and who is rung next.

An agent is ``idle`` (free), ``ringing`` (offered a caller), ``busy`` (talking)
or ``wrap_up`` (a few seconds after a call, to finish notes). A PJSIP agent
whose endpoint is not registered is logged out, and so is a ``Proxy/<name>``
phone not registered at the cluster's SIP proxy (telephony/proxy_phones.py);
other technologies (Local channels, trunks to a mobile) are always taken as
logged in.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Literal

AgentState = Literal["idle", "ringing", "busy", "wrap_up"]
# Presence is asked of Asterisk at most this often per queue.
PRESENCE_SECONDS = 5.0


@dataclass
class Agent:
    endpoint: str
    order: int  # place in the config list
    state: AgentState = "idle"
    idle_since: float = 0.0  # monotonic: when it last became free
    wrap_until: float = 0.0
    logged_in: bool = True
    answered: int = 0
    missed: int = 0

    @property
    def has_presence(self) -> bool:
        """Whether Asterisk knows if this agent is logged in (a registering endpoint)."""
        return self.endpoint.upper().startswith(("PJSIP/", "PROXY/"))


class AgentPool:
    """The agents of a queue and the ring strategy."""

    def __init__(
        self,
        endpoints: Sequence[str],
        strategy: str = "longest_idle",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.strategy = strategy
        now = clock()
        self.agents = [Agent(endpoint, n, idle_since=now) for n, endpoint in enumerate(endpoints)]
        self._presence_at = -PRESENCE_SECONDS

    def reconfigure(self, endpoints: Sequence[str], strategy: str) -> None:
        """New settings (a reload): agents kept keep their state."""
        known = {agent.endpoint: agent for agent in self.agents}
        now = self.clock()
        self.agents = [
            known.get(endpoint) or Agent(endpoint, n, idle_since=now)
            for n, endpoint in enumerate(endpoints)
        ]
        for n, agent in enumerate(self.agents):
            agent.order = n
        self.strategy = strategy

    async def refresh_presence(
        self, state_of: Callable[[str], Awaitable[str | None]], *, force: bool = False
    ) -> None:
        """Ask Asterisk which PJSIP agents are registered (at most every few seconds)."""
        now = self.clock()
        if not force and now - self._presence_at < PRESENCE_SECONDS:
            return
        self._presence_at = now
        asking = [agent for agent in self.agents if agent.has_presence]
        # At once: a phone at the cluster's proxy may take up to half a second to answer for.
        states = await asyncio.gather(*(state_of(agent.endpoint) for agent in asking))
        for agent, state in zip(asking, states, strict=True):
            agent.logged_in = state not in (None, "offline")

    def _settle(self) -> None:
        now = self.clock()
        for agent in self.agents:
            if agent.state == "wrap_up" and agent.wrap_until <= now:
                agent.state, agent.idle_since = "idle", agent.wrap_until

    def logged_in(self) -> int:
        return sum(1 for agent in self.agents if agent.logged_in)

    def free(self, exclude: Collection[str] = ()) -> Agent | None:
        """The agent to ring next, if one is free: the longest idle (ties in
        config order), or the first listed with ``in_order``."""
        self._settle()
        free = [
            agent
            for agent in self.agents
            if agent.state == "idle" and agent.logged_in and agent.endpoint not in exclude
        ]
        if not free:
            return None
        if self.strategy == "in_order":
            return min(free, key=lambda agent: agent.order)
        return min(free, key=lambda agent: (agent.idle_since, agent.order))

    def next_free_at(self) -> float | None:
        """When the next agent's wrap-up ends (monotonic), if any is wrapping up."""
        ends = [agent.wrap_until for agent in self.agents if agent.state == "wrap_up"]
        return min(ends) if ends else None

    def ringing(self, agent: Agent) -> None:
        agent.state = "ringing"

    def answered(self, agent: Agent) -> None:
        agent.state = "busy"
        agent.answered += 1

    def missed(self, agent: Agent) -> None:
        """Did not answer (or could not be rung): back of the line of idle agents."""
        agent.missed += 1
        agent.state, agent.idle_since = "idle", self.clock()

    def released(self, agent: Agent) -> None:
        """Answered, but the caller was gone before they were joined."""
        agent.state, agent.idle_since = "idle", self.clock()

    def finished(self, agent: Agent, wrap_up: float) -> None:
        """A call ended: wrap-up, then free."""
        now = self.clock()
        if wrap_up > 0:
            agent.state, agent.wrap_until = "wrap_up", now + wrap_up
        else:
            agent.state, agent.idle_since = "idle", now
