"""Supervisors joining an agent's call through ARI snoop channels.

The supervisor's phone is rung (an originate into this app); a snoop channel
on the agent's leg and the supervisor share a mixing bridge:

* ``listen``: the supervisor hears both sides; nobody hears the supervisor;
* ``whisper``: the supervisor hears both and speaks to the agent only;
* ``barge``: the supervisor hears both and both hear the supervisor.

The session ends when the supervisor hangs up, the call ends, or it is
stopped (API or CLI); its snoop, bridge and leg go with it.

Only a phone configured as one of the bank's supervisors
(``tenants.ID.supervisors``) is ever rung: a request names one by its
name, and an endpoint or dial string typed into a request is refused
(:class:`UnknownSupervisor`), since a snoop of a customer's call would go to
whatever it named. Starting, refusing and ending a supervision is written to
the audit trail with who asked for it.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

from stasis_app.errors import AriError, InfoliniaError
from stasis_app.queue.queue import LEG_ENDED, Conversation
from stasis_app.safeguards.audit import AuditLog
from stasis_app.store import Store
from stasis_app.telephony.gateway import ChannelHandle
from stasis_app.telephony.ports import QueueGateway
from stasis_app.tenants import SupervisorPhone

log = logging.getLogger(__name__)

Mode = Literal["listen", "whisper", "barge"]
MODES: dict[str, str] = {"listen": "none", "whisper": "out", "barge": "both"}  # -> whisper
RING_SECONDS = 30.0


class UnknownSupervisor(InfoliniaError, LookupError):
    """The request named no supervisor configured for the call's bank."""

    def __init__(self, tenant: str, name: str, known: list[str]) -> None:
        self.tenant, self.name, self.known = tenant, name, known
        listed = ", ".join(known) or "none configured (tenants.ID.supervisors)"
        super().__init__(f"{name[:64]!r} is not a supervisor of {tenant}; supervisors: {listed}")


@dataclass(eq=False)
class Session:
    id: str
    mode: str
    supervisor: str  # the configured supervisor's name
    endpoint: str  # their phone, from the config
    who: str  # who started it: web:USER or token:NAME
    conversation: Conversation
    snoop_id: str
    leg_id: str
    bridge_id: str
    started: float = field(default_factory=time.time)
    state: str = "ringing"  # ringing, joined, ended
    task: "asyncio.Task[None] | None" = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    ended_by: str = ""  # who stopped it, or why it ended

    def view(self) -> dict[str, object]:
        return {
            "session": self.id,
            "mode": self.mode,
            "supervisor": self.supervisor,
            "phone": self.endpoint,
            "started_by": self.who,
            "call": self.conversation.caller_channel,
            "agent": self.conversation.agent_endpoint,
            "state": self.state,
        }


class Supervisors:
    """The supervision sessions of the app, and the phones that may supervise."""

    def __init__(self, gateway: QueueGateway, store: Store) -> None:
        self.gateway = gateway
        self.audit = AuditLog(store)
        self.sessions: dict[str, Session] = {}
        self.phones: dict[str, dict[str, str]] = {}  # tenant -> supervisor name -> endpoint

    def configure(self, phones: dict[str, list[SupervisorPhone]]) -> None:
        """The supervisors of each tenant (from the config; replaced on a reload)."""
        self.phones = {
            tenant: {phone.name: phone.endpoint for phone in listed}
            for tenant, listed in phones.items()
        }

    def names(self, tenant: str) -> list[str]:
        """The supervisors a request for ``tenant`` may name."""
        return sorted(self.phones.get(tenant, {}))

    async def start(
        self, conversation: Conversation, mode: str, supervisor: str, who: str
    ) -> Session:
        """Ring the configured ``supervisor`` of the call's bank and join them in
        ``mode``; ``who`` (the user or token asking) goes to the audit trail."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        tenant = conversation.tenant
        endpoint = self.phones.get(tenant, {}).get(supervisor)
        if endpoint is None:
            raise await self.refuse(conversation, mode, supervisor, who)
        sid = f"sup-{uuid.uuid4().hex[:8]}"
        # Written before the phone rings: no listening in without its entry.
        await self.audit.record(
            tenant=tenant,
            action="supervision",
            result="started",
            call_id=conversation.caller_channel,
            detail={
                "session": sid,
                "mode": mode,
                "supervisor": supervisor,
                "who": who,
                "phone": endpoint,
                "agent": conversation.agent_endpoint,
            },
        )
        session = Session(
            sid,
            mode,
            supervisor,
            endpoint,
            who,
            conversation,
            snoop_id=f"{sid}-snoop",
            leg_id=f"{sid}-leg",
            bridge_id=f"{sid}-bridge",
        )
        snoop = self.gateway.expect(session.snoop_id, label="snoop")
        leg = self.gateway.expect(session.leg_id, label="supervisor")
        try:
            await self.gateway.snoop(
                conversation.agent_channel, session.snoop_id, spy="both", whisper=MODES[mode]
            )
            await self.gateway.originate(
                endpoint,
                session.leg_id,
                timeout=RING_SECONDS,
                caller_id=f"infolinia {mode} <{conversation.tenant}>",
                args="supervisor",
            )
        except BaseException:
            session.ended_by = "failed"
            await self._teardown(session)
            raise
        self.sessions[sid] = session
        session.task = asyncio.create_task(self._run(session, snoop, leg), name=sid)
        log.info(
            "supervision started",
            extra={
                "session": sid,
                "mode": mode,
                "agent": conversation.agent_endpoint,
                "supervisor": supervisor,
                "who": who,
            },
        )
        return session

    async def refuse(
        self,
        conversation: Conversation,
        mode: str,
        asked: str,
        who: str,
        problem: str = "not a configured supervisor",
    ) -> UnknownSupervisor:
        """Audit a request that named no configured supervisor (a phone typed
        in, say); the error to answer it with. Nothing is rung."""
        tenant = conversation.tenant
        await self.audit.record(
            tenant=tenant,
            action="supervision",
            result="refused",
            call_id=conversation.caller_channel,
            detail={"mode": mode, "asked": asked[:100], "who": who, "problem": problem},
        )
        log.warning("supervision refused", extra={"tenant": tenant, "who": who, "problem": problem})
        return UnknownSupervisor(tenant, asked, self.names(tenant))

    async def stop(self, session_id: str, who: str) -> bool:
        """End a session; ``who`` stopped it (kept in the audit trail)."""
        session = self.sessions.get(session_id)
        if session is None:
            return False
        session.ended_by = session.ended_by or who
        session.stop.set()
        if session.task is not None:
            await asyncio.wait({session.task}, timeout=5)
        return True

    async def close(self) -> None:
        for session_id in list(self.sessions):
            await self.stop(session_id, "app_stopping")

    async def _run(self, session: Session, snoop: ChannelHandle, leg: ChannelHandle) -> None:
        try:
            if await self._first(leg, session, want="StasisStart", limit=RING_SECONDS + 3):
                await self.gateway.create_bridge(session.bridge_id, "mixing", f"{session.mode}")
                await self.gateway.add_to_bridge(session.bridge_id, session.snoop_id)
                await self.gateway.add_to_bridge(session.bridge_id, session.leg_id)
                session.state = "joined"
                log.info("supervisor joined", extra={"session": session.id})
                await self._until_any_ends(session, snoop, leg)
        except AriError as exc:
            session.ended_by = session.ended_by or "failed"
            log.warning("supervision failed", extra={"session": session.id, "error": str(exc)})
        finally:
            await asyncio.shield(self._teardown(session))

    async def _first(
        self, handle: ChannelHandle, session: Session, want: str, limit: float
    ) -> bool:
        stop = asyncio.ensure_future(session.stop.wait())
        try:
            deadline = time.monotonic() + limit
            while (remaining := deadline - time.monotonic()) > 0:
                get = asyncio.ensure_future(handle.events.get())
                done, _ = await asyncio.wait(
                    {get, stop}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                )
                if get not in done:
                    get.cancel()
                    return False
                kind = get.result().get("type")
                if kind == want:
                    return True
                if kind in LEG_ENDED:
                    return False
            return False
        finally:
            stop.cancel()

    async def _until_any_ends(
        self, session: Session, snoop: ChannelHandle, leg: ChannelHandle
    ) -> None:
        """Until the supervisor hangs up, the snoop ends (the call ended), or a stop."""
        call_ended = asyncio.ensure_future(self._ended(snoop))
        hung_up = asyncio.ensure_future(self._ended(leg))
        waits = {call_ended, hung_up, asyncio.ensure_future(session.stop.wait())}
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if not session.ended_by:
            session.ended_by = "call_ended" if call_ended.done() else "supervisor_hung_up"

    async def _ended(self, handle: ChannelHandle) -> None:
        while (await handle.events.get()).get("type") not in LEG_ENDED:
            pass

    async def _teardown(self, session: Session) -> None:
        joined = session.state == "joined"
        session.state = "ended"
        self.sessions.pop(session.id, None)
        for channel in (session.leg_id, session.snoop_id):
            try:
                await self.gateway.hangup(channel)
            except AriError as exc:
                log.warning("supervision leg not hung up", extra={"error": str(exc)})
            self.gateway.release(channel)
        with contextlib.suppress(AriError):
            await self.gateway.destroy_bridge(session.bridge_id)
        log.info("supervision ended", extra={"session": session.id})
        try:
            await self.audit.record(
                tenant=session.conversation.tenant,
                action="supervision",
                result="ended",
                call_id=session.conversation.caller_channel,
                detail={
                    "session": session.id,
                    "mode": session.mode,
                    "supervisor": session.supervisor,
                    "who": session.who,
                    "ended_by": session.ended_by or "not_answered",
                    "joined": joined,
                    "seconds": round(time.time() - session.started, 1),
                },
            )
        except Exception:  # the snoop is gone either way; say so in the log
            log.exception("supervision end not audited", extra={"session": session.id})
