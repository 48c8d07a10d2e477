"""The queues page (role supervisor): each queue of the user's banks with
its agents, waiting callers (place, wait) and calls with agents, a button to
listen in, whisper or barge into a call (the phone of the supervisor chosen
from the bank's configured ones is rung: no phone is ever typed in), and the
open callback requests with "done". Kept current by server-sent
events. Only call ids, places and times are shown: no caller numbers, except
in a callback request (the number the caller asked to be called back on)."""

import json

from aiohttp import web

from stasis_app.admin.web.accounts import User
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.events import EventStreams
from stasis_app.admin.web.html import csrf_field, error_page, esc, page
from stasis_app.queue.manager import QueueManager
from stasis_app.queue.supervisor import UnknownSupervisor

# The queues part is replaced by each event, unless a supervisor is being
# chosen in it (a replaced <select> would lose the choice).
SCRIPT = """<script>
const queues = document.getElementById("queues");
const source = new EventSource("/admin/queues/events");
source.addEventListener("ended", () => { source.close(); location.assign("/admin/login"); });
source.onmessage = (event) => {
  if (!queues.contains(document.activeElement) || document.activeElement.tagName !== "SELECT") {
    queues.innerHTML = JSON.parse(event.data);
  }
};
</script>"""
MODES = {"listen": "Słuchaj", "whisper": "Podpowiadaj", "barge": "Włącz się"}  # buttons
MODE_NAMES = {"listen": "podsłuch", "whisper": "podpowiadanie", "barge": "włączenie się"}
SESSION_STATES = {"ringing": "dzwoni do nadzorcy", "joined": "połączony", "ended": "zakończona"}
EXITS = {
    "answered": "odebrane",
    "callback": "oddzwonienie",
    "abandoned": "rozłączone podczas oczekiwania",
    "timed_out": "przekroczony czas oczekiwania",
    "closed": "poza godzinami pracy",
    "no_agents": "brak konsultantów",
    "app_stopping": "zatrzymanie aplikacji",
    "failed": "błąd (przeprosiny)",
}
STATES = {
    "idle": "wolny",
    "ringing": "dzwoni",
    "busy": "rozmawia",
    "wrap_up": "po rozmowie",
    "logged_out": "niezalogowany",
}


class QueuePages:
    def __init__(self, queues: QueueManager, every: float = 1.0) -> None:
        self.queues = queues
        self.streams = EventStreams(every)
        self.gate: Gate | None = None

    def routes(self, app: web.Application, gate: Gate) -> None:
        self.gate = gate
        gate.add(app, "GET", "/queues", self._page, ["supervisor"])
        gate.add(app, "GET", "/queues/events", self._events, ["supervisor"])
        app.on_shutdown.append(self.streams.close)
        gate.add(app, "POST", "/queues/supervise", self._supervise, ["supervisor"])
        gate.add(app, "POST", "/queues/stop", self._stop, ["supervisor"])
        gate.add(app, "POST", "/queues/callback-done", self._callback_done, ["supervisor"])

    async def _page(self, request: web.Request, note: str = "") -> web.Response:
        session = request[SESSION_KEY]
        body = (
            note + "<p>„Słuchaj”, „Podpowiadaj” i „Włącz się” dzwonią na telefon wybranego "
            "nadzorcy banku (z konfiguracji: tenants.ID.supervisors).</p>"
            f'<div id="queues">{await self._fragment(session.user, session.csrf)}</div>' + SCRIPT
        )
        return page("Kolejki", body, session.user, session.csrf)

    async def _events(self, request: web.Request) -> web.StreamResponse:
        """The queues part of the page, again whenever it changes (waits tick
        every second): server-sent events carrying server-rendered HTML."""
        session = request[SESSION_KEY]

        async def part() -> str:
            return json.dumps(await self._fragment(session.user, session.csrf))

        assert self.gate is not None  # set with the routes
        return await self.streams.stream(request, part, self.gate.still_allowed)

    async def _fragment(self, user: User, csrf: str) -> str:
        """Queues, supervision sessions and callbacks, as HTML."""
        parts: list[str] = []
        await self.queues.refresh_presence(user.sees)
        views = self.queues.snapshot(user.sees)
        if not views:
            parts.append("<p>Żaden bank tego użytkownika nie ma kolejki do konsultantów.</p>")
        for q in views:
            names = self.queues.supervisors.names(q["tenant"])
            chooser = (
                '<select name="supervisor">'
                + "".join(f'<option value="{esc(n)}">{esc(n)}</option>' for n in names)
                + "</select> "
            )
            agents = ", ".join(
                f"{esc(a['endpoint'])}: {STATES.get(a['state'], esc(a['state']))}"
                for a in q["agents"]
            )
            waiting = "".join(
                f"<tr><td>{w['position']}</td><td>{esc(w['call'])}</td><td>{w['waited']:.0f} s</td>"
                f"<td>{'dzwoni do konsultanta' if w['ringing'] else ''}</td></tr>"
                for w in q["waiting"]
            )
            talking = "".join(
                f"<tr><td>{esc(t['call'])}</td><td>{esc(t['agent'])}</td>"
                f"<td>{t['seconds']:.0f} s</td>"
                f'<td><form class="inline" method="post" action="/admin/queues/supervise">'
                f'{csrf_field(csrf)}<input type="hidden" name="call" value="{esc(t["call"])}">'
                + (
                    chooser
                    + "".join(
                        f'<button name="mode" value="{mode}">{label}</button> '
                        for mode, label in MODES.items()
                    )
                    if names
                    else "brak nadzorców w konfiguracji banku"
                )
                + "</form></td></tr>"
                for t in q["talking"]
            )
            exits = (
                ", ".join(f"{EXITS.get(k, esc(k))}: {v}" for k, v in sorted(q["exits"].items()))
                or "—"
            )
            parts.append(
                f"<h2>{esc(q['tenant'])} / {esc(q['queue'])} "
                f"({'otwarta' if q['open'] else 'zamknięta'})</h2>"
                f"<p>Konsultanci: {agents}</p>"
                f"<h3>Czekają: {len(q['waiting'])}</h3>"
                "<table><tr><th>Miejsce</th><th>Rozmowa</th><th>Czeka</th><th></th></tr>"
                f"{waiting}</table>"
                f"<h3>Rozmawiają: {len(q['talking'])}</h3>"
                "<table><tr><th>Rozmowa</th><th>Konsultant</th><th>Czas</th><th></th></tr>"
                f"{talking}</table><p>Opuszczenia kolejki: {exits}</p>"
            )
        sessions = [
            s for s in self.queues.supervisors.sessions.values() if user.sees(s.conversation.tenant)
        ]
        if sessions:
            rows = "".join(
                f"<tr><td>{esc(s.id)}</td><td>{MODE_NAMES[s.mode]}</td>"
                f"<td>{esc(s.supervisor)} ({esc(s.endpoint)})</td><td>{esc(s.who)}</td>"
                f"<td>{esc(s.conversation.caller_channel)}</td>"
                f"<td>{SESSION_STATES.get(s.state, esc(s.state))}</td><td>"
                f'<form class="inline" method="post" action="/admin/queues/stop">'
                f'{csrf_field(csrf)}<input type="hidden" name="session" value="{esc(s.id)}">'
                "<button>Zakończ</button></form></td></tr>"
                for s in sessions
            )
            parts.append(
                "<h2>Nadzór</h2><table><tr><th>Sesja</th><th>Tryb</th><th>Nadzorca</th>"
                "<th>Włączył</th>"
                f"<th>Rozmowa</th><th>Stan</th><th></th></tr>{rows}</table>"
            )
        book = self.queues.callbacks
        mine = None if user.tenant == "*" else user.tenant
        callbacks = await book.store.run(lambda: book.list(mine))
        rows = "".join(
            f"<tr><td>{c.id}</td><td>{esc(c.tenant)} / {esc(c.queue)}</td><td>{esc(c.number)}</td>"
            f"<td>{esc(c.customer) or '—'}</td><td>{esc(c.waiting_since)}</td><td>"
            f'<form class="inline" method="post" action="/admin/queues/callback-done">'
            f'{csrf_field(csrf)}<input type="hidden" name="id" value="{c.id}">'
            "<button>Oznacz jako załatwione</button></form></td></tr>"
            for c in callbacks
        )
        parts.append(
            f"<h2>Prośby o oddzwonienie: {len(callbacks)}</h2>"
            "<table><tr><th>Nr</th><th>Kolejka</th><th>Oddzwonić na</th><th>Klient</th>"
            f"<th>Czeka od (UTC)</th><th></th></tr>{rows}</table>"
        )
        return "".join(parts)

    async def _supervise(self, request: web.Request) -> web.StreamResponse:
        session, form = request[SESSION_KEY], await request.post()
        call, mode = str(form.get("call", "")), str(form.get("mode", ""))
        supervisor = str(form.get("supervisor", ""))
        talk = self.queues.conversation(call)
        if talk is None or not session.user.sees(talk.tenant):
            return error_page(404, "Kolejki", "Ta rozmowa już się skończyła.", session.user)
        names = self.queues.supervisors.names(talk.tenant)
        known = ", ".join(names) or "brak (tenants.ID.supervisors)"
        problem = (
            f"Wybierz tryb i nadzorcę banku spośród skonfigurowanych: {known}. "
            "Telefonu nie można podać w formularzu."
        )
        if mode not in MODES:
            return error_page(400, "Kolejki", problem, session.user)
        who = f"web:{session.user.name}"
        try:
            if "phone" in form:
                asked = str(form.get("phone", ""))
                raise await self.queues.supervisors.refuse(
                    talk, mode, asked, who, "a phone in the request"
                )
            started = await self.queues.supervise(call, mode, supervisor, who)
        except UnknownSupervisor:
            return error_page(400, "Kolejki", problem, session.user)
        note = (
            f'<p class="note">Dzwonimy do {esc(supervisor)} na {esc(started.endpoint)} '
            f"(sesja {esc(started.id)}).</p>"
        )
        return await self._page(request, note)

    async def _stop(self, request: web.Request) -> web.StreamResponse:
        session, form = request[SESSION_KEY], await request.post()
        found = self.queues.supervisors.sessions.get(str(form.get("session", "")))
        if found is not None and session.user.sees(found.conversation.tenant):
            await self.queues.supervisors.stop(found.id, f"web:{session.user.name}")
        raise web.HTTPSeeOther("/admin/queues")

    async def _callback_done(self, request: web.Request) -> web.StreamResponse:
        session, form = request[SESSION_KEY], await request.post()
        raw = str(form.get("id", ""))
        book = self.queues.callbacks
        mine = None if session.user.tenant == "*" else session.user.tenant
        if raw.isdigit():
            await book.store.run(lambda: book.mark_done(int(raw), session.user.name, mine))
        raise web.HTTPSeeOther("/admin/queues")
