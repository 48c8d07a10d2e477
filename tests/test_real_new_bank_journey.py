"""A new bank in minutes, end to end in Debian's chromium against the real
running app and Asterisk (issue 20, its first "Done when"): a deployment
admin logs in, adds a bank on the page (name, number 175, the demo adapter
with its settings through the form, working hours, a consultant, the bank
flow template, a greeting), opens its *Scenariusz*, adds menu option 3 with
a new prompt (a draft), test-calls the draft from the page (*Zadzwoń
testowo*) and presses 3 on the page's keypad: the transcript shows the new
prompt and the page received sound; hangs up and publishes. Then a real
SIPp caller to 175 presses 3 and the app plays the new prompt.

The test measures the time on the page from login to publish, and to the
SIPp caller's prompt, prints it and writes it to ``journey.json`` in its
temporary folder. The bank stays in the run's store (fresh each run): its
own id and number, which no other test uses.
The screenshots in docs/admin.md's walk-through are the other page tests'
(tenant-new.png, tenant.png, scenario-panel.png, test-call.png): this one
takes none.
"""

import asyncio
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from stasis_app.admin.web.accounts import Accounts
from stasis_app.config import load_settings
from stasis_app.flow.model import parse_flow_text
from stasis_app.flow.versions import FlowVersions
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess
from tests.support.sipp import sipp_call
from tests.test_real_admin_page import BASE, PASSWORD, logged_in
from tests.test_real_test_call import browser as browser  # a fixture: fake microphone

pytestmark = pytest.mark.asterisk

TENANT, LINE, ADMIN = "bank_w_minuty", "175", "test-journey-admin"
GREETING = "Bank w minuty."
NEW_NAME = "Informacje o banku"
NEW_TEXT = "Informacje o banku. Zapraszamy od poniedziałku do piątku."
AGENT = "Local/quick@infolinia-test-agents/n"
KEYS_AFTER_MS = 2600  # "Bank w minuty." and "Menu." of the test prompts are played by then


@pytest.fixture
def deployment_admin(live_app: AppProcess) -> Iterator[Store]:
    """An admin of every bank ('*'), as a fresh deployment's operator makes one."""
    store = Store(load_settings(TEST_CONFIG, resolve_secrets=False, env={}).state)
    accounts = Accounts(store)
    accounts.set_user(ADMIN, "admin", "*", PASSWORD)
    yield store
    accounts.remove_user(ADMIN)


def test_a_new_bank_is_added_changed_test_called_and_published_on_the_page(
    live_app: AppProcess,
    deployment_admin: Store,
    browser: Browser,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    page = logged_in(browser, ADMIN)
    page.set_viewport_size({"width": 1400, "height": 900})
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        # The banks page: "Dodaj bank", and the form.
        page.goto(f"{BASE}/admin/tenants")
        page.get_by_role("link", name="Dodaj bank").click()
        form = page.locator("#tenant-form")
        form.locator('input[name="id"]').fill(TENANT)
        form.locator('input[name="name"]').fill("Bank Spółdzielczy w Minutach")
        form.locator('input[name="lines"]').fill(LINE)
        form.locator("#adapter").select_option("demo")
        demo = form.locator('fieldset[data-adapter="demo"]')
        expect(demo).to_be_visible()  # only the chosen adapter's settings are shown
        demo.locator('input[name="adapter.demo.database"]').fill(
            "/tmp/infolinia-tests/demo-bank.sqlite"
        )
        demo.locator('input[name="adapter.demo.tenant"]').fill("izbica")
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            form.locator(f'input[name="day.{day}"]').check()
        form.locator('input[name="open"]').fill("00:00")
        form.locator('input[name="close"]').fill("23:59")
        form.locator('textarea[name="agents"]').fill(AGENT)
        form.locator('select[name="flow"]').select_option(index=0)  # the bank flow, first
        assert "bank.yaml" in form.locator('select[name="flow"]').input_value()
        form.locator('textarea[name="greeting"]').fill(GREETING)
        form.get_by_role("button", name="Zapisz bank").click()
        page.wait_for_url(f"**/admin/tenants/{TENANT}")
        expect(page.locator("body")).to_contain_text(f"dodany na stronie: {ADMIN}")
        added = time.monotonic() - started
        # Served at once (before the page's answer): its number is open.
        taken = live_app.wait_for(
            lambda e: e.get("event") == "banks of the store taken" and TENANT in e.get("new", []),
            5,
        )
        assert LINE in taken["lines"]

        # Its Scenariusz: the main menu, option 3 with a new prompt (a draft).
        page.goto(f"{BASE}/admin/scenario/{TENANT}")
        expect(page.locator("#diagram svg")).to_be_visible()
        page.locator("#node-main_menu a").first.click()
        expect(page.locator("#panel h2")).to_have_text("Menu główne")
        page.locator("#option-key").select_option("3")
        page.locator("#option-name").fill(NEW_NAME)
        page.locator("#option-text").fill(NEW_TEXT)
        page.locator("#add-option-button").click()
        expect(page.locator("#msg")).to_contain_text("Zapisano szkic")
        expect(page.locator("#problem")).to_have_count(0)
        flows = FlowVersions(deployment_admin)
        draft = flows.newest_draft(TENANT)
        live_before = flows.published(TENANT)  # none: the bank's file template serves
        assert draft is not None
        assert live_before is None or draft.number > live_before.number
        panel = page.locator("#test-call")
        assert panel.locator("select[name=version]").input_value() == str(draft.number)

        # Zadzwoń testowo on the draft: the greeting, the menu, key 3 on the keypad.
        transcript = panel.locator(".transcript")
        panel.get_by_role("button", name="Zadzwoń testowo").click()
        page.wait_for_function(
            "document.querySelector('#test-call .state').dataset.state === 'main_menu'",
            timeout=10_000,
        )
        panel.get_by_role("button", name="klawisz 3").click()
        transcript.get_by_text(NEW_TEXT).wait_for(timeout=10_000)
        assert "Zły wybór." not in transcript.inner_text()
        peak = float(panel.get_attribute("data-peak") or 0)
        assert peak > 0.05, peak  # the page received the call's sound, not silence
        panel.get_by_role("button", name="Rozłącz").click()
        page.wait_for_function(
            "document.querySelector('#test-call').dataset.status === 'ended'", timeout=5_000
        )
        test_call = live_app.wait_for(
            lambda e: e.get("event") == "test call" and e.get("tenant") == TENANT, 1
        )
        assert (test_call["user"], test_call["version"]) == (ADMIN, draft.number)
        assert flows.published(TENANT) == live_before  # real callers: not the draft

        # Publish: the draft goes live.
        page.locator("#publish").click()
        expect(page.locator("#msg")).to_contain_text("Opublikowano")
        published_after = time.monotonic() - started
        live = flows.published(TENANT)
        assert live is not None and live.number == draft.number
        states = parse_flow_text(live.text, "published")["states"]
        option = states[states["main_menu"]["on"]["3"]]
        new_prompt = option["params"]["prompt"][0]
        live_app.wait_for(
            lambda e: (
                e.get("event") == "flow version live"
                and e.get("tenant") == TENANT
                and e.get("version") == live.number
            ),
            5,
        )
    except Exception:
        print("page console:", *console[-20:], sep="\n  ")
        raise
    finally:
        page.context.close()

    # A real caller to the new number presses 3 after the menu: the new prompt.
    seen = {str(e.get("call_id")) for e in live_app.entries() if e.get("event") == "call started"}
    caller = sipp_call(LINE, "3", KEYS_AFTER_MS, tmp_path / "caller", hangup_after_ms=1500)
    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API holds this thread's loop
        result = thread.submit(asyncio.run, caller).result()
    assert result.returncode == 0, result.output
    call = live_app.wait_for(
        lambda e: (
            e.get("event") == "call started"
            and e.get("line") == LINE
            and str(e.get("call_id")) not in seen
        ),
        5,
    )
    assert call["tenant"] == TENANT
    heard = [
        str(e["prompt"])
        for e in live_app.entries()
        if e.get("event") == "prompt" and e.get("call_id") == call["call_id"]
    ]
    assert heard[:2] == ["greeting", "main_menu"], heard
    assert new_prompt in heard[2:], heard
    caller_heard = time.monotonic() - started

    times = {
        "bank_added_s": round(added, 1),
        "login_to_publish_s": round(published_after, 1),
        "login_to_caller_heard_s": round(caller_heard, 1),
    }
    (tmp_path / "journey.json").write_text(json.dumps(times, indent=2) + "\n")
    print("journey:", json.dumps(times))
