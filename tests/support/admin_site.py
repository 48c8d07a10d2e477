"""The admin page on a test server, for unit tests of its web side (no Asterisk).

:func:`accounts_with` makes the page's user accounts (each with
:data:`PASSWORD`, sessions of ten minutes on a :class:`Clock` the test
moves); :func:`admin_client` serves the page on a test server and gives its
client; :func:`login` logs a user in as a browser does. The tests of the
page, of its login under attack and of its event streams differ only in
their users and the page's options.
"""

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractCookieJar
from aiohttp.test_utils import TestClient, TestServer

from stasis_app.admin.api import AdminApi
from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web import admin_pages
from stasis_app.admin.web.accounts import Accounts
from stasis_app.telephony.live_calls import CallRegistry

PASSWORD = "dobre-haslo-123"
SESSION_SECONDS = 600
Client = TestClient[web.Request, web.Application]
User = tuple[str, str, str]  # name, role, tenant ("*": every tenant)


class Clock:
    """The time the admin page sees; a test moves it with ``clock.now += s``."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def accounts_with(admin: PromptAdmin, clock: Clock, *users: User) -> Accounts:
    """The page's accounts in ``admin``'s store: ``users``, each with :data:`PASSWORD`."""
    accounts = Accounts(admin.store, session_seconds=SESSION_SECONDS, clock=clock)
    for name, role, tenant in users:
        accounts.set_user(name, role, tenant, PASSWORD)
    return accounts


@asynccontextmanager
async def admin_client(
    admin: PromptAdmin,
    accounts: Accounts,
    calls: CallRegistry,
    *,
    cookie_jar: AbstractCookieJar | None = None,
    **options: Any,
) -> AsyncIterator[Client]:
    """A client of the admin page on a test server; ``options`` go to
    :func:`~stasis_app.admin.web.admin_pages` (queues, every, ...)."""
    pages = admin_pages(admin, calls, accounts, **options)
    server = TestServer(AdminApi(admin, None, pages).app())
    async with TestClient(server, cookie_jar=cookie_jar) as client:
        yield client


def csrf_in(html: str) -> str:
    """The CSRF token of a page's form."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def login(client: Client, user: str, password: str = PASSWORD) -> str:
    """Log in like a browser; the session's CSRF token (from the first page)."""
    form = await client.get("/admin/login")
    answer = await client.post(
        "/admin/login",
        data={"user": user, "password": password, "csrf": csrf_in(await form.text())},
    )
    assert answer.status == 200, await answer.text()
    return csrf_in(await answer.text())
