"""One consultant queue: its waiting callers, its agents, and the dispatcher
that rings a free agent for the caller at the front.

Callers are served first come, first served. An agent is rung with an ARI
originate into this app; on answer the agent hears the whisper
(:func:`~stasis_app.queue.speech.whisper_keys`), then the caller's task is
told (:data:`AGENT_READY`) and joins them. An agent who does not answer in
``ring_timeout`` goes to the back of the idle agents and the next one is
rung; the caller keeps their place. Every exit is counted by outcome.
"""

import asyncio
import contextlib
import itertools
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from stasis_app.errors import AriError
from stasis_app.logs import call_id_var
from stasis_app.queue.agents import PRESENCE_SECONDS, Agent, AgentPool
from stasis_app.queue.estimate import HandleTimes, estimate_wait
from stasis_app.queue.metrics import QueueMetrics
from stasis_app.queue.speech import whisper_keys
from stasis_app.telephony.gateway import CHANNEL_GONE, AriEvent, ChannelHandle
from stasis_app.telephony.ports import CallPort, QueueGateway
from stasis_app.tenants import QueueSettings
from voice.prompts import PromptBook

log = logging.getLogger(__name__)

# Reasons the queue gives a waiting caller's task (Call.notify).
AGENT_READY = "agent_ready"  # an agent answered and heard the whisper
AGENT_LEFT = "agent_left"  # the agent's leg ended
# A synthetic event on a ringing agent leg's queue: its caller left.
CALLER_GONE = "InfoliniaCallerGone"
LEG_ENDED = frozenset({"StasisEnd", "ChannelDestroyed", "ChannelHangupRequest", CHANNEL_GONE})
WHISPER_LIMIT = 30.0  # seconds; a whisper that never reports its end is taken as done


@dataclass(eq=False)
class AgentLeg:
    """An agent who answered for one caller."""

    agent: Agent
    channel_id: str
    answered_at: float
    connected: bool = False  # the caller's task joined them in a bridge
    ended: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class Waiter:
    """A caller in the queue."""

    call: CallPort
    level: str | None  # authenticated, identified or None
    customer: str  # "" unless the caller logged in
    joined: float  # monotonic
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    offering: bool = False  # an agent is being rung for them
    paused: bool = False  # in the callback dialogue: no agent is rung
    tried: set[str] = field(default_factory=set)  # agents who did not answer for them
    leg: AgentLeg | None = None
    ringing: ChannelHandle | None = None
    gone: bool = False
    outcome: str = ""  # why they left (set by leave), and after how long
    waited: float | None = None
    announcements: int = 0  # waiting-time announcements heard (the call record's)


@dataclass(frozen=True)
class Conversation:
    """A caller talking to an agent (what a supervisor may join)."""

    tenant: str
    queue: str
    caller_channel: str
    agent_endpoint: str
    agent_channel: str
    started: float = field(default_factory=time.time)


class ConsultantQueue:
    def __init__(
        self,
        tenant: str,
        name: str,
        settings: QueueSettings,
        gateway: QueueGateway,
        prompts: PromptBook,
        metrics: QueueMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tenant = tenant
        self.name = name
        self.settings = settings
        self.gateway = gateway
        self.prompts = prompts
        self.metrics = metrics or QueueMetrics()
        self.clock = clock
        self.pool = AgentPool(settings.agents, settings.strategy, clock)
        self.handle_times = HandleTimes(settings.handle_seconds)
        self.waiting: list[Waiter] = []
        self.talking: dict[str, Conversation] = {}  # by the caller's channel
        self.exits: Counter[str] = Counter()
        self._wake = asyncio.Event()
        self._dispatcher: asyncio.Task[None] | None = None
        self._offers: set[asyncio.Task[None]] = set()
        self._legs = itertools.count(1)
        self._hold_bridge: str | None = None
        self._bridge_lock = asyncio.Lock()

    @property
    def label(self) -> str:
        return f"{self.tenant}/{self.name}"

    def reconfigure(self, settings: QueueSettings, prompts: PromptBook) -> None:
        """A reload: new settings and prompts; callers and agents' states stay."""
        self.settings = settings
        self.prompts = prompts
        self.pool.reconfigure(settings.agents, settings.strategy)
        self.handle_times.default = settings.handle_seconds
        self._wake.set()

    # --- what a caller's task asks -------------------------------------------

    def is_open(self) -> bool:
        return self.settings.hours is None or self.settings.hours.is_open()

    async def available(self) -> bool:
        """Whether any agent is logged in (asks Asterisk now)."""
        await self.pool.refresh_presence(self.gateway.endpoint_state, force=True)
        return self.pool.logged_in() > 0

    def join(self, call: CallPort, level: str | None, customer: str) -> Waiter:
        waiter = Waiter(call, level, customer, self.clock())
        self.waiting.append(waiter)
        self.metrics.waiting(self.tenant, self.name, len(self.waiting))
        log.info("caller queued", extra={"queue": self.label, "position": len(self.waiting)})
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.create_task(self._dispatch(), name=f"queue-{self.label}")
        self._wake.set()
        return waiter

    def position(self, waiter: Waiter) -> int:
        return self.waiting.index(waiter) + 1

    def estimate(self, waiter: Waiter) -> float:
        return estimate_wait(self.position(waiter), self.pool.logged_in(), self.handle_times.mean())

    def count(self, outcome: str) -> None:
        """A caller who never joined (closed, no agents, a callback instead)."""
        self.exits[outcome] += 1
        self.metrics.exited(self.tenant, self.name, outcome, 0.0)

    def nudge(self) -> None:
        """Something changed for the dispatcher (a caller is free to be rung again)."""
        self._wake.set()

    def leave(self, waiter: Waiter, outcome: str) -> None:
        """The caller leaves the queue (counted once, by ``outcome``)."""
        if waiter.gone:
            return
        waiter.gone = True
        waiter.outcome, waiter.waited = outcome, round(self.clock() - waiter.joined, 1)
        if waiter in self.waiting:
            self.waiting.remove(waiter)
        self.exits[outcome] += 1
        self.metrics.exited(self.tenant, self.name, outcome, self.clock() - waiter.joined)
        self.metrics.waiting(self.tenant, self.name, len(self.waiting))
        log.info(
            "caller left the queue",
            extra={
                "queue": self.label,
                "outcome": outcome,
                "waited": round(self.clock() - waiter.joined, 2),
            },
        )
        if waiter.ringing is not None:
            waiter.ringing.events.put_nowait({"type": CALLER_GONE})
        self._wake.set()

    async def hold(self, waiter: Waiter) -> None:
        """Into the queue's holding bridge, with the tenant's music on hold."""
        async with self._bridge_lock:
            if self._hold_bridge is None:
                bridge = f"infolinia-hold-{self.tenant}-{self.name}"
                await self.gateway.create_bridge(bridge, "holding", f"queue {self.label}")
                await self.gateway.start_bridge_moh(bridge, self.settings.music_class)
                self._hold_bridge = bridge
            await self.gateway.add_to_bridge(self._hold_bridge, waiter.call.channel_id)

    async def unhold(self, waiter: Waiter) -> None:
        """Out of the holding bridge (it goes when its last caller does)."""
        async with self._bridge_lock:
            bridge = self._hold_bridge
            if bridge is None:
                return
            if not waiter.call.hung_up:
                with contextlib.suppress(AriError):
                    await self.gateway.remove_from_bridge(bridge, waiter.call.channel_id)
            if not self.waiting:
                self._hold_bridge = None
                with contextlib.suppress(AriError):
                    await self.gateway.destroy_bridge(bridge)

    async def close(self) -> None:
        """The app stops: no more ringing; the holding bridge goes."""
        for task in (self._dispatcher, *self._offers):
            if task is not None:
                task.cancel()
        if self._hold_bridge is not None:
            with contextlib.suppress(AriError):
                await self.gateway.destroy_bridge(self._hold_bridge)
            self._hold_bridge = None

    # --- the dispatcher ------------------------------------------------------

    async def _dispatch(self) -> None:
        """While callers wait: ring a free agent for each caller not being
        offered, in order of arrival; sleep until something changes."""
        while self.waiting:
            self._wake.clear()
            try:
                await self.pool.refresh_presence(self.gateway.endpoint_state)
            except AriError as exc:
                log.warning("agent presence unknown", extra={"error": str(exc)})
            for waiter in list(self.waiting):
                if waiter.offering or waiter.paused or waiter.gone or waiter.leg is not None:
                    continue
                agent = self.pool.free(exclude=waiter.tried)
                if agent is None and waiter.tried and self.pool.free() is not None:
                    waiter.tried.clear()  # every free agent was tried: round again
                    agent = self.pool.free()
                if agent is None:
                    break
                self._ring(waiter, agent)
            timeout: float | None = None
            wrap_end = self.pool.next_free_at()
            if wrap_end is not None:
                timeout = max(0.0, wrap_end - self.clock())
            if any(a.has_presence and not a.logged_in for a in self.pool.agents):
                timeout = min(timeout or PRESENCE_SECONDS, PRESENCE_SECONDS)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _ring(self, waiter: Waiter, agent: Agent) -> None:
        waiter.offering = True
        self.pool.ringing(agent)
        free_since = max(agent.idle_since, waiter.joined)
        self.metrics.dispatched(self.tenant, self.name, self.clock() - free_since)
        task = asyncio.create_task(self._offer(waiter, agent), name=f"ring-{agent.endpoint}")
        self._offers.add(task)
        task.add_done_callback(self._offers.discard)

    async def _offer(self, waiter: Waiter, agent: Agent) -> None:
        """Ring ``agent`` for ``waiter``; on answer whisper, hand over, and
        follow the agent's leg to its end."""
        call_id_var.set(waiter.call.channel_id)  # the agent's leg logs under its caller's call
        leg_id = f"{waiter.call.channel_id}-agent{next(self._legs)}"
        handle = self.gateway.expect(leg_id, label=self.label)
        waiter.ringing = handle
        outcome = "missed"
        leg: AgentLeg | None = None
        try:
            caller = waiter.call.caller or "infolinia"
            try:
                await self.gateway.originate(
                    agent.endpoint,
                    leg_id,
                    timeout=self.settings.ring_timeout,
                    caller_id=f"{self.tenant} <{caller}>",
                    args="agent",
                )
            except AriError as exc:
                log.warning(
                    "agent could not be rung",
                    extra={"queue": self.label, "agent": agent.endpoint, "error": str(exc)},
                )
                return
            log.info("agent ringing", extra={"queue": self.label, "agent": agent.endpoint})
            if not await self._answered(handle):
                if not waiter.gone:
                    log.info(
                        "agent did not answer", extra={"queue": self.label, "agent": agent.endpoint}
                    )
                else:
                    outcome = "released"
                await self.gateway.hangup(leg_id)
                return
            self.pool.answered(agent)
            leg = AgentLeg(agent, leg_id, self.clock())
            outcome = "dropped"  # until the two are joined: the caller waits on
            if waiter.gone or not await self._whisper(handle, waiter):
                await self.gateway.hangup(leg_id)
                return
            waiter.leg = leg
            waiter.call.notify(AGENT_READY)
            await self._until_ended(handle)
            if leg.connected:
                outcome = "talked"
        except asyncio.CancelledError:
            with contextlib.suppress(AriError):
                await asyncio.shield(self.gateway.hangup(leg_id))
            raise
        except AriError as exc:
            log.warning("agent leg failed", extra={"queue": self.label, "error": str(exc)})
            with contextlib.suppress(AriError):
                await self.gateway.hangup(leg_id)
        finally:
            waiter.ringing = None
            self.gateway.release(leg_id)
            if outcome == "dropped" and waiter.gone:
                outcome = "released"  # the caller left: nothing went wrong with the agent
            if outcome == "dropped":
                log.warning(
                    "agent leg ended before the caller was joined; the caller waits on",
                    extra={"queue": self.label, "agent": agent.endpoint},
                )
            if outcome in ("missed", "dropped"):
                waiter.tried.add(agent.endpoint)  # the next agent is rung for them first
                self.pool.missed(agent)
            elif outcome == "talked" and leg is not None:
                self.handle_times.add(self.clock() - leg.answered_at + self.settings.wrap_up)
                self.pool.finished(agent, self.settings.wrap_up)
            else:
                self.pool.released(agent)
            if leg is not None:
                leg.ended.set()
                if waiter.leg is leg:
                    waiter.call.notify(AGENT_LEFT)
            waiter.offering = False
            self._wake.set()

    async def _leg_event(self, handle: ChannelHandle, timeout: float) -> AriEvent | None:
        try:
            async with asyncio.timeout(timeout):
                return await handle.events.get()
        except TimeoutError:
            return None

    async def _answered(self, handle: ChannelHandle) -> bool:
        """Whether the agent answered (their leg entered the app) in time."""
        deadline = self.clock() + self.settings.ring_timeout + 3
        while (remaining := deadline - self.clock()) > 0:
            event = await self._leg_event(handle, remaining)
            kind = None if event is None else event.get("type")
            if kind == "StasisStart":
                return True
            if kind in LEG_ENDED or kind == CALLER_GONE:
                return False
        return False

    async def _whisper(self, handle: ChannelHandle, waiter: Waiter) -> bool:
        """Play the whisper to the agent; False if either side left meanwhile
        (the agent's leg failing raises CallHungUp, an AriError)."""
        playback = f"{handle.channel_id}-whisper"
        media = [self.prompts.media(key) for key in whisper_keys(waiter.level)]
        await self.gateway.play(handle.channel_id, media, playback)
        deadline = self.clock() + WHISPER_LIMIT
        while (remaining := deadline - self.clock()) > 0:
            event = await self._leg_event(handle, remaining)
            kind = None if event is None else event.get("type")
            if kind == "PlaybackFinished" and event and event["playback"]["id"] == playback:
                log.info("agent whispered", extra={"queue": self.label, "leg": handle.channel_id})
                return not waiter.gone
            if kind in LEG_ENDED:
                return False
            if kind == CALLER_GONE:
                await self.gateway.stop_playback(playback)
                return False
        return not waiter.gone

    async def _until_ended(self, handle: ChannelHandle) -> None:
        """Until the agent's leg ends (the agent or, through the caller's
        task, the caller hung up)."""
        while True:
            event = await self._leg_event(handle, 60)
            kind = None if event is None else event.get("type")
            if kind in LEG_ENDED:
                return
            if kind is None and not await self._leg_exists(handle.channel_id):
                return

    async def _leg_exists(self, channel_id: str) -> bool:
        try:
            return await self.gateway.channel_exists(channel_id)
        except AriError:
            return True  # unknown: keep following it
