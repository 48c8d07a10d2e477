"""Logging in to the admin page, and the checks in front of every page.

- A session cookie (HttpOnly, SameSite=Strict; Secure over https, and
  always when ``admin.behind_https_proxy`` says a TLS proxy serves the page)
  names a session row in the store; an unknown or expired one sends the browser to
  the login form.
- Every request that changes something (any method but GET/HEAD) carries the
  session's CSRF token as the form field ``csrf`` or the ``X-CSRF-Token``
  header; without it the request is refused (403) before any handler runs.
  The login form gets the same protection from a cookie of its own.
- Each route names the roles that may use it; the ``{tenant}`` in a path must
  be the user's tenant (or the user sees all tenants).
- After :data:`MAX_FAILURES` wrong passwords for one user name within
  :data:`FAILURE_WINDOW` seconds, that name cannot log in (even with the right
  password) until the window has passed. Kept in the store: a restart does
  not lift a lock. Each attempt is counted in the same transaction that
  checks the lock, before its password is hashed, so attempts sent at the
  same moment cannot all be checked.
- At most :data:`LOGINS_PER_NAME` login per user name and
  :data:`LOGINS_WAITING` in all are checked at a time; more are answered 429
  at once (password hashing is slow on purpose: a queue of them would only
  grow).
- A locked name's further attempts write one audit entry per
  :data:`LOCKED_AUDIT_WINDOW` (with how many came since the last), not one each.
- Server-sent event streams ask :meth:`Gate.still_allowed` on every tick.
"""

import hmac
import logging
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from stasis_app.admin.web.accounts import Accounts, Session
from stasis_app.admin.web.html import csrf_field, error_page, esc, page
from stasis_app.safeguards.audit import AuditLog

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SESSION_KEY = web.RequestKey("session", Session)
SESSION_COOKIE = "infolinia_session"
LOGIN_COOKIE = "infolinia_login"
SAFE_METHODS = frozenset({"GET", "HEAD"})
MAX_FAILURES = 5
FAILURE_WINDOW = 900.0
HOME = {"admin": "/admin/prompts", "supervisor": "/admin/live", "auditor": "/admin/audit"}
LOGINS_PER_NAME = 1  # passwords of one name checked at a time
LOGINS_WAITING = 8  # logins checked or waiting for the hashing thread, in all
LOCKED_AUDIT_WINDOW = FAILURE_WINDOW  # one "locked" audit entry per name per window
LOCKED_NAMES_KEPT = 10_000  # names remembered for that; the oldest are forgotten beyond

LOGIN_FORM = """<form method="post" action="/admin/login">{csrf}
<p><label>Użytkownik<br><input name="user" autocomplete="username" required></label></p>
<p><label>Hasło<br><input name="password" type="password" autocomplete="current-password"
 required></label></p>
<p><button>Zaloguj</button></p></form>"""


class Gate:
    """The middleware and the login/logout handlers of the admin page."""

    def __init__(self, accounts: Accounts, behind_https_proxy: bool = False) -> None:
        self.accounts = accounts
        self.store = accounts.store
        self.behind_https_proxy = behind_https_proxy  # cookies Secure even over plain http
        self._roles: dict[web.AbstractRoute, frozenset[str]] = {}
        self._public: set[web.AbstractRoute] = set()
        self._checking: Counter[str] = Counter()  # logins in flight, by name
        self._locked_noted: dict[str, tuple[float, int]] = {}  # name -> (audited at, since)

    def _set_cookie(
        self, response: web.StreamResponse, request: web.Request, name: str, value: str, path: str
    ) -> None:
        secure = request.secure or self.behind_https_proxy
        response.set_cookie(name, value, path=path, httponly=True, samesite="Strict", secure=secure)

    async def _audit_locked(self, audit: AuditLog, name: str) -> None:
        """One entry per name per :data:`LOCKED_AUDIT_WINDOW`, saying how many
        attempts came since the last one: a script hammering a locked name
        cannot flood the trail (or the disk)."""
        now = self.accounts.clock()
        at, since = self._locked_noted.get(name, (float("-inf"), 0))
        if now - at < LOCKED_AUDIT_WINDOW:
            self._locked_noted[name] = (at, since + 1)
            return
        if len(self._locked_noted) >= LOCKED_NAMES_KEPT:
            oldest = min(self._locked_noted, key=lambda key: self._locked_noted[key][0])
            del self._locked_noted[oldest]
        self._locked_noted.pop(name, None)
        self._locked_noted[name] = (now, 0)
        await audit.record(
            tenant="*",
            action="admin_login",
            result="locked",
            detail={"user": name, "attempts_not_written": since},
        )

    async def still_allowed(self, request: web.Request) -> bool:
        """Whether the session that opened ``request`` still stands and may
        still use its route: no after a logout, an expiry, a new password,
        a removed user or a changed role."""
        opened = request.get(SESSION_KEY)
        session_id = request.cookies.get(SESSION_COOKIE, "")
        if opened is None or not session_id:
            return False
        session = await self.store.run(lambda: self.accounts.session(session_id))
        return (
            session is not None
            and session.user == opened.user
            and session.user.role in self._roles.get(request.match_info.route, frozenset())
        )

    def add(
        self, app: web.Application, method: str, path: str, handler: Handler, roles: Iterable[str]
    ) -> None:
        """A route for the users with one of ``roles``."""
        route = app.router.add_route(method, path, handler)
        self._roles[route] = frozenset(roles)

    def add_login_routes(self, app: web.Application) -> None:
        self._public.add(app.router.add_get("/login", self._login_form))
        self._public.add(app.router.add_post("/login", self._login))
        self._roles[app.router.add_post("/logout", self._logout)] = frozenset(HOME)
        self._roles[app.router.add_get("/", self._home)] = frozenset(HOME)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route
        if route in self._public or route not in self._roles:  # login, or a 404/405
            return await handler(request)
        session_id = request.cookies.get(SESSION_COOKIE, "")
        session = (
            await self.store.run(lambda: self.accounts.session(session_id)) if session_id else None
        )
        if session is None:
            if request.method in SAFE_METHODS:
                raise web.HTTPSeeOther("/admin/login")
            return error_page(403, "Sesja wygasła", "Zaloguj się ponownie.")
        if request.method not in SAFE_METHODS:
            form = await request.post()
            given = request.headers.get("X-CSRF-Token") or str(form.get("csrf", ""))
            if not hmac.compare_digest(given.encode(), session.csrf.encode()):
                log.warning("admin page: a change without its CSRF token was refused")
                return error_page(403, "Odmowa", "Brak ważnego tokenu CSRF.", session.user)
        if session.user.role not in self._roles[route]:
            return error_page(403, "Brak dostępu", "Ta strona nie jest dla Twojej roli.")
        tenant = request.match_info.get("tenant")
        if tenant is not None and not session.user.sees(tenant):
            return error_page(403, "Brak dostępu", f"Nie masz dostępu do banku {tenant}.")
        request[SESSION_KEY] = session
        return await handler(request)

    async def _home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther(HOME[request[SESSION_KEY].user.role])

    async def _login_form(self, request: web.Request, problem: str = "") -> web.Response:
        token = secrets.token_urlsafe(24)
        note = f'<p class="error">{esc(problem)}</p>' if problem else ""
        response = page("Logowanie", note + LOGIN_FORM.format(csrf=csrf_field(token)))
        self._set_cookie(response, request, LOGIN_COOKIE, token, "/admin/login")
        if problem:
            response.set_status(401)
        return response

    async def _login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(
            str(form.get("csrf", "")).encode(), expected.encode()
        ):
            return error_page(403, "Odmowa", "Brak ważnego tokenu CSRF; odśwież stronę logowania.")
        name, password = str(form.get("user", ""))[:64], str(form.get("password", ""))
        if self._checking[name] >= LOGINS_PER_NAME or self._checking.total() >= LOGINS_WAITING:
            response = error_page(
                429, "Logowanie", "Za dużo logowań naraz; spróbuj ponownie za chwilę."
            )
            response.headers["Retry-After"] = "1"
            return response
        self._checking[name] += 1
        try:
            return await self._check_login(request, name, password)
        finally:
            self._checking[name] -= 1
            if self._checking[name] <= 0:
                del self._checking[name]

    async def _check_login(
        self, request: web.Request, name: str, password: str
    ) -> web.StreamResponse:
        audit = AuditLog(self.store)
        allowed = await self.store.run(
            lambda: self.accounts.begin_login(name, FAILURE_WINDOW, MAX_FAILURES)
        )
        if not allowed:
            await self._audit_locked(audit, name)
            return await self._login_form(
                request, "Za dużo nieudanych prób dla tego użytkownika; spróbuj za kwadrans."
            )
        user = await self.accounts.verify(name, password)  # counted as failed until here
        if user is None:
            await audit.record(
                tenant="*", action="admin_login", result="refused", detail={"user": name}
            )
            return await self._login_form(request, "Zła nazwa użytkownika lub hasło.")
        await self.store.run(lambda: self.accounts.login_succeeded(name))
        session_id, _ = await self.store.run(lambda: self.accounts.open_session(user))
        await audit.record(
            tenant=user.tenant, action="admin_login", result="ok", detail={"user": name}
        )
        response = web.HTTPSeeOther(HOME[user.role])
        self._set_cookie(response, request, SESSION_COOKIE, session_id, "/admin")
        response.del_cookie(LOGIN_COOKIE, path="/admin/login")
        raise response

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        session_id = request.cookies.get(SESSION_COOKIE, "")
        await self.store.run(lambda: self.accounts.close_session(session_id))
        response = web.HTTPSeeOther("/admin/login")
        response.del_cookie(SESSION_COOKIE, path="/admin")
        raise response
