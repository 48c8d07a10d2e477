"""The queues on the admin HTTP API (bearer tokens, see stasis_app.admin.api):

    GET    /api/queues                                    queues, waiting and talking calls
    GET    /api/tenants/{tenant}/callbacks                open callback requests, oldest first
    POST   /api/tenants/{tenant}/callbacks/{id}/done      mark one handled
    GET    /api/tenants/{tenant}/supervisors              the supervisors a request may name
    POST   /api/tenants/{tenant}/calls/{call}/supervise   {"mode": "listen" | "whisper" |
                                                          "barge", "supervisor": "ewa"}
    GET    /api/supervision                               supervision sessions
    DELETE /api/supervision/{session}                     end one

A token sees and acts on its own tenant only (or every tenant with ``*``).
The first three need a token with the ``queues`` scope, the others one with
``supervise``. ``supervisor`` names one of the bank's configured supervisors
(``tenants.ID.supervisors``): only their phone is rung. An endpoint, number
or dial string in the request is refused (400), an unknown name too, and
neither rings anything.
"""

import json
from typing import Any, ClassVar

from aiohttp import web

from stasis_app.queue.manager import QueueManager
from stasis_app.queue.supervisor import MODES, UnknownSupervisor
from stasis_app.store import AdminToken


def _sees(token: AdminToken, tenant: str) -> bool:
    return token.tenant in ("*", tenant)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def who(token: AdminToken) -> str:
    """How a token's holder appears in the audit trail."""
    return f"token:{token.name}"


class QueueRoutes:
    # The scope a token needs, by the start of a route's path (see admin_api).
    SCOPES: ClassVar[dict[str, str]] = {
        "/api/queues": "queues",
        "/api/tenants/{tenant}/callbacks": "queues",
        "/api/tenants/{tenant}/supervisors": "supervise",
        "/api/tenants/{tenant}/calls": "supervise",
        "/api/supervision": "supervise",
    }

    def __init__(self, queues: QueueManager, token_key: web.RequestKey[AdminToken]) -> None:
        self.queues = queues
        self.token_key = token_key

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/api/queues", self._queues)
        app.router.add_get("/api/tenants/{tenant}/callbacks", self._callbacks)
        app.router.add_post("/api/tenants/{tenant}/callbacks/{id}/done", self._callback_done)
        app.router.add_get("/api/tenants/{tenant}/supervisors", self._supervisors)
        app.router.add_post("/api/tenants/{tenant}/calls/{call}/supervise", self._supervise)
        app.router.add_get("/api/supervision", self._sessions)
        app.router.add_delete("/api/supervision/{session}", self._stop)

    async def _queues(self, request: web.Request) -> web.Response:
        token = request[self.token_key]
        await self.queues.refresh_presence(lambda t: _sees(token, t))
        return web.json_response({"queues": self.queues.snapshot(lambda t: _sees(token, t))})

    async def _callbacks(self, request: web.Request) -> web.Response:
        book = self.queues.callbacks
        found = await book.store.run(lambda: book.list(request.match_info["tenant"]))
        return web.json_response({"callbacks": [item.as_dict() for item in found]})

    async def _callback_done(self, request: web.Request) -> web.Response:
        try:
            callback_id = int(request.match_info["id"])
        except ValueError:
            return _error(400, "the id is a number")
        tenant = request.match_info["tenant"]
        book, who = self.queues.callbacks, request[self.token_key].name
        if not await book.store.run(lambda: book.mark_done(callback_id, who, tenant)):
            return _error(404, f"no open callback {callback_id} for {tenant}")
        return web.json_response({"id": callback_id, "state": "done"})

    async def _supervise(self, request: web.Request) -> web.Response:
        try:
            body: Any = await request.json()
        except json.JSONDecodeError:
            return _error(400, "the body must be JSON")
        if not isinstance(body, dict):
            return _error(400, "the body must be a JSON object")
        tenant = request.match_info["tenant"]
        mode, supervisor = body.get("mode"), body.get("supervisor")
        if mode not in MODES:
            return _error(400, '"mode" must be listen, whisper or barge')
        call = request.match_info["call"]
        talk = self.queues.conversation(call)
        if talk is None or talk.tenant != tenant:
            return _error(404, f"call {call} is not talking to an agent")
        asker = who(request[self.token_key])
        try:
            if "endpoint" in body or not isinstance(supervisor, str):
                asked = json.dumps(body.get("endpoint", supervisor))
                problem = "a phone in the request" if "endpoint" in body else "no supervisor"
                raise await self.queues.supervisors.refuse(talk, mode, asked, asker, problem)
            session = await self.queues.supervise(call, mode, supervisor, asker)
        except UnknownSupervisor as exc:
            return _error(
                400,
                f"{exc}; name a supervisor: a phone or endpoint is never taken from a request",
            )
        return web.json_response(session.view(), status=201)

    async def _supervisors(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        return web.json_response({"supervisors": self.queues.supervisors.names(tenant)})

    async def _sessions(self, request: web.Request) -> web.Response:
        token = request[self.token_key]
        sessions = self.queues.supervisors.sessions.values()
        views = [s.view() for s in sessions if _sees(token, s.conversation.tenant)]
        return web.json_response({"sessions": views})

    async def _stop(self, request: web.Request) -> web.Response:
        token = request[self.token_key]
        session = self.queues.supervisors.sessions.get(request.match_info["session"])
        if session is None or not _sees(token, session.conversation.tenant):
            return _error(404, "no such supervision session")
        await self.queues.supervisors.stop(session.id, who(token))
        return web.json_response({"session": session.id, "state": "ended"})
