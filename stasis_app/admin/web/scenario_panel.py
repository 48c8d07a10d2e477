"""The *Scenariusz* page's HTML (stasis_app/admin/web/scenario.py serves
it): the status line, the side panel of a state (its prompts, transitions,
typical edits and the form of its verb), the versions, the page's style and
its few lines of script (the test call's hook ``highlight``)."""

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from stasis_app.admin.web.html import csrf_field, esc
from stasis_app.admin.web.scenario_diagram import StateMarks
from stasis_app.admin.web.scenario_forms import fields, polish, render
from stasis_app.flow.editing import KEY, FlowDocument
from stasis_app.flow.names import EVENT_NAMES, VERB_NAMES, event_name, prompt_name
from stasis_app.flow.versions import DRAFT, PUBLISHED, RETIRED, FlowVersion, Problem
from stasis_app.verbs.registry import VerbRegistry

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


def status(
    tenant: str,
    shown: FlowVersion | None,
    working: FlowVersion | None,
    problem: Problem | None,
    query: Mapping[str, str],
    csrf: str,
    admin: bool,
) -> str:
    """The line above the drawing: messages, the version shown, its error, publish."""
    parts = ['<div id="status">']
    for name, cls in (("msg", "ok"), ("error", "error")):
        if query.get(name):
            parts.append(f'<p class="{cls}" id="{name}">{esc(query[name])}</p>')
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


def panel(
    tenant: str,
    doc: FlowDocument,
    found: dict[str, StateMarks],
    name: str,
    problem: Problem | None,
    shown: FlowVersion | None,
    editable: bool,
    csrf: str,
    verbs: VerbRegistry,
    texts: Mapping[str, str],
    queues: Sequence[str] = (),
) -> str:
    """The side panel of state ``name``: its prompts, transitions, typical edits, form."""
    spec = doc.state(name)
    verb_name = str(spec.get("verb", ""))
    verb = verbs.get(verb_name)
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
        out.append(f'<p class="state-error">Ślepy zaułek: nic się nie dzieje po: {esc(lost)}.</p>')
    off = "" if editable else " disabled"
    form = fields(verb.Params) if verb is not None else []
    # What the caller hears, where the call goes next, the typical edits:
    out.append(_prompts(tenant, form, params, editable, csrf, name, texts))
    out.append(_transitions(doc, found, name, on, event_problem, editable, hidden, action, queues))
    if editable:
        out.append(_typical(tenant, verb_name, on, hidden, action, params))
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
    tenant: str, form: list[Any], params: Mapping[str, Any], editable: bool,
    csrf: str, state: str, texts: Mapping[str, str],
) -> str:  # fmt: skip
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
                + (
                    f'<audio id="{esc(audio)}" controls preload="none" src="{esc(url)}"></audio>'
                    if editable  # the preview is the prompts pages', for admins
                    else ""
                )
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
    doc: FlowDocument,
    found: dict[str, StateMarks],
    name: str,
    on: dict[str, str],
    event_problem: tuple[str, str] | None,
    editable: bool,
    hidden: str,
    action: str,
    queues: Sequence[str],
) -> str:
    """The state's transitions as a list: each event's next state, chosen from
    the states or a consultant (the bank's queues) or the bank's webservice."""
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
        options += f'<option value="{CONSULTANT}">połączenie z konsultantem</option>'
        options += "".join(
            f'<option value="{CONSULTANT}:{esc(q)}">konsultant, kolejka {esc(q)}</option>'
            for q in queues
        )
        if any(spec.get("verb") == "webhook" for spec in doc.states.values()):
            options += f'<option value="{WEBHOOK}">nowy stan: serwis banku (webhook)</option>'
        key = remove = ""
        if KEY.match(event):
            key = (
                f'<input class="key-input" name="k.{esc(event)}" value="{esc(event)}" '
                f'size="1" maxlength="1" aria-label="klawisz zamiast {esc(event)}"{off}> → '
            )
            remove = f' <label><input type="checkbox" name="x.{esc(event)}"{off}> usuń</label>'
        error = (
            f'<span class="field-error" id="error-on-{esc(event)}">{esc(event_problem[1])}</span>'
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
    tenant: str, verb: str, on: dict[str, str], hidden: str, action: str,
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


def versions(
    tenant: str, history: list[FlowVersion], working: FlowVersion | None, csrf: str,
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


SCALE = 1.0  # Graphviz's points as CSS pixels (3/4 of its size): 11 px names


def scaled(svg: str) -> str:
    """The diagram's size in pixels at :data:`SCALE` (its viewBox keeps the drawing)."""

    def size(match: re.Match[str]) -> str:
        return f'{match.group(1)}="{float(match.group(2)) * SCALE:.0f}px"'

    head, _, rest = svg.partition(">")
    return re.sub(r'(width|height)="([0-9.]+)pt"', size, head) + ">" + rest


def events_table() -> str:
    rows = "".join(
        f'<tr><td>{esc(name)}</td><td><small class="key">{esc(event)}</small></td></tr>'
        for event, name in EVENT_NAMES.items()
    )
    return (
        '<details id="events"><summary>Słownik zdarzeń</summary><table>'
        f"<tr><th>Zdarzenie</th><th>Klucz</th></tr><tr><td>klawisz 1, 2, …</td>"
        f'<td><small class="key">"1", "2", …</small></td></tr>{rows}</table></details>'
    )
