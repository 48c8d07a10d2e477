"""The live pages' event streams end with the session that opened them: a
stream left open on a supervisor's screen stops showing calls the moment they
log out, their session expires, their password is changed, or they are removed
(or lose the supervisor role). Before, it went on for as long as the page was open."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import cast

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.accounts import Accounts
from stasis_app.queue.manager import QueueManager
from stasis_app.queue.metrics import QueueMetrics
from stasis_app.telephony.live_calls import CallRegistry
from stasis_app.telephony.ports import QueueGateway
from tests.support.admin_site import PASSWORD, Clock, accounts_with, admin_client, login
from tests.support.isolated_admin import isolated_prompt_admin

pytestmark = pytest.mark.unit
TICK = 0.05  # how often the streams look (and re-check the session) in these tests


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def admin(tmp_path: Path) -> PromptAdmin:
    return isolated_prompt_admin(tmp_path)


@pytest.fixture
def accounts(admin: PromptAdmin, clock: Clock) -> Accounts:
    return accounts_with(admin, clock, ("jan", "supervisor", "cieszyn"), ("root", "admin", "*"))


@pytest.fixture
async def client(
    admin: PromptAdmin, accounts: Accounts, clock: Clock
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    calls = CallRegistry(clock)
    calls.started("chan-1", "cieszyn")
    queues = QueueManager(cast(QueueGateway, object()), admin.store, QueueMetrics())
    async with admin_client(admin, accounts, calls, queues=queues, every=TICK) as client:
        yield client


async def events_until_closed(answer: ClientResponse) -> list[bytes]:
    """Every line the stream sends until it closes (a guard of 10 s: an
    endless stream is the bug)."""
    lines: list[bytes] = []

    async def read() -> None:
        async for line in answer.content:
            lines.append(line)

    await asyncio.wait_for(read(), 10)
    return lines


async def first_data(answer: ClientResponse) -> bytes:
    async for line in answer.content:
        if line.startswith(b"data: "):
            return line
    raise AssertionError("the stream ended before its first event")


async def logout(
    client: TestClient[web.Request, web.Application], accounts: Accounts, clock: Clock
) -> None:
    page = await (await client.get("/admin/live")).text()
    csrf = page.split('name="csrf" value="')[1].split('"')[0]
    await client.post("/admin/logout", data={"csrf": csrf}, allow_redirects=False)


async def expire(
    client: TestClient[web.Request, web.Application], accounts: Accounts, clock: Clock
) -> None:
    clock.now += 601


async def new_password(
    client: TestClient[web.Request, web.Application], accounts: Accounts, clock: Clock
) -> None:
    accounts.set_user("jan", "supervisor", "cieszyn", PASSWORD + "-nowe")


async def removed(
    client: TestClient[web.Request, web.Application], accounts: Accounts, clock: Clock
) -> None:
    accounts.remove_user("jan")


Ending = Callable[[TestClient[web.Request, web.Application], Accounts, Clock], Awaitable[None]]


@pytest.mark.parametrize("page", ["live", "queues"])
@pytest.mark.parametrize("end", [logout, expire, new_password, removed])
async def test_a_stream_closes_when_its_session_ends(
    client: TestClient[web.Request, web.Application],
    accounts: Accounts,
    clock: Clock,
    page: str,
    end: Ending,
) -> None:
    await login(client, "jan")
    answer = await client.get(f"/admin/{page}/events")
    assert answer.status == 200 and answer.headers["Content-Type"] == "text/event-stream"
    assert await first_data(answer)
    await end(client, accounts, clock)
    rest = await events_until_closed(answer)
    assert b"event: ended\n" in rest  # the page goes to the login form
    assert rest[-2:] == [b"data: {}\n", b"\n"]  # and nothing was sent after it
    again = await client.get(f"/admin/{page}/events", allow_redirects=False)
    assert again.status == 303 and again.headers["Location"] == "/admin/login"


async def test_a_stream_of_a_user_who_loses_the_supervisor_role_closes(
    client: TestClient[web.Request, web.Application], accounts: Accounts
) -> None:
    await login(client, "jan")
    answer = await client.get("/admin/live/events")
    assert await first_data(answer)
    # Made an auditor by an admin of every bank (the users page does the same).
    accounts.store.transaction(
        lambda db: db.execute("UPDATE web_users SET role = 'auditor' WHERE name = 'jan'")
    )
    assert b"event: ended\n" in await events_until_closed(answer)


async def test_a_stream_goes_on_while_the_session_stands(
    client: TestClient[web.Request, web.Application], clock: Clock
) -> None:
    await login(client, "jan")
    answer = await client.get("/admin/live/events")
    assert b"chan-1" in await first_data(answer)
    clock.now += 1  # the call's duration ticks: a new event
    assert b"chan-1" in await asyncio.wait_for(first_data(answer), 10)
    answer.close()
