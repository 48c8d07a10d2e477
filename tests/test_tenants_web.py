"""A new bank from the admin page (stasis_app/admin/web/tenants.py), without
Asterisk: a deployment admin adds a bank and this node serves it at once;
the form is made from the adapter's own settings schema; a literal secret,
a number another bank has and a bad field are refused next to their field
(nothing saved); a bank's admin cannot add one; the banks page says which
bank came from the file and which from the page; every save is audited."""

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.accounts import Accounts
from stasis_app.admin.web.tenants import BankSite
from stasis_app.config import Settings, load_settings
from stasis_app.deployment import build_deployment
from stasis_app.safeguards.audit import AuditLog
from stasis_app.telephony.live_calls import CallRegistry
from stasis_app.tenancy.stored import TenantStore, build_serving
from tests.conftest import TEST_CONFIG
from tests.support.admin_site import Clock, accounts_with, admin_client, login
from tests.support.isolated_admin import isolated_env, isolated_prompt_admin

pytestmark = pytest.mark.unit

Client = TestClient[web.Request, web.Application]
Session = Callable[[str], AbstractAsyncContextManager[tuple[Client, str]]]
BANK_FLOW = "../../../config/flows/bank.yaml"


def new_bank(tmp_path: Path, **changes: str) -> dict[str, str]:
    """The form as a deployment admin fills it in for a demo bank on 181."""
    form = {
        "id": "krosno",
        "name": "Bank Spółdzielczy w Krośnie",
        "lines": "181, 182",
        "adapter": "demo",
        "adapter.demo.database": str(tmp_path / "demo.sqlite"),
        "adapter.demo.tenant": "izbica",
        "day.mon": "on",
        "day.fri": "on",
        "open": "08:00",
        "close": "16:00",
        "agents": "PJSIP/anna\nPJSIP/jan",
        "flow": BANK_FLOW,
        "greeting": "Dzień dobry, tu Krosno.",
    }
    form.update(changes)
    return form


@pytest.fixture
def admin(tmp_path: Path) -> PromptAdmin:
    return isolated_prompt_admin(tmp_path)


@pytest.fixture
def file_settings(tmp_path: Path) -> Settings:
    return load_settings(TEST_CONFIG, env=isolated_env(tmp_path), resolve_secrets=False)


@pytest.fixture
def banks(admin: PromptAdmin) -> TenantStore:
    return TenantStore(admin.store)


@pytest.fixture
def as_user(admin: PromptAdmin, banks: TenantStore, file_settings: Settings) -> Session:
    accounts: Accounts = accounts_with(
        admin,
        Clock(),
        ("ola", "admin", "*"),
        ("anna", "admin", "izbica"),
    )

    async def adopt() -> None:  # as the app does, without rendering (no Asterisk here)
        _, deployment, _ = build_serving(
            file_settings, banks.all(), lambda s: build_deployment(s, with_adapters=False)
        )
        admin.deployment = deployment

    site = BankSite(banks, lambda: file_settings, dict, adopt)

    @asynccontextmanager
    async def session(name: str) -> AsyncIterator[tuple[Client, str]]:
        async with admin_client(admin, accounts, CallRegistry(), banks=site) as client:
            yield client, await login(client, name)

    return session


def problem_at(page: str, field: str) -> str:
    found = re.search(rf'id="error-{re.escape(field)}">([^<]*)<', page)
    assert found, page
    return found.group(1)


async def test_a_deployment_admin_adds_a_bank_and_this_node_serves_it_at_once(
    as_user: Session, admin: PromptAdmin, banks: TenantStore, tmp_path: Path
) -> None:
    async with as_user("ola") as (client, csrf):
        form = await (await client.get("/admin/tenants/new")).text()
        # The adapter's settings as fields of its own schema, labelled by it.
        assert 'name="adapter.demo.database"' in form and "Plik bazy demo (SQLite)" in form
        assert 'name="adapter.webservice.secret_env"' in form
        assert "nazwa zmiennej środowiskowej, nie sekret" in form
        assert f'<option value="{BANK_FLOW}" selected>domyślny przebieg banku' in form
        answer = await client.post(
            "/admin/tenants", data={**new_bank(tmp_path), "csrf": csrf}, allow_redirects=False
        )
        assert answer.status == 303, await answer.text()
        assert answer.headers["Location"] == "/admin/tenants/krosno"
        page = await (await client.get("/admin/tenants/krosno")).text()
        assert "Skąd: dodany na stronie: ola" in page
        assert "Odbiera na numerach 181, 182." in page
        listed = await (await client.get("/admin/tenants")).text()
        assert re.search(r'id="tenant-izbica">.*?z pliku .*?infolinia\.yaml', listed)
        assert re.search(r'id="tenant-krosno">.*?dodany na stronie: ola', listed)

    served = admin.deployment.lines["181"]
    assert served is admin.deployment.lines["182"]
    assert served.tenant.name == "Bank Spółdzielczy w Krośnie"
    assert served.prompts.texts["greeting"] == "Dzień dobry, tu Krosno."
    assert served.tenant.queues["consultants"].agents == ["PJSIP/anna", "PJSIP/jan"]
    assert served.tenant.routing.hours["office"].days == ["mon", "fri"]
    assert served.flow.initial == "start"  # the default bank flow
    stored = banks.get("krosno")
    assert stored is not None and stored.created_by == "ola"
    assert stored.spec["flow"] == BANK_FLOW
    entries = [e for e in AuditLog(admin.store).entries() if e.action == "tenant_add"]
    assert [(e.tenant, e.result) for e in entries] == [("krosno", "ok")]
    assert '"user": "ola"' in entries[0].detail and '"181"' in entries[0].detail


@pytest.mark.parametrize(
    ("changes", "field", "problem"),
    [
        (
            {"adapter": "webservice", "adapter.webservice.base_url": "http://127.0.0.1:9/",
             "adapter.webservice.secret_env": "s3cr3t-k3y!"},
            "adapter.webservice.secret_env",
            "nie sam sekret",
        ),
        (
            {"adapter": "webservice", "adapter.webservice.base_url": "http://127.0.0.1:9/",
             "adapter.webservice.secret_file": "s3cr3t-k3y"},
            "adapter.webservice.secret_file",
            "nie sam sekret",
        ),
        ({"lines": "181, 100"}, "lines", "numer 100 ma już bank izbica"),
        ({"id": "izbica"}, "id", "bank o identyfikatorze izbica już jest"),
        ({"agents": "anna"}, "agents", "is not an endpoint like PJSIP/anna"),
        ({"close": "07:00"}, "hours", "open must be before close"),
        ({"adapter.demo.tenant": ""}, "adapter.demo.tenant", "Field required"),
        ({"greeting": " "}, "greeting", "powitanie ma od 1"),
        ({"flow": "/etc/passwd"}, "flow", "wybierz szablon"),
    ],
)  # fmt: skip
async def test_a_bad_field_is_refused_next_to_it_and_nothing_is_saved(
    as_user: Session,
    admin: PromptAdmin,
    banks: TenantStore,
    tmp_path: Path,
    changes: dict[str, str],
    field: str,
    problem: str,
) -> None:
    async with as_user("ola") as (client, csrf):
        answer = await client.post(
            "/admin/tenants", data={**new_bank(tmp_path, **changes), "csrf": csrf}
        )
        page = await answer.text()
    assert answer.status == 422
    assert problem in problem_at(page, field)
    # The form comes back as filled in (but for what was refused as a secret).
    assert 'value="Bank Spółdzielczy w Krośnie"' in page
    assert banks.all() == [] and "181" not in admin.deployment.lines
    refused = [e for e in AuditLog(admin.store).entries() if e.action == "tenant_add"]
    assert [e.result for e in refused] == ["refused"] and field in refused[0].detail


async def test_a_number_of_a_bank_added_on_the_page_is_refused_to_the_next(
    as_user: Session, banks: TenantStore, tmp_path: Path
) -> None:
    async with as_user("ola") as (client, csrf):
        first = await client.post(
            "/admin/tenants", data={**new_bank(tmp_path), "csrf": csrf}, allow_redirects=False
        )
        assert first.status == 303
        second = await client.post(
            "/admin/tenants",
            data={**new_bank(tmp_path, id="jaslo", lines="183 182"), "csrf": csrf},
        )
        assert second.status == 422
        assert "numer 182 ma już bank krosno" in problem_at(await second.text(), "lines")
    assert [bank.id for bank in banks.all()] == ["krosno"]


async def test_a_stored_bank_is_changed_on_its_page_and_audited(
    as_user: Session, admin: PromptAdmin, banks: TenantStore, tmp_path: Path
) -> None:
    async with as_user("ola") as (client, csrf):
        await client.post("/admin/tenants", data={**new_bank(tmp_path), "csrf": csrf})
        page = await (await client.get("/admin/tenants/krosno")).text()
        assert 'name="revision" value="1"' in page  # its form, filled in
        changed = new_bank(tmp_path, greeting="Krosno, dzień dobry.", lines="181")
        answer = await client.post(
            "/admin/tenants/krosno",
            data={**changed, "revision": "1", "csrf": csrf},
            allow_redirects=False,
        )
        assert answer.status == 303, await answer.text()
        stale = await client.post(
            "/admin/tenants/krosno", data={**changed, "revision": "1", "csrf": csrf}
        )
        assert stale.status == 409
        # A bank of the config file is changed in the file, not here.
        file_bank = await client.post(
            "/admin/tenants/izbica", data={**changed, "revision": "1", "csrf": csrf}
        )
        assert file_bank.status == 404
    served = admin.deployment.lines["181"]
    assert served.prompts.texts["greeting"] == "Krosno, dzień dobry."
    assert "182" not in admin.deployment.lines
    stored = banks.get("krosno")
    assert stored is not None and stored.revision == 2 and stored.changed_by == "ola"
    changes = [e.result for e in AuditLog(admin.store).entries() if e.action == "tenant_change"]
    assert changes == ["ok", "refused"]


async def test_a_banks_admin_sees_where_the_bank_came_from_but_cannot_add_one(
    as_user: Session, banks: TenantStore, tmp_path: Path
) -> None:
    async with as_user("anna") as (client, csrf):
        listed = await (await client.get("/admin/tenants")).text()
        assert 'id="tenant-izbica"' in listed and 'id="tenant-cieszyn"' not in listed
        assert "Dodaj bank" not in listed
        assert (await client.get("/admin/tenants/new")).status == 403
        answer = await client.post("/admin/tenants", data={**new_bank(tmp_path), "csrf": csrf})
        assert answer.status == 403
        other = await client.get("/admin/tenants/cieszyn")
        assert other.status == 403
    async with as_user("ola") as (client, csrf):
        unsigned = await client.post("/admin/tenants", data=new_bank(tmp_path))
        assert unsigned.status == 403  # no CSRF token
    assert banks.all() == []
