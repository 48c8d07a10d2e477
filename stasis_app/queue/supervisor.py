"""Supervisors joining an agent's call through ARI snoop channels.

The supervisor's phone is rung (an originate into this app); a snoop channel
on the agent's leg and the supervisor share a mixing bridge:

* ``listen``: the supervisor hears both sides; nobody hears the supervisor;
* ``whisper``: the supervisor hears both and speaks to the agent only;
* ``barge``: the supervisor hears both and both hear the supervisor.

The session ends when the supervisor hangs up, the call ends, or it is
stopped (API or CLI); its snoop, bridge and leg go with it.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Literal

from stasis_app.ari import AriGateway, ChannelHandle
from stasis_app.errors import AriError
from stasis_app.queue.queue import LEG_ENDED, Conversation

log = logging.getLogger(__name__)

Mode = Literal["listen", "whisper", "barge"]
MODES: dict[str, str] = {"listen": "none", "whisper": "out", "barge": "both"}  # -> whisper
RING_SECONDS = 30.0


@dataclass(eq=False)
class Session:
    id: str
    mode: str
    endpoint: str
    conversation: Conversation
    snoop_id: str
    leg_id: str
    bridge_id: str
    started: float = field(default_factory=time.time)
    state: str = "ringing"  # ringing, joined, ended
    task: "asyncio.Task[None] | None" = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def view(self) -> dict[str, object]:
        return {
            "session": self.id,
            "mode": self.mode,
            "supervisor": self.endpoint,
            "call": self.conversation.caller_channel,
            "agent": self.conversation.agent_endpoint,
            "state": self.state,
        }


class Supervisors:
    """The supervision sessions of the app."""

    def __init__(self, gateway: AriGateway) -> None:
        self.gateway = gateway
        self.sessions: dict[str, Session] = {}

    async def start(self, conversation: Conversation, mode: str, endpoint: str) -> Session:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        sid = f"sup-{uuid.uuid4().hex[:8]}"
        session = Session(
            sid,
            mode,
            endpoint,
            conversation,
            snoop_id=f"{sid}-snoop",
            leg_id=f"{sid}-leg",
            bridge_id=f"{sid}-bridge",
        )
        snoop = self.gateway.expect(session.snoop_id, line="snoop")
        leg = self.gateway.expect(session.leg_id, line="supervisor")
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
            await self._teardown(session)
            raise
        self.sessions[sid] = session
        session.task = asyncio.create_task(self._run(session, snoop, leg), name=sid)
        log.info(
            "supervision started",
            extra={"session": sid, "mode": mode, "agent": conversation.agent_endpoint},
        )
        return session

    async def stop(self, session_id: str) -> bool:
        session = self.sessions.get(session_id)
        if session is None:
            return False
        session.stop.set()
        if session.task is not None:
            await asyncio.wait({session.task}, timeout=5)
        return True

    async def close(self) -> None:
        for session_id in list(self.sessions):
            await self.stop(session_id)

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
        waits = {
            asyncio.ensure_future(self._ended(snoop)),
            asyncio.ensure_future(self._ended(leg)),
            asyncio.ensure_future(session.stop.wait()),
        }
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    async def _ended(self, handle: ChannelHandle) -> None:
        while (await handle.events.get()).get("type") not in LEG_ENDED:
            pass

    async def _teardown(self, session: Session) -> None:
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
