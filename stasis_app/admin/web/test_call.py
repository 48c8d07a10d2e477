"""*Zadzwoń testowo*: a test call from the admin page (role admin, issue 20).

The panel is a template fragment (:func:`panel`) and a script
(``static/test-call.js``) that mounts it into the page's ``#test-call``
element: the browser becomes a softphone (SIP.js, vendored in
``static/vendor/sip.js``, refreshed by ``devtools/refresh_sipjs.sh``), calls
Asterisk's WebRTC endpoint on its WebSocket, plays the call's audio, sends
the keypad's keys as RFC 4733 digits, and shows beside the diagram which
state the call is in and the transcript of what was played.

    POST /admin/api/test-calls/{tenant}          {"version": N or null} -> 201
         the extension to dial (one-time token), the WebSocket, the call's id;
         null: the newest draft, else the live version; 422: the version
         does not pass the checker. Audited (flow_test_call).
    GET  /admin/test-call/{tenant}/events/{id}   server-sent events: the call's
         status, current state and transcript (:meth:`TestCall.view`)
    GET  /admin/static/...                       the script and the softphone library

Only the bank's admins (the gate checks the bank in the path); the call runs
the chosen version for that call only (:mod:`stasis_app.flow.test_calls`).
"""

import json
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import yaml
from aiohttp import web

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.events import EventStreams
from stasis_app.admin.web.html import esc
from stasis_app.errors import ConfigError
from stasis_app.flow.model import Flow
from stasis_app.flow.names import state_title
from stasis_app.flow.test_calls import TestCalls
from stasis_app.flow.versions import FlowVersion, FlowVersions, VersionError

STATIC = Path(__file__).parent / "static"
SIPJS_VERSION = "0.21.2"  # devtools/refresh_sipjs.sh vendors this release
EVERY = 0.25  # seconds between looks at a test call for its page
ENDPOINT = "webrtc-test"  # docker/asterisk/etc/pjsip.conf: the browser's SIP user


def websocket_url(configured: str | None, ari_url: str) -> str:
    """Where the browser reaches Asterisk's SIP over WebSocket: the setting
    ``admin.webrtc_url``, else ARI's host and port with ws(s):// and /ws."""
    if configured:
        return configured
    parts = urlsplit(ari_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}/ws"


class TestCallPages:
    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self, prompts: PromptAdmin, flows: FlowVersions, calls: TestCalls, websocket: str
    ) -> None:
        self.prompts = prompts
        self.flows = flows
        self.calls = calls
        self.websocket = websocket
        self.streams = EventStreams(EVERY)
        self.gate: Gate | None = None

    def routes(self, app: web.Application, gate: Gate) -> None:
        self.gate = gate
        gate.add(app, "POST", "/api/test-calls/{tenant}", self._start, ["admin"])
        gate.add(app, "GET", "/test-call/{tenant}/events/{id}", self._events, ["admin"])
        app.router.add_static("/static/", STATIC, append_version=False)
        app.on_shutdown.append(self.streams.close)

    async def _start(self, request: web.Request) -> web.Response:
        tenant, user = request.match_info["tenant"], request[SESSION_KEY].user.name
        served = self.prompts.deployment.tenants.get(tenant)
        if served is None:
            return web.json_response({"error": "no such bank"}, status=404)
        try:
            body = await request.json() if request.body_exists else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            return web.json_response({"error": "the body must be JSON"}, status=400)
        number = body.get("version") if isinstance(body, dict) else None
        if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
            return web.json_response({"error": '"version" is a version number'}, status=400)
        deployment = self.prompts.deployment

        def chosen() -> tuple[FlowVersion | None, Flow, str]:
            version = self._version(tenant, number)
            if version is None:
                return None, served.flow, served.tenant.flow.read_text(encoding="utf-8")
            where = f"flow version {version.number}"
            return version, deployment.check_flow(tenant, version.text, where), version.text

        try:
            version, flow, text = await self.flows.store.run(chosen)
        except VersionError as exc:
            return web.json_response({"error": str(exc)}, status=404)
        except ConfigError as exc:
            return web.json_response(
                {"error": f"{exc.field}: {exc.problem}", "field": exc.field}, status=422
            )
        number = version.number if version is not None else 0
        extension, call = self.calls.issue(tenant, number, flow.version, user, flow)
        call.titles = titles(text, served.prompts.texts)
        await self.flows.audit.record(
            tenant=tenant,
            action="flow_test_call",
            result="issued",
            detail={"user": user, "version": number, "hash": flow.version, "call": call.id},
        )
        return web.json_response(
            {
                "id": call.id,
                "extension": extension,
                "websocket": self.websocket,
                "user": ENDPOINT,
                "version": number,
                "hash": flow.version,
            },
            status=201,
        )

    def _version(self, tenant: str, number: int | None) -> FlowVersion | None:
        """Version ``number`` with its text; None asked: the newest draft, else
        the live version; None: the bank has no versions (its file serves)."""
        if number is not None:
            return self.flows.get(tenant, number)
        chosen = self.flows.newest_draft(tenant) or self.flows.published(tenant)
        return None if chosen is None else self.flows.get(tenant, chosen.number)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        call = self.calls.find(request.match_info["tenant"], request.match_info["id"])
        if call is None:
            raise web.HTTPNotFound()

        async def view() -> str:
            return json.dumps(call.view(), ensure_ascii=False)

        assert self.gate is not None  # set with the routes
        return await self.streams.stream(request, view, self.gate.still_allowed)


def titles(text: str, texts: Mapping[str, str]) -> dict[str, str]:
    """Each state's name for people (stasis_app/flow/names.py) in a flow's
    YAML ``text``, which the checker has read already."""
    states = (yaml.safe_load(text) or {}).get("states") or {}
    return {
        str(name): state_title(spec, str(name), texts)
        for name, spec in states.items()
        if isinstance(spec, Mapping)
    }


def panel(tenant: str, csrf: str, versions: list[tuple[int | None, str]]) -> str:
    """The panel as a ``<template>`` and its script, which mounts it into
    the page's ``#test-call``; ``versions``: (number, label) to choose from,
    the first chosen (None: the newest draft, else the live version)."""
    options = "".join(
        f'<option value="{"" if n is None else n}">{esc(label)}</option>' for n, label in versions
    )
    keys = "".join(
        f'<button type="button" data-key="{k}" aria-label="klawisz {k}">{k}</button>'
        for k in "123456789*0#"
    )
    return (
        f'<template id="test-call-panel" data-tenant="{esc(tenant)}" data-csrf="{esc(csrf)}">'
        f"<style>{STYLE}</style>"
        '<section class="test-call"><h2>Zadzwoń testowo</h2><div class="columns"><div>'
        f'<p><label>Wersja przebiegu <select name="version">{options}</select></label></p>'
        '<p><button type="button" class="start">Zadzwoń testowo</button> '
        '<button type="button" class="hangup" disabled>Rozłącz</button></p>'
        f'<div class="keypad" role="group" aria-label="Klawiatura">{keys}</div>'
        '<p>Połączenie: <strong class="status" aria-live="polite">nie dzwoni</strong>'
        ' · dźwięk <meter class="level" min="0" max="1" value="0"></meter></p></div>'
        '<div><p>Stan rozmowy: <strong class="state">—</strong></p>'
        '<h3>Co usłyszał dzwoniący</h3><ol class="transcript"></ol></div></div>'
        '<audio class="remote" autoplay></audio></section></template>'
        '<script type="module" src="/admin/static/test-call.js"></script>'
    )


STYLE = """
.test-call .columns{display:flex;gap:2em;align-items:flex-start}.test-call .columns>div{flex:1}
.test-call .keypad{display:grid;grid-template-columns:repeat(3,3em);gap:.3em;margin:.5em 0}
.test-call .keypad button{font-size:1.2em;padding:.3em}
.test-call .transcript{max-height:16em;overflow:auto;font-size:.95em}
.test-call .transcript .st{color:#555;font-size:.85em}
.test-call-current>polygon,.test-call-current>path{fill:#ffd54f !important;stroke:#b36b00}
tr.test-call-current{background:#ffe9a8}
"""


def version_choices(history: list[FlowVersion]) -> list[tuple[int | None, str]]:
    """The panel's list: the default first, then every draft and the live version."""
    choices: list[tuple[int | None, str]] = [(None, "najnowszy szkic, a bez szkicu: działająca")]
    for v in history:
        if v.state == "draft":
            choices.append((v.number, f"szkic {v.number} ({v.author}, {v.at})"))
        elif v.state == "published":
            choices.append((v.number, f"działająca wersja {v.number}"))
    return choices
