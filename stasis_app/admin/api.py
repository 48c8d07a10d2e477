"""The admin HTTP API: a bank's staff read and change prompts while the line
runs. JSON over HTTP, on localhost unless configured otherwise.

Every request carries ``Authorization: Bearer <token>``; tokens are made with
``infolinia admin token NAME --tenant T --scope S`` and stored hashed. A token sees
only its tenant (or all, when made with ``--tenant '*'``) and may do only what
its scopes say: ``prompts`` (the routes below), ``queues`` (queues and
callbacks), ``supervise`` (listening in to calls). A token made to edit
prompts cannot supervise; tokens from before scopes have ``prompts`` only.

    GET  /api/tenants                                  tenants this token sees
    GET  /api/tenants/{tenant}/prompts                 every prompt: key, text, source
    GET  /api/tenants/{tenant}/prompts/{key}           one prompt
    PUT  /api/tenants/{tenant}/prompts/{key}           {"text": ..., "expected_text": ...}
    GET  /api/tenants/{tenant}/prompts/{key}/history   edits, newest first
    GET  /api/tenants/{tenant}/prompts/{key}/audio     the WAV callers hear (8 kHz)
    POST /api/tenants/{tenant}/prompts/{key}/preview   {"text": ...} -> WAV of that text
    PUT  /api/tenants/{tenant}/prompts/{key}/recording?transcript=...[&expected_text=...]
                                                       body: a WAV or MP3 recording of
                                                       the prompt (voice/recording.py);
                                                       400 with the reason it is refused,
                                                       429 while 4 uploads are in progress

A PUT with ``expected_text`` that no longer matches answers 409 with the
current text, so two editors never overwrite each other unknowingly.

    GET  /api/queues ...                               consultant queues, callbacks and
                                                       supervision (stasis_app.admin.queue_api)
    GET  /metrics                                      Prometheus figures, no token

``/metrics`` is the one route without a token (Prometheus scrapes it); it
carries counts and timings by tenant, no customer data
(:mod:`stasis_app.metrics`).

    /admin/...                                         the admin page for people

The admin page (:mod:`stasis_app.admin.web`) is mounted here too; it has its own
login (sessions and CSRF tokens instead of bearer tokens).
"""

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from stasis_app.admin.prompts import BadText, PromptAdmin, UnknownPrompt, UploadsBusy
from stasis_app.admin.queue_api import QueueRoutes
from stasis_app.admin.web.flow_versions import MAX_FLOW_REQUEST
from stasis_app.metrics import AppMetrics
from stasis_app.queue.manager import QueueManager
from stasis_app.store import TOKEN_SCOPES, AdminToken, StaleEdit
from voice.engine import SynthesisError
from voice.recording import MAX_BYTES

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
TOKEN_KEY = web.RequestKey("token", AdminToken)
MAX_REQUEST = 16 * 1024
MAX_UPLOAD = MAX_BYTES + 64 * 1024  # a recording, and a form's other fields
FLOW_VERSIONS_PATH = "/admin/api/flows/"  # stasis_app.admin.web.flow_versions
ANY_SCOPE = ""  # a route every valid token may use (/api/tenants)
# The scope each route needs, by the start of its path; a token route not
# named here is refused (a new route must say who may use it).
PROMPT_SCOPES = {"/api/tenants/{tenant}/prompts": "prompts"}


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


class AdminApi:
    """The aiohttp application over a :class:`PromptAdmin`."""

    def __init__(
        self,
        prompts: PromptAdmin,
        metrics: AppMetrics | None = None,
        pages: web.Application | None = None,
        queues: QueueManager | None = None,
    ) -> None:
        self.prompts = prompts
        self.store = prompts.store
        self.metrics = metrics
        self.pages = pages  # the admin page, mounted at /admin/
        self.queues = queues  # consultant queues (stasis_app.admin.queue_api)
        self._public: set[web.AbstractRoute] = set()  # routes that need no token
        self._uploads: set[web.AbstractRoute] = set()  # routes that take a recording
        self._scopes: dict[web.AbstractRoute, str] = {}  # what a token needs per route

    def app(self) -> web.Application:
        # Uploads of recordings are large; every other request stays small (_auth).
        app = web.Application(client_max_size=MAX_UPLOAD, middlewares=[self._auth])
        base = "/api/tenants/{tenant}/prompts"
        app.router.add_get("/api/tenants", self._tenants)
        app.router.add_get(base, self._list)
        app.router.add_get(base + "/{key}", self._show)
        app.router.add_put(base + "/{key}", self._set)
        app.router.add_get(base + "/{key}/history", self._history)
        app.router.add_get(base + "/{key}/audio", self._audio)
        app.router.add_post(base + "/{key}/preview", self._preview)
        self._uploads.add(app.router.add_put(base + "/{key}/recording", self._recording))
        if self.queues is not None:
            QueueRoutes(self.queues, TOKEN_KEY).add_to(app)
        self._scopes = _route_scopes(app, {**PROMPT_SCOPES, **QueueRoutes.SCOPES})
        if self.metrics is not None:
            self._public.add(app.router.add_get("/metrics", self._metrics))
        if self.pages is not None:
            self._public.add(app.router.add_get("/admin", self._to_pages))  # before the mount
            app.add_subapp("/admin/", self.pages)
        return app

    async def _to_pages(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther("/admin/")

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        upload = request.match_info.route in self._uploads or request.path.endswith("/recording")
        size = request.content_length
        if request.method in ("POST", "PUT", "PATCH") and size is None and request.body_exists:
            return _error(411, "send the body with a Content-Length")
        limit = MAX_UPLOAD if upload else MAX_REQUEST
        if request.path.startswith(FLOW_VERSIONS_PATH):  # a flow's YAML
            limit = MAX_FLOW_REQUEST
        if size is not None and size > limit:
            return _error(413, "the request is too large")
        if request.match_info.route in self._public or len(request.match_info.apps) > 1:
            return await handler(request)  # /metrics, or the admin page (its own login)
        header = request.headers.get("Authorization", "")
        token = None
        if header.startswith("Bearer "):
            token = await self.store.run(lambda: self.store.check_token(header[7:].strip()))
        if token is None:
            return _error(401, "a valid token is needed (Authorization: Bearer ...)")
        if request.match_info.http_exception is None:  # a 404/405 says so below
            needed = self._scopes.get(request.match_info.route)
            if needed is None or (needed != ANY_SCOPE and not token.may(needed)):
                return _error(
                    403,
                    f"this token may not {needed or 'use this route'}; its scopes: "
                    + (" ".join(sorted(token.scopes)) or "none"),
                    scopes=list(TOKEN_SCOPES),
                )
        tenant = request.match_info.get("tenant")
        if tenant is not None and token.tenant not in ("*", tenant):
            return _error(403, f"this token is for {token.tenant}")
        request[TOKEN_KEY] = token
        try:
            return await handler(request)
        except UnknownPrompt as exc:
            return _error(404, str(exc))
        except BadText as exc:
            return _error(400, str(exc))
        except SynthesisError:
            log.warning("prompt could not be rendered", extra={"path": request.path})
            return _error(503, "no voice engine could speak this text now; nothing changed")
        except OSError as exc:  # a full disk, say
            log.error("prompt audio could not be stored", extra={"error": type(exc).__name__})
            return _error(507, "the audio could not be stored (disk full?); nothing changed")

    async def _metrics(self, request: web.Request) -> web.Response:
        assert self.metrics is not None  # the route exists only with metrics
        return web.Response(
            body=self.metrics.render(), headers={"Content-Type": self.metrics.content_type}
        )

    async def _tenants(self, request: web.Request) -> web.Response:
        token = request[TOKEN_KEY]
        visible = [t for t in self.prompts.tenants() if token.tenant in ("*", t)]
        return web.json_response({"tenants": visible})

    async def _list(self, request: web.Request) -> web.Response:
        infos = self.prompts.list_prompts(request.match_info["tenant"])
        return web.json_response({"prompts": [asdict(info) for info in infos]})

    async def _show(self, request: web.Request) -> web.Response:
        info = self.prompts.show(request.match_info["tenant"], request.match_info["key"])
        return web.json_response(asdict(info))

    async def _set(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "the body must be JSON")
        text, expected = body.get("text"), body.get("expected_text")
        if not isinstance(text, str) or not isinstance(expected, str | None):
            return _error(400, '"text" (and "expected_text", if given) must be strings')
        tenant, key = request.match_info["tenant"], request.match_info["key"]
        try:
            edit = await self.prompts.set(
                tenant, key, text, who=request[TOKEN_KEY].name, expected=expected
            )
        except StaleEdit as exc:
            return _error(409, "the prompt was changed meanwhile", current_text=exc.current)
        return web.json_response(asdict(edit))

    async def _recording(self, request: web.Request) -> web.Response:
        transcript = request.query.get("transcript", "")
        expected = request.query.get("expected_text")
        if self.prompts.uploads_busy():  # before reading a body that would wait
            return _error(429, "too many recordings are being processed; try again soon")
        data = await request.read()
        tenant, key = request.match_info["tenant"], request.match_info["key"]
        try:
            edit = await self.prompts.set_recording(
                tenant, key, data, transcript, who=request[TOKEN_KEY].name, expected=expected
            )
        except StaleEdit as exc:
            return _error(409, "the prompt was changed meanwhile", current_text=exc.current)
        except UploadsBusy as exc:
            return _error(429, str(exc))
        return web.json_response(asdict(edit))

    async def _history(self, request: web.Request) -> web.Response:
        edits = self.prompts.history(request.match_info["tenant"], request.match_info["key"])
        return web.json_response({"history": [asdict(edit) for edit in edits]})

    async def _audio(self, request: web.Request) -> web.StreamResponse:
        wav = await self.prompts.preview(request.match_info["tenant"], request.match_info["key"])
        return web.FileResponse(wav, headers={"Content-Type": "audio/wav"})

    async def _preview(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return _error(400, "the body must be JSON")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            return _error(400, '"text" must be a non-empty string')
        tenant, key = request.match_info["tenant"], request.match_info["key"]
        wav = await self.prompts.preview(tenant, key, text)
        return web.FileResponse(wav, headers={"Content-Type": "audio/wav"})


def _route_scopes(app: web.Application, prefixes: dict[str, str]) -> dict[web.AbstractRoute, str]:
    """The scope each route of ``app`` needs, from the start of its path."""
    scopes: dict[web.AbstractRoute, str] = {}
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path == "/api/tenants":
            scopes[route] = ANY_SCOPE
        for prefix, scope in prefixes.items():
            if path == prefix or path.startswith(prefix + "/"):
                scopes[route] = scope
    return scopes


async def serve(api: AdminApi, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(api.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("admin API listening", extra={"host": host, "port": port})
    return runner
