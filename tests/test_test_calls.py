"""The admin page's test call without Asterisk (stasis_app/flow/test_calls.py,
stasis_app/admin/web/test_call.py): a token dials once and only within its
minute; the transcript never shows customer data; only the bank's admins get
a token, for the version they chose (a broken draft is refused), and every
token is audited; the page serves the softphone library it vendors."""

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.accounts import Accounts
from stasis_app.admin.web.test_call import SIPJS_VERSION, STATIC, websocket_url
from stasis_app.flow.test_calls import HIDDEN, MAX_AT_ONCE, TOKEN_SECONDS, TestCalls
from stasis_app.flow.versions import FlowVersions
from stasis_app.safeguards.audit import AuditLog
from stasis_app.telephony.live_calls import CallRegistry
from tests.conftest import TEST_CONFIG
from tests.support.admin_site import Clock, accounts_with, admin_client, login
from tests.support.isolated_admin import isolated_prompt_admin

pytestmark = pytest.mark.unit

Client = TestClient[web.Request, web.Application]
ECHO = (TEST_CONFIG.parent / "flows" / "echo.yaml").read_text()
DRAFT = ECHO.replace("prompt: [you_entered,", "prompt: [invalid_choice,")
BROKEN = ECHO.replace("on: {done: goodbye}", "on: {done: nowhere}")


class Book:
    def __init__(self) -> None:
        self.texts = {"greeting": "Dzień dobry.", "you_entered": "Wpisano"}


class Ticking:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_dials_once_and_only_within_its_minute() -> None:
    clock = Ticking()
    calls = TestCalls(clock)
    flow = object()
    extension, call = calls.issue("echo", 3, "abc", "anna", flow)  # type: ignore[arg-type]
    assert extension.startswith("test") and len(extension) == 4 + 32
    assert calls.take("test" + "0" * 32) is None  # a guess
    assert calls.take(extension) is call
    assert calls.take(extension) is None  # used
    late, _ = calls.issue("echo", 3, "abc", "anna", flow)  # type: ignore[arg-type]
    clock.now += TOKEN_SECONDS + 1
    assert calls.take(late) is None
    assert calls.take("101") is None  # a bank's number is no test call


def test_a_bank_has_at_most_two_test_calls_at_once() -> None:
    calls = TestCalls(Ticking())
    flow = object()
    dialled = [calls.issue("echo", 1, "abc", "anna", flow) for _ in range(MAX_AT_ONCE + 1)]  # type: ignore[arg-type]
    other, _ = calls.issue("izbica", 1, "abc", "ola", flow)  # type: ignore[arg-type]
    for extension, _ in dialled[:MAX_AT_ONCE]:
        taken = calls.take(extension)
        assert taken is not None
        taken.answered(lambda: "greeting")
    assert MAX_AT_ONCE == 2 and calls.in_call("echo") == 2
    assert calls.take(dialled[-1][0]) is None  # a third one of the same bank
    assert calls.take(other) is not None  # another bank's is its own
    dialled[0][1].ended(0.0)
    again, _ = calls.issue("echo", 1, "abc", "anna", flow)  # type: ignore[arg-type]
    assert calls.take(again) is not None  # one ended: room again


def test_the_transcript_shows_prompts_by_state_and_hides_customer_data() -> None:
    calls = TestCalls(Ticking())
    _, call = calls.issue("echo", 1, "abc", "anna", object())  # type: ignore[arg-type]
    state = "greeting"
    call.answered(lambda: state)
    call.played(["greeting"], Book())
    state = "read_back"
    call.played(["you_entered", "frag:jeden", "frag:dwa", "live:Jan Kowalski"], Book())
    view = call.view()
    assert view["status"] == "in_call" and view["state"] == "read_back"
    assert view["heard"] == [
        {"state": "greeting", "title": "greeting", "text": "Dzień dobry."},
        {"state": "read_back", "title": "read_back", "text": f"Wpisano {HIDDEN}"},
    ]
    assert "token" not in str(view) and "Kowalski" not in str(view)
    call.ended(0.0)
    assert call.view()["status"] == "ended" and call.view()["state"] == ""


def test_the_websocket_is_the_setting_or_aris_host() -> None:
    assert websocket_url(None, "http://127.0.0.1:8088/") == "ws://127.0.0.1:8088/ws"
    assert websocket_url(None, "https://pbx.bank.example:8089/") == "wss://pbx.bank.example:8089/ws"
    assert websocket_url("wss://sip.example/ws", "http://asterisk:8088/") == "wss://sip.example/ws"


def test_the_vendored_softphone_is_the_pinned_release_with_its_licence() -> None:
    vendor = STATIC / "vendor" / "sip.js"
    assert (vendor / "VERSION").read_text().strip() == SIPJS_VERSION
    assert (vendor / "lib" / "api" / "inviter.js").is_file()
    assert "MIT License" in (vendor / "LICENSE.md").read_text()
    script = Path(__file__).parent.parent / "devtools" / "refresh_sipjs.sh"
    assert f"VERSION={SIPJS_VERSION}" in script.read_text()
    # Nothing is fetched from elsewhere at run time: every import is relative.
    page_script = (STATIC / "test-call.js").read_text()
    imports = re.findall(r'from "([^"]+)"', page_script)
    assert imports and all(i.startswith("./vendor/") for i in imports)


@pytest.fixture
def admin(tmp_path: Path) -> PromptAdmin:
    return isolated_prompt_admin(tmp_path)


@pytest.fixture
def flows(admin: PromptAdmin) -> FlowVersions:
    flows = FlowVersions(admin.store, AuditLog(admin.store))
    flows.live = flows.prepare(admin.deployment)
    return flows


Session = Callable[[str], AbstractAsyncContextManager[tuple[Client, dict[str, str]]]]


@pytest.fixture
def as_user(admin: PromptAdmin, flows: FlowVersions) -> tuple[Session, TestCalls]:
    accounts: Accounts = accounts_with(
        admin,
        Clock(),
        ("anna", "admin", "echo"),
        ("olga", "auditor", "echo"),
        ("obcy", "admin", "izbica"),
    )
    calls = TestCalls()

    @asynccontextmanager
    async def session(name: str) -> AsyncIterator[tuple[Client, dict[str, str]]]:
        async with admin_client(
            admin, accounts, CallRegistry(), flows=flows, test_calls=calls
        ) as client:
            csrf = await login(client, name)
            yield client, {"X-CSRF-Token": csrf}

    return session, calls


async def test_an_admin_test_calls_a_draft_and_only_that_call_gets_it(
    as_user: tuple[Session, TestCalls], admin: PromptAdmin, flows: FlowVersions
) -> None:
    session, calls = as_user
    live = admin.deployment.tenants["echo"].flow
    async with session("anna") as (client, csrf):
        saved = await client.post(
            "/admin/api/flows/echo/versions", json={"text": DRAFT}, headers=csrf
        )
        draft = (await saved.json())["number"]
        answer = await client.post("/admin/api/test-calls/echo", json={}, headers=csrf)
        assert answer.status == 201
        given = await answer.json()
        assert given["version"] == draft and given["user"] == "webrtc-test"
        assert given["websocket"] == "ws://127.0.0.1:8088/ws"
        call = calls.take(given["extension"])
        assert call is not None and call.flow.version != live.version
        # Named as the Scenariusz page names it: after the draft's first prompt.
        call.answered(lambda: "read_back")
        assert call.view()["title"] == "Nieprawidłowy wybór"
        read_back = call.flow.states["read_back"]
        assert "invalid_choice" in read_back.verb.prompts(read_back.params)
        # Real callers keep the live version.
        assert admin.deployment.tenants["echo"].flow is live
        assert flows.published("echo") is not None
        # The page's events: the call's view, by its id, for this bank only.
        page = await (await client.get("/admin/scenario/echo")).text()
        assert 'id="test-call"' in page and 'id="test-call-panel"' in page
        assert (await client.get("/admin/static/test-call.js")).status == 200
        broken = await client.post(
            "/admin/api/flows/echo/versions", json={"text": BROKEN}, headers=csrf
        )
        refused = await client.post(
            "/admin/api/test-calls/echo",
            json={"version": (await broken.json())["number"]},
            headers=csrf,
        )
        assert refused.status == 422 and "nowhere" in (await refused.json())["error"]
        without_csrf = await client.post("/admin/api/test-calls/echo", json={})
        assert without_csrf.status == 403
    entries = [e for e in AuditLog(admin.store).entries() if e.action == "flow_test_call"]
    assert len(entries) == 1 and '"user": "anna"' in entries[0].detail
    assert f'"version": {draft}' in entries[0].detail


async def test_only_the_banks_admins_may_test_call(as_user: tuple[Session, TestCalls]) -> None:
    session, _ = as_user
    for name in ("olga", "obcy"):
        async with session(name) as (client, csrf):
            answer = await client.post("/admin/api/test-calls/echo", json={}, headers=csrf)
            assert answer.status == 403, name
    async with session("olga") as (client, _):  # an auditor sees the page, not the panel
        page = await (await client.get("/admin/scenario/echo")).text()
        assert 'id="test-call"' in page and "test-call-panel" not in page
