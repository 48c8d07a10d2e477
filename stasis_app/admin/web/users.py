"""The users page (role admin): the staff of the admin's bank, a new user or
a new password (generated here and shown once: nobody chooses a weak one),
removing a user. An admin of one bank manages only that bank's users and
cannot make a user of every bank; only an admin of every bank can."""

import secrets
from collections.abc import Callable

from aiohttp import web

from stasis_app.admin.web.accounts import ROLES, AccountError, Accounts, hash_password
from stasis_app.admin.web.auth import SESSION_KEY, Gate
from stasis_app.admin.web.html import csrf_field, error_page, esc, page
from stasis_app.safeguards.audit import AuditLog

ROLE_NAMES = {"admin": "administrator", "supervisor": "nadzorca", "auditor": "audytor"}


class UserPages:
    def __init__(self, accounts: Accounts, tenants: Callable[[], list[str]]) -> None:
        self.accounts = accounts
        self.store = accounts.store
        self.tenants = tenants

    def routes(self, app: web.Application, gate: Gate) -> None:
        gate.add(app, "GET", "/users", self._page, ["admin"])
        gate.add(app, "POST", "/users", self._set, ["admin"])
        gate.add(app, "POST", "/users/remove", self._remove, ["admin"])

    async def _page(self, request: web.Request, note: str = "") -> web.Response:
        session = request[SESSION_KEY]
        mine = None if session.user.tenant == "*" else session.user.tenant
        users = await self.store.run(lambda: self.accounts.users(mine))
        rows = "".join(
            f"<tr><td>{esc(u.name)}</td><td>{ROLE_NAMES[u.role]}</td><td>{esc(u.tenant)}</td><td>"
            f'<form class="inline" method="post" action="/admin/users/remove">'
            f'{csrf_field(session.csrf)}<input type="hidden" name="name" value="{esc(u.name)}">'
            "<button>Usuń</button></form></td></tr>"
            for u in users
            if u.name != session.user.name
        )
        roles = "".join(f'<option value="{r}">{ROLE_NAMES[r]}</option>' for r in ROLES)
        tenants = [*self.tenants(), "*"] if mine is None else [mine]
        options = "".join(f'<option value="{esc(t)}">{esc(t)}</option>' for t in tenants)
        body = (
            note + "<table><tr><th>Użytkownik</th><th>Rola</th><th>Bank</th><th></th></tr>"
            f"{rows}</table><h2>Nowy użytkownik lub nowe hasło</h2>"
            f'<form method="post" action="/admin/users">{csrf_field(session.csrf)}'
            '<label>Użytkownik <input name="name" required></label> '
            f'<label>Rola <select name="role">{roles}</select></label> '
            f'<label>Bank <select name="tenant">{options}</select></label> '
            "<button>Zapisz i pokaż hasło</button></form>"
        )
        return page("Użytkownicy", body, session.user, session.csrf)

    async def _set(self, request: web.Request) -> web.StreamResponse:
        session, form = request[SESSION_KEY], await request.post()
        name, role = str(form.get("name", "")).strip(), str(form.get("role", ""))
        tenant = str(form.get("tenant", ""))
        if tenant not in [*self.tenants(), "*"] or not session.user.sees(tenant):
            return error_page(403, "Brak dostępu", f"Nie możesz dodać użytkownika banku {tenant}.")
        existing = await self.store.run(lambda: self.accounts.user(name))
        if existing is not None and not session.user.sees(existing.tenant):
            return error_page(403, "Brak dostępu", "To użytkownik innego banku.")
        password, salt = secrets.token_urlsafe(12), secrets.token_hex(16)
        hashed = (salt, await hash_password(password, salt))  # off the store's threads
        try:
            await self.store.run(
                lambda: self.accounts.set_user(name, role, tenant, password, hashed)
            )
        except AccountError as exc:
            return error_page(400, "Nie zapisano", str(exc), session.user)
        await AuditLog(self.store).record(
            tenant=tenant,
            action="admin_user",
            result="created",
            detail={"name": name, "role": role, "by": session.user.name},
        )
        note = (
            f'<p class="note" id="new-password">Hasło dla {esc(name)} (pokazane tylko raz): '
            f"<code>{esc(password)}</code></p>"
        )
        return await self._page(request, note)

    async def _remove(self, request: web.Request) -> web.StreamResponse:
        session, form = request[SESSION_KEY], await request.post()
        name = str(form.get("name", ""))
        existing = await self.store.run(lambda: self.accounts.user(name))
        if existing is None or not session.user.sees(existing.tenant):
            return error_page(404, "Nie ma takiego użytkownika", name, session.user)
        await self.store.run(lambda: self.accounts.remove_user(name))
        await AuditLog(self.store).record(
            tenant=existing.tenant,
            action="admin_user",
            result="removed",
            detail={"name": name, "by": session.user.name},
        )
        raise web.HTTPSeeOther("/admin/users")
