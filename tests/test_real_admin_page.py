"""The admin page in a real browser (Debian's chromium, driven by Playwright)
against the real running app: a bank's admin changes Cieszyn's greeting
from the page and the next real call to 101 greets with it; a supervisor
watches a real call come and go; an auditor cannot edit; a change without
its CSRF token is refused.

Screenshots of the main pages go to ``$ADMIN_SCREENSHOTS`` when set
(``ADMIN_SCREENSHOTS=docs/admin``), else to the test's temporary folder.
"""

import asyncio
import io
import os
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator
from stasis_app.admin.web.accounts import Accounts
from stasis_app.config import load_settings
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess
from tests.test_real_prompt_edits import first_heard

pytestmark = pytest.mark.asterisk

BASE = "http://127.0.0.1:18090"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "haslo-do-testow-123"
GREETING = f"{BASE}/admin/prompts/cieszyn/greeting"
CLI = [sys.executable, "-m", "stasis_app", "--config", str(TEST_CONFIG)]
USERS = {
    "test-web-admin": "admin",
    "test-web-supervisor": "supervisor",
    "test-web-auditor": "auditor",
}


@pytest.fixture
def accounts(live_app: AppProcess) -> Iterator[Accounts]:
    accounts = Accounts(Store(load_settings(TEST_CONFIG, resolve_secrets=False, env={}).state))
    for name, role in USERS.items():
        accounts.set_user(name, role, "cieszyn", PASSWORD)
    yield accounts
    for name in USERS:
        accounts.remove_user(name)


@pytest.fixture
def browser(live_app: AppProcess) -> Iterator[Browser]:
    # Playwright's sync API runs an event loop in this thread: start it after
    # live_app's asyncio.run, and place calls from another thread (heard_first).
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (./dev install adds it)")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def shots() -> Path | None:
    """Where screenshots go: only when asked (ADMIN_SCREENSHOTS=docs/admin), as
    documentation; a headless browser on a busy machine sometimes cannot
    capture one, which says nothing about the page."""
    wanted = os.environ.get("ADMIN_SCREENSHOTS")
    if not wanted:
        return None
    folder = Path(wanted)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def snap(page: Page, shots: Path | None, name: str, **options: Any) -> None:
    if shots is not None:
        page.screenshot(path=shots / name, **options)


def logged_in(browser: Browser, user: str) -> Page:
    page = browser.new_context(viewport={"width": 1000, "height": 700}).new_page()
    page.goto(f"{BASE}/admin/")
    assert page.url.endswith("/admin/login")
    page.get_by_label("Użytkownik").fill(user)
    page.get_by_label("Hasło").fill(PASSWORD)
    page.get_by_role("button", name="Zaloguj").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()
    return page


def heard_first(line: str, sandbox: Sandbox) -> str:
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(first_heard, line, sandbox).result()


def greeting_now() -> str:
    texts = Store(load_settings(TEST_CONFIG, resolve_secrets=False, env={}).state).prompt_texts(
        "cieszyn"
    )
    return texts.get("greeting", "Cieszyn.")


def restore_greeting(app: AppProcess) -> None:
    """Whatever happened in the page: the greeting other tests expect."""
    if greeting_now() == "Cieszyn.":
        return

    def applied() -> int:
        return app.count(lambda e: e.get("event") == "prompt edits applied")

    before = applied()
    subprocess.run(
        [*CLI, "prompts", "set", "cieszyn", "greeting", "Cieszyn.", "--who", "test-cleanup"],
        check=True,
        capture_output=True,
    )
    deadline = time.monotonic() + 10
    while applied() == before:
        assert time.monotonic() < deadline, "the app did not apply the restored greeting"
        time.sleep(0.05)


def test_an_admin_changes_the_greeting_and_the_next_call_hears_it(
    live_app: AppProcess,
    sandbox: Sandbox,
    accounts: Accounts,
    browser: Browser,
    shots: Path | None,
    tmp_path: Path,
) -> None:
    new = "Dzień dobry, tu Bank Spółdzielczy w Cieszynie."
    page = logged_in(browser, "test-web-admin")
    try:
        assert page.url.endswith("/admin/prompts/cieszyn")
        page.get_by_placeholder("Szukaj w nazwach i treści").fill("Cieszyn")
        page.get_by_role("button", name="Szukaj").click()
        snap(page, shots, "prompts.png")
        page.get_by_role("link", name="greeting", exact=True).click()
        assert page.locator("#published").inner_text() == "Cieszyn."
        page.locator("textarea[name=text]").fill(new)
        page.get_by_role("button", name="Podgląd: odsłuchaj i porównaj").click()
        assert page.locator("#diff del").inner_text() == "Cieszyn."
        # The preview is the 8 kHz WAV of the new text, fetched with the page's session.
        src = page.locator("#preview").get_attribute("src")
        assert src is not None
        audio = page.request.get(BASE + src)
        assert audio.status == 200 and audio.headers["content-type"] == "audio/wav"
        with wave.open(io.BytesIO(audio.body())) as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
            assert wav.getnframes() > 8000  # over a second of speech
        published = page.request.get(GREETING + "/preview.wav")
        assert published.body() != audio.body()  # not the old greeting's audio
        snap(page, shots, "prompt-edit.png", full_page=True)
        page.get_by_role("button", name="Opublikuj", exact=True).click()
        assert "Opublikowano" in page.locator("#done").inner_text()
        assert heard_first("101", sandbox) == new  # a real call through Asterisk
        live_app.wait_for(lambda e: e.get("event") == "prompt changed", 5)
        # One click on the history's revert publishes the old text again.
        page.get_by_role("button", name="Przywróć poprzednią").first.click()
        assert page.locator("#published").inner_text() == "Cieszyn."
        assert heard_first("101", sandbox) == "Cieszyn."
        # A voice talent's recording (espeak-ng at 22 kHz here) instead of synthesis.
        said = "Tu lektor Banku Spółdzielczego w Cieszynie."
        talent = tmp_path / "lektor.wav"
        subprocess.run(["espeak-ng", "-v", "pl", "-w", str(talent), said], check=True)
        page.set_input_files("input[name=audio]", str(talent))
        page.get_by_label("Treść nagrania (transkrypcja)").fill(said)
        page.get_by_role("button", name="Wgraj i opublikuj").click()
        assert "Opublikowano" in page.locator("#done").inner_text()
        assert "nagranie lektora" in page.locator("#published").inner_text()
        assert heard_first("101", sandbox) == said  # the recording's file, by its transcript
        page.get_by_role("button", name="Przywróć poprzednią").first.click()
        assert page.locator("#published").inner_text() == "Cieszyn."
        page.goto(f"{BASE}/admin/flow/cieszyn")
        assert page.locator("svg").count() >= 1
        snap(page, shots, "flow.png")
        page.locator("#state-greeting a", has_text="greeting").first.click()
        assert page.url == GREETING
    finally:
        page.context.close()
        restore_greeting(live_app)


def test_a_post_without_the_csrf_token_is_refused(
    live_app: AppProcess, accounts: Accounts, browser: Browser
) -> None:
    page = logged_in(browser, "test-web-admin")
    try:
        form: dict[str, str | float | bool] = {
            "text": "Podrzucone powitanie.",
            "expected": "Cieszyn.",
        }
        answer = page.request.post(GREETING + "/publish", form=form)
        assert answer.status == 403 and "CSRF" in answer.text()
        assert greeting_now() == "Cieszyn."
    finally:
        page.context.close()
        restore_greeting(live_app)


def test_an_auditor_reads_the_audit_trail_but_cannot_edit_prompts(
    live_app: AppProcess, accounts: Accounts, browser: Browser, shots: Path
) -> None:
    page = logged_in(browser, "test-web-auditor")
    try:
        assert page.url.endswith("/admin/audit")
        assert "Łańcuch spójny" in page.locator("#verify").inner_text()
        snap(page, shots, "audit.png")
        answer = page.goto(GREETING)
        assert answer is not None and answer.status == 403
    finally:
        page.context.close()


def test_a_supervisor_sees_a_call_appear_and_disappear(
    live_app: AppProcess,
    sandbox: Sandbox,
    accounts: Accounts,
    browser: Browser,
    shots: Path | None,
) -> None:
    settings = load_settings(TEST_CONFIG, env={"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()})
    simulator = CallSimulator(settings.ari, {})
    page = logged_in(browser, "test-web-supervisor")
    call = threading.Thread(
        target=lambda: asyncio.run(
            simulator.call("101", [], quiet_gap=0.3, timeout=60, hangup_after=4)
        )
    )
    try:
        assert page.url.endswith("/admin/live")
        assert page.locator("#count").inner_text() == "0"
        call.start()
        row = page.locator("#calls tr")
        row.first.wait_for(timeout=20_000)
        assert row.first.locator("td").first.inner_text() == "cieszyn"
        snap(page, shots, "live.png")
        row.first.wait_for(state="detached", timeout=30_000)
        assert page.locator("#count").inner_text() == "0"
    finally:
        call.join(timeout=60)
        page.context.close()
