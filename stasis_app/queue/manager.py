"""Every consultant queue of the deployment, kept across config reloads
(callers waiting in a queue stay in it), with the callbacks and the
supervision sessions: what the ``transfer`` verb, the admin API and the CLI use."""

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from stasis_app.errors import AriError
from stasis_app.queue.callbacks import CallbackBook
from stasis_app.queue.metrics import QueueMetrics
from stasis_app.queue.queue import ConsultantQueue, Conversation
from stasis_app.queue.recordings import RecordingBook
from stasis_app.queue.supervisor import Session, Supervisors
from stasis_app.store import Store
from stasis_app.telephony.ports import QueueGateway
from stasis_app.tenants import Tenant
from voice.prompts import PromptBook

log = logging.getLogger(__name__)


class QueueManager:
    def __init__(self, gateway: QueueGateway, store: Store, metrics: QueueMetrics) -> None:
        self.gateway = gateway
        self.metrics = metrics
        self.callbacks = CallbackBook(store)
        self.recordings = RecordingBook(store)  # consultant calls' recordings
        self.supervisors = Supervisors(gateway, store)
        self.queues: dict[tuple[str, str], ConsultantQueue] = {}

    def configure(self, tenants: list[tuple[Tenant, PromptBook]]) -> None:
        """Make or update the queues of the (new) config; a queue no longer
        configured keeps serving the callers already in it."""
        self.supervisors.configure({tenant.id: tenant.supervisors for tenant, _ in tenants})
        for tenant, prompts in tenants:
            for name, settings in tenant.queues.items():
                queue = self.queues.get((tenant.id, name))
                if queue is None:
                    self.queues[tenant.id, name] = ConsultantQueue(
                        tenant.id, name, settings, self.gateway, prompts, self.metrics
                    )
                else:
                    queue.reconfigure(settings, prompts)

    def queue(self, tenant: str, name: str) -> ConsultantQueue | None:
        return self.queues.get((tenant, name))

    def conversation(self, caller_channel: str) -> Conversation | None:
        for queue in self.queues.values():
            found = queue.talking.get(caller_channel)
            if found is not None:
                return found
        return None

    async def supervise(self, caller_channel: str, mode: str, supervisor: str, who: str) -> Session:
        """Ring ``supervisor`` (a name from the call's bank's config) into the call."""
        conversation = self.conversation(caller_channel)
        if conversation is None:
            raise LookupError(f"no call {caller_channel} is talking to an agent")
        return await self.supervisors.start(conversation, mode, supervisor, who)

    async def refresh_presence(self, visible: Callable[[str], bool]) -> None:
        """Ask Asterisk which agents are logged in (each queue at most every
        few seconds), so a status shows a phone that is not registered as such
        even before a caller came."""
        for (tenant, _), queue in self.queues.items():
            if visible(tenant):
                with contextlib.suppress(AriError):
                    await queue.pool.refresh_presence(self.gateway.endpoint_state)

    def snapshot(self, visible: Callable[[str], bool]) -> list[dict[str, Any]]:
        """The queues of the tenants ``visible`` says yes to: agents, waiting
        callers (by call id, place and wait), calls with agents, exits. No
        caller numbers or customer data."""
        now, wall = time.monotonic(), time.time()
        views = []
        for (tenant, name), queue in sorted(self.queues.items()):
            if not visible(tenant):
                continue
            views.append(
                {
                    "tenant": tenant,
                    "queue": name,
                    "open": queue.is_open(),
                    "agents": [
                        {
                            "endpoint": agent.endpoint,
                            "state": agent.state if agent.logged_in else "logged_out",
                            "answered": agent.answered,
                            "missed": agent.missed,
                        }
                        for agent in queue.pool.agents
                    ],
                    "waiting": [
                        {
                            "call": waiter.call.channel_id,
                            "position": n,
                            "waited": round(now - waiter.joined, 1),
                            "level": waiter.level or "",
                            "ringing": waiter.offering,
                        }
                        for n, waiter in enumerate(queue.waiting, start=1)
                    ],
                    "talking": [
                        {
                            "call": talk.caller_channel,
                            "agent": talk.agent_endpoint,
                            "seconds": round(wall - talk.started, 1),
                        }
                        for talk in queue.talking.values()
                    ],
                    "exits": dict(queue.exits),
                    "handle_seconds": round(queue.handle_times.mean(), 1),
                }
            )
        return views

    async def close(self) -> None:
        await self.supervisors.close()
        for queue in self.queues.values():
            await queue.close()
