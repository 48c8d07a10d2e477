"""A bank's flow versions through the admin page's JSON routes
(stasis_app/admin/web/flow_versions.py), without Asterisk: its admins save
drafts (checked), publish and revert, and the next call takes the new flow at
once; its auditors read versions and diffs; another bank's admin and a
supervisor are refused; every publish and revert is audited with its user."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.accounts import Accounts
from stasis_app.flow.model import flow_hash
from stasis_app.flow.versions import FlowVersions
from stasis_app.safeguards.audit import AuditLog
from stasis_app.telephony.live_calls import CallRegistry
from tests.conftest import TEST_CONFIG
from tests.support.admin_site import Clock, accounts_with, admin_client, login
from tests.support.isolated_admin import isolated_prompt_admin

pytestmark = pytest.mark.unit

Client = TestClient[web.Request, web.Application]
ECHO = (TEST_CONFIG.parent / "flows" / "echo.yaml").read_text()
CHANGED = ECHO.replace("prompt: [you_entered,", "prompt: [invalid_choice,")
BROKEN = ECHO.replace("on: {done: goodbye}", "on: {done: nowhere}")
BASE = "/admin/api/flows/echo"


@pytest.fixture
def admin(tmp_path: Path) -> PromptAdmin:
    return isolated_prompt_admin(tmp_path)


@pytest.fixture
def flows(admin: PromptAdmin) -> FlowVersions:
    flows = FlowVersions(admin.store, AuditLog(admin.store))
    flows.live = flows.prepare(admin.deployment)
    return flows


@pytest.fixture
def accounts(admin: PromptAdmin) -> Accounts:
    return accounts_with(
        admin,
        Clock(),
        ("anna", "admin", "echo"),
        ("olga", "auditor", "echo"),
        ("obcy", "admin", "izbica"),
        ("jan", "supervisor", "echo"),
    )


Session = Callable[[str], AbstractAsyncContextManager[tuple[Client, dict[str, str]]]]


@pytest.fixture
def as_user(admin: PromptAdmin, accounts: Accounts, flows: FlowVersions) -> Session:
    @asynccontextmanager
    async def session(name: str) -> AsyncIterator[tuple[Client, dict[str, str]]]:
        async with admin_client(admin, accounts, CallRegistry(), flows=flows) as client:
            csrf = await login(client, name)
            yield client, {"X-CSRF-Token": csrf}

    return session


async def json_of(answer: Any) -> Any:
    return await answer.json()


async def test_an_admin_saves_publishes_and_reverts_and_the_next_call_takes_it(
    as_user: Session, admin: PromptAdmin, flows: FlowVersions
) -> None:
    served = admin.deployment.tenants["echo"]
    at_start = served.flow
    async with as_user("anna") as (client, csrf):
        overview = await json_of(await client.get(BASE))
        assert overview["live"] == 1 and overview["versions"][0]["origin"].startswith("file:")

        broken = await client.post(f"{BASE}/versions", json={"text": BROKEN}, headers=csrf)
        assert broken.status == 201
        saved = await broken.json()
        assert saved["problem"] == {
            "field": "states.read_back.on.done",
            "state": "read_back",
            "problem": "goes to 'nowhere', not a state",
        }
        refused = await client.post(f"{BASE}/versions/{saved['number']}/publish", headers=csrf)
        assert refused.status == 422
        assert (await refused.json())["problem"]["state"] == "read_back"
        assert served.flow is at_start  # nothing changed for callers

        good = await client.post(
            f"{BASE}/versions", json={"text": CHANGED, "comment": "inny komunikat"}, headers=csrf
        )
        draft = await good.json()
        assert good.status == 201 and draft["problem"] is None and draft["based_on"] == 1
        diff = await json_of(await client.get(f"{BASE}/diff"))  # newest draft vs live
        assert diff["old"] == 1 and diff["new"] == draft["number"]
        assert (
            diff["changed"] == ["read_back"] and "+      prompt: [invalid_choice" in diff["unified"]
        )

        published = await client.post(
            f"{BASE}/versions/{draft['number']}/publish",
            json={"expected_hash": draft["hash"]},
            headers=csrf,
        )
        assert published.status == 200, await published.text()
        # This node's next call takes it at once; a call in progress kept at_start.
        assert served.flow.version == flow_hash(CHANGED)
        assert admin.deployment.lines["107"].flow is served.flow
        assert at_start.version == flow_hash(ECHO)

        reverted = await client.post(
            f"{BASE}/versions/1/revert", json={"comment": "wracamy"}, headers=csrf
        )
        assert reverted.status == 200
        assert (await reverted.json())["origin"] == "revert:1"
        assert served.flow.version == flow_hash(ECHO)

        page = await (await client.get("/admin/flow/echo")).text()
        assert 'id="flow-versions"' in page and "wracamy" in page
        assert "Działa wersja 4 (przywrócona z wersji 1 przez anna" in page

    entries = [e for e in AuditLog(admin.store).entries() if e.action.startswith("flow_")]
    assert [(e.action, e.result) for e in entries] == [
        ("flow_publish", "refused"),
        ("flow_publish", "ok"),
        ("flow_revert", "ok"),
    ]
    assert all('"user": "anna"' in e.detail for e in entries)
    assert f'"hash": "{flow_hash(CHANGED)}"' in entries[1].detail


async def test_auditors_read_and_others_are_refused(
    as_user: Session, admin: PromptAdmin, flows: FlowVersions
) -> None:
    draft = flows.save_draft("echo", CHANGED, "anna", admin.deployment.check_flow)
    async with as_user("olga") as (client, csrf):
        assert (await client.get(BASE)).status == 200
        version = await json_of(await client.get(f"{BASE}/versions/{draft.number}"))
        assert version["text"] == CHANGED and version["state"] == "draft"
        assert (await client.get(f"{BASE}/diff?old=1&new={draft.number}")).status == 200
        for path in ("/versions", f"/versions/{draft.number}/publish", "/versions/1/revert"):
            assert (await client.post(BASE + path, json={"text": ECHO}, headers=csrf)).status == 403
    async with as_user("obcy") as (client, csrf):  # izbica's admin
        assert (await client.get(BASE)).status == 403
        answer = await client.post(f"{BASE}/versions/{draft.number}/publish", headers=csrf)
        assert answer.status == 403
        assert (await client.get("/admin/api/flows/izbica")).status == 200  # their own bank
    async with as_user("jan") as (client, csrf):  # a supervisor
        assert (await client.get(BASE)).status == 403
    async with as_user("anna") as (client, csrf):
        # A change without the session's CSRF token is refused before anything runs.
        answer = await client.post(f"{BASE}/versions/{draft.number}/publish")
        assert answer.status == 403
        assert flows.published("echo").number == 1  # type: ignore[union-attr]
        # A flow larger than the API's usual request limit (16 KB) is taken.
        large = CHANGED + "".join(f"# komentarz {n:05d} " + "x" * 60 + "\n" for n in range(400))
        saved = await client.post(f"{BASE}/versions", json={"text": large}, headers=csrf)
        assert saved.status == 201 and (await saved.json())["problem"] is None
        # A draft changed meanwhile is not overwritten (409).
        stale = await client.put(
            f"{BASE}/versions/{draft.number}",
            json={"text": ECHO, "expected_hash": "0" * 12},
            headers=csrf,
        )
        assert stale.status == 409
        assert (await client.get(f"{BASE}/versions/99")).status == 404
