"""The admin page without Asterisk: login, sessions, CSRF, roles, tenants,
publishing and reverting a prompt, the audit trail, the live view."""

import hashlib
import io
import json
import re
import sqlite3
import subprocess
import sys
import threading
import wave
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.accounts import Accounts
from stasis_app.safeguards.audit import AuditLog
from stasis_app.store import Store
from stasis_app.telephony.live_calls import CallRegistry
from tests.conftest import TEST_CONFIG
from tests.support.admin_site import PASSWORD, Clock, accounts_with, admin_client, csrf_in, login
from tests.support.isolated_admin import isolated_prompt_admin

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def admin(tmp_path: Path) -> PromptAdmin:
    return isolated_prompt_admin(tmp_path)


@pytest.fixture
def accounts(admin: PromptAdmin, clock: Clock) -> Accounts:
    return accounts_with(
        admin,
        clock,
        ("anna", "admin", "cieszyn"),
        ("root", "admin", "*"),
        ("ewa", "auditor", "cieszyn"),
        ("jan", "supervisor", "cieszyn"),
    )


@pytest.fixture
def calls(clock: Clock) -> CallRegistry:
    return CallRegistry(clock)


@pytest.fixture
async def client(
    admin: PromptAdmin, accounts: Accounts, calls: CallRegistry
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with admin_client(admin, accounts, calls) as client:
        yield client


def url(key: str = "greeting", tenant: str = "cieszyn") -> str:
    return f"/admin/prompts/{tenant}/{key}"


async def test_login_gives_a_hardened_session_cookie_and_a_wrong_password_nothing(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin
) -> None:
    assert (await client.get("/admin", allow_redirects=False)).headers["Location"] == "/admin/"
    assert (await client.get("/admin/prompts", allow_redirects=False)).status == 303
    form = await client.get("/admin/login")
    bad = await client.post(
        "/admin/login",
        data={"user": "anna", "password": "zle-haslo-xx", "csrf": csrf_in(await form.text())},
    )
    assert bad.status == 401 and "Zła nazwa użytkownika lub hasło" in await bad.text()
    form = await client.get("/admin/login")
    good = await client.post(
        "/admin/login",
        data={"user": "anna", "password": PASSWORD, "csrf": csrf_in(await form.text())},
        allow_redirects=False,
    )
    assert good.status == 303 and good.headers["Location"] == "/admin/prompts"
    cookie = good.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
    session_id = good.cookies["infolinia_session"].value
    with sqlite3.connect(admin.store.path) as db:
        dump = str(db.execute("SELECT * FROM web_users").fetchall())
        dump += str(db.execute("SELECT * FROM web_sessions").fetchall())
    assert PASSWORD not in dump and session_id not in dump
    results = [(e.action, e.result) for e in AuditLog(admin.store).entries()]
    assert results == [("admin_login", "refused"), ("admin_login", "ok")]
    # The bearer-token API is not opened by a page session.
    assert (await client.get("/api/tenants")).status == 401


async def login_page_after(
    client: TestClient[web.Request, web.Application], user: str, password: str
) -> str:
    """The page a login attempt ends on."""
    form = await client.get("/admin/login")
    answer = await client.post(
        "/admin/login",
        data={"user": user, "password": password, "csrf": csrf_in(await form.text())},
    )
    return await answer.text()


async def test_many_wrong_passwords_lock_the_user_name_for_a_while(
    client: TestClient[web.Request, web.Application], clock: Clock, admin: PromptAdmin
) -> None:
    for _ in range(5):
        assert "Zła nazwa" in await login_page_after(client, "anna", "zle-haslo-xx")
    locked = await login_page_after(client, "anna", PASSWORD)  # even the right password
    assert "Za dużo nieudanych prób" in locked
    assert "Wyloguj" in await login_page_after(client, "ewa", PASSWORD)  # others are not locked
    assert ("admin_login", "locked") in [
        (e.action, e.result) for e in AuditLog(admin.store).entries()
    ]
    clock.now += 901
    assert "Wyloguj" in await login_page_after(client, "anna", PASSWORD)


async def test_login_without_the_login_forms_token_is_refused(
    client: TestClient[web.Request, web.Application],
) -> None:
    answer = await client.post("/admin/login", data={"user": "anna", "password": PASSWORD})
    assert answer.status == 403


async def test_each_role_reaches_only_its_pages(
    client: TestClient[web.Request, web.Application],
) -> None:
    await login(client, "ewa")  # auditor
    assert (await client.get(url())).status == 403
    assert (await client.get("/admin/flow/cieszyn")).status == 403
    assert (await client.get("/admin/live")).status == 403
    assert (await client.get("/admin/audit")).status == 200
    await login(client, "jan")  # supervisor
    assert (await client.get("/admin/audit")).status == 403
    assert (await client.get(url())).status == 403
    assert (await client.get("/admin/live")).status == 200
    await login(client, "anna")  # admin
    assert (await client.get("/admin/live")).status == 403
    assert (await client.get(url())).status == 200


async def test_staff_of_one_bank_see_only_that_bank(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin
) -> None:
    AuditLog(admin.store).append(tenant="izbica", action="prompt_edit", result="ok")
    await login(client, "anna")
    assert (await client.get(url(tenant="izbica"))).status == 403
    assert (await client.get("/admin/prompts/izbica")).status == 403
    assert (await client.get("/admin/flow/izbica")).status == 403
    listed = await client.get("/admin/prompts")  # one bank: straight to its list
    assert listed.url.path == "/admin/prompts/cieszyn"
    audit = await (await client.get("/admin/audit.csv")).text()
    assert "izbica" not in audit
    await login(client, "root")  # every bank
    assert (await client.get(url(tenant="izbica"))).status == 200
    assert "izbica" in await (await client.get("/admin/audit.csv")).text()


async def test_a_change_without_the_csrf_token_is_refused(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin
) -> None:
    csrf = await login(client, "anna")
    data = {"text": "Ukradzione powitanie.", "expected": "Cieszyn."}
    assert (await client.post(url() + "/publish", data=data)).status == 403
    wrong = await client.post(url() + "/publish", data={**data, "csrf": csrf + "x"})
    assert wrong.status == 403
    assert admin.show("cieszyn", "greeting").text == "Cieszyn."
    assert admin.store.prompt_history("cieszyn") == []


async def test_a_session_expires(
    client: TestClient[web.Request, web.Application], clock: Clock
) -> None:
    await login(client, "anna")
    assert (await client.get(url())).status == 200
    clock.now += 601
    answer = await client.get(url(), allow_redirects=False)
    assert answer.status == 303 and answer.headers["Location"] == "/admin/login"


async def test_logout_ends_the_session(client: TestClient[web.Request, web.Application]) -> None:
    csrf = await login(client, "anna")
    assert (await client.post("/admin/logout", data={"csrf": csrf})).url.path == "/admin/login"
    assert (await client.get(url(), allow_redirects=False)).status == 303


def wav_info(body: bytes) -> tuple[int, int, int]:
    with wave.open(io.BytesIO(body)) as w:
        return w.getframerate(), w.getnchannels(), w.getnframes()


async def test_preview_diff_publish_and_revert_a_greeting(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin
) -> None:
    csrf = await login(client, "anna")
    new = "Witamy w Cieszynie."
    page = await (await client.get(url(), params={"text": new})).text()
    assert "<del>Cieszyn.</del>" in page and "<ins>Witamy w Cieszynie.</ins>" in page
    audio = re.search(r'id="preview" controls src="([^"]+)"', page)
    assert audio is not None
    wav = await client.get(audio.group(1).replace("&amp;", "&"))
    rate, channels, frames = wav_info(await wav.read())
    assert (rate, channels) == (8000, 1) and frames > 4000
    expected = (await admin.preview("cieszyn", "greeting", new)).read_bytes()
    assert await wav.read() == expected  # exactly what callers will hear
    published = await client.post(
        url() + "/publish", data={"text": new, "expected": "Cieszyn.", "csrf": csrf}
    )
    assert published.status == 200 and "Opublikowano" in await published.text()
    assert admin.show("cieszyn", "greeting").text == new
    [edit] = admin.store.prompt_history("cieszyn", "greeting")
    assert (edit.who, edit.old_text) == ("web:anna", "Cieszyn.")
    # A second editor who still saw "Cieszyn." is refused, not overwriting.
    stale = await client.post(
        url() + "/publish", data={"text": "Inne.", "expected": "Cieszyn.", "csrf": csrf}
    )
    assert stale.status == 409 and new in await stale.text()
    assert admin.show("cieszyn", "greeting").text == new
    reverted = await client.post(
        url() + "/revert", data={"revision": str(edit.revision), "expected": new, "csrf": csrf}
    )
    assert reverted.status == 200
    assert admin.show("cieszyn", "greeting").text == "Cieszyn."
    actions = [(e.action, e.result) for e in AuditLog(admin.store).entries()]
    assert actions.count(("prompt_edit", "ok")) == 2


async def test_the_prompt_list_searches_keys_and_texts(
    client: TestClient[web.Request, web.Application],
) -> None:
    await login(client, "anna")
    page = await (await client.get("/admin/prompts/cieszyn", params={"q": "cieszyn"})).text()
    assert 'href="/admin/prompts/cieszyn/greeting"' in page
    assert re.search(r"<p>1 z \d+ komunikatów</p>", page), page


async def test_the_flow_page_draws_the_flow_and_links_its_prompts(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin
) -> None:
    await login(client, "anna")
    page = await (await client.get("/admin/flow/cieszyn")).text()
    assert "<svg" in page
    flow = admin.deployment.tenants["cieszyn"].flow
    assert f'id="state-{flow.initial}"' in page
    assert 'href="/admin/prompts/cieszyn/greeting"' in page


async def test_the_audit_page_filters_exports_and_verifies(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin
) -> None:
    log = AuditLog(admin.store)
    log.append(tenant="cieszyn", action="block_card", result="confirmed", reference="BS-1")
    log.append(tenant="cieszyn", action="block_card", result="journaled", reference="BS-2")
    await login(client, "ewa")
    page = await (await client.get("/admin/audit", params={"reference": "BS-2"})).text()
    assert "BS-2" in page and "BS-1" not in page
    assert "Łańcuch spójny" in page
    csv_text = await (await client.get("/admin/audit.csv", params={"result": "confirmed"})).text()
    assert "BS-1" in csv_text and "BS-2" not in csv_text
    assert csv_text.splitlines()[0].startswith("seq,at,tenant")
    with sqlite3.connect(admin.store.path) as db:
        db.execute("UPDATE audit SET result = 'ok' WHERE reference = 'BS-1'")
    page = await (await client.get("/admin/audit")).text()
    assert "Łańcuch przerwany" in page


async def test_an_admin_manages_only_the_users_of_their_bank(
    client: TestClient[web.Request, web.Application], accounts: Accounts
) -> None:
    csrf = await login(client, "anna")
    listed = await (await client.get("/admin/users")).text()
    assert "ewa" in listed and "root" not in listed  # root sees every bank: not anna's
    made = await client.post(
        "/admin/users", data={"name": "ola", "role": "auditor", "tenant": "cieszyn", "csrf": csrf}
    )
    shown = re.search(r"<code>([^<]+)</code>", await made.text())
    assert shown is not None
    user = accounts.check_password("ola", shown.group(1))
    assert user is not None and (user.role, user.tenant) == ("auditor", "cieszyn")
    for tenant in ("izbica", "*"):
        refused = await client.post(
            "/admin/users", data={"name": "x", "role": "admin", "tenant": tenant, "csrf": csrf}
        )
        assert refused.status == 403
    takeover = await client.post(
        "/admin/users", data={"name": "root", "role": "admin", "tenant": "cieszyn", "csrf": csrf}
    )
    assert takeover.status == 403
    assert accounts.check_password("root", PASSWORD) is not None
    gone = await client.post("/admin/users/remove", data={"name": "root", "csrf": csrf})
    assert gone.status == 404 and accounts.user("root") is not None
    await client.post("/admin/users/remove", data={"name": "ola", "csrf": csrf})
    assert accounts.user("ola") is None


async def first_event(answer: ClientResponse) -> list[dict[str, object]]:
    async for line in answer.content:
        if line.startswith(b"data: "):
            data: list[dict[str, object]] = json.loads(line[6:])
            return data
    raise AssertionError("no event")


async def test_the_live_view_shows_calls_of_the_own_bank_without_customer_data(
    client: TestClient[web.Request, web.Application], calls: CallRegistry, clock: Clock
) -> None:
    calls.started("chan-1", "cieszyn").state = lambda: "main_menu"
    calls.started("chan-2", "izbica")
    clock.now += 7
    await login(client, "jan")
    answer = await client.get("/admin/live/events")
    assert answer.headers["Content-Type"] == "text/event-stream"
    assert await first_event(answer) == [
        {
            "channel_id": "chan-1",
            "tenant": "cieszyn",
            "state": "main_menu",
            "seconds": 7,
            "node": "",
        }
    ]
    answer.close()
    calls.ended("chan-1")
    page = await (await client.get("/admin/live")).text()
    assert '<strong id="count">0</strong>' in page


def test_a_user_is_made_from_the_command_line_with_the_password_on_stdin(
    tmp_path: Path,
) -> None:
    env = {"INFOLINIA_STATE": str(tmp_path / "state.sqlite"), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "stasis_app", "--config", str(TEST_CONFIG), "admin"]
    made = subprocess.run(
        [*command, "user", "anna", "--role", "admin", "--tenant", "cieszyn"],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    accounts = Accounts(Store(tmp_path / "state.sqlite"))
    user = accounts.check_password("anna", PASSWORD)
    assert user is not None and (user.role, user.tenant) == ("admin", "cieszyn")
    assert accounts.check_password("anna", PASSWORD + "x") is None
    short = subprocess.run(
        [*command, "user", "ola", "--role", "admin", "--tenant", "cieszyn"],
        input="krotkie\n",
        env=env,
        capture_output=True,
        text=True,
    )
    assert short.returncode == 2 and "at least" in short.stderr
    unknown = subprocess.run(
        [*command, "user", "ola", "--role", "admin", "--tenant", "nowhere"],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
    )
    assert unknown.returncode == 2


async def test_a_login_lock_outlives_a_restart_of_the_app(
    admin: PromptAdmin, accounts: Accounts, calls: CallRegistry
) -> None:
    async with admin_client(admin, accounts, calls) as client:
        for _ in range(5):
            assert "Zła nazwa" in await login_page_after(client, "anna", "zle-haslo-xx")
    # A new app on the same store (a restart): the name is still locked.
    restarted = Accounts(admin.store, clock=accounts.clock)
    async with admin_client(admin, restarted, calls) as client:
        assert "Za dużo nieudanych prób" in await login_page_after(client, "anna", PASSWORD)


async def test_behind_a_tls_proxy_the_cookies_are_secure(
    admin: PromptAdmin, accounts: Accounts, calls: CallRegistry
) -> None:
    for proxy, secure in ((False, False), (True, True)):
        async with admin_client(admin, accounts, calls, behind_https_proxy=proxy) as client:
            form = await client.get("/admin/login")
            assert ("Secure" in form.headers["Set-Cookie"]) is secure
            # A browser sends a Secure cookie only over https (to the proxy, which
            # passes it on); the test client, on http, is given it by hand.
            login_cookie = form.cookies["infolinia_login"].value
            answer = await client.post(
                "/admin/login",
                data={"user": "anna", "password": PASSWORD, "csrf": csrf_in(await form.text())},
                headers={"Cookie": f"infolinia_login={login_cookie}"},
                allow_redirects=False,
            )
            assert answer.status == 303
            assert ("Secure" in answer.headers["Set-Cookie"]) is secure


def test_passwords_are_hashed_on_one_thread_whichever_thread_asks(
    accounts: Accounts, monkeypatch: pytest.MonkeyPatch
) -> None:
    # glibc keeps scrypt's 16 MiB in the arena of every thread that ran it.
    hashed_on: set[str] = set()
    real_scrypt = hashlib.scrypt

    def recording_scrypt(password: bytes, **kwargs: Any) -> bytes:
        hashed_on.add(threading.current_thread().name)
        return real_scrypt(password, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", recording_scrypt)
    with ThreadPoolExecutor(max_workers=4) as askers:
        users = list(askers.map(lambda _: accounts.check_password("anna", PASSWORD), range(8)))
    assert [u.name if u else None for u in users] == ["anna"] * 8
    assert len(hashed_on) == 1 and next(iter(hashed_on)).startswith("password-hash")
