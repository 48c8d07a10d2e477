"""The audit page (roles auditor and admin, read only): the keyed hash-chained
trail filtered by date, reference and result, as a table or CSV, with the
result of ``verify``. A user sees their tenant's entries only; entries about
the whole deployment (tenant ``*``) are for users of every tenant.

Nothing here holds the whole table: the filters are SQL, the table shows one
page (the newest first; "older" pages back by seq), the CSV is streamed page
by page, and verify starts from the signed checkpoint the app and
``infolinia audit verify`` store (it does not move it: a page view is no
audit of its own)."""

import csv
import io
from dataclasses import asdict, fields
from functools import partial
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from stasis_app.admin.web.accounts import User
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.html import NO_STORE, esc, page
from stasis_app.safeguards import audit as trail
from stasis_app.safeguards.audit import AuditCheck, AuditEntry, AuditLog
from stasis_app.store import Store

PAGE_ROWS = 200  # entries on one page of the table
COLUMNS = [f.name for f in fields(AuditEntry)]


class AuditPages:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.audit = AuditLog(store)

    def routes(self, app: web.Application, gate: Gate) -> None:
        gate.add(app, "GET", "/audit", self._page, ["auditor", "admin"])
        gate.add(app, "GET", "/audit.csv", self._csv, ["auditor", "admin"])

    @staticmethod
    def _filters(request: web.Request) -> dict[str, Any]:
        user: User = request[SESSION_KEY].user
        q = request.query

        def given(name: str) -> str | None:
            return q.get(name, "").strip() or None

        return {
            "tenant": None if user.tenant == "*" else user.tenant,
            "reference": given("reference"),
            "result": given("result"),
            "since": given("from"),
            "until": given("to"),
        }

    async def _csv(self, request: web.Request) -> web.StreamResponse:
        filters = self._filters(request)
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="audit.csv"',
                **NO_STORE,
            }
        )
        await response.prepare(request)
        out = io.StringIO()
        writer = csv.DictWriter(out, COLUMNS)
        writer.writeheader()
        after = 0
        while True:  # one page of rows in memory at a time, oldest first
            rows = await self.store.run(partial(self.audit.page, after=after, **filters))
            writer.writerows(spreadsheet_safe(asdict(e)) for e in rows)
            await response.write(out.getvalue().encode())
            out.seek(0)
            out.truncate()
            if len(rows) < trail.PAGE:  # read when called: tests make pages small
                break
            after = rows[-1].seq
        await response.write_eof()
        return response

    async def _page(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        filters = self._filters(request)
        before_text = request.query.get("before", "")
        before = int(before_text) if before_text.isdigit() else None
        entries = await self.store.run(
            lambda: self.audit.entries(**filters, before=before, limit=PAGE_ROWS)
        )
        check = await self.store.run(self.audit.verify)
        verdict = _verdict(check, session.user.tenant == "*")
        q = request.query

        def field(name: str, label: str, kind: str = "text") -> str:
            value = esc(q.get(name, ""))
            return f'<label>{label} <input type="{kind}" name="{name}" value="{value}"></label> '

        form = (
            '<form method="get">'
            + field("from", "Od", "date")
            + field("to", "Do", "date")
            + field("reference", "Numer referencyjny")
            + field("result", "Wynik")
            + "<button>Filtruj</button></form>"
        )
        kept = {k: v for k, v in q.items() if k != "before"}
        csv_url = "/admin/audit.csv?" + urlencode(kept)
        older = ""
        if len(entries) == PAGE_ROWS:
            older_url = "/admin/audit?" + urlencode({**kept, "before": entries[0].seq})
            older = f' · <a id="older" href="{esc(older_url)}">starsze wpisy</a>'
        rows = "".join(
            f"<tr><td>{e.seq}</td><td>{esc(e.at)}</td><td>{esc(e.tenant)}</td>"
            f"<td>{esc(e.action)}</td><td>{esc(e.result)}</td><td>{esc(e.customer)}</td>"
            f"<td>{esc(e.reference)}</td><td>{esc(e.detail)}</td></tr>"
            for e in reversed(entries)
        )
        body = (
            f"{verdict}{form}<p>{len(entries)} wpisów (najnowsze na górze){older} · "
            f'<a href="{esc(csv_url)}">pobierz CSV</a> (wszystkie pasujące)</p>'
            "<table><tr><th>#</th><th>Kiedy (UTC)</th><th>Bank</th><th>Czynność</th>"
            "<th>Wynik</th><th>Klient</th><th>Referencja</th><th>Szczegóły</th></tr>"
            f"{rows}</table>"
        )
        return page("Dziennik zdarzeń", body, session.user, session.csrf)


def _verdict(check: AuditCheck, every_tenant: bool) -> str:
    if not check.ok and check.first_bad is None:
        return f'<p class="bad" id="verify">Nie można sprawdzić łańcucha: {esc(check.problem)}</p>'
    if not check.ok:
        return (
            f'<p class="bad" id="verify">Łańcuch przerwany przy wpisie #{check.first_bad}: '
            f"{esc(check.problem)}</p>"
        )
    # The chain spans every bank: its length is for users of every bank only.
    count = f": {check.entries} wpisów" if every_tenant else ""
    since = (
        f" Sprawdzony od punktu kontrolnego #{check.from_seq}; w całości: {esc(check.full_at)}."
        if check.from_seq and every_tenant
        else ""
    )
    return f'<p class="ok" id="verify">Łańcuch spójny (cały dziennik){count}.{since}</p>'


# A spreadsheet runs a cell that starts with one of these as a formula; a
# calling number is whatever the network (or a caller) put there.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(row: dict[str, Any]) -> dict[str, Any]:
    """The row with every text cell a spreadsheet would run as a formula
    prefixed with an apostrophe (OWASP's advice for CSV injection)."""
    return {
        key: "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value
        for key, value in row.items()
    }
