"""Logging in to the admin page under attack: wrong passwords sent at the same
moment, a flood of logins, a locked name hammered. What a bank notices: at most
five passwords of a name are ever checked before the lock, the phone line's
store work never waits behind password hashing, and the audit trail gets one
"locked" entry per window instead of one per request."""

import asyncio
import hashlib
import json
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiohttp import DummyCookieJar, web
from aiohttp.test_utils import TestClient

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.accounts import Accounts
from stasis_app.admin.web.auth import LOCKED_AUDIT_WINDOW, LOGINS_WAITING, MAX_FAILURES
from stasis_app.safeguards.audit import AuditLog
from stasis_app.telephony.live_calls import CallRegistry
from tests.support.admin_site import PASSWORD, Clock, accounts_with, admin_client, csrf_in
from tests.support.isolated_admin import isolated_prompt_admin

pytestmark = pytest.mark.unit
WRONG = "zle-haslo-xx"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def admin(tmp_path: Path) -> PromptAdmin:
    return isolated_prompt_admin(tmp_path)


@pytest.fixture
def accounts(admin: PromptAdmin, clock: Clock) -> Accounts:
    return accounts_with(admin, clock, ("anna", "admin", "cieszyn"))


@pytest.fixture
async def client(
    admin: PromptAdmin, accounts: Accounts, clock: Clock
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    # Each attempt carries its login form's token itself (a script's way):
    # a browser's jar would swap it after every answer.
    jar = DummyCookieJar()
    async with admin_client(admin, accounts, CallRegistry(clock), cookie_jar=jar) as client:
        yield client


class Hashes:
    """Counts password hashes; while ``hold`` is clear, each waits for it
    (the hashing thread is then busy, as under a flood of logins)."""

    def __init__(self) -> None:
        self.count = 0
        self.entered = threading.Event()
        self.hold = threading.Event()
        self.hold.set()
        self._real = hashlib.scrypt

    def __call__(self, password: bytes, **kwargs: Any) -> bytes:
        self.count += 1
        self.entered.set()
        self.hold.wait(30)
        return self._real(password, **kwargs)


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> Hashes:
    counted = Hashes()
    monkeypatch.setattr(hashlib, "scrypt", counted)
    return counted


async def login_csrf(client: TestClient[web.Request, web.Application]) -> str:
    return csrf_in(await (await client.get("/admin/login")).text())


async def attempt(
    client: TestClient[web.Request, web.Application], csrf: str, user: str, password: str
) -> int:
    answer = await client.post(
        "/admin/login",
        data={"user": user, "password": password, "csrf": csrf},
        headers={"Cookie": f"infolinia_login={csrf}"},
        allow_redirects=False,
    )
    await answer.read()
    return answer.status


def failures(admin: PromptAdmin, name: str) -> int:
    return int(
        admin.store.read(
            lambda db: db.execute(
                "SELECT COUNT(*) FROM web_login_failures WHERE name = ?", (name,)
            ).fetchone()[0]
        )
    )


async def test_forty_wrong_passwords_at_once_are_not_all_checked(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin, hashes: Hashes
) -> None:
    csrf = await login_csrf(client)
    statuses = await asyncio.gather(*(attempt(client, csrf, "anna", WRONG) for _ in range(40)))
    assert set(statuses) <= {401, 429}, statuses
    assert hashes.count <= MAX_FAILURES  # today: 40 passwords checked
    assert failures(admin, "anna") == hashes.count  # each check counted before it ran
    # However they are spread, the sixth attempt finds the name locked.
    while failures(admin, "anna") < MAX_FAILURES:
        assert await attempt(client, csrf, "anna", WRONG) == 401
    checked = hashes.count
    assert await attempt(client, csrf, "anna", PASSWORD) == 401  # locked, the right one too
    assert hashes.count == checked <= MAX_FAILURES


async def test_many_logins_at_once_are_answered_429_beyond_the_cap_and_the_store_never_waits(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin, hashes: Hashes
) -> None:
    csrf = await login_csrf(client)
    hashes.hold.clear()  # the hashing thread is stuck on the first password
    try:
        logins = [asyncio.ensure_future(attempt(client, csrf, f"bot{n}", WRONG)) for n in range(40)]
        await asyncio.get_running_loop().run_in_executor(None, hashes.entered.wait, 10)
        refused = []
        for _ in range(200):  # those beyond the cap are answered at once
            refused = [f for f in logins if f.done()]
            if len(refused) >= 40 - LOGINS_WAITING:
                break
            await asyncio.sleep(0.02)
        # The phone line's store work (a login check, an audit write) runs now,
        # while passwords wait for the hashing thread: before, it queued behind them.
        assert await asyncio.wait_for(admin.store.run(lambda: "served"), 10) == "served"
        assert not hashes.hold.is_set()
        assert await asyncio.wait_for(
            AuditLog(admin.store).record(tenant="cieszyn", action="identify", result="ok"), 10
        )
        assert len(refused) >= 40 - LOGINS_WAITING
        assert {f.result() for f in refused} == {429}
    finally:
        hashes.hold.set()
    statuses = await asyncio.gather(*logins)
    assert statuses.count(429) >= 40 - LOGINS_WAITING
    assert hashes.count <= LOGINS_WAITING


async def test_a_429_says_when_to_come_back(
    client: TestClient[web.Request, web.Application], hashes: Hashes
) -> None:
    csrf = await login_csrf(client)
    hashes.hold.clear()
    try:
        first = asyncio.ensure_future(attempt(client, csrf, "anna", WRONG))
        await asyncio.get_running_loop().run_in_executor(None, hashes.entered.wait, 10)
        answer = await client.post(
            "/admin/login",
            data={"user": "anna", "password": WRONG, "csrf": csrf},
            headers={"Cookie": f"infolinia_login={csrf}"},
        )
        assert answer.status == 429 and answer.headers["Retry-After"] == "1"
        assert "Za dużo logowań naraz" in await answer.text()
    finally:
        hashes.hold.set()
    assert await first == 401


async def test_a_locked_name_hammered_writes_one_audit_entry_per_window(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin, clock: Clock
) -> None:
    csrf = await login_csrf(client)
    for _ in range(MAX_FAILURES):
        assert await attempt(client, csrf, "anna", WRONG) == 401
    for _ in range(60):
        assert await attempt(client, csrf, "anna", PASSWORD) == 401
    audit = AuditLog(admin.store)

    def locked() -> list[dict[str, Any]]:
        return [
            json.loads(e.detail)
            for e in audit.entries()
            if (e.action, e.result) == ("admin_login", "locked")
        ]

    assert locked() == [{"user": "anna", "attempts_not_written": 0}]  # today: 60 entries
    # A window later (and locked again), one more entry, counting the ones not written.
    clock.now += LOCKED_AUDIT_WINDOW + 1
    for _ in range(MAX_FAILURES):
        assert await attempt(client, csrf, "anna", WRONG) == 401
    assert await attempt(client, csrf, "anna", PASSWORD) == 401
    assert locked()[-1] == {"user": "anna", "attempts_not_written": 59}
    assert len(locked()) == 2
    assert audit.verify().ok


def test_the_lock_check_counts_the_attempt_in_the_same_transaction(
    accounts: Accounts, admin: PromptAdmin
) -> None:
    with ThreadPoolExecutor(max_workers=8) as threads:
        allowed = list(
            threads.map(lambda _: accounts.begin_login("anna", 900, MAX_FAILURES), range(40))
        )
    assert allowed.count(True) == MAX_FAILURES
    assert failures(admin, "anna") == MAX_FAILURES


async def test_the_store_and_password_hashing_each_have_threads_of_their_own(
    accounts: Accounts, admin: PromptAdmin, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed_on: list[str] = []
    real = hashlib.scrypt

    def recording(password: bytes, **kwargs: Any) -> bytes:
        hashed_on.append(threading.current_thread().name)
        return real(password, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", recording)
    stored_on = await admin.store.run(lambda: threading.current_thread().name)
    assert (await accounts.verify("anna", PASSWORD)) is not None
    assert stored_on.startswith("store") and hashed_on[0].startswith("password-hash")
