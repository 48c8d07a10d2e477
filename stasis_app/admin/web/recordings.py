"""*Nagrania rozmów* (roles auditor and admin): a bank's recordings of
consultant calls (stasis_app/queue/recordings.py), newest first, each with
a player and a download link. Every access is in the audit trail, with who:
the list (``recordings_list``), a play (``recording_play``) and a download
(``recording_download``), the recording's name as the reference. A user
sees their own bank's recordings only (the gate checks the bank in the
path); a name not in the bank's list is a 404, whatever file exists."""

import asyncio
from datetime import UTC, datetime
from urllib.parse import quote

from aiohttp import web

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.html import NO_STORE, error_page, esc, page, tenant_choice
from stasis_app.queue.recordings import Recording, RecordingBook
from stasis_app.safeguards.audit import AuditLog

ROLES = ("auditor", "admin")
BASE = "/recordings"


def _when(started: float) -> str:
    return datetime.fromtimestamp(started, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _kept(days: float) -> str:
    """How long recordings are kept, in words (a test bank's fraction of a day in seconds)."""
    if days >= 1:
        return f"{days:g} dni" if days != 1 else "1 dzień"
    return f"{round(days * 86400)} s"


class RecordingPages:
    def __init__(self, prompts: PromptAdmin) -> None:
        self.prompts = prompts
        self.book = RecordingBook(prompts.store)
        self.audit = AuditLog(prompts.store)

    def routes(self, app: web.Application, gate: Gate) -> None:
        gate.add(app, "GET", BASE, self._tenants, ROLES)
        gate.add(app, "GET", BASE + "/{tenant}", self._list, ROLES)
        gate.add(app, "GET", BASE + "/{tenant}/{name}.wav", self._file, ROLES)

    async def _tenants(self, request: web.Request) -> web.StreamResponse:
        session = request[SESSION_KEY]
        tenants = [t for t in self.prompts.tenants() if session.user.sees(t)]
        return tenant_choice(
            "Nagrania rozmów", "/admin" + BASE, tenants, session.user, session.csrf
        )

    async def _list(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        served = self.prompts.deployment.tenants.get(tenant)
        if served is None:
            return error_page(404, "Nie ma takiego banku", tenant, session.user)
        found = await self.prompts.store.run(lambda: self.book.listed(tenant))
        await self.audit.record(
            tenant=tenant,
            action="recordings_list",
            result="ok",
            detail={"user": session.user.name, "shown": len(found)},
        )
        settings = served.tenant.recordings
        state = (
            f"Bank nagrywa rozmowy z konsultantami; nagrania są przechowywane "
            f"{_kept(settings.keep_days)}, potem usuwane."
            if settings.enabled
            else "Bank nie nagrywa rozmów z konsultantami."
        )
        rows = "".join(self._row(tenant, r) for r in found)
        table = (
            '<table id="recordings"><tr><th>Początek</th><th>Czas</th><th>Konsultant</th>'
            "<th>Kolejka</th><th>Odsłuchaj</th><th>Pobierz</th></tr>" + rows + "</table>"
            if found
            else '<p id="recordings">Brak nagrań.</p>'
        )
        body = (
            f"<p>{esc(state)} Każde otwarcie listy, odsłuchanie i pobranie nagrania "
            f"jest zapisywane w dzienniku zdarzeń.</p>{table}"
        )
        return page(f"Nagrania rozmów: {tenant}", body, session.user, session.csrf)

    @staticmethod
    def _row(tenant: str, recording: Recording) -> str:
        link = f"/admin{BASE}/{quote(tenant)}/{quote(recording.name)}.wav"
        return (
            f'<tr data-name="{esc(recording.name)}"><td>{esc(_when(recording.started))}</td>'
            f"<td>{recording.seconds:.0f} s</td><td>{esc(recording.agent)}</td>"
            f"<td>{esc(recording.queue)}</td>"
            f'<td><audio controls preload="none" src="{esc(link)}"></audio></td>'
            f'<td><a href="{esc(link)}?download=1">pobierz</a></td></tr>'
        )

    async def _file(self, request: web.Request) -> web.StreamResponse:
        session, tenant = request[SESSION_KEY], request.match_info["tenant"]
        name = request.match_info["name"]
        download = request.query.get("download") == "1"
        found = await self.prompts.store.run(lambda: self.book.find(tenant, name))
        try:
            data = None if found is None else await asyncio.to_thread(_read, found.path)
        except FileNotFoundError:
            data = None
        action = "recording_download" if download else "recording_play"
        await self.audit.record(
            tenant=tenant,
            action=action,
            result="ok" if data is not None else "not_found",
            reference=name,
            detail={"user": session.user.name},
        )
        if data is None:
            return error_page(404, "Nie ma takiego nagrania", name, session.user)
        disposition = "attachment" if download else "inline"
        return web.Response(
            body=data,
            content_type="audio/wav",
            headers={
                "Content-Disposition": f'{disposition}; filename="{name}.wav"',
                **NO_STORE,
            },
        )


def _read(path: str) -> bytes:
    with open(path, "rb") as source:
        return source.read()
