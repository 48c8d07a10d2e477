"""The flow page (role admin): the tenant's flow as the diagram of
``infolinia flow graph``, and each state with links to its prompts."""

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
    def __init__(self, prompts: PromptAdmin) -> None:
        self.prompts = prompts
        self._svgs: dict[Path, str] = {}  # a flow file's diagram, drawn once

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
        if flow.source not in self._svgs:
            try:
                self._svgs[flow.source] = await asyncio.to_thread(_svg, flow)
            except (OSError, RuntimeError) as exc:  # Graphviz missing or failing
                self._svgs[flow.source] = f'<p class="error">Brak rysunku: {esc(str(exc))}</p>'
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
        body = (
            f'<div class="flow">{self._svgs[flow.source]}</div>'
            "<h2>Stany i ich komunikaty</h2><table><tr><th>Stan</th><th>Czynność</th>"
            f"<th>Komunikaty</th><th>Dalej</th></tr>{''.join(rows)}</table>"
        )
        return page(f"Przebieg rozmowy: {served.tenant.name}", body, session.user, session.csrf)
