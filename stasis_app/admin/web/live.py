"""The live page (role supervisor): calls in progress with their tenant,
state in the flow, duration and node (every node's, when several share the
state store), kept current by server-sent events. Only
:class:`CallView` fields leave the server: no numbers, no customers."""

import json
from dataclasses import asdict

from aiohttp import web

from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.events import EventStreams
from stasis_app.admin.web.html import esc, page
from stasis_app.telephony.live_calls import CallRegistry

SCRIPT = """<script>
const body = document.getElementById("calls");
const count = document.getElementById("count");
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
const source = new EventSource("/admin/live/events");
source.addEventListener("ended", () => { source.close(); location.assign("/admin/login"); });
source.onmessage = (event) => {
  const calls = JSON.parse(event.data);
  body.replaceChildren(...calls.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.channel = c.channel_id;
    tr.append(cell(c.tenant), cell(c.state), cell(c.seconds + " s"), cell(c.node));
    return tr;
  }));
  count.textContent = calls.length;
};
</script>"""


class LivePages:
    def __init__(self, calls: CallRegistry, every: float = 1.0) -> None:
        self.calls = calls
        self.streams = EventStreams(every)
        self.gate: Gate | None = None

    def routes(self, app: web.Application, gate: Gate) -> None:
        self.gate = gate
        gate.add(app, "GET", "/live", self._page, ["supervisor"])
        gate.add(app, "GET", "/live/events", self._events, ["supervisor"])
        app.on_shutdown.append(self.streams.close)

    async def _page(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        views = self.calls.views(session.user.sees)
        rows = "".join(
            f'<tr data-channel="{esc(v.channel_id)}"><td>{esc(v.tenant)}</td>'
            f"<td>{esc(v.state)}</td><td>{v.seconds} s</td><td>{esc(v.node)}</td></tr>"
            for v in views
        )
        body = (
            f'<p>Rozmowy w toku: <strong id="count">{len(views)}</strong></p>'
            "<table><thead><tr><th>Bank</th><th>Stan w przebiegu</th><th>Czas</th><th>Węzeł</th>"
            "</tr></thead>"
            f'<tbody id="calls">{rows}</tbody></table>'
            "<p>Kolejki, konsultanci i prośby o oddzwonienie: "
            '<a href="/admin/queues">Kolejki</a>.</p>' + SCRIPT
        )
        return page("Rozmowy na żywo", body, session.user, session.csrf)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """One event whenever what this user may see changes (durations tick every second)."""
        user = request[SESSION_KEY].user

        async def views() -> str:
            return json.dumps([asdict(v) for v in self.calls.views(user.sees)], ensure_ascii=False)

        assert self.gate is not None  # set with the routes
        return await self.streams.stream(request, views, self.gate.still_allowed)
