"""A new bank from the admin page answers a real call (issue 20): a
deployment admin logs in to the running app's page in a real browser
(Debian's chromium, driven by Playwright) and adds a bank on number 157 with
the page's form (a demo core and its settings from the adapter's schema, the
default bank flow, its own greeting); without a restart, the next SIPp call
to 157 is that bank's and hears its greeting, rendered before the number
opened. Screenshots of the form and the bank's page go to
``$ADMIN_SCREENSHOTS`` when set (``ADMIN_SCREENSHOTS=docs/admin``)."""

import asyncio
import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

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
CHROMIUM = "/usr/bin/chromium"
LINE, TENANT = "157", "nowy_bank"
USER, PASSWORD = "test-deployment-admin", "haslo-wdrozenia-123"
GREETING = "Nowy bank z formularza."


def add_bank_in_the_browser(shots: Path | None) -> float:
    """Log in as a deployment admin, fill in the page's form and save; the
    seconds from opening the form to the bank's page saying it answers."""
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1000, "height": 1400}).new_page()
            page.goto(f"{BASE}/login")
            page.get_by_label("Użytkownik").fill(USER)
            page.get_by_label("Hasło").fill(PASSWORD)
            page.get_by_role("button", name="Zaloguj").click()
            page.wait_for_load_state()
            started = time.monotonic()
            page.goto(f"{BASE}/tenants")
            page.get_by_role("link", name="Dodaj bank").click()
            page.get_by_label("Identyfikator banku").fill(TENANT)
            page.get_by_label("Nazwa banku").fill("Bank z formularza")
            page.get_by_label("Numery wybierane przez dzwoniących").fill(LINE)
            page.get_by_label("Adapter systemu bankowego").select_option("demo")
            # Only the chosen adapter's settings are shown (the page's own script).
            assert not page.get_by_label("Adres usługi banku").is_visible()
            demo = page.locator('fieldset[data-adapter="demo"]')
            demo.get_by_label("Plik bazy demo").fill("/tmp/infolinia-tests/demo-bank.sqlite")
            demo.get_by_label("Bank w danych demo").fill("izbica")
            assert "domyślny przebieg banku" in page.get_by_label("Szablon").inner_text()
            page.get_by_label("Powitanie").fill(GREETING)
            if shots is not None:
                page.screenshot(path=shots / "tenant-new.png", full_page=True)
            page.get_by_role("button", name="Zapisz bank").click()
            page.wait_for_load_state()
            state = page.locator("#tenant-state").inner_text()
            took = time.monotonic() - started
            assert state == f"Odbiera na numerach {LINE}.", page.content()
            assert f"dodany na stronie: {USER}" in page.locator("#tenant-origin").inner_text()
            if shots is not None:
                page.screenshot(path=shots / "tenant.png")
            return took
        finally:
            browser.close()


def test_a_bank_added_on_the_page_answers_its_new_number_without_a_restart(
    live_app: AppProcess, tmp_path: Path
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (./dev install adds it)")
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    store = Store(settings.state)
    Accounts(store).set_user(USER, "admin", "*", PASSWORD)
    assert live_app.proc is not None
    pid = live_app.proc.pid
    wanted = os.environ.get("ADMIN_SCREENSHOTS")
    shots = Path(wanted) if wanted else None

    # This node serves the bank before the page answers; the page says so.
    took = add_bank_in_the_browser(shots)
    print(f"form opened to bank answering: {took:.2f} s")
    taken = live_app.wait_for(
        lambda e: e.get("event") == "banks of the store taken" and TENANT in e.get("new", []), 5
    )  # its own: other tests add banks too (tests/test_real_new_bank_journey.py)
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
    order = live_app.entries()
    assert order.index(taken) < order.index(started)
