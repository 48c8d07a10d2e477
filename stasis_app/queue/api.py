"""The queues on the admin HTTP API (bearer tokens, see stasis_app.admin_api):

    GET    /api/queues                                    queues, waiting and talking calls
    GET    /api/tenants/{tenant}/callbacks                open callback requests, oldest first
    POST   /api/tenants/{tenant}/callbacks/{id}/done      mark one handled
    POST   /api/tenants/{tenant}/calls/{call}/supervise   {"mode": "listen" | "whisper" |
                                                          "barge", "endpoint": "PJSIP/..."}
    GET    /api/supervision                               supervision sessions
    DELETE /api/supervision/{session}                     end one

A token sees and acts on its own tenant only (or every tenant with ``*``).
"""

import json
from typing import Any

from aiohttp import web

from stasis_app.queue.manager import QueueManager
from stasis_app.store import AdminToken


def _sees(token: AdminToken, tenant: str) -> bool:
    return token.tenant in ("*", tenant)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class QueueRoutes:
    def __init__(self, queues: QueueManager, token_key: web.RequestKey[AdminToken]) -> None:
        self.queues = queues
        self.token_key = token_key

    def add_to(self, app: web.Application) -> None:
        app.router.add_get("/api/queues", self._queues)
        app.router.add_get("/api/tenants/{tenant}/callbacks", self._callbacks)
        app.router.add_post("/api/tenants/{tenant}/callbacks/{id}/done", self._callback_done)
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
        mode, endpoint = body.get("mode"), body.get("endpoint")
        if mode not in ("listen", "whisper", "barge"):
            return _error(400, '"mode" must be listen, whisper or barge')
        if not isinstance(endpoint, str) or "/" not in endpoint or len(endpoint) > 200:
            return _error(400, '"endpoint" must be the supervisor\'s phone, e.g. PJSIP/name')
        call = request.match_info["call"]
        talk = self.queues.conversation(call)
        if talk is None or talk.tenant != request.match_info["tenant"]:
            return _error(404, f"call {call} is not talking to an agent")
        session = await self.queues.supervise(call, mode, endpoint)
        return web.json_response(session.view(), status=201)

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
        await self.queues.supervisors.stop(session.id)
        return web.json_response({"session": session.id, "state": "ended"})
