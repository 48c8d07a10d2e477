"""The *Scenariusz* page: a bank's call flow as a diagram (its admins edit
it, its auditors read it). A click on a state opens its side panel: its
name, its verb's form (stasis_app/admin/web/scenario_forms.py), its prompts
(text editable and playable in place), its transitions as a list, and the
typical edits (a new menu option with a new prompt, a say state inserted).

Every save is a draft version (stasis_app/flow/versions.py), checked by the
app's own flow checker; its problem is shown in Polish next to the state
and the field, and a draft with a problem cannot be published. Publishing
and reverting are the versions' own (atomic, audited); the diff of any two
versions is a page of its own. Forms carry the session's CSRF token.

The element ``#test-call`` is where the page's test call lives; the script
``window.infoliniaScenario.highlight(stateKey)`` marks the state a call is
in on the diagram (docs/admin.md, "Scenariusz").
"""

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from functools import partial
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from stasis_app.admin.prompts import PromptAdmin, PromptAdminError
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.flow import inline_svg
from stasis_app.admin.web.html import csrf_field, error_page, esc, page, tenant_choice
from stasis_app.admin.web.scenario_diagram import StateMarks, marks, to_dot
from stasis_app.admin.web.scenario_forms import FormError, fields, polish, read, render
from stasis_app.admin.web.test_call import panel as test_call_panel
from stasis_app.admin.web.test_call import version_choices
from stasis_app.flow.editing import KEY, EditError, FlowDocument, slug
from stasis_app.flow.names import EVENT_NAMES, VERB_NAMES, event_name, prompt_name
from stasis_app.flow.versions import (
    DRAFT,
    PUBLISHED,
    RETIRED,
    FlowRejected,
    FlowVersion,
    FlowVersions,
    Problem,
    VersionError,
)
from stasis_app.store import StaleEdit
from stasis_app.verbs.registry import VerbRegistry
from voice.engine import SynthesisError

log = logging.getLogger(__name__)

READERS = ("admin", "auditor")
EDITORS = ("admin",)
STATES = {DRAFT: "szkic", PUBLISHED: "działa", RETIRED: "wycofana"}
CONSULTANT, WEBHOOK = "__consultant__", "__webhook__"

STYLE = """<style>
main{max-width:none}
.scenario{display:grid;grid-template-columns:minmax(0,1fr) 430px;gap:1em;align-items:start}
#diagram{overflow:auto;max-height:80vh;border:1px solid #ddd;background:#fff}
#diagram svg{max-width:none;height:auto}
#diagram g.node.selected path,#diagram g.node.selected polygon{stroke:#1f4e79;stroke-width:3}
#diagram g.node.current path,#diagram g.node.current polygon{stroke:#e07000;stroke-width:4;
fill:#fff1d6}
#panel{border:1px solid #ccc;padding:.6em .9em;background:#fafafa;font-size:14px}
#panel h2{margin:.2em 0}#panel input:not([type=checkbox]),#panel select,#panel textarea{
width:100%;box-sizing:border-box}#panel input.key-input{width:2.5em}#transitions select{width:auto;
max-width:13em}#panel audio{height:2em;width:100%}
small.key,code.key{color:#777;font-size:.75em}.hint{color:#666;display:block}
.field-error,.state-error{display:block;color:#b00;font-weight:bold}
#status{margin:.5em 0}#test-call{border:1px dashed #999;padding:.5em;margin:.8em 0}
pre.diff .add{background:#d4f7d4}pre.diff .del{background:#fadadd}
</style>"""

SCRIPT = """<script>
// The hook the test call uses: highlight the state a call is in (by its key).
window.infoliniaScenario = {
  tenant: %(tenant)s, version: %(version)s,
  // Scroll the diagram (not the page) so that the state's box is in its middle.
  show(state) {
    const node = document.getElementById('node-' + state);
    const box = document.getElementById('diagram');
    if (!node || !box) return false;
    const at = node.getBoundingClientRect(), frame = box.getBoundingClientRect();
    box.scrollLeft += at.left - frame.left - box.clientWidth / 2 + at.width / 2;
    box.scrollTop += at.top - frame.top - box.clientHeight / 2 + at.height / 2;
    return true;
  },
  // Mark the state a call is in (by its key, e.g. "main_menu"); false: no such state.
  highlight(state) {
    document.querySelectorAll('#diagram g.node.current')
      .forEach(g => g.classList.remove('current'));
    const node = document.getElementById('node-' + state);
    if (!node) return false;
    node.classList.add('current');
    this.show(state);
    return true;
  },
};
if (%(selected)s) window.infoliniaScenario.show(%(selected)s);
// "Odsłuchaj": the text in the box, as callers would hear it (not saved).
document.querySelectorAll('button.listen').forEach(button => button.addEventListener('click',
    () => {
  const box = document.getElementById(button.dataset.text);
  const audio = document.getElementById(button.dataset.audio);
  audio.src = button.dataset.url + '?' + new URLSearchParams({text: box.value});
  audio.play().catch(() => {});
}));
</script>"""


def scenario_url(tenant: str, **query: str) -> str:
    url = f"/admin/scenario/{quote(tenant)}"
    return url + ("?" + urlencode(query) if query else "")


class ScenarioPages:
    def __init__(self, prompts: PromptAdmin, flows: FlowVersions) -> None:
        self.prompts = prompts
        self.flows = flows
        self._svgs: dict[tuple[str, str], str] = {}  # (text hash, problem state) -> SVG
        self._verbs: VerbRegistry | None = None

    def routes(self, app: web.Application, gate: Gate) -> None:
        gate.add(app, "GET", "/scenario", self._tenants, READERS)
        gate.add(app, "GET", "/scenario/{tenant}", self._page, READERS)
        gate.add(app, "GET", "/scenario/{tenant}/diff", self._diff, READERS)
        gate.add(app, "POST", "/scenario/{tenant}/edit", self._edit, EDITORS)
        gate.add(app, "POST", "/scenario/{tenant}/prompt", self._prompt, EDITORS)
        gate.add(app, "POST", "/scenario/{tenant}/publish", self._publish, EDITORS)
        gate.add(app, "POST", "/scenario/{tenant}/revert", self._revert, EDITORS)

    @property
    def verbs(self) -> VerbRegistry:
        if self.prompts.deployment.verbs is not None:
            return self.prompts.deployment.verbs
        if self._verbs is None:  # a deployment built without them (tests): the built-ins
            self._verbs = VerbRegistry()
        return self._verbs

    async def _tenants(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        tenants = [t for t in self.prompts.tenants() if session.user.sees(t)]
        return tenant_choice("Scenariusz", "/admin/scenario", tenants, session.user, session.csrf)

    # --- reading ------------------------------------------------------------------

    async def _versions(self, tenant: str) -> tuple[list[FlowVersion], FlowVersion | None]:
        """The history, and the version edits go on: the newest draft newer
        than the live version, else the live one (None: none in the store)."""

        def work() -> tuple[list[FlowVersion], FlowVersion | None]:
            history = self.flows.history(tenant)
            live = next((v for v in history if v.state == PUBLISHED), None)
            draft = next((v for v in history if v.state == DRAFT), None)
            base = draft if draft and (live is None or draft.number > live.number) else live
            return history, None if base is None else self.flows.get(tenant, base.number)

        return await self.prompts.store.run(work)

    async def _page(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        served = self.prompts.deployment.tenants.get(tenant)
        if served is None:
            return error_page(404, "Nie ma takiego banku", tenant, session.user)
        history, working = await self._versions(tenant)
        shown = working
        wanted = request.query.get("v", "")
        if wanted.isdigit() and (working is None or int(wanted) != working.number):
            try:
                shown = await self.prompts.store.run(partial(self.flows.get, tenant, int(wanted)))
            except VersionError:
                return error_page(404, "Nie ma takiej wersji", wanted, session.user)
        text = shown.text if shown else served.tenant.flow.read_text(encoding="utf-8")
        try:
            doc = FlowDocument(text)
        except EditError as exc:
            return error_page(500, "Nie da się odczytać przebiegu", str(exc), session.user)
        texts = served.prompts.texts
        found = marks(doc.states, doc.initial, self.verbs, texts)
        problem = shown.problem if shown else None
        editable = session.user.role == "admin" and shown is working
        selected = request.query.get("state", "")
        if selected not in doc.states:
            selected = problem.state if problem and problem.state in doc.states else ""
        svg = _scaled(await self._svg(doc, found, shown, problem))
        panel = (
            self._panel(tenant, doc, found, selected, problem, shown, editable, session.csrf)
            if selected
            else '<aside id="panel"><p>Kliknij stan na rysunku, aby go zobaczyć i zmienić.</p>'
            "</aside>"
        )
        body = "".join(
            [
                STYLE,
                self._status(tenant, shown, working, problem, request, session.csrf,
                             session.user.role == "admin"),
                f'<div class="scenario"><div id="diagram" class="flow">{svg}</div>{panel}</div>',
                f'<section id="test-call" data-tenant="{esc(tenant)}" '
                f'data-version="{shown.number if shown else 0}" '
                f'data-hash="{esc(shown.hash) if shown else ""}"></section>',
                # Its panel (Zadzwoń testowo: stasis_app/admin/web/test_call.py), for admins.
                test_call_panel(tenant, session.csrf, version_choices(history))
                if session.user.role == "admin" else "",
                _events_table(),
                self._history(tenant, history, working, session.csrf, session.user.role),
                f"<style>#node-{esc(selected)} path,#node-{esc(selected)} polygon"
                "{stroke:#1f4e79;stroke-width:3}</style>" if selected else "",
                SCRIPT % {"tenant": json.dumps(tenant), "selected": json.dumps(selected),
                          "version": shown.number if shown else 0},
            ]
        )  # fmt: skip
        return page(f"Scenariusz: {served.tenant.name}", body, session.user, session.csrf)

    async def _svg(
        self,
        doc: FlowDocument,
        found: dict[str, StateMarks],
        shown: FlowVersion | None,
        problem: Problem | None,
    ) -> str:
        key = (shown.hash if shown else "file", problem.state if problem else "")
        if key not in self._svgs:
            dot = to_dot(doc.states, doc.initial, found, key[1])
            try:
                self._svgs[key] = await asyncio.to_thread(inline_svg, dot)
            except (OSError, RuntimeError) as exc:
                return f'<p class="error">Brak rysunku (Graphviz): {esc(str(exc))}</p>'
            if len(self._svgs) > 64:
                self._svgs.pop(next(iter(self._svgs)))
        return self._svgs[key]

    def _status(
        self,
        tenant: str,
        shown: FlowVersion | None,
        working: FlowVersion | None,
        problem: Problem | None,
        request: web.Request,
        csrf: str,
        admin: bool,
    ) -> str:
        parts = ['<div id="status">']
        for name, cls in (("msg", "ok"), ("error", "error")):
            if request.query.get(name):
                parts.append(f'<p class="{cls}" id="{name}">{esc(request.query[name])}</p>')
        if shown is None:
            parts.append("<p>Działa przebieg z pliku; pierwszy zapis utworzy szkic.</p>")
        else:
            what = STATES.get(shown.state, shown.state)
            parts.append(
                f'<p id="version">Wersja {shown.number} ({what}; {esc(shown.author)}, '
                f"{esc(shown.at)})"
                + ("" if shown is working else " — <em>tylko do odczytu</em>, "
                   f'<a href="{scenario_url(tenant)}">wróć do bieżącej</a>')
                + "</p>"
            )  # fmt: skip
            if problem is not None:
                where = (
                    f' <a href="{scenario_url(tenant, state=problem.state)}">'
                    f"pokaż stan {esc(problem.state)}</a>"
                    if problem.state
                    else ""
                )
                parts.append(
                    f'<p class="error" id="problem">Błąd: {esc(polish(problem.problem))} '
                    f'<small class="key">{esc(problem.field)}</small>.{where} '
                    "Szkicu z błędem nie można opublikować.</p>"
                )
            if shown.state == DRAFT:
                parts.append(
                    f'<p><a id="diff" href="/admin/scenario/{quote(tenant)}/diff?new='
                    f'{shown.number}">Zobacz zmiany względem działającej wersji</a></p>'
                )
                if admin and problem is None and shown is working:
                    parts.append(
                        f'<form method="post" action="/admin/scenario/{quote(tenant)}/publish">'
                        f'{csrf_field(csrf)}<input type="hidden" name="number" '
                        f'value="{shown.number}"><input type="hidden" name="hash" '
                        f'value="{esc(shown.hash)}"><button id="publish">Opublikuj: '
                        "nowe rozmowy dostaną tę wersję</button></form>"
                    )
        parts.append("</div>")
        return "".join(parts)

    def _panel(
        self,
        tenant: str,
        doc: FlowDocument,
        found: dict[str, StateMarks],
        name: str,
        problem: Problem | None,
        shown: FlowVersion | None,
        editable: bool,
        csrf: str,
    ) -> str:
        spec = doc.state(name)
        verb_name = str(spec.get("verb", ""))
        verb = self.verbs.get(verb_name)
        mark = found[name]
        params = dict(spec.get("params") or {})
        on = {str(k): str(v) for k, v in (spec.get("on") or {}).items()}
        mine = problem if problem is not None and problem.state == name else None
        # "states.S.params.P" -> P; "states.S.on.E" -> event E
        parts_of = mine.field.split(".") if mine else []
        field_problem = (
            (parts_of[3], polish(mine.problem))
            if mine and len(parts_of) > 3 and parts_of[2] == "params"
            else None
        )
        event_problem = (
            (parts_of[3], polish(mine.problem))
            if mine and len(parts_of) > 3 and parts_of[2] == "on"
            else None
        )
        hidden = (
            csrf_field(csrf)
            + f'<input type="hidden" name="state" value="{esc(name)}">'
            + f'<input type="hidden" name="base" value="{shown.number if shown else 0}">'
            + f'<input type="hidden" name="hash" value="{esc(shown.hash) if shown else ""}">'
        )
        action = f"/admin/scenario/{quote(tenant)}/edit"
        out = [
            f'<aside id="panel" data-state="{esc(name)}"><h2>{esc(mark.title)}</h2>',
            f'<p><small class="key">{esc(name)} · {esc(verb_name)} '
            f"({esc(VERB_NAMES.get(verb_name, verb_name))})</small></p>",
        ]
        if mine is not None and field_problem is None and event_problem is None:
            out.append(f'<p class="state-error" id="state-error">{esc(polish(mine.problem))}</p>')
        if mark.unreachable:
            out.append('<p class="state-error">Żadna ścieżka tu nie prowadzi (nieosiągalny).</p>')
        if mark.dead_ends or mark.missing:
            lost = ", ".join(event_name(e) for e in mark.dead_ends + mark.missing)
            out.append(
                f'<p class="state-error">Ślepy zaułek: nic się nie dzieje po: {esc(lost)}.</p>'
            )
        off = "" if editable else " disabled"
        form = fields(verb.Params) if verb is not None else []
        # What the caller hears, where the call goes next, the typical edits:
        out.append(self._prompts(tenant, form, params, editable, csrf, name))
        out.append(self._transitions(doc, found, name, on, event_problem, editable, hidden, action))
        if editable:
            out.append(self._typical(tenant, verb_name, on, hidden, action, params))
        # ... then the name and the verb's form (made from its schema).
        out.append(
            '<details id="settings" open><summary><strong>Nazwa i ustawienia</strong></summary>'
            # novalidate: the app's checker says what is wrong, in Polish, by the field
            f'<form method="post" action="{action}" id="state-form" novalidate>{hidden}'
            '<input type="hidden" name="op" value="params">'
            f'<p class="field"><label for="title">Nazwa stanu</label><br><input id="title" '
            f'name="title" value="{esc(str(spec.get("title", "")))}" '
            f'placeholder="{esc(mark.title)}"{off}></p>'
            + render(form, params, field_problem, not editable)
            + ('<p><button id="save-state">Zapisz szkic</button></p>' if editable else "")
            + "</form></details>"
        )
        out.append("</aside>")
        return "".join(out)

    def _prompts(
        self, tenant: str, form: list[Any], params: Mapping[str, Any], editable: bool,
        csrf: str, state: str,
    ) -> str:  # fmt: skip
        texts = self.prompts.deployment.tenants[tenant].prompts.texts
        out = []
        for f in form:
            if f.kind != "prompt":
                continue
            items = params.get(f.name, f.default) or []
            for key in [i for i in items if isinstance(i, str)]:
                text = texts.get(key, "")
                url = f"/admin/prompts/{quote(tenant)}/{quote(key)}/preview.wav"
                box, audio = f"text-{key}", f"audio-{key}"
                out.append(
                    f'<div class="prompt" data-prompt="{esc(key)}"><p><strong>'
                    f"{esc(f.label)}: {esc(prompt_name(key, texts))}</strong> "
                    f'<small class="key">{esc(key)}</small></p>'
                )
                if key not in texts:
                    out.append(f'<p class="state-error">Nie ma komunikatu {esc(key)}.</p></div>')
                    continue
                out.append(
                    f'<form method="post" action="/admin/scenario/{quote(tenant)}/prompt">'
                    f'{csrf_field(csrf)}<input type="hidden" name="state" value="{esc(state)}">'
                    f'<input type="hidden" name="key" value="{esc(key)}">'
                    f'<input type="hidden" name="seen" value="{esc(text)}">'
                    f'<textarea id="{esc(box)}" name="text" rows="3"'
                    f"{'' if editable else ' readonly'}>{esc(text)}</textarea>"
                    f'<audio id="{esc(audio)}" controls preload="none" src="{esc(url)}"></audio>'
                    + (
                        f'<button type="button" class="listen" data-text="{esc(box)}" '
                        f'data-audio="{esc(audio)}" data-url="{esc(url)}">Odsłuchaj</button> '
                        '<button>Zapisz komunikat</button><small class="hint">Komunikat '
                        "zmienia się od razu we wszystkich rozmowach, które go odtwarzają.</small>"
                        if editable
                        else ""
                    )
                    + "</form></div>"
                )
        return "".join(out)

    def _transitions(
        self,
        doc: FlowDocument,
        found: dict[str, StateMarks],
        name: str,
        on: dict[str, str],
        event_problem: tuple[str, str] | None,
        editable: bool,
        hidden: str,
        action: str,
    ) -> str:
        if not on:
            return "<h3>Dalej</h3><p>Tu rozmowa się kończy.</p>"
        off = "" if editable else " disabled"
        choices = sorted(((found[s].title, str(s)) for s in doc.states), key=lambda c: c[0])
        rows = []
        for event, target in on.items():
            options = "".join(
                f'<option value="{esc(s)}"{" selected" if s == target else ""}>{esc(title)} '
                f"({esc(s)})</option>"
                for title, s in choices
            )
            if target not in doc.states:
                options = f'<option value="{esc(target)}" selected>(brak stanu {esc(target)})' \
                    "</option>" + options  # fmt: skip
            options += (
                f'<option value="{CONSULTANT}">nowy stan: połączenie z konsultantem</option>'
                f'<option value="{WEBHOOK}">nowy stan: serwis banku (webhook)</option>'
            )
            key = remove = ""
            if KEY.match(event):
                key = (
                    f'<input class="key-input" name="k.{esc(event)}" value="{esc(event)}" '
                    f'size="1" maxlength="1" aria-label="klawisz zamiast {esc(event)}"{off}> → '
                )
                remove = f' <label><input type="checkbox" name="x.{esc(event)}"{off}> usuń</label>'
            error = (
                f'<span class="field-error" id="error-on-{esc(event)}">'
                f"{esc(event_problem[1])}</span>"
                if event_problem and event_problem[0] == event
                else ""
            )
            rows.append(
                f'<tr data-event="{esc(event)}"><td>{esc(event_name(event))}<br>'
                f'<small class="key">{esc(event)}</small></td><td>{key}'
                f'<select name="t.{esc(event)}" aria-label="dokąd po: {esc(event_name(event))}"'
                f"{off}>{options}</select>{remove}{error}</td></tr>"
            )
        return (
            f'<h3>Dalej</h3><form method="post" action="{action}" id="transitions">{hidden}'
            f'<input type="hidden" name="op" value="transitions"><table>{"".join(rows)}</table>'
            + ('<p><button id="save-transitions">Zapisz przejścia</button></p>' if editable else "")
            + "</form>"
        )

    def _typical(
        self, tenant: str, verb: str, on: dict[str, str], hidden: str, action: str,
        params: Mapping[str, Any],
    ) -> str:  # fmt: skip
        out = []
        url = f"/admin/prompts/{quote(tenant)}/greeting/preview.wav"  # any key: the text is heard
        if verb == "menu":
            repeat = [str(k) for k in params.get("repeat", ["9", "*"])]
            free = [k for k in "1234567890*#" if k not in on and k not in repeat]
            keys = "".join(f"<option>{k}</option>" for k in free)
            out.append(
                f'<h3>Dodaj opcję menu</h3><form method="post" action="{action}" id="add-option">'
                f'{hidden}<input type="hidden" name="op" value="add_option">'
                f'<p class="field"><label for="option-key">Klawisz</label><br>'
                f'<select id="option-key" name="key">{keys}</select></p>'
                '<p class="field"><label for="option-name">Nazwa opcji</label><br>'
                '<input id="option-name" name="name" required placeholder="np. informacje o banku">'
                '</p><p class="field"><label for="option-text">Treść nowego komunikatu</label><br>'
                '<textarea id="option-text" name="text" rows="3" required></textarea>'
                '<audio id="option-audio" preload="none"></audio>'
                f'<button type="button" class="listen" data-text="option-text" '
                f'data-audio="option-audio" data-url="{esc(url)}">Odsłuchaj</button></p>'
                '<p><button id="add-option-button">Dodaj opcję</button></p></form>'
            )
        if on:
            events = "".join(f'<option value="{esc(e)}">{esc(event_name(e))}</option>' for e in on)
            out.append(
                f'<h3>Wstaw komunikat</h3><form method="post" action="{action}" id="insert-say">'
                f'{hidden}<input type="hidden" name="op" value="insert_say">'
                f'<p class="field"><label for="say-event">Po zdarzeniu</label><br>'
                f'<select id="say-event" name="event">{events}</select></p>'
                '<p class="field"><label for="say-name">Nazwa komunikatu</label><br>'
                '<input id="say-name" name="name" required></p>'
                '<p class="field"><label for="say-text">Treść</label><br>'
                '<textarea id="say-text" name="text" rows="2" required></textarea></p>'
                "<p><button>Wstaw komunikat</button></p></form>"
            )
        return "".join(out)

    def _history(
        self, tenant: str, history: list[FlowVersion], working: FlowVersion | None, csrf: str,
        role: str,
    ) -> str:  # fmt: skip
        live = next((v for v in history if v.state == PUBLISHED), None)
        rows = []
        for v in history:
            links = f'<a href="{scenario_url(tenant, v=str(v.number))}">pokaż</a>'
            if live is not None and v.number != live.number:
                links += (
                    f' · <a href="/admin/scenario/{quote(tenant)}/diff?old={live.number}'
                    f'&amp;new={v.number}">zmiany</a>'
                )
            if role == "admin" and v.state == RETIRED:
                links += (
                    f' <form class="inline" method="post" action="/admin/scenario/'
                    f'{quote(tenant)}/revert">{csrf_field(csrf)}<input type="hidden" '
                    f'name="number" value="{v.number}"><button>Przywróć</button></form>'
                )
            problem = esc(polish(v.problem.problem)) if v.problem else ""
            rows.append(
                f'<tr data-version="{v.number}"><td>{v.number}</td>'
                f"<td>{STATES.get(v.state, esc(v.state))}</td><td>{esc(v.at)}</td>"
                f"<td>{esc(v.author)}</td><td>{esc(v.comment)}</td><td>{problem}</td>"
                f"<td>{links}</td></tr>"
            )
        return (
            '<h2>Wersje</h2><table id="versions"><tr><th>Nr</th><th>Stan</th><th>Kiedy (UTC)</th>'
            "<th>Kto</th><th>Komentarz</th><th>Błąd</th><th></th></tr>"
            f"{''.join(rows)}</table>"
        )

    async def _diff(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        served = self.prompts.deployment.tenants.get(tenant)
        if served is None:
            return error_page(404, "Nie ma takiego banku", tenant, session.user)
        history, _ = await self._versions(tenant)
        live = next((v for v in history if v.state == PUBLISHED), None)
        old, new = request.query.get("old", ""), request.query.get("new", "")
        if not old.isdigit() and live is not None:
            old = str(live.number)
        if not (old.isdigit() and new.isdigit()):
            return error_page(400, "Zmiany", "Podaj dwie wersje (old, new).", session.user)
        try:
            diff = await self.prompts.store.run(
                partial(self.flows.diff, tenant, int(old), int(new))
            )
        except VersionError as exc:
            return error_page(404, "Nie ma takiej wersji", str(exc), session.user)
        lines = "".join(
            f'<span class="{"add" if line.startswith("+") else "del"}">{esc(line)}</span>'
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
            else esc(line)
            for line in diff.unified.splitlines(keepends=True)
        )
        summary = "".join(
            f"<li>{label}: {esc(', '.join(names))}</li>"
            for label, names in (
                ("nowe stany", diff.added),
                ("usunięte stany", diff.removed),
                ("zmienione stany", diff.changed),
            )
            if names
        )
        body = (
            STYLE + f'<p><a href="{scenario_url(tenant)}">Wróć do scenariusza</a></p>'
            f'<ul id="summary">{summary or "<li>bez zmian w stanach</li>"}</ul>'
            f'<pre class="diff" id="unified">{lines}</pre>'
        )
        return page(f"Zmiany: wersja {old} → {new}", body, session.user, session.csrf)

    # --- changing -------------------------------------------------------------------

    async def _edit(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        served = self.prompts.deployment.tenants.get(tenant)
        if served is None:
            return error_page(404, "Nie ma takiego banku", tenant, session.user)
        form = {k: str(v) for k, v in (await request.post()).items()}
        state = form.get("state", "")
        _, working = await self._versions(tenant)
        if str(working.number if working else 0) != form.get("base", "") or (
            working is not None and working.hash != form.get("hash")
        ):
            raise web.HTTPSeeOther(
                scenario_url(tenant, state=state, error="Ktoś zmienił scenariusz w międzyczasie; "
                             "oto jego obecna wersja. Powtórz zmianę.")
            )  # fmt: skip
        text = working.text if working else served.tenant.flow.read_text(encoding="utf-8")
        who = session.user.name
        try:
            doc = FlowDocument(text)
            shown_state, comment = await self._apply(tenant, doc, form, who)
        except (EditError, FormError, PromptAdminError) as exc:
            raise web.HTTPSeeOther(scenario_url(tenant, state=state, error=str(exc))) from None
        except SynthesisError:
            raise web.HTTPSeeOther(
                scenario_url(
                    tenant, state=state, error="Żaden syntezator nie mógł tego wypowiedzieć."
                )
            ) from None
        new_text = doc.text()
        try:
            if working is not None and working.state == DRAFT:
                saved = await self.prompts.store.run(
                    partial(
                        self.flows.update_draft, tenant, working.number, new_text, who,
                        self.prompts.deployment.check_flow, expected_hash=working.hash,
                        comment=comment,
                    )
                )  # fmt: skip
            else:
                saved = await self.prompts.store.run(
                    partial(
                        self.flows.save_draft, tenant, new_text, who,
                        self.prompts.deployment.check_flow, comment=comment, origin="editor",
                        based_on=working.number if working else None,
                    )
                )  # fmt: skip
        except VersionError as exc:
            raise web.HTTPSeeOther(scenario_url(tenant, state=state, error=str(exc))) from None
        message = f"Zapisano szkic {saved.number}." + (
            " Ma błąd: popraw go przed publikacją." if saved.problem else ""
        )
        raise web.HTTPSeeOther(scenario_url(tenant, state=shown_state, msg=message))

    async def _apply(
        self, tenant: str, doc: FlowDocument, form: dict[str, str], who: str
    ) -> tuple[str, str]:
        """Make the posted edit on ``doc``: the state to show after it, and
        the draft's comment."""
        op, state = form.get("op", ""), form.get("state", "")
        spec = doc.state(state)
        if op == "params":
            verb = self.verbs.get(str(spec.get("verb")))
            if "title" in form:
                doc.set_title(state, form["title"])
            if verb is not None:
                values = read(fields(verb.Params), form, dict(spec.get("params") or {}))
                doc.set_params(state, values)
            return state, f"{state}: ustawienia"
        if op == "transitions":
            on = {str(k): str(v) for k, v in (spec.get("on") or {}).items()}
            for event, target in on.items():
                if form.get(f"x.{event}"):
                    doc.remove_option(state, event)
                    continue
                wanted = form.get(f"t.{event}", target)
                if wanted == CONSULTANT:
                    doc.to_consultant(state, event)
                elif wanted == WEBHOOK:
                    doc.to_webhook(state, event)
                elif wanted != target:
                    doc.set_target(state, event, wanted)
            for event in on:  # keys last: the moves above name events by their old key
                new = form.get(f"k.{event}", event).strip()
                if KEY.match(event) and not form.get(f"x.{event}") and new != event:
                    doc.change_key(state, event, new)
            return state, f"{state}: przejścia"
        if op in ("add_option", "insert_say"):
            name = " ".join(form.get("name", "").split())
            if not name:
                raise EditError("podaj nazwę")
            key = await self._new_prompt(tenant, name, form.get("text", ""), who)
            if op == "add_option":
                doc.add_menu_option(state, form.get("key", ""), name, key)
                return state, f"{state}: opcja {form.get('key')} — {name}"
            new = doc.insert_say(state, form.get("event", ""), key, name)
            return new, f"{state}: komunikat {name}"
        raise EditError(f"nieznana zmiana {op!r}")

    async def _new_prompt(self, tenant: str, name: str, text: str, who: str) -> str:
        """A new prompt of the bank's own, keyed by its name; its key."""
        texts = self.prompts.deployment.tenants[tenant].prompts.texts
        base = slug(name)
        key, n = base, 2
        while key in texts:
            key, n = f"{base}_{n}", n + 1
        await self.prompts.create(tenant, key, text, f"web:{who}")
        return key

    async def _prompt(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        form = await request.post()
        state, key = str(form.get("state", "")), str(form.get("key", ""))
        try:
            await self.prompts.set(
                tenant, key, str(form.get("text", "")), who=f"web:{session.user.name}",
                expected=str(form.get("seen", "")),
            )  # fmt: skip
        except StaleEdit as exc:
            error = f"Ktoś zmienił ten komunikat w międzyczasie na „{exc.current}”."
            raise web.HTTPSeeOther(scenario_url(tenant, state=state, error=error)) from None
        except PromptAdminError as exc:
            raise web.HTTPSeeOther(scenario_url(tenant, state=state, error=str(exc))) from None
        except SynthesisError:
            error = "Żaden syntezator nie mógł tego wypowiedzieć."
            raise web.HTTPSeeOther(scenario_url(tenant, state=state, error=error)) from None
        raise web.HTTPSeeOther(
            scenario_url(tenant, state=state, msg="Komunikat zapisany: dzwoniący już go słyszą.")
        )

    async def _publish(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        form = await request.post()
        number = str(form.get("number", ""))
        if not number.isdigit():
            return error_page(400, "Nie opublikowano", "Brak numeru wersji.", session.user)
        deployment = self.prompts.deployment
        work = partial(
            self.flows.publish, tenant, int(number), session.user.name, deployment.check_flow,
            str(form.get("hash", "")),
        )  # fmt: skip
        return await self._go_live(tenant, deployment, work, f"Opublikowano wersję {number}.")

    async def _revert(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        form = await request.post()
        number = str(form.get("number", ""))
        if not number.isdigit():
            return error_page(400, "Nie przywrócono", "Brak numeru wersji.", session.user)
        deployment = self.prompts.deployment
        work = partial(
            self.flows.revert, tenant, int(number), session.user.name, deployment.check_flow,
            "przywrócona na stronie Scenariusz",
        )  # fmt: skip
        return await self._go_live(tenant, deployment, work, f"Przywrócono wersję {number}.")

    async def _go_live(
        self, tenant: str, deployment: Any, work: Any, done: str
    ) -> web.StreamResponse:
        if tenant not in deployment.tenants:
            raise web.HTTPNotFound()
        try:
            await self.flows.change_live(deployment, work)
        except FlowRejected as exc:
            error = f"Nie opublikowano: {polish(exc.problem.problem)} ({exc.problem.field})."
            raise web.HTTPSeeOther(
                scenario_url(tenant, state=exc.problem.state, error=error)
            ) from None
        except VersionError as exc:
            raise web.HTTPSeeOther(scenario_url(tenant, error=f"Nie opublikowano: {exc}")) from None
        raise web.HTTPSeeOther(
            scenario_url(tenant, msg=done + " Nowe rozmowy już ją dostają; trwające kończą się "
                         "na swojej.")
        )  # fmt: skip


SCALE = 1.0  # Graphviz's points as CSS pixels (3/4 of its size): 11 px names


def _scaled(svg: str) -> str:
    """The diagram's size in pixels at :data:`SCALE` (its viewBox keeps the drawing)."""

    def size(match: re.Match[str]) -> str:
        return f'{match.group(1)}="{float(match.group(2)) * SCALE:.0f}px"'

    head, _, rest = svg.partition(">")
    return re.sub(r'(width|height)="([0-9.]+)pt"', size, head) + ">" + rest


def _events_table() -> str:
    rows = "".join(
        f'<tr><td>{esc(name)}</td><td><small class="key">{esc(event)}</small></td></tr>'
        for event, name in EVENT_NAMES.items()
    )
    return (
        '<details id="events"><summary>Słownik zdarzeń</summary><table>'
        f"<tr><th>Zdarzenie</th><th>Klucz</th></tr><tr><td>klawisz 1, 2, …</td>"
        f'<td><small class="key">"1", "2", …</small></td></tr>{rows}</table></details>'
    )
