"""The flow page (role admin): the tenant's flow as the diagram of
``infolinia flow graph``, each state with links to its prompts, where the
live flow came from and its versions (read only: stasis_app/flow/versions.py)."""

import asyncio
import tempfile
from pathlib import Path

from aiohttp import web

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.html import error_page, esc, page, tenant_choice
from stasis_app.admin.web.prompts import edit_url
from stasis_app.flow.graph import render_svg, to_dot
from stasis_app.flow.model import Flow
from stasis_app.flow.versions import FlowVersion, FlowVersions, LiveFlow


def inline_svg(dot: str) -> str:
    """A Graphviz diagram as SVG to put inside a page (Graphviz's own run:
    OSError or RuntimeError when it is missing or fails)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "flow.svg"
        render_svg(dot, out)
        text = out.read_text(encoding="utf-8")
    return text[text.find("<svg") :]  # drop the XML prolog and doctype for inline use


def _svg(flow: Flow) -> str:
    return inline_svg(to_dot(flow))


class FlowPages:
    def __init__(self, prompts: PromptAdmin, flows: FlowVersions | None = None) -> None:
        self.prompts = prompts
        self.flows = flows or FlowVersions(prompts.store)
        self._svgs: dict[tuple[Path, str], str] = {}  # a flow version's diagram, drawn once

    def routes(self, app: web.Application, gate: Gate) -> None:
        gate.add(app, "GET", "/flow", self._tenants, ["admin"])
        gate.add(app, "GET", "/flow/{tenant}", self._flow, ["admin"])

    async def _tenants(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        tenants = [t for t in self.prompts.tenants() if session.user.sees(t)]
        return tenant_choice("Przebieg rozmowy", "/admin/flow", tenants, session.user, session.csrf)

    async def _flow(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        served = self.prompts.deployment.tenants.get(tenant)
        if served is None:
            return error_page(404, "Nie ma takiego banku", tenant, session.user)
        flow = served.flow
        drawn = (flow.source, flow.version)
        if drawn not in self._svgs:
            try:
                self._svgs[drawn] = await asyncio.to_thread(_svg, flow)
            except (OSError, RuntimeError) as exc:  # Graphviz missing or failing
                self._svgs[drawn] = f'<p class="error">Brak rysunku: {esc(str(exc))}</p>'
        editable = {info.key for info in self.prompts.list_prompts(tenant)}
        rows = []
        for state in flow.states.values():
            keys = sorted(state.verb.prompts(state.params))
            links = ", ".join(
                f'<a href="{edit_url(tenant, k)}">{esc(k)}</a>' if k in editable else esc(k)
                for k in keys
            )
            goes = ", ".join(f"{esc(event)} → {esc(target)}" for event, target in state.on.items())
            rows.append(
                f'<tr id="state-{esc(state.name)}"><td>{esc(state.name)}</td>'
                f"<td>{esc(state.verb.name)}</td><td>{links}</td><td>{goes}</td></tr>"
            )
        history = await self.prompts.store.run(lambda: self.flows.history(tenant))
        body = (
            _origin(self.flows.live.get(tenant), flow, served.tenant.flow)
            + f'<div class="flow">{self._svgs[drawn]}</div>'
            "<h2>Stany i ich komunikaty</h2><table><tr><th>Stan</th><th>Czynność</th>"
            f"<th>Komunikaty</th><th>Dalej</th></tr>{''.join(rows)}</table>" + _versions(history)
        )
        return page(f"Przebieg rozmowy: {served.tenant.name}", body, session.user, session.csrf)


STATES = {"draft": "szkic", "published": "opublikowana", "retired": "wycofana"}


def _origin(live: LiveFlow | None, flow: Flow, file: Path) -> str:
    """Where the flow callers get came from: the file, or a version in the store."""
    if live is None or live.version is None:
        note = f" ({esc(live.note)})" if live is not None and live.note else ""
        return f'<p id="flow-origin">Działa przebieg z pliku {esc(str(file))}{note}.</p>'
    v = live.version
    if v.origin.startswith("file:"):
        came = f"zaimportowana z pliku {esc(v.origin[5:])}"
    elif v.origin.startswith("revert:"):
        came = f"przywrócona z wersji {esc(v.origin[7:])} przez {esc(v.published_by)}"
    else:
        came = f"opublikowana przez {esc(v.published_by)}"
    return (
        f'<p id="flow-origin">Działa wersja {v.number} ({came}, {esc(v.published_at)}; '
        f"skrót {esc(flow.version)}).</p>"
    )


def _versions(history: list[FlowVersion]) -> str:
    rows = "".join(
        f"<tr><td>{v.number}</td><td>{STATES.get(v.state, esc(v.state))}</td>"
        f"<td>{esc(v.at)}</td><td>{esc(v.author)}</td><td>{esc(v.comment)}</td>"
        f"<td>{esc(v.hash)}</td><td>{esc(str(v.problem)) if v.problem else ''}</td></tr>"
        for v in history
    )
    return (
        '<h2>Wersje</h2><table id="flow-versions"><tr><th>Nr</th><th>Stan</th><th>Kiedy</th>'
        "<th>Kto</th><th>Komentarz</th><th>Skrót</th><th>Błąd</th></tr>"
        f"{rows}</table>"
    )
