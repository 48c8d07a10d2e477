"""The reports page, *Raporty* (roles admin and auditor, read only): a bank's
figures over a day, a week, a month or chosen dates, from its call records
(:mod:`stasis_app.reports.figures`, the same as ``infolinia report``).

Calls per day (per hour for one day), the self-service and transfer rates,
endings, operations by kind and outcome, the queue (offered, answered,
abandoned, callbacks, wait p50/p90) and where callers hung up, counted on the
flow's diagram. Charts are inline SVG drawn here (:mod:`.charts`). Every
figure downloads as CSV: the ``figure,item,value`` rows of ``infolinia
report --csv`` (all of them, or one figure's). Days are the bank's
(``records.timezone``). A user sees only their bank: the gate refuses
another bank's ``{tenant}`` before any handler runs.
"""

import asyncio
import csv
import io
import re
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.audit import FORMULA_STARTS
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.charts import bars, columns
from stasis_app.admin.web.flow import inline_svg
from stasis_app.admin.web.html import NO_STORE, error_page, esc, page, tenant_choice
from stasis_app.admin.web.periods import PERIODS, Period, asked_period
from stasis_app.admin.web.queues import EXITS
from stasis_app.deployment import ServedTenant
from stasis_app.flow.graph import to_dot
from stasis_app.flow.model import Flow
from stasis_app.reports.figures import Figures, calls_per, figures
from stasis_app.reports.records import COMPLETED, FAILED, HUNG_UP, TRANSFERRED

ROLES = ("admin", "auditor")
ENDINGS = {
    HUNG_UP: "rozłączył się dzwoniący",
    COMPLETED: "zakończone przez infolinię",
    TRANSFERRED: "przekazane konsultantowi",
    FAILED: "błąd",
}
OPERATIONS = {
    "list_cards": "lista kart",
    "block_card": "blokada karty",
    "block_internet_banking": "blokada bankowości internetowej",
    "accounts": "saldo",
    "last_operations": "historia operacji",
    "block_request": "zgłoszenie blokady (bez logowania)",
}
OUTCOMES = {
    "ok": "wykonano",
    "empty": "nic do pokazania",
    "registered": "przyjęto do dziennika blokad",
    "refused": "bank odmówił",
    "unavailable": "bank niedostępny",
    "not_allowed": "niedozwolone",
    "hung_up": "dzwoniący rozłączył się w trakcie",
}
QUEUE = {"offered": "trafiło do kolejki", **EXITS}
CSV_HEADER = ("figure", "item", "value")
SUMMARY = ("calls", "self_service", "transfers")  # the CSV's figures in "summary"
# What ?figure= may name: the first column of infolinia report --csv, the
# summary, and the calls per day or hour (the chart's, not in the CLI's CSV).
FIGURES = {*SUMMARY, "summary", "ending", "operation", "queue", "drop_off", "node"}
# A state's box in flow.graph.to_dot's text.
DOT_NODE = re.compile(r'^  (\w+) \[label="(.*)", fillcolor="[^"]+"\];$', re.M)
DIAGRAMS_KEPT = 64
MARK = "#c62828"  # a state where callers hung up: darker than the pink of an ending state
GONE = "(stanu nie ma w obecnym przebiegu)"  # a state of an earlier flow version


def marked_dot(flow: Flow, drop_off: dict[str, int]) -> str:
    """The flow's diagram (as on the flow page) with each state where
    callers hung up filled dark red and labelled with how many did."""

    def mark(found: re.Match[str]) -> str:
        name, label = found.group(1), found.group(2)
        n = drop_off.get(name)
        if not n:
            return found.group(0)
        return (
            f'  {name} [label="{label}\\nrozłączyło się: {n}", fillcolor="{MARK}", '
            'fontcolor="white", color="#7a1f1f", penwidth=2];'
        )

    return DOT_NODE.sub(mark, to_dot(flow))


def _cell(text: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (as the audit's CSV)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _table(figure: str, rows: list[tuple[str, str, object]]) -> str:
    """Rows of (item as in the CSV, label, value); the value's cell names both."""
    cells = "".join(
        f'<tr><td>{esc(label)}</td><td class="n" data-figure="{figure}" '
        f'data-item="{esc(item)}">{esc("-" if value is None else str(value))}</td></tr>'
        for item, label, value in rows
    )
    return f'<table class="figures">{cells}</table>'


class ReportPages:
    def __init__(self, prompts: PromptAdmin) -> None:
        self.prompts = prompts
        self._diagrams: dict[str, str] = {}  # DOT text -> SVG

    def routes(self, app: web.Application, gate: Gate) -> None:
        gate.add(app, "GET", "/reports", self._tenants, ROLES)
        gate.add(app, "GET", "/reports/{tenant}", self._page, ROLES)
        gate.add(app, "GET", "/reports/{tenant}/report.csv", self._csv, ROLES)

    async def _tenants(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        tenants = [t for t in self.prompts.tenants() if session.user.sees(t)]
        return tenant_choice("Raporty", "/admin/reports", tenants, session.user, session.csrf)

    async def _asked(
        self, request: web.Request
    ) -> tuple[ServedTenant, Period, Figures, list[tuple[str, int]]] | web.Response:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        served = self.prompts.deployment.tenants.get(tenant)
        if served is None:
            return error_page(404, "Nie ma takiego banku", tenant, session.user)
        zone = ZoneInfo(served.tenant.records.timezone)
        try:
            period = asked_period(dict(request.query), datetime.now(zone).date())
        except ValueError as exc:
            return error_page(400, "Raporty", str(exc), session.user)
        start, end = period.bounds(zone)
        store = self.prompts.store
        found = await store.run(lambda: figures(store, tenant, start, end))
        hourly = period.first == period.last
        per = await store.run(lambda: calls_per(store, tenant, start, end, zone, hourly))
        return served, period, found, per

    async def _csv(self, request: web.Request) -> web.StreamResponse:
        asked = await self._asked(request)
        if isinstance(asked, web.Response):
            return asked
        served, period, found, per = asked
        figure = request.query.get("figure", "")
        series = "calls_per_hour" if period.first == period.last else "calls_per_day"
        if figure and figure not in FIGURES | {series}:
            session = request[SESSION_KEY]
            return error_page(400, "Raporty", f"Nie ma takiej liczby: {figure}", session.user)
        rows = [(series, label, str(n)) for label, n in per] if figure == series else found.rows()
        if figure and figure != series:
            wanted = SUMMARY if figure == "summary" else (figure,)
            rows = [row for row in rows if row[0] in wanted]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(tuple(map(_cell, row)) for row in rows)
        name = f"raport-{served.tenant.id}-{period.first}-{period.last}"
        name += f"-{figure}.csv" if figure else ".csv"
        return web.Response(
            text=out.getvalue(),
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{name}"',
                **NO_STORE,
            },
        )

    async def _page(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        asked = await self._asked(request)
        if isinstance(asked, web.Response):
            return asked
        served, period, found, per = asked
        tenant = served.tenant.id
        base = f"/admin/reports/{quote(tenant)}"

        def csv_link(figure: str = "") -> str:
            extra = {"figure": figure} if figure else {}
            href = f"{base}/report.csv?{period.query(**extra)}"
            return f'<a class="csv" href="{esc(href)}">CSV</a>'

        hourly = period.first == period.last
        span = f"{period.first}" if hourly else f"{period.first} do {period.last}"
        summary = [
            ("calls", "połączenia", found.calls),
            ("self_service", "załatwione samodzielnie", found.self_service),
            ("self_service_rate", "odsetek samoobsługi", _share(found.self_service, found.calls)),
            ("transfers", "przekazane konsultantowi", found.transfers),
            ("transfer_rate", "odsetek przekazań", _share(found.transfers, found.calls)),
        ]
        sections = [
            _form(period, base, served.tenant.records.timezone),
            f"<p><strong>{esc(served.tenant.name)}</strong>, {esc(span)} · "
            f'<a href="{esc(base)}?{esc(period.shifted(-1).query())}">« poprzedni</a> · '
            f'<a href="{esc(base)}?{esc(period.shifted(1).query())}">następny »</a> · '
            f"wszystkie liczby: {csv_link()}</p>",
            f"<h2>Podsumowanie {csv_link('summary')}</h2>"
            + _table("summary", summary)
            + "<p>Samoobsługa: połączenia z co najmniej jedną wykonaną operacją, "
            "które nie trafiły do konsultanta.</p>",
            f"<h2>Połączenia na {'godzinę' if hourly else 'dzień'} "
            f"{csv_link('calls_per_hour' if hourly else 'calls_per_day')}</h2>"
            + columns(per, "Połączenia na godzinę" if hourly else "Połączenia na dzień"),
            f"<h2>Jak się kończyły {csv_link('ending')}</h2>"
            + bars(
                [(ENDINGS.get(k, k), n) for k, n in found.endings.items()],
                "Zakończenia",
                found.calls,
            )
            if found.calls
            else "",
            _operations(found, csv_link("operation")),
            _queue(found, csv_link("queue")),
            await self._drop_off(served, found, csv_link("drop_off")),
        ]
        if len(found.nodes) > 1:
            sections.append(
                f"<h2>Według węzła {csv_link('node')}</h2>"
                + _table("node", [(k, k, n) for k, n in found.nodes.items()])
            )
        return page("Raporty: " + served.tenant.name, "".join(sections), session.user, session.csrf)

    async def _drop_off(self, served: ServedTenant, found: Figures, link: str) -> str:
        head = f"<h2>Gdzie dzwoniący się rozłączali {link}</h2>"
        if not found.drop_off:
            return head + "<p>Nikt się nie rozłączył w tym okresie.</p>"
        dot = marked_dot(served.flow, found.drop_off)
        if dot not in self._diagrams:
            if len(self._diagrams) >= DIAGRAMS_KEPT:
                self._diagrams.pop(next(iter(self._diagrams)))
            try:
                self._diagrams[dot] = await asyncio.to_thread(inline_svg, dot)
            except (OSError, RuntimeError) as exc:  # Graphviz missing or failing
                self._diagrams[dot] = f'<p class="error">Brak rysunku: {esc(str(exc))}</p>'
        heard = await self._first_prompts(served)
        hung_up = sum(found.drop_off.values())
        rows = "".join(
            f"<tr><td>{esc(state)}</td><td>{esc(heard.get(state, GONE))}</td>"
            f'<td class="n" data-figure="drop_off" data-item="{esc(state)}">{n}</td>'
            f"<td>{_share(n, hung_up)}</td></tr>"
            for state, n in found.drop_off.items()
        )
        return (
            head + "<p>Stany, w których dzwoniący odłożył słuchawkę (bez tych, którzy rozmawiali "
            "z konsultantem), zaznaczone na ciemnoczerwono na przebiegu rozmowy.</p>"
            + f'<div class="flow" id="drop-off-diagram">{self._diagrams[dot]}</div>'
            + "<table><tr><th>Stan</th><th>Co słyszy dzwoniący</th><th>Rozłączeń</th>"
            + f"<th>Udział</th></tr>{rows}</table>"
        )

    async def _first_prompts(self, served: ServedTenant) -> dict[str, str]:
        """Each state's first prompt text (what the caller hears there)."""
        tenant = served.tenant.id
        infos = await self.prompts.store.run(lambda: self.prompts.list_prompts(tenant))
        texts = {info.key: info.text for info in infos}
        out: dict[str, str] = {}
        for state in served.flow.states.values():
            prompt = getattr(state.params, "prompt", None) or []
            first = next((p for p in prompt if isinstance(p, str) and p in texts), None)
            text = texts[first] if first else ""
            out[state.name] = text if len(text) <= 80 else text[:79] + "…"
        return out


def _form(period: Period, base: str, zone: str) -> str:
    options = "".join(
        f'<option value="{k}"{" selected" if k == period.kind else ""}>{v}</option>'
        for k, v in PERIODS.items()
    )
    custom = period.kind == "custom"
    return (
        f'<form method="get" action="{esc(base)}"><label>Okres <select name="period">{options}'
        "</select></label> "
        f'<label>Dzień <input type="date" name="day" value="{period.first}"></label> '
        f'<label>albo od <input type="date" name="from" value="{period.first if custom else ""}">'
        "</label> "
        f'<label>do <input type="date" name="to" value="{period.last if custom else ""}"></label> '
        f"<button>Pokaż</button> <small>(dni w strefie {esc(zone)}; tydzień od poniedziałku; "
        "„własny”: od &ndash; do)</small></form>"
    )


def _operations(found: Figures, link: str) -> str:
    head = f"<h2>Operacje {link}</h2>"
    if not found.operations:
        return head + "<p>Żadnej operacji w tym okresie.</p>"
    rows: list[tuple[str, str, object]] = []
    for kind, outcomes in found.operations.items():
        for outcome, n in outcomes.items():
            label = f"{OPERATIONS.get(kind, kind)}: {OUTCOMES.get(outcome, outcome)}"
            rows.append((f"{kind} {outcome}", label, n))
    chart = bars([(label, int(str(n))) for _, label, n in rows], "Operacje")
    return head + chart + _table("operation", rows)


def _queue(found: Figures, link: str) -> str:
    head = f"<h2>Kolejka do konsultantów {link}</h2>"
    queue = dict(found.queue)
    if not queue.get("offered"):
        return head + "<p>Nikt nie trafił do kolejki w tym okresie.</p>"
    p50, p90 = queue.pop("wait_p50"), queue.pop("wait_p90")
    offered = int(queue["offered"])
    outcomes = [(QUEUE.get(k, k), int(v)) for k, v in queue.items() if k != "offered"]
    rows: list[tuple[str, str, object]] = [(k, QUEUE.get(k, k), v) for k, v in queue.items()]
    rows += [
        ("wait_p50", "oczekiwanie, mediana (s)", p50),
        ("wait_p90", "oczekiwanie, 90. percentyl (s)", p90),
    ]
    return head + bars(outcomes, "Kolejka", offered) + _table("queue", rows)
