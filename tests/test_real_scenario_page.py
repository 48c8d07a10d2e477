"""The *Scenariusz* page in Debian's chromium against the real running app
(issue 20): a bank's admin opens the scenario, adds menu option 3 with a
new prompt, saves a draft, sees the checker's error next to the field of a
bad edit, fixes it, publishes, and a real SIPp caller who presses 3 hears
the new prompt. The bank is the test config's ``scenariusz`` (line 160, the
shipped bank flow): its live version is put back at the end.

Screenshots (scenario.png, scenario-panel.png) go to ``$ADMIN_SCREENSHOTS``
when set (``ADMIN_SCREENSHOTS=docs/admin``), as for the other page tests.
"""

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from stasis_app.admin.web.accounts import Accounts
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.flow.model import parse_flow_text
from stasis_app.flow.versions import FlowVersions
from stasis_app.store import Store
from tests.conftest import TEST_AUDIT_KEY, TEST_CONFIG
from tests.support.app_process import AppProcess
from tests.support.sipp import sipp_call
from tests.test_real_admin_page import BASE, PASSWORD, logged_in, snap
from tests.test_real_admin_page import browser as browser  # a fixture
from tests.test_real_admin_page import shots as shots  # a fixture

pytestmark = pytest.mark.asterisk

TENANT, LINE, ADMIN = "scenariusz", "160", "test-scenario-admin"
SCENARIO = f"{BASE}/admin/scenario/{TENANT}"
NEW_TEXT = "Bank działa od stu lat."
KEYS_AFTER_MS = 2200  # "Scenariusz." and "Menu." of the test prompts are playing by then


@pytest.fixture
def flows(live_app: AppProcess, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlowVersions]:
    """The bank's versions; its live version as it was, again, after the test."""
    monkeypatch.setenv("INFOLINIA_AUDIT_KEY", TEST_AUDIT_KEY)  # the revert is audited
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    store = Store(settings.state)
    flows = FlowVersions(store)
    before = flows.published(TENANT)
    assert before is not None, "the app imports the bank's file at start"
    accounts = Accounts(store)
    accounts.set_user(ADMIN, "admin", TENANT, PASSWORD)
    yield flows
    accounts.remove_user(ADMIN)
    live = flows.published(TENANT)
    if live is not None and live.hash != before.hash:
        check = build_deployment(settings, with_adapters=False).check_flow
        # The page's new prompt is in the store, not in this process's book.
        reverted = flows.revert(TENANT, before.number, "test-cleanup", check)
        live_app.wait_for(
            lambda e: e.get("event") == "flow version live" and e.get("version") == reverted.number,
            5,
        )


def test_an_admin_adds_option_3_publishes_and_a_caller_hears_it(
    live_app: AppProcess,
    flows: FlowVersions,
    browser: Browser,
    shots: Path | None,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    page = logged_in(browser, ADMIN)
    page.set_viewport_size({"width": 1400, "height": 900})
    try:
        page.goto(SCENARIO)
        expect(page.locator("#diagram svg")).to_be_visible()
        expect(page.locator("#test-call")).to_have_count(1)
        # Click "Menu główne" on the diagram: its side panel opens.
        page.locator("#node-main_menu a").first.click()
        expect(page.locator("#panel h2")).to_have_text("Menu główne")
        snap(page, shots, "scenario.png")

        # Option 3 with a new prompt: one form, one click.
        page.locator("#option-key").select_option("3")
        page.locator("#option-name").fill("Informacje o banku")
        page.locator("#option-text").fill(NEW_TEXT)
        page.locator("#add-option-button").click()
        expect(page.locator("#msg")).to_contain_text("Zapisano szkic")
        expect(page.locator("#problem")).to_have_count(0)
        option = page.locator('#transitions tr[data-event="3"] select')
        expect(option).to_have_value("informacje_o_banku")
        snap(page, shots, "scenario-panel.png", full_page=True)

        # A bad edit: the number asked has at most 32 digits. The error is
        # next to its field, in Polish, and the draft cannot be published.
        page.locator("#node-block_number a").first.click()
        page.locator("#p-max_digits").fill("40")
        page.locator("#save-state").click()
        expect(page.locator("#error-max_digits")).to_have_text("najwyżej 32")
        expect(page.locator("#publish")).to_have_count(0)
        page.locator("#p-max_digits").fill("8")
        page.locator("#save-state").click()
        expect(page.locator("#problem")).to_have_count(0)

        page.locator("#publish").click()
        expect(page.locator("#msg")).to_contain_text("Opublikowano")
        on_page = time.monotonic() - started
        published = flows.published(TENANT)
        assert published is not None
        states = parse_flow_text(published.text, "published")["states"]
        option = states[states["main_menu"]["on"]["3"]]
        assert option["verb"] == "say" and option["on"] == {"done": "main_menu"}
        new_prompt = option["params"]["prompt"][0]  # informacje_o_banku (a _2 if one was left)
    finally:
        page.context.close()

    # A real caller presses 3 after the menu and hears the new prompt.
    seen = {str(e.get("call_id")) for e in live_app.entries() if e.get("event") == "call started"}
    call_3 = sipp_call(LINE, "3", KEYS_AFTER_MS, tmp_path / "caller", hangup_after_ms=1500)
    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API holds this thread's loop
        result = thread.submit(asyncio.run, call_3).result()
    assert result.returncode == 0, result.output
    call = live_app.wait_for(
        lambda e: (
            e.get("event") == "call started"
            and e.get("line") == LINE
            and e.get("call_id") not in seen
        ),
        5,
    )
    heard = [
        str(e["prompt"])
        for e in live_app.entries()
        if e.get("event") == "prompt" and e.get("call_id") == call["call_id"]
    ]
    assert new_prompt in heard, heard
    assert heard.index(new_prompt) > heard.index("main_menu")
    print(f"on the page: {on_page:.1f} s")
