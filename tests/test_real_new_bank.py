"""A new bank from the admin page answers a real call (issue 20): a
deployment admin logs in to the running app's page and adds a bank on
number 157 through the page's form (the default bank flow, a demo core, its
own greeting); without a restart, the next SIPp call to 157 is that bank's
and hears its greeting, rendered before the number opened."""

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest

from stasis_app.admin.web.accounts import Accounts
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.store import Store
from stasis_app.tenancy.stored import TenantStore, stored_tenant
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess
from tests.support.sipp import sipp_call

pytestmark = pytest.mark.asterisk

BASE = "http://127.0.0.1:18090/admin"
LINE, TENANT = "157", "nowy_bank"
USER, PASSWORD = "test-deployment-admin", "haslo-wdrozenia-123"
GREETING = "Nowy bank z formularza."


async def add_bank_on_the_page() -> int:
    """Log in as a deployment admin and post the page's form; its answer's status."""
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(f"{BASE}/login") as form:
            csrf = re.findall(r'name="csrf" value="([^"]+)"', await form.text())[0]
        login = {"user": USER, "password": PASSWORD, "csrf": csrf}
        async with http.post(f"{BASE}/login", data=login) as answer:
            assert answer.status == 200, await answer.text()
        async with http.get(f"{BASE}/tenants/new") as page:
            text = await page.text()
            assert page.status == 200, text
            csrf = re.findall(r'name="csrf" value="([^"]+)"', text)[0]
        bank = {
            "csrf": csrf,
            "id": TENANT,
            "name": "Bank z formularza",
            "lines": LINE,
            "adapter": "demo",
            "adapter.demo.database": "/tmp/infolinia-tests/demo-bank.sqlite",
            "adapter.demo.tenant": "izbica",
            "flow": "../../../config/flows/bank.yaml",
            "greeting": GREETING,
        }
        async with http.post(f"{BASE}/tenants", data=bank, allow_redirects=False) as answer:
            assert answer.status == 303, await answer.text()
            return answer.status


def test_a_bank_added_on_the_page_answers_its_new_number_without_a_restart(
    live_app: AppProcess, tmp_path: Path
) -> None:
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    store = Store(settings.state)
    Accounts(store).set_user(USER, "admin", "*", PASSWORD)
    assert live_app.proc is not None
    pid = live_app.proc.pid

    asyncio.run(add_bank_on_the_page())  # this node serves it before the answer comes back
    taken = live_app.wait_for(lambda e: e.get("event") == "banks of the store taken", 5)
    assert taken["new"] == [TENANT] and LINE in taken["lines"]

    # Its greeting was rendered into the prompt cache before the number opened.
    stored = TenantStore(store).get(TENANT)
    assert stored is not None and stored.created_by == USER
    one = settings.model_copy(update={"tenants": {TENANT: stored_tenant(settings, stored)}})
    book = build_deployment(one, with_adapters=False).tenants[TENANT].prompts
    assert book.texts["greeting"] == GREETING
    assert book.cache.cached(GREETING) is not None

    result = asyncio.run(sipp_call(LINE, "#", 1200, tmp_path / "call", hangup_after_ms=300))
    assert result.returncode == 0, result.output
    started = live_app.wait_for(
        lambda e: e.get("event") == "call started" and e.get("line") == LINE, 5
    )
    assert started["tenant"] == TENANT
    heard = [
        str(e["prompt"])
        for e in live_app.entries()
        if e.get("event") == "prompt" and e.get("call_id") == started["call_id"]
    ]
    assert heard[:1] == ["greeting"], heard
    assert "apology" not in heard and "unknown_line" not in heard
    assert live_app.proc.pid == pid  # the same app process: no restart
    # The bank was taken (its prompts rendered) before its first call started.
    order = [(e.get("event"), e.get("call_id")) for e in live_app.entries()]
    assert order.index(("banks of the store taken", None)) < order.index(
        ("call started", started["call_id"])
    )
