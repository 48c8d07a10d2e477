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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.audit import FORMULA_STARTS
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.charts import bars, columns, funnel
from stasis_app.admin.web.flow import inline_svg
from stasis_app.admin.web.html import NO_STORE, error_page, esc, page, tenant_choice
from stasis_app.admin.web.periods import (
    COMPARISONS,
    KEPT,
    PERIODS,
    Period,
    asked_period,
    compared_period,
)
from stasis_app.admin.web.queues import EXITS
from stasis_app.deployment import ServedTenant
from stasis_app.flow.graph import to_dot
from stasis_app.flow.model import Flow
from stasis_app.reports.figures import (
    COMPARE_HEADER,
    CSV_HEADER,
    Figures,
    calls_per,
    compare,
    figures,
    flow_versions,
)
from stasis_app.reports.funnel import paths
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
QUEUE = {
    "offered": "trafiło do kolejki",
    **EXITS,
    "wait_p50": "oczekiwanie, mediana (s)",
    "wait_p90": "oczekiwanie, 90. percentyl (s)",
    "queued": "czekało w kolejce",
    "answered_within": "odebrane w czasie progu",
    "service_level_seconds": "próg poziomu obsługi (s)",
    "service_level": "poziom obsługi (%)",
    "abandoned_wait_p50": "porzucone po, mediana (s)",
    "abandoned_wait_p90": "porzucone po, 90. percentyl (s)",
}
# The CSV's figures in "summary".
SUMMARY = ("calls", "self_service", "self_service_rate", "transfers", "transfer_rate")
# What ?figure= may name: the first column of infolinia report --csv, the
# summary, and the calls per day or hour (the chart's, not in the CLI's CSV).
FIGURES = {
    *SUMMARY,
    "summary",
    "ending",
    "operation",
    "queue",
    "abandoned_after",
    "announcements",
    "callbacks",
    "survey",
    "drop_off",
    "funnel",
    "node",
}
VERBS = {
    "gather": "wpisanie cyfr",
    "authenticate": "logowanie telekodem",
    "identify": "logowanie datą urodzenia",
    "menu": "menu",
    "operation": "operacja w banku",
    "choose": "wybór z listy",
    "confirm": "potwierdzenie",
    "say": "komunikat",
    "transfer": "do konsultanta",
}
HEARD = {"queued": "czekało", "abandoned": "porzuciło", "answered": "odebrane"}
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

    async def _asked(self, request: web.Request) -> "Asked | web.Response":
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        served = self.prompts.deployment.tenants.get(tenant)
        if served is None:
            return error_page(404, "Nie ma takiego banku", tenant, session.user)
        zone = ZoneInfo(served.tenant.records.timezone)
        query = dict(request.query)
        today = datetime.now(zone).date()
        try:
            period = asked_period(query, today)
            other_period = compared_period(query, period, today)
        except ValueError as exc:
            return error_page(400, "Raporty", str(exc), session.user)
        version = query.get("version", "").strip() or None
        other_version = query.get("cversion", "").strip() or version
        store = self.prompts.store
        flow_paths = paths(served.flow)
        threshold = served.tenant.records.service_level_seconds

        def report(span: Period, flow_version: str | None) -> Figures:
            start, end = span.bounds(zone)
            return figures(
                store,
                tenant,
                start,
                end,
                flow_version=flow_version,
                service_level_seconds=threshold,
                flow_paths=flow_paths,
            )

        found = await store.run(lambda: report(period, version))
        other = None
        if other_period is not None:
            other = await store.run(lambda: report(other_period, other_version))
        start, end = period.bounds(zone)
        hourly = period.first == period.last
        per = await store.run(lambda: calls_per(store, tenant, start, end, zone, hourly, version))
        keep = {k: query[k] for k in KEPT if query.get(k, "").strip()}
        return Asked(served, period, found, per, other_period, other, keep)

    async def _csv(self, request: web.Request) -> web.StreamResponse:
        asked = await self._asked(request)
        if isinstance(asked, web.Response):
            return asked
        served, period, found = asked.served, asked.period, asked.found
        figure = request.query.get("figure", "")
        series = "calls_per_hour" if period.first == period.last else "calls_per_day"
        if figure and figure not in FIGURES | {series}:
            session = request[SESSION_KEY]
            return error_page(400, "Raporty", f"Nie ma takiej liczby: {figure}", session.user)
        header: tuple[str, ...] = CSV_HEADER
        rows: list[tuple[str, ...]]
        if figure == series:
            rows = [(series, label, str(n)) for label, n in asked.per]
        elif asked.other is not None:  # infolinia report --compare-... --csv
            header, rows = COMPARE_HEADER, list(compare(found.rows(), asked.other.rows()))
        else:
            rows = list(found.rows())
        if figure and figure != series:
            wanted = SUMMARY if figure == "summary" else (figure,)
            rows = [row for row in rows if row[0] in wanted]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(tuple(map(_cell, row)) for row in rows)
        name = f"raport-{served.tenant.id}-{period.first}-{period.last}"
        if asked.other_period is not None:
            name += f"-vs-{asked.other_period.first}-{asked.other_period.last}"
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
        served, period, found, per = asked.served, asked.period, asked.found, asked.per
        tenant = served.tenant.id
        base = f"/admin/reports/{quote(tenant)}"

        def csv_link(figure: str = "") -> str:
            extra = {"figure": figure} if figure else {}
            href = f"{base}/report.csv?{period.query(**asked.keep, **extra)}"
            return f'<a class="csv" href="{esc(href)}">CSV</a>'

        hourly = period.first == period.last
        span = f"{period.first}" if hourly else f"{period.first} do {period.last}"
        if found.flow_version:
            span += f", wersja przebiegu {found.flow_version}"
        summary = [
            ("calls", "połączenia", found.calls),
            ("self_service", "załatwione samodzielnie", found.self_service),
            ("self_service_rate", "odsetek samoobsługi", _share(found.self_service, found.calls)),
            ("transfers", "przekazane konsultantowi", found.transfers),
            ("transfer_rate", "odsetek przekazań", _share(found.transfers, found.calls)),
        ]
        versions = await self._versions(asked)
        sections = [
            _form(
                period, base, served.tenant.records.timezone, asked, versions, served.flow.version
            ),
            f"<p><strong>{esc(served.tenant.name)}</strong>, {esc(span)} · "
            f'<a href="{esc(base)}?{esc(period.shifted(-1).query(**asked.keep))}">« poprzedni</a>'
            f' · <a href="{esc(base)}?{esc(period.shifted(1).query(**asked.keep))}">następny »'
            f"</a> · wszystkie liczby: {csv_link()}</p>",
            _comparison(asked, csv_link()) if asked.other is not None else "",
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
            _queue(found, csv_link),
            _survey(found, csv_link("survey")),
            await self._funnel(served, found, csv_link("funnel")),
            await self._drop_off(served, found, csv_link("drop_off")),
        ]
        if len(found.nodes) > 1:
            sections.append(
                f"<h2>Według węzła {csv_link('node')}</h2>"
                + _table("node", [(k, k, n) for k, n in found.nodes.items()])
            )
        return page("Raporty: " + served.tenant.name, "".join(sections), session.user, session.csrf)

    async def _versions(self, asked: "Asked") -> dict[str, int]:
        """The flow versions of the calls of the period (and the compared one)."""
        zone = ZoneInfo(asked.served.tenant.records.timezone)
        store, tenant = self.prompts.store, asked.served.tenant.id
        spans = [asked.period]
        if asked.other_period is not None and asked.other_period != asked.period:
            spans.append(asked.other_period)
        found: dict[str, int] = {}
        for span in spans:
            start, end = span.bounds(zone)
            counted = await store.run(partial(flow_versions, store, tenant, start, end))
            for version, n in counted.items():
                found[version] = found.get(version, 0) + n
        return found

    async def _funnel(self, served: ServedTenant, found: Figures, link: str) -> str:
        head = f"<h2>Ścieżki: dokąd dochodzą dzwoniący {link}</h2>"
        if not found.funnel:
            return head + "<p>Przebieg nie ma menu z wyborem ścieżek.</p>"
        heard = await self._first_prompts(served)
        parts = [
            head,
            "<p>Dla każdego wyboru w pierwszym menu: ile połączeń doszło do kolejnych kroków "
            "ścieżki (krok to stan przebiegu, w kolejności, w jakiej prowadzi go autor) i ile "
            "rozłączyło się na danym kroku.</p>",
        ]
        for path in found.funnel:
            steps = path["steps"]
            first = heard.get(steps[0]["state"], "") if steps else ""
            title = f"Wybór {path['key']} w {path['menu']}" + (f": „{first}”" if first else "")
            rows = "".join(
                f"<tr><td>{i}</td><td>{esc(step['state'])}</td>"
                f"<td>{esc(VERBS.get(step['verb'], step['verb']))}</td>"
                f'<td class="n" data-figure="funnel" '
                f'data-item="{esc(path["path"] + " " + step["state"])} reached">'
                f"{step['reached']}</td>"
                f'<td class="n" data-figure="funnel" '
                f'data-item="{esc(path["path"] + " " + step["state"])} hung_up">'
                f"{step['hung_up']}</td></tr>"
                for i, step in enumerate(steps, 1)
            )
            chart = funnel(
                [(f"{s['state']} ({VERBS.get(s['verb'], s['verb'])})", s["reached"], s["hung_up"])
                 for s in steps],
                title,
            )  # fmt: skip
            parts.append(
                f'<h3 id="funnel-{esc(path["key"])}">{esc(title)}</h3>{chart}'
                "<table><tr><th>Krok</th><th>Stan</th><th>Co się dzieje</th><th>Doszło</th>"
                f"<th>Rozłączyło się tu</th></tr>{rows}</table>"
            )
        return "".join(parts)

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


@dataclass(frozen=True)
class Asked:
    """What a page (or its CSV) asked for, and the figures of it."""

    served: ServedTenant
    period: Period
    found: Figures
    per: list[tuple[str, int]]
    other_period: Period | None  # the compared period (None: no comparison)
    other: Figures | None
    keep: dict[str, str]  # the query beside the period, kept in links


def _form(
    period: Period,
    base: str,
    zone: str,
    asked: Asked,
    versions: dict[str, int],
    current: str,
) -> str:
    def options(choices: dict[str, str], chosen: str) -> str:
        return "".join(
            f'<option value="{esc(k)}"{" selected" if k == chosen else ""}>{esc(v)}</option>'
            for k, v in choices.items()
        )

    custom = period.kind == "custom"
    keep = asked.keep
    named = {v: f"{v} ({n} poł.{', obecna' if v == current else ''})" for v, n in versions.items()}
    if current not in named:
        named[current] = f"{current} (obecna)"
    for chosen in (keep.get("version"), keep.get("cversion")):
        if chosen and chosen not in named:
            named[chosen] = chosen
    return (
        f'<form method="get" action="{esc(base)}"><label>Okres <select name="period">'
        f"{options(PERIODS, period.kind)}</select></label> "
        f'<label>Dzień <input type="date" name="day" value="{period.first}"></label> '
        f'<label>albo od <input type="date" name="from" value="{period.first if custom else ""}">'
        "</label> "
        f'<label>do <input type="date" name="to" value="{period.last if custom else ""}"></label> '
        f'<label>Wersja przebiegu <select name="version">'
        f"{options({'': 'wszystkie', **named}, keep.get('version', ''))}</select></label><br>"
        f'<label>Porównaj <select name="compare">'
        f"{options(COMPARISONS, keep.get('compare', ''))}</select></label> "
        f'<label>od <input type="date" name="cfrom" value="{esc(keep.get("cfrom", ""))}"></label> '
        f'<label>do <input type="date" name="cto" value="{esc(keep.get("cto", ""))}"></label> '
        f'<label>wersja <select name="cversion">'
        f"{options({'': 'ta sama', **named}, keep.get('cversion', ''))}</select></label> "
        f"<button>Pokaż</button> <small>(dni w strefie {esc(zone)}; tydzień od poniedziałku; "
        "„własny”: od &ndash; do; porównanie z wybranymi dniami: ich od &ndash; do)</small></form>"
    )


def label(figure: str, item: str) -> str:
    """A row of the report (figure, item as in the CSV) in words."""
    simple = {
        "calls": "połączenia",
        "self_service": "załatwione samodzielnie",
        "self_service_rate": "odsetek samoobsługi (%)",
        "transfers": "przekazane konsultantowi",
        "transfer_rate": "odsetek przekazań (%)",
    }
    if figure in simple:
        return simple[figure]
    if figure == "ending":
        return "zakończenie: " + ENDINGS.get(item, item)
    if figure == "operation":
        kind, _, outcome = item.partition(" ")
        return f"{OPERATIONS.get(kind, kind)}: {OUTCOMES.get(outcome, outcome)}"
    if figure == "queue":
        return "kolejka: " + QUEUE.get(item, item)
    if figure == "abandoned_after":
        return f"porzucone po {item}"
    if figure == "announcements":
        heard, _, what = item.partition(" ")
        return f"usłyszało zapowiedzi: {heard}, {HEARD.get(what, what)}"
    if figure == "callbacks":
        return {"requested": "prośby o oddzwonienie", "done": "oddzwonienia wykonane"}.get(
            item, item
        )
    if figure == "survey":
        return f"ankieta: {item}"
    if figure == "drop_off":
        return f"rozłączenia w stanie {item}"
    if figure == "funnel":
        rest, _, what = item.rpartition(" ")
        menu_key, _, state = rest.rpartition(" ")
        verb = "doszło do" if what == "reached" else "rozłączyło się w"
        return f"ścieżka {menu_key}: {verb} {state}"
    if figure == "node":
        return f"węzeł {item}"
    return f"{figure} {item}".strip()


def shown_compared(figure: str, this: str, other: str) -> bool:
    """Whether the page's comparison shows a row: not the nodes, nor a row
    with nothing on either side (the CSV has every row)."""
    return figure != "node" and not (this in ("", "0") and other in ("", "0"))


def _comparison(asked: Asked, link: str) -> str:
    assert asked.other is not None and asked.other_period is not None

    def side(span: Period, figures: Figures) -> str:
        text = str(span.first) if span.first == span.last else f"{span.first} do {span.last}"
        return text + (f", wersja {figures.flow_version}" if figures.flow_version else "")

    this, other = side(asked.period, asked.found), side(asked.other_period, asked.other)
    rows = "".join(
        f"<tr><td>{esc(label(figure, item))}</td>"
        + "".join(
            f'<td class="n" data-figure="{esc(figure)}" data-item="{esc(item)}" '
            f'data-side="{name}">{esc(value or "-")}</td>'
            for name, value in (("this", a), ("compared", b), ("difference", change))
        )
        + "</tr>"
        for figure, item, a, b, change in compare(asked.found.rows(), asked.other.rows())
        if shown_compared(figure, a, b)
    )
    return (
        f'<h2 id="comparison">Porównanie {link}</h2>'
        f"<p>{esc(this)} (ten okres) wobec {esc(other)} (porównanie); "
        "zmiana = ten okres minus porównanie; bez wierszy, w których po obu stronach jest zero "
        "(są w pliku CSV).</p>"
        f'<table class="figures comparison"><tr><th>Liczba</th><th>{esc(this)}</th>'
        f"<th>{esc(other)}</th><th>Zmiana</th></tr>{rows}</table>"
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


def _queue(found: Figures, link: Callable[[str], str]) -> str:
    head = f"<h2>Kolejka do konsultantów {link('queue')}</h2>"
    queue = dict(found.queue)
    if not queue.get("offered"):
        return head + "<p>Nikt nie trafił do kolejki w tym okresie.</p>"
    offered = int(queue["offered"])
    outcomes = [(QUEUE.get(k, k), int(v)) for k, v in queue.items() if k in EXITS]
    rows: list[tuple[str, str, object]] = [(k, QUEUE.get(k, k), v) for k, v in queue.items()]
    level = queue["service_level"]
    parts = [
        head,
        f'<p class="service-level">Poziom obsługi: <strong>{"-" if level is None else level}'
        f"%</strong> ({queue['answered_within']} z {queue['queued']} połączeń, które czekały "
        f"w kolejce, odebrał konsultant w ciągu {queue['service_level_seconds']} s; próg "
        "ustawia bank: records.service_level_seconds).</p>",
        bars(outcomes, "Kolejka", offered),
        _table("queue", rows),
    ]
    if found.abandoned_after:
        parts += [
            f"<h3>Po jakim czasie dzwoniący porzucali kolejkę {link('abandoned_after')}</h3>",
            bars(list(found.abandoned_after.items()), "Porzucone po", queue["abandoned"]),
            _table(
                "abandoned_after", [(k, f"po {k}", n) for k, n in found.abandoned_after.items()]
            ),
        ]
    if found.announcements:
        rows = []
        for heard, counts in found.announcements.items():
            rows += [
                (f"{heard} {what}", f"usłyszało {heard}: {HEARD.get(what, what)}", n)
                for what, n in counts.items()
            ]
        abandoned = [
            (f"usłyszało {heard}", c["abandoned"]) for heard, c in found.announcements.items()
        ]
        parts += [
            f"<h3>Zapowiedzi czasu oczekiwania usłyszane przed porzuceniem "
            f"{link('announcements')}</h3>",
            "<p>Kolejka co jakiś czas mówi czekającym, które są w kolejce i ile mniej więcej "
            "poczekają. Ile zapowiedzi usłyszeli do końca ci, którzy czekali, i ilu z nich "
            "porzuciło kolejkę:</p>",
            bars(abandoned, "Porzucone według usłyszanych zapowiedzi", queue["abandoned"]),
            _table("announcements", rows),
        ]
    callbacks = found.callbacks
    if callbacks.get("requested"):
        parts += [
            f"<h3>Oddzwonienia {link('callbacks')}</h3>",
            _table(
                "callbacks",
                [
                    ("requested", "prośby o oddzwonienie", callbacks["requested"]),
                    ("done", "oznaczone jako wykonane przez pracowników", callbacks["done"]),
                ],
            ),
        ]
    return "".join(parts)


def _survey(found: Figures, link: str) -> str:
    """Shown only when calls carry a survey's score."""
    survey = found.survey
    if not survey:
        return ""
    scores = [(f"ocena {k}", n) for k, n in survey["score"].items()]
    rows: list[tuple[str, str, object]] = [
        ("answered", "oceny", survey["answered"]),
        ("mean", "średnia ocena", survey["mean"]),
        *((f"score {k}", f"ocena {k}", n) for k, n in survey["score"].items()),
    ]
    return (
        f'<h2 id="survey">Ankieta {link}</h2>'
        + bars(scores, "Oceny", survey["answered"])
        + _table("survey", rows)
    )
