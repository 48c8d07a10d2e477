"""Supervision without Asterisk: only a bank's configured supervisors are
rung, whatever a request says; the config refuses dial strings; tokens carry
scopes (a token made to edit prompts cannot listen in); starting and stopping
is audited with who did it. The same on real calls: tests/test_real_queue.py."""

import asyncio
import hashlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from stasis_app.admin.api import AdminApi
from stasis_app.admin.prompts import PromptAdmin
from stasis_app.config import load_settings
from stasis_app.errors import ConfigError
from stasis_app.queue.manager import QueueManager
from stasis_app.queue.metrics import QueueMetrics
from stasis_app.queue.queue import Conversation
from stasis_app.queue.supervisor import UnknownSupervisor
from stasis_app.safeguards.audit import AuditLog
from stasis_app.store import Store
from stasis_app.telephony.gateway import ChannelHandle
from stasis_app.telephony.ports import QueueGateway
from stasis_app.tenants import SupervisorPhone
from tests.conftest import TEST_CONFIG
from tests.support.isolated_admin import isolated_prompt_admin

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]

REPO = Path(__file__).resolve().parent.parent
CALL = "caller-1"
EVE = "127.0.0.9"  # an eavesdropper's address: loopback, so nothing could ever leave
HOSTILE: list[dict[str, Any]] = [
    {"endpoint": f"PJSIP/softphone/sip:eve@{EVE}"},  # the old API's field
    {"supervisor": f"PJSIP/softphone/sip:eve@{EVE}"},
    {"supervisor": "Local/supervisor@from-internal"},
    {"supervisor": "PJSIP/softphone"},  # even the configured phone, typed in
    {"supervisor": "eve"},  # a name nobody configured
    {"supervisor": "ewa", "endpoint": f"PJSIP/softphone/sip:eve@{EVE}"},
    {"supervisor": ["ewa"]},
    {},
]


class FakeGateway:
    """Records what would have been asked of Asterisk; a rung phone answers
    when the test says so."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.handles: dict[str, ChannelHandle] = {}

    def expect(self, channel_id: str, label: str = "") -> ChannelHandle:
        handle = ChannelHandle(channel_id=channel_id, line="", caller="", leg=True, label=label)
        self.handles[channel_id] = handle
        return handle

    def release(self, channel_id: str) -> None:
        self.handles.pop(channel_id, None)

    async def snoop(self, channel_id: str, snoop_id: str, *, spy: str, whisper: str) -> None:
        self.requests.append(("snoop", channel_id))

    async def originate(
        self, endpoint: str, channel_id: str, *, timeout: float, caller_id: str, args: str
    ) -> None:
        self.requests.append(("originate", endpoint))

    async def hangup(self, channel_id: str) -> None:
        self.requests.append(("hangup", channel_id))

    async def create_bridge(self, bridge_id: str, kind: str, name: str) -> None:
        self.requests.append(("bridge", bridge_id))

    async def add_to_bridge(self, bridge_id: str, channel_id: str) -> None:
        pass

    async def destroy_bridge(self, bridge_id: str) -> None:
        pass

    async def endpoint_state(self, endpoint: str) -> str | None:
        return "online"

    def rung(self) -> list[str]:
        return [what for kind, what in self.requests if kind in ("originate", "snoop")]


class OneCall(QueueManager):
    """The queue manager with one caller talking to an agent of izbica."""

    def conversation(self, caller_channel: str) -> Conversation | None:
        if caller_channel != CALL:
            return None
        return Conversation("izbica", "main", CALL, "PJSIP/anna", "agent-1")


@pytest.fixture
def admin(tmp_path: Path) -> PromptAdmin:
    return isolated_prompt_admin(tmp_path)


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


@pytest.fixture
def queues(admin: PromptAdmin, gateway: FakeGateway) -> OneCall:
    # Only the supervisors' part of a QueueGateway is faked: no caller waits here.
    manager = OneCall(cast(QueueGateway, gateway), admin.store, QueueMetrics())
    manager.supervisors.configure(
        {"izbica": [SupervisorPhone(name="ewa", endpoint="PJSIP/softphone")]}
    )
    return manager


@pytest.fixture
async def client(
    admin: PromptAdmin, queues: OneCall
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(AdminApi(admin, queues=queues).app())) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


URL = f"/api/tenants/izbica/calls/{CALL}/supervise"


@pytest.mark.parametrize("body", HOSTILE)
async def test_a_phone_or_unknown_name_in_a_request_rings_nothing(
    client: TestClient[web.Request, web.Application],
    admin: PromptAdmin,
    gateway: FakeGateway,
    body: dict[str, Any],
) -> None:
    token = admin.store.create_token("ola", "izbica", ("supervise",))
    answer = await client.post(URL, json={"mode": "listen", **body}, headers=bearer(token))
    assert answer.status == 400, await answer.text()
    assert "supervisor" in (await answer.json())["error"]
    assert gateway.rung() == []


async def test_a_configured_supervisor_is_rung_on_the_configured_phone_and_it_is_audited(
    client: TestClient[web.Request, web.Application],
    admin: PromptAdmin,
    gateway: FakeGateway,
    queues: OneCall,
) -> None:
    token = admin.store.create_token("ola", "izbica", ("supervise",))
    listed = await client.get("/api/tenants/izbica/supervisors", headers=bearer(token))
    assert (await listed.json()) == {"supervisors": ["ewa"]}
    answer = await client.post(
        URL, json={"mode": "whisper", "supervisor": "ewa"}, headers=bearer(token)
    )
    assert answer.status == 201, await answer.text()
    session = await answer.json()
    assert (session["supervisor"], session["phone"]) == ("ewa", "PJSIP/softphone")
    assert session["started_by"] == "token:ola"
    assert gateway.rung() == ["agent-1", "PJSIP/softphone"]  # the snoop, then the phone
    stopped = await client.delete(f"/api/supervision/{session['session']}", headers=bearer(token))
    assert stopped.status == 200
    entries = [e for e in AuditLog(admin.store).entries() if e.action == "supervision"]
    assert [(e.result, e.tenant, e.call_id) for e in entries] == [
        ("started", "izbica", CALL),
        ("ended", "izbica", CALL),
    ]
    started, ended = (json.loads(e.detail) for e in entries)
    assert started["who"] == "token:ola" and started["phone"] == "PJSIP/softphone"
    assert ended["ended_by"] == "token:ola" and ended["session"] == session["session"]


async def test_a_refused_request_is_audited_with_who_asked(
    client: TestClient[web.Request, web.Application], admin: PromptAdmin
) -> None:
    token = admin.store.create_token("ola", "izbica", ("supervise",))
    await client.post(URL, json={"mode": "barge", "supervisor": "eve"}, headers=bearer(token))
    [entry] = [e for e in AuditLog(admin.store).entries() if e.action == "supervision"]
    assert entry.result == "refused" and json.loads(entry.detail)["who"] == "token:ola"


@pytest.mark.parametrize(
    ("scopes", "prompts", "queues_", "supervise"),
    [
        (("prompts",), 200, 403, 403),
        (("queues",), 403, 200, 403),
        (("supervise",), 403, 403, 201),
        (("prompts", "queues", "supervise"), 200, 200, 201),
    ],
)
async def test_a_token_does_only_what_its_scopes_say(
    client: TestClient[web.Request, web.Application],
    admin: PromptAdmin,
    gateway: FakeGateway,
    scopes: tuple[str, ...],
    prompts: int,
    queues_: int,
    supervise: int,
) -> None:
    auth = bearer(admin.store.create_token("ola", "izbica", scopes))
    assert (await client.get("/api/tenants", headers=auth)).status == 200  # any token
    assert (await client.get("/api/tenants/izbica/prompts", headers=auth)).status == prompts
    assert (await client.get("/api/queues", headers=auth)).status == queues_
    assert (await client.get("/api/tenants/izbica/callbacks", headers=auth)).status == queues_
    body = {"mode": "listen", "supervisor": "ewa"}
    answer = await client.post(URL, json=body, headers=auth)
    assert answer.status == supervise
    if supervise == 403:
        assert "may not supervise" in (await answer.json())["error"]
        assert gateway.rung() == []
    assert (await client.get("/api/supervision", headers=auth)).status in (
        200 if "supervise" in scopes else 403,
    )


def test_tokens_from_before_scopes_may_edit_prompts_only(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as db:  # the admin_tokens table as it was
        db.execute(
            "CREATE TABLE admin_tokens (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL "
            "UNIQUE, tenant TEXT NOT NULL, created TEXT NOT NULL)"
        )
    old = Store(path)  # the migration adds the column; a second open leaves it
    db = sqlite3.connect(path)
    token = "old-token-value"
    db.execute(
        "INSERT INTO admin_tokens (name, token_hash, tenant, created) VALUES (?, ?, '*', 'x')",
        ("legacy", hashlib.sha256(token.encode()).hexdigest()),
    )
    db.commit()
    db.close()
    again = Store(path)
    found = again.check_token(token)
    assert found is not None and found.scopes == {"prompts"}
    assert not found.may("supervise") and old.check_token(token) == found


async def test_supervisors_refuse_an_unknown_name_before_anything_rings(
    queues: OneCall, gateway: FakeGateway
) -> None:
    with pytest.raises(UnknownSupervisor, match="'eve' is not a supervisor of izbica"):
        await queues.supervise(CALL, "listen", "eve", "web:jan")
    with pytest.raises(UnknownSupervisor):
        await queues.supervise(CALL, "listen", "PJSIP/softphone", "web:jan")
    assert gateway.rung() == []


async def test_a_reload_replaces_the_supervisors(queues: OneCall, gateway: FakeGateway) -> None:
    queues.supervisors.configure({"izbica": [SupervisorPhone(name="jan", endpoint="PJSIP/jan")]})
    with pytest.raises(UnknownSupervisor):
        await queues.supervise(CALL, "listen", "ewa", "web:jan")
    session = await queues.supervise(CALL, "listen", "jan", "web:jan")
    assert gateway.rung() == ["agent-1", "PJSIP/jan"]
    await queues.supervisors.stop(session.id, "web:jan")
    await asyncio.sleep(0)


def _config(tmp_path: Path, supervisors: str) -> Path:
    config = tmp_path / "infolinia.yaml"
    config.write_text(
        f"prompts: {REPO / 'config/prompts/pl.yaml'}\nvoice: {{cache_dir: {tmp_path}/cache}}\n"
        "tenants:\n  izbica:\n    name: Izbica\n    lines: ['100']\n"
        f"    flow: {REPO / 'config/flows/bank.yaml'}\n"
        f"    adapter: {{name: demo, settings: {{database: {tmp_path}/bank.sqlite}}}}\n"
        f"    supervisors: {supervisors}\n",
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize(
    ("supervisors", "field", "words"),
    [
        (
            f"[{{name: eve, endpoint: 'PJSIP/softphone/sip:eve@{EVE}'}}]",
            "tenants.izbica.supervisors.0.endpoint",
            "no dial string",
        ),
        (
            "[{name: eve, endpoint: 'Local/supervisor@from-internal/n/b'}]",
            "tenants.izbica.supervisors.0.endpoint",
            "not one endpoint",
        ),
        (
            "[{name: eve, endpoint: 'PJSIP/a&PJSIP/b'}]",
            "tenants.izbica.supervisors.0.endpoint",
            "not one endpoint",
        ),
        ("[{name: 'e v', endpoint: PJSIP/ewa}]", "tenants.izbica.supervisors.0.name", "pattern"),
        (
            "[{name: ewa, endpoint: PJSIP/a}, {name: ewa, endpoint: PJSIP/b}]",
            "tenants.izbica.supervisors",
            "'ewa' is listed twice",
        ),
        ("[{name: ewa}]", "tenants.izbica.supervisors.0.endpoint", "required"),
    ],
)
def test_supervisor_config_errors_name_the_file_and_field(
    tmp_path: Path, supervisors: str, field: str, words: str
) -> None:
    config = _config(tmp_path, supervisors)
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={"INFOLINIA_ARI_PASSWORD": "x"})
    assert caught.value.field == field, caught.value
    assert caught.value.file == str(config)
    assert words in caught.value.problem, caught.value.problem


def test_good_supervisors_load(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "[{name: ewa, endpoint: PJSIP/softphone}, "
        "{name: test, endpoint: Local/supervisor@infolinia-test-agents/n}]",
    )
    settings = load_settings(config, env={"INFOLINIA_ARI_PASSWORD": "x"})
    assert [p.name for p in settings.tenants["izbica"].supervisors] == ["ewa", "test"]


def test_a_token_is_made_with_scopes_from_the_command_line(tmp_path: Path) -> None:
    env = {"INFOLINIA_STATE": str(tmp_path / "state.sqlite"), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "stasis_app", "--config", str(TEST_CONFIG), "admin", "token"]

    def made(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *args], env=env, capture_output=True, text=True)

    editor = made("anna", "--tenant", "cieszyn")
    supervisor = made("jan", "--tenant", "cieszyn", "--scope", "queues,supervise")
    assert editor.returncode == supervisor.returncode == 0, editor.stderr + supervisor.stderr
    store = Store(tmp_path / "state.sqlite")
    anna = store.check_token(editor.stdout.strip())
    jan = store.check_token(supervisor.stdout.strip())
    assert anna is not None and anna.scopes == {"prompts"}  # the default
    assert jan is not None and jan.scopes == {"queues", "supervise"}
    assert made("eve", "--tenant", "cieszyn", "--scope", "everything").returncode == 2
