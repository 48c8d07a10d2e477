"""The *Scenariusz* page (stasis_app/admin/web/scenario.py) without
Asterisk: a bank's admin adds menu option 3 with a new prompt and the draft
is checker-clean; a bad number of digits is saved as a draft whose error
stands next to its field, in Polish, and cannot be published; the fixed
draft is published and the next call takes it. Auditors read, never
change; other roles and banks are refused; the forms come from the verbs'
schemas."""

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.accounts import Accounts
from stasis_app.admin.web.scenario_forms import FormError, fields, polish, read
from stasis_app.flow.versions import FlowVersions
from stasis_app.safeguards.audit import AuditLog
from stasis_app.telephony.live_calls import CallRegistry
from stasis_app.verbs.gather import GatherParams
from stasis_app.verbs.menu import MenuParams
from stasis_app.verbs.transfer import TransferParams
from tests.support.admin_site import Clock, accounts_with, admin_client, login
from tests.support.isolated_admin import isolated_prompt_admin

pytestmark = pytest.mark.unit

Client = TestClient[web.Request, web.Application]
PAGE = "/admin/scenario/cieszyn"


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
        ("anna", "admin", "cieszyn"),
        ("olga", "auditor", "cieszyn"),
        ("obcy", "admin", "izbica"),
        ("jan", "supervisor", "cieszyn"),
        ("iza", "admin", "integrate"),
    )


Session = Callable[[str], AbstractAsyncContextManager[tuple[Client, str]]]


@pytest.fixture
def as_user(admin: PromptAdmin, accounts: Accounts, flows: FlowVersions) -> Session:
    @asynccontextmanager
    async def session(name: str) -> AsyncIterator[tuple[Client, str]]:
        async with admin_client(admin, accounts, CallRegistry(), flows=flows) as client:
            yield client, await login(client, name)

    return session


def hidden(html: str, form: str) -> dict[str, str]:
    """The hidden fields of the form with id ``form`` on a page."""
    start = html.index(f'id="{form}"')
    end = html.index("</form>", start)
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', html[start:end]))


async def test_an_admin_adds_option_3_breaks_a_field_fixes_it_and_publishes(
    as_user: Session, admin: PromptAdmin, flows: FlowVersions
) -> None:
    served = admin.deployment.tenants["cieszyn"]
    async with as_user("anna") as (client, csrf):
        page = await (await client.get(PAGE + "?state=main_menu")).text()
        assert '<g id="node&#45;main_menu"' in page and 'id="test-call"' in page
        assert "Menu główne" in page and "klawisz 1" in page  # a bank admin's words
        form = {
            **hidden(page, "add-option"),
            "key": "3",
            "name": "Informacje o banku",
            "text": "Bank działa od stu lat.",
        }
        added = await client.post(PAGE + "/edit", data=form)
        assert added.status == 200 and "Zapisano szkic 2." in await added.text()
        draft = flows.get("cieszyn", 2)
        assert draft.problem is None and draft.state == "draft"
        assert '"3": informacje_o_banku' in draft.text
        assert served.prompts.texts["informacje_o_banku"] == "Bank działa od stu lat."
        assert served.flow.states["main_menu"].on.get("3") is None  # callers: not yet

        # A bad edit: 40 digits. Saved (work in progress), its error by its field.
        page = await (await client.get(PAGE + "?state=block_number")).text()
        bad = {**hidden(page, "state-form"), "p.min_digits": "8", "p.max_digits": "40",
               "title": ""}  # fmt: skip
        page = await (await client.post(PAGE + "/edit", data=bad)).text()
        assert "Ma błąd" in page, page[page.find('id="status"') :][:1500]
        error = re.search(r'id="error-max_digits">([^<]*)<', page)
        assert error is not None, (
            page[page.find('id="status"') :][:800] + page[page.find("aside") :][:3000]
        )
        assert error.group(1) == "najwyżej 32"
        assert 'id="publish"' not in page  # a draft with an error cannot be published
        refused = await client.post(
            PAGE + "/publish", data={"csrf": csrf, "number": "2", "hash": ""}
        )
        assert "Nie opublikowano: najwyżej 32" in await refused.text()

        fixed = {**hidden(page, "state-form"), "p.min_digits": "8", "p.max_digits": "8"}
        page = await (await client.post(PAGE + "/edit", data=fixed)).text()
        assert 'id="problem"' not in page
        publish = hidden(page, "status")
        answer = await client.post(PAGE + "/publish", data=publish)
        assert "Opublikowano wersję 2" in await answer.text()
        assert served.flow.states["main_menu"].on["3"] == "informacje_o_banku"
        # The diff of the published version against the first.
        diff = await (await client.get(PAGE + "/diff?old=1&new=2")).text()
        assert "nowe stany: informacje_o_banku" in diff


async def test_an_option_goes_to_one_of_the_banks_consultant_queues(
    as_user: Session, flows: FlowVersions
) -> None:
    page_url = "/admin/scenario/integrate"
    async with as_user("iza") as (client, _):
        page = await (await client.get(page_url + "?state=main_menu")).text()
        assert 'value="__consultant__:main">konsultant, kolejka main' in page
        form = {**hidden(page, "transitions"), "t.0": "__consultant__:main"}
        answer = await client.post(page_url + "/edit", data=form)
        assert "Zapisano szkic" in await answer.text()
    draft = flows.newest_draft("integrate")
    assert draft is not None and draft.problem is None
    text = flows.get("integrate", draft.number).text
    assert '"0": konsultant_main' in text and "params: {queue: main}" in text


async def test_an_auditor_reads_the_scenario_and_versions_but_cannot_change_them(
    as_user: Session,
) -> None:
    async with as_user("olga") as (client, csrf):
        answer = await client.get(PAGE + "?state=main_menu")
        page = await answer.text()
        assert answer.status == 200 and 'id="versions"' in page
        assert "Zapisz szkic" not in page and 'id="add-option"' not in page
        assert " disabled" in page  # the form is shown, read only
        refused = await client.post(PAGE + "/publish", data={"csrf": csrf, "number": "1"})
        assert refused.status == 403
        diff = await client.get(PAGE + "/diff?old=1&new=1")
        assert diff.status == 200 and "bez zmian w stanach" in await diff.text()


async def test_other_roles_and_banks_and_a_missing_csrf_token_are_refused(
    as_user: Session,
) -> None:
    async with as_user("jan") as (client, _):
        assert (await client.get(PAGE)).status == 403
    async with as_user("obcy") as (client, csrf):
        assert (await client.get(PAGE)).status == 403
        answer = await client.post(PAGE + "/edit", data={"csrf": csrf, "state": "main_menu"})
        assert answer.status == 403
    async with as_user("anna") as (client, _):
        answer = await client.post(PAGE + "/edit", data={"state": "main_menu", "op": "params"})
        assert answer.status == 403 and "CSRF" in await answer.text()


def test_the_form_of_a_gather_comes_from_its_schema() -> None:
    form = {f.name: f for f in fields(GatherParams)}
    digits = form["max_digits"]
    assert (digits.label, digits.kind, digits.low, digits.high) == ("Najwięcej cyfr", "int", 1, 32)
    assert form["star"].kind == "bool" and form["prompt"].kind == "prompt"
    # Whether a gather keeps its digits secret is the operator's, in the file.
    assert form["secret"].kind == "other"
    assert form["accept"].kind == "choice" and form["accept"].choices == ("digits", "keys")
    assert form["terminator"].kind == "text" and not form["terminator"].required
    assert form["into"].required and form["retries"].default == 2
    assert {f.kind for f in fields(MenuParams)} >= {"keys", "float"}
    assert next(f for f in fields(TransferParams) if f.name == "queue").label == (
        "Kolejka konsultantów"
    )


def test_reading_a_posted_form_keeps_only_what_changed() -> None:
    form = fields(GatherParams)
    current = {"prompt": ["ask_customer_number"], "into": "customer_number", "max_digits": 8}
    posted = {"p.into": "customer_number", "p.max_digits": "10", "p.min_digits": "1",
              "p.retries": "2", "p.terminator": "#", "p.accept": "digits",
              "p.first_timeout": "6", "p.between_timeout": "4", "p.secret": "on",
              "b.secret": "", "b.star": ""}  # fmt: skip
    # "secret" is shown, never read from a post (a telekod kept secret stays so).
    assert read(form, posted, current) == {"max_digits": 10}
    # A field not posted is left as it is; an emptied one goes back to its default.
    assert read(form, {"p.max_digits": ""}, current) == {"max_digits": None}
    with pytest.raises(FormError, match="liczba całkowita"):
        read(form, {**posted, "p.max_digits": "osiem"}, current)


def test_the_checkers_problems_in_polish() -> None:
    assert polish("Input should be less than or equal to 32") == "najwyżej 32"
    assert polish("no path from the initial state reaches it") == (
        "żadna ścieżka tu nie prowadzi (stan nieosiągalny)"
    )
    assert (
        polish("goes to 'nowhere', not a state") == "prowadzi do „nowhere”, a takiego stanu nie ma"
    )
    assert polish("prompt 'x' does not exist") == "nie ma komunikatu x"
    assert polish("something new") == "something new"
