"""The audit page (roles auditor and admin, read only): the hash-chained
trail filtered by date, reference and result, as a table or CSV, with the
result of ``verify``. A user sees their tenant's entries only; entries about
the whole deployment (tenant ``*``) are for users of every tenant."""

import csv
import io
from dataclasses import asdict, fields
from urllib.parse import urlencode

from aiohttp import web

from stasis_app.audit import AuditEntry, AuditLog
from stasis_app.store import Store
from stasis_app.web.auth import SESSION_KEY, Gate
from stasis_app.web.html import NO_STORE, esc, page

MAX_ROWS = 2000
COLUMNS = [f.name for f in fields(AuditEntry)]


class AuditPages:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.audit = AuditLog(store)

    def routes(self, app: web.Application, gate: Gate) -> None:
        gate.add(app, "GET", "/audit", self._page, ["auditor", "admin"])
        gate.add(app, "GET", "/audit.csv", self._csv, ["auditor", "admin"])

    def _select(self, request: web.Request) -> list[AuditEntry]:
        user = request[SESSION_KEY].user
        q = request.query
        since, until = q.get("from", "").strip(), q.get("to", "").strip()
        reference, result = q.get("reference", "").strip(), q.get("result", "").strip()
        entries = self.audit.entries(
            reference=reference or None,
            tenant=None if user.tenant == "*" else user.tenant,
            since=since or None,
            limit=MAX_ROWS,
        )
        return [
            e
            for e in entries
            if (not until or e.at[:10] <= until) and (not result or e.result == result)
        ]

    async def _csv(self, request: web.Request) -> web.StreamResponse:
        entries = await self.store.run(lambda: self._select(request))
        out = io.StringIO()
        writer = csv.DictWriter(out, COLUMNS)
        writer.writeheader()
        writer.writerows(asdict(e) for e in entries)
        return web.Response(
            text=out.getvalue(),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"', **NO_STORE},
        )

    async def _page(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        entries = await self.store.run(lambda: self._select(request))
        check = await self.store.run(self.audit.verify)
        if check.ok:
            # The chain spans every bank: its length is for users of every bank only.
            count = f": {check.entries} wpisów" if session.user.tenant == "*" else ""
            verdict = f'<p class="ok" id="verify">Łańcuch spójny (cały dziennik){count}.</p>'
        else:
            verdict = (
                f'<p class="bad" id="verify">Łańcuch przerwany przy wpisie #{check.first_bad}: '
                f"{esc(check.problem)}</p>"
            )
        q = request.query

        def field(name: str, label: str, kind: str = "text") -> str:
            value = esc(q.get(name, ""))
            return f'<label>{label} <input type="{kind}" name="{name}" value="{value}"></label> '

        filters = (
            '<form method="get">'
            + field("from", "Od", "date")
            + field("to", "Do", "date")
            + field("reference", "Numer referencyjny")
            + field("result", "Wynik")
            + "<button>Filtruj</button></form>"
        )
        csv_url = "/admin/audit.csv?" + urlencode({k: v for k, v in q.items()})
        rows = "".join(
            f"<tr><td>{e.seq}</td><td>{esc(e.at)}</td><td>{esc(e.tenant)}</td>"
            f"<td>{esc(e.action)}</td><td>{esc(e.result)}</td><td>{esc(e.customer)}</td>"
            f"<td>{esc(e.reference)}</td><td>{esc(e.detail)}</td></tr>"
            for e in reversed(entries)
        )
        body = (
            f"{verdict}{filters}<p>{len(entries)} wpisów (najnowsze na górze) · "
            f'<a href="{esc(csv_url)}">pobierz CSV</a></p>'
            "<table><tr><th>#</th><th>Kiedy (UTC)</th><th>Bank</th><th>Czynność</th>"
            "<th>Wynik</th><th>Klient</th><th>Referencja</th><th>Szczegóły</th></tr>"
            f"{rows}</table>"
        )
        return page("Dziennik zdarzeń", body, session.user, session.csrf)
