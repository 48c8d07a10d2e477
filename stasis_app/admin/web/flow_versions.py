"""The versions of a bank's flow as JSON, for the admin page's scenario
editor (and scripts holding a page session): list, read, diff (admins and
auditors of the bank), save drafts, publish, revert (its admins). Behind the
page's own login (:mod:`stasis_app.admin.web.auth`): a session cookie, the
CSRF token in ``X-CSRF-Token`` on every change, the bank in the path checked
against the user's (another bank's admin gets 403).

    GET  /admin/api/flows/{tenant}                          the live version, the history
    GET  /admin/api/flows/{tenant}/versions/{n}             one version with its YAML ("text")
    GET  /admin/api/flows/{tenant}/diff?old=N&new=M          unified diff and states changed
                                                            (default: new = newest draft,
                                                            old = the live version)
    POST /admin/api/flows/{tenant}/versions                 {"text", "comment"?, "based_on"?}
                                                            -> 201, a new draft, checked
    PUT  /admin/api/flows/{tenant}/versions/{n}             {"text", "expected_hash", "comment"?}
                                                            -> the draft changed (409: stale)
    POST /admin/api/flows/{tenant}/versions/{n}/publish     {"expected_hash"?} -> live now;
                                                            422 with the checker's problem
    POST /admin/api/flows/{tenant}/versions/{n}/revert      {"comment"?} -> a new live version
                                                            with version n's text

A saved draft carries the checker's first problem (``field``, ``state``,
``problem``) or null; publishing re-checks. Every publish and revert (and
every refused one) is in the audit trail (stasis_app/flow/versions.py).
"""

import json
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from typing import Any

from aiohttp import web

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.deployment import Deployment
from stasis_app.flow.versions import (
    DRAFT,
    FlowRejected,
    FlowVersions,
    StaleVersion,
    UnknownVersion,
    VersionError,
)

READERS = ("admin", "auditor")
EDITORS = ("admin",)
BASE = "/api/flows/{tenant}"
MAX_FLOW_REQUEST = 512 * 1024  # bytes of a request with a flow's YAML (stasis_app.admin.api)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


class FlowVersionRoutes:
    def __init__(self, prompts: PromptAdmin, flows: FlowVersions) -> None:
        self.prompts = prompts  # its deployment is the one serving calls (after reloads too)
        self.flows = flows
        self.store = flows.store

    @property
    def deployment(self) -> Deployment:
        return self.prompts.deployment

    def routes(self, app: web.Application, gate: Gate) -> None:
        gate.add(app, "GET", BASE, self._overview, READERS)
        gate.add(app, "GET", BASE + "/versions/{number}", self._version, READERS)
        gate.add(app, "GET", BASE + "/diff", self._diff, READERS)
        gate.add(app, "POST", BASE + "/versions", self._save, EDITORS)
        gate.add(app, "PUT", BASE + "/versions/{number}", self._update, EDITORS)
        gate.add(app, "POST", BASE + "/versions/{number}/publish", self._publish, EDITORS)
        gate.add(app, "POST", BASE + "/versions/{number}/revert", self._revert, EDITORS)

    async def _run(self, request: web.Request, work: Callable[[], Any]) -> Any:
        """``work`` on the store's threads; errors as answers."""
        if request.match_info["tenant"] not in self.deployment.tenants:
            raise web.HTTPNotFound(
                text=json.dumps({"error": "no such bank"}), content_type="application/json"
            )
        return await self.store.run(work)

    async def _answer(self, request: web.Request, work: Callable[[], Any]) -> web.Response:
        try:
            result = await self._run(request, work)
        except VersionError as exc:
            return _refused(exc)
        return web.json_response(result, status=201 if request.method == "POST" else 200)

    async def _overview(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        live = self.flows.live.get(tenant)

        def work() -> dict[str, Any]:
            return {
                "tenant": tenant,
                "file": str(self.deployment.tenants[tenant].tenant.flow),
                "live": None if live is None or live.version is None else live.version.number,
                "live_note": "" if live is None else live.note,
                "versions": [v.summary() for v in self.flows.history(tenant)],
            }

        return await self._answer(request, work)

    async def _version(self, request: web.Request) -> web.Response:
        tenant, number = request.match_info["tenant"], _number(request)

        def work() -> dict[str, Any]:
            version = self.flows.get(tenant, number)
            return {**version.summary(), "text": version.text}

        return await self._answer(request, work)

    async def _diff(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]

        def work() -> dict[str, Any]:
            new = _query_number(request, "new")
            if new is None:
                draft = self.flows.newest_draft(tenant)
                if draft is None:
                    raise VersionError("no draft to compare: name new=N")
                new = draft.number
            old = _query_number(request, "old")
            if old is None:
                live = self.flows.published(tenant)
                if live is None:
                    raise VersionError("no live version to compare with: name old=N")
                old = live.number
            return asdict(self.flows.diff(tenant, old, new))

        return await self._answer(request, work)

    async def _save(self, request: web.Request) -> web.Response:
        body = await _body(request)
        tenant, who = request.match_info["tenant"], request[SESSION_KEY].user.name
        text, comment, based_on = body.get("text"), body.get("comment", ""), body.get("based_on")
        if not isinstance(text, str) or not isinstance(comment, str):
            return _error(400, '"text" (and "comment", if given) must be strings')
        if based_on is not None and not isinstance(based_on, int):
            return _error(400, '"based_on" is a version number')
        work = partial(
            self.flows.save_draft,
            tenant,
            text,
            who,
            self.deployment.check_flow,
            comment=comment,
            origin="editor",
            based_on=based_on,
        )
        return await self._answer(request, lambda: _with_text(work()))

    async def _update(self, request: web.Request) -> web.Response:
        body = await _body(request)
        tenant, who = request.match_info["tenant"], request[SESSION_KEY].user.name
        text, expected, comment = body.get("text"), body.get("expected_hash"), body.get("comment")
        if not isinstance(text, str) or not isinstance(expected, str):
            return _error(400, '"text" and "expected_hash" must be strings')
        if comment is not None and not isinstance(comment, str):
            return _error(400, '"comment" must be a string')
        work = partial(
            self.flows.update_draft,
            tenant,
            _number(request),
            text,
            who,
            self.deployment.check_flow,
            expected_hash=expected,
            comment=comment,
        )
        return await self._answer(request, lambda: _with_text(work()))

    async def _publish(self, request: web.Request) -> web.Response:
        body = await _body(request)
        expected = body.get("expected_hash", "")
        if not isinstance(expected, str):
            return _error(400, '"expected_hash" must be a string')
        tenant, who = request.match_info["tenant"], request[SESSION_KEY].user.name
        number = _number(request)
        deployment = self.deployment
        work = partial(self.flows.publish, tenant, number, who, deployment.check_flow, expected)
        return await self._go_live(request, deployment, work)

    async def _revert(self, request: web.Request) -> web.Response:
        body = await _body(request)
        comment = body.get("comment", "")
        if not isinstance(comment, str):
            return _error(400, '"comment" must be a string')
        tenant, who = request.match_info["tenant"], request[SESSION_KEY].user.name
        deployment = self.deployment
        work = partial(
            self.flows.revert, tenant, _number(request), who, deployment.check_flow, comment
        )
        return await self._go_live(request, deployment, work)

    async def _go_live(
        self, request: web.Request, deployment: Deployment, work: Callable[[], Any]
    ) -> web.Response:
        """Publish (or revert), then swap this node's flow at once (the other
        nodes within a second: FlowVersions.follow)."""
        if request.match_info["tenant"] not in deployment.tenants:
            return _error(404, "no such bank")
        try:
            version = await self.flows.change_live(deployment, work)
        except VersionError as exc:
            return _refused(exc)
        return web.json_response(version.summary())


def _refused(exc: VersionError) -> web.Response:
    """What the page is told when a version cannot be read, saved or published."""
    if isinstance(exc, UnknownVersion):
        return _error(404, str(exc))
    if isinstance(exc, StaleVersion):
        return _error(409, str(exc))
    if isinstance(exc, FlowRejected):
        return _error(422, str(exc), problem=asdict(exc.problem))
    return _error(400, str(exc))


def _with_text(version: Any) -> dict[str, Any]:
    return {**version.summary(), "text": version.text, "draft": version.state == DRAFT}


def _number(request: web.Request) -> int:
    try:
        return int(request.match_info["number"])
    except ValueError:
        raise web.HTTPNotFound(
            text=json.dumps({"error": "a version is a number"}), content_type="application/json"
        ) from None


def _query_number(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise VersionError(f"{name} is a version number")
    return int(value)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "the body must be JSON"}), content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "the body must be a JSON object"}),
            content_type="application/json",
        )
    return body
