"""*Zadzwoń testowo* in a real browser (Debian's chromium, fake microphone)
against the real app and Asterisk: a bank's admin saves a draft that gives
the main menu a new key (3), test-calls the draft from the Scenariusz page over WebRTC,
presses it on the page's keypad and sees the transcript and the highlighted
state follow the call; the page receives the call's audio (not silence).
Meanwhile a real caller on the bank's number presses it and hears the live
version's "wrong key"; the token never reaches the app's log.

The screenshot of the panel goes to ``$ADMIN_SCREENSHOTS`` (docs/admin) when set.
"""

import asyncio
import ipaddress
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator
from stasis_app.admin.web.accounts import Accounts
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.flow.versions import FlowVersions
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari

pytestmark = pytest.mark.asterisk

BASE = "http://127.0.0.1:18090"
REFUSED = "test call refused: an unknown, used or late token, or too many"  # the app's log
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "haslo-do-testow-123"
USER, TENANT, LINE = "test-call-admin", "staszow", "102"
FLOW = Path(__file__).parent.parent / "config" / "flows" / "bank.yaml"


def draft_with_a_new_key(text: str) -> tuple[str, str]:
    """The bank flow with a main-menu key it does not use yet, which says
    "Brak operacji." (live callers pressing it hear "Zły wybór."): the key, the YAML."""
    menu = text.index("\n  main_menu:\n")
    on = text.index("on: {", menu) + len("on: {")
    used = text[on : text.index("}", on)]
    key = next(k for k in "3478" if f'"{k}"' not in used)
    top = [line for line in text.splitlines() if line[:1].isalpha()]
    assert top[-1] == "states:", top  # the new state goes at the end of the file
    return key, (
        f'{text[:on]}"{key}": draft_info, {text[on:].rstrip()}\n'
        "  draft_info:\n    verb: say\n    params: {prompt: [no_operations]}\n"
        "    on: {done: main_menu}\n"
    )


KEY, DRAFT = draft_with_a_new_key(FLOW.read_text())


def store() -> Store:
    return Store(load_settings(TEST_CONFIG, resolve_secrets=False, env={}).state)


@pytest.fixture
def admin_user(live_app: AppProcess) -> Iterator[str]:
    accounts = Accounts(store())
    accounts.set_user(USER, "admin", TENANT, PASSWORD)
    yield USER
    accounts.remove_user(USER)


@pytest.fixture
def browser(live_app: AppProcess, sandbox: Sandbox) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (./dev install adds it)")
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--use-fake-device-for-media-stream",  # a test tone as the microphone
                "--use-fake-ui-for-media-stream",  # the microphone allowed without asking
                "--autoplay-policy=no-user-gesture-required",
                # One UDP socket on the any-address, not one per interface: it
                # sends to Asterisk's 127.0.0.1 from 127.0.0.1, and the page
                # offers it at 127.0.0.1 (test-call.js), so the media stays on lo.
                "--webrtc-ip-handling-policy=default_public_and_private_interfaces",
            ],
        )
        yield chromium
        chromium.close()


def a_caller_presses_the_new_key(sandbox: Sandbox) -> list[str]:
    """A real caller on the bank's number presses the draft's new key in the
    main menu: what they hear."""
    settings = load_settings(TEST_CONFIG, env={"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()})
    simulator = CallSimulator(
        settings.ari, build_deployment(settings, with_adapters=False).heard_texts()
    )
    transcript = asyncio.run(
        simulator.call(LINE, [KEY], quiet_gap=0.3, timeout=30, hangup_after=0.3)
    )
    return [step.text for step in transcript.steps if step.kind == "prompt"]


def dial_again(ari: Ari, extension: str) -> None:
    """Dial a test call's extension once more, as the browser's endpoint would."""
    asyncio.run(
        ari.request(
            "POST",
            "channels",
            params={
                "endpoint": f"Local/{extension}@infolinia-test-calls",
                "context": "infolinia-test-caller",
                "extension": "s",
                "priority": "1",
            },
            json={"variables": {"CALLER_WAIT": "5", "CALLER_KEYS": KEY, "CALLER_HOLD": "1"}},
        )
    )


# Every peer connection the page makes, kept for the test to read its stats.
KEEP_CONNECTIONS = """(() => {
  const Original = window.RTCPeerConnection;
  window.testConnections = [];
  window.RTCPeerConnection = function (...args) {
    const connection = new Original(...args);
    window.testConnections.push(connection);
    return connection;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
})();"""

# The browser's own stats on the call's selected ICE candidate pair: where its
# audio goes and comes from, and how much crossed that pair.
MEDIA_PATH = """async () => {
  const stats = await window.testConnections.at(-1).getStats();
  const reports = [...stats.values()];
  const transport = reports.find((r) => r.type === "transport" && r.selectedCandidatePairId);
  const pair = stats.get(transport.selectedCandidatePairId);
  const end = (id) => { const c = stats.get(id); return [c.address || c.ip, c.port]; };
  return { local: end(pair.localCandidateId), remote: end(pair.remoteCandidateId),
           sent: pair.bytesSent, received: pair.bytesReceived,
           pairs: reports.filter((r) => r.type === "candidate-pair").length };
}"""


def on_loopback(address: str) -> bool:
    return ipaddress.ip_address(address) in ipaddress.ip_network("127.0.0.0/8")


def asterisk_media_destination(ari: Ari) -> str:
    """Where Asterisk sends the test call's RTP: "address:port"."""

    async def ask() -> str:
        channels = await ari.request("GET", "channels")
        (channel,) = [c for c in channels if c["name"].startswith("PJSIP/webrtc-test")]
        variable = {"variable": "CHANNEL(rtp,dest)"}
        found = await ari.request("GET", f"channels/{channel['id']}/variable", params=variable)
        return str(found["value"])

    return asyncio.run(ask())


def logged_in(browser: Browser) -> Page:
    page = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
    page.add_init_script(KEEP_CONNECTIONS)
    page.goto(f"{BASE}/admin/login")
    page.get_by_label("Użytkownik").fill(USER)
    page.get_by_label("Hasło").fill(PASSWORD)
    page.get_by_role("button", name="Zaloguj").click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()
    return page


def panel_data(page: Page) -> str:
    return str(page.evaluate("() => JSON.stringify(document.getElementById('test-call').dataset)"))


def highlighted(page: Page) -> list[str]:
    """The states highlighted on the diagram (their node ids)."""
    found = page.evaluate(
        "() => [...document.querySelectorAll('#diagram g.node.current')].map((g) => g.id)"
    )
    return [str(name) for name in found]


def test_an_admin_test_calls_a_draft_from_the_page(
    live_app: AppProcess, sandbox: Sandbox, ari: Ari, admin_user: str, browser: Browser
) -> None:
    page = logged_in(browser)
    real_caller = ThreadPoolExecutor(1)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    try:
        page.goto(f"{BASE}/admin/scenario/{TENANT}")
        csrf = page.locator("#test-call-panel").get_attribute("data-csrf")
        assert csrf
        saved = page.request.post(
            f"{BASE}/admin/api/flows/{TENANT}/versions",
            data=json.dumps({"text": DRAFT, "comment": f"klawisz {KEY}"}),
            headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
        )
        assert saved.status == 201, saved.text()
        draft = saved.json()
        assert draft["draft"] and draft["problem"] is None, draft
        live_before = FlowVersions(store()).published(TENANT)
        page.reload()  # the page shows the draft now, and calls it
        panel = page.locator("#test-call")
        assert panel.locator("select[name=version]").input_value() == str(draft["number"])
        page.evaluate(
            """() => { window.statesSeen = [];
              document.addEventListener('infolinia:test-call-state',
                (e) => window.statesSeen.push(e.detail.state)); }"""
        )
        transcript = panel.locator(".transcript")
        with page.expect_response(lambda r: "/admin/api/test-calls/" in r.url) as issued:
            panel.get_by_role("button", name="Zadzwoń testowo").click()
        extension = issued.value.json()["extension"]
        # Meanwhile a real caller on the bank's number gets the live version.
        heard_live = real_caller.submit(a_caller_presses_the_new_key, sandbox)
        # The greeting, then the main menu: the state on the page follows.
        transcript.get_by_text("Menu.").wait_for(timeout=10_000)
        assert panel.locator(".state").get_attribute("data-state") == "main_menu"
        assert panel.locator(".state").inner_text() == "Menu główne"  # the admin's words
        assert highlighted(page) == ["node-main_menu"]
        panel.get_by_role("button", name=f"klawisz {KEY}").click()
        # The draft's new option (live callers would hear "Zły wybór.").
        transcript.get_by_text("Brak operacji.").wait_for(timeout=10_000)
        said = transcript.locator('li.heard[data-state="draft_info"]').inner_text()
        assert said.endswith("Brak operacji."), said
        assert "Zły wybór." not in transcript.inner_text()
        page.wait_for_function(
            "document.querySelector('#test-call .state').dataset.state === 'main_menu'",
            timeout=10_000,
        )
        assert f"klawisz: {KEY}" in transcript.locator("li.key").inner_text()
        assert highlighted(page) == ["node-main_menu"]
        seen = page.evaluate("window.statesSeen")
        assert "draft_info" in seen and seen.index("draft_info") > seen.index("main_menu"), seen
        # The call's audio reached the page: the analyser on the remote stream heard it.
        peak = float(panel.get_attribute("data-peak") or 0)
        assert peak > 0.05, peak
        # The media path, in the browser's own stats: both ends on loopback
        # (Asterisk's offered candidates are 127.0.0.1, written by the sandbox),
        # and the audio crossed it both ways.
        media = page.evaluate(MEDIA_PATH)
        (local, _), (remote, remote_port) = media["local"], media["remote"]
        assert on_loopback(local) and on_loopback(remote), media  # the browser's two ends
        assert 10000 <= remote_port <= 10999, media  # Asterisk's RTP ports (rtp.conf)
        assert media["sent"] > 1000 and media["received"] > 1000, media
        # Where Asterisk sends: its ICE-selected address of the browser.
        browser_end = real_caller.submit(asterisk_media_destination, ari).result(timeout=10)
        assert on_loopback(browser_end.rsplit(":", 1)[0]), (browser_end, media)
        print("media path:", media, "asterisk sends to", browser_end)
        shots = os.environ.get("ADMIN_SCREENSHOTS")
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=Path(shots) / "test-call.png")
        panel.get_by_role("button", name="Rozłącz").click()
        page.wait_for_function(
            "document.querySelector('#test-call').dataset.status === 'ended'", timeout=5_000
        )
        page.wait_for_function(
            "document.querySelectorAll('#diagram g.node.current').length === 0", timeout=5_000
        )
        # Real callers kept the live version; the app ran the draft for this call.
        assert FlowVersions(store()).published(TENANT) == live_before
        live_heard = heard_live.result(timeout=30)
        assert "Zły wybór." in live_heard and "Brak operacji." not in live_heard, live_heard
        started = live_app.wait_for(lambda e: e.get("event") == "test call", 1)
        assert (started["user"], started["version"]) == (USER, draft["number"])
        live_app.wait_for(
            lambda e: (e.get("event"), e.get("state")) == ("call ended", "main_menu"), 5
        )
        assert extension.removeprefix("test") not in json.dumps(live_app.entries())  # no token

        # The token was for one call: dialled again, it is hung up unanswered
        # (no prompt: a stranger on the WebRTC endpoint learns nothing).
        def refused(e: dict[str, object]) -> bool:
            return e.get("event") == REFUSED

        before, seen = live_app.count(refused), len(live_app.entries())
        real_caller.submit(dial_again, ari, extension).result(timeout=10)
        deadline = time.monotonic() + 5
        while live_app.count(refused) < before + 1:
            assert time.monotonic() < deadline, live_app.entries()[-5:]
            time.sleep(0.05)
        time.sleep(0.3)  # what the app would log next, had it answered
        after = live_app.entries()[seen:]
        assert not [e for e in after if e.get("event") in ("call started", "call ended")], after
    except Exception:
        print("page console:", *console[-20:], sep="\n  ")
        print("panel:", page.locator("#test-call").inner_text().replace("\n", " "))
        print("media:", panel_data(page))
        raise
    finally:
        page.context.close()
        real_caller.shutdown()
