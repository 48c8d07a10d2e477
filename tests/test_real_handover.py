"""Issue 21's hand-over, recording notice, consultant recordings and survey
on real calls through the sandbox, all placed at once, to the test bank
``handover`` (tests/data/config/infolinia.yaml: lines 186 and 187, the
bank flow, a queue whose consultant answers at once, talks 4 s with a tone
and hangs up).

* Line 187 is the bank's 828 828 828 hand-over line: the caller goes
  straight to card blocking (customer number, then the date of birth asked
  first), never the main menu, and reaches the card list.
* On the plain line 186, a SIP call carrying the transferring exchange's
  header, and a call from the sector's number, are handed over too.
* Every call hears the recording notice; a caller who presses 8 hears the
  full information, then the greeting.
* A caller presses 0, the consultant answers, talks, hangs up; the caller
  rates the call 4. The conversation was recorded from the moment the
  consultant answered (a WAV of the consultant's tone, shorter than the
  call, none of the menu's prompts in it), listed and played by the bank's
  auditor on the admin page in a real browser (chromium, Playwright: the
  player loads it) and downloaded (another bank's auditor is refused), each
  access in the audit trail; the purge (``infolinia recordings purge``) deletes it
  after the bank's retention (a moment, in the test config). The score is
  in the call's record and in the bank's report.

The callers that react to what they hear are ARI callers (Local channels,
keys sent when a prompt starts); the header needs a SIP INVITE (SIPp).
"""

import asyncio
import contextlib
import io
import json
import math
import os
import re
import struct
import time
import uuid
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.sync_api import sync_playwright

from stasis_app.admin.web.accounts import Accounts
from stasis_app.cli import main as cli_main
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.queue.recordings import Recording, RecordingBook
from stasis_app.reports.figures import figures
from stasis_app.reports.records import CallRecord, CallRecords
from stasis_app.safeguards.audit import AuditEntry, AuditLog
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG, connected
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari, Witness
from tests.support.sipp import SCENARIOS, sipp_call

pytestmark = pytest.mark.asterisk

TENANT = "handover"
PLAIN, HANDOVER_LINE = "186", "187"
SECTOR_NUMBER = "48828828828"  # tenants.handover.handover.callers
HEADER = "X-Transfer-Source: 828828828"
CUSTOMER, BORN = "31415926", "19081947"  # the demo bank's customer with a card
ADMIN = "http://127.0.0.1:18090"
PASSWORD = "audytor-haslo-123"
AUDITOR, STRANGER = "test-handover-auditor", "test-handover-stranger"
CHROMIUM = "/usr/bin/chromium"
TONE_HZ = 440  # the test consultant's "voice" (docker/asterisk/etc/extensions.conf)


@dataclass
class Heard:
    """What an ARI caller heard (prompt keys, in order) and how it ended."""

    keys: list[str]
    ended_by_line: bool
    seconds: float


class Caller:
    """Callers placed through ARI: each a Local channel into
    ``infolinia-lines`` held by a Stasis app of the test's own, which
    presses keys when a given prompt starts and hangs up after another."""

    def __init__(self, ari: Ari, uris: dict[str, str]) -> None:
        self.ari = ari
        self.key_of = {uri: key for key, uri in uris.items()}

    async def call(
        self,
        line: str,
        *,
        number: str = "48600000186",
        press: dict[str, str] | None = None,
        until: str = "",
        timeout: float = 25.0,
    ) -> Heard:
        """Call ``line`` from ``number``; when prompt K starts, press
        ``press[K]``; hang up once prompt ``until`` started (plus a moment)."""
        press = dict(press or {})
        run = uuid.uuid4().hex[:10]
        app, me, line_id = f"handover-caller-{run}", f"hc-{run}", f"hc-{run}-line"
        heard: list[str] = []
        by_line = False
        started = time.monotonic()
        async with aiohttp.ClientSession(headers=self.ari.headers) as http:
            base = self.ari.url + "ari/"
            ws = await http.ws_connect(base + "events", params={"app": app})
            try:
                async with http.post(
                    base + "channels",
                    params={
                        "endpoint": f"Local/{line}@infolinia-lines",
                        "app": app,
                        "channelId": me,
                        "otherChannelId": line_id,
                        "callerId": f"caller <{number}>",
                    },
                ) as answer:
                    assert answer.status < 300, await answer.text()
                async with http.post(
                    base + f"applications/{app}/subscription",
                    params={"eventSource": f"channel:{line_id}"},
                ) as answer:
                    assert answer.status < 300, await answer.text()
                deadline = time.monotonic() + timeout
                hang_at: float | None = None
                while (now := time.monotonic()) < deadline and (hang_at is None or now < hang_at):
                    wait = min(0.2, deadline - now)
                    try:
                        message = await ws.receive(timeout=wait)
                    except TimeoutError:
                        continue
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    event = json.loads(message.data)
                    kind = event.get("type")
                    if kind in ("PlaybackStarted", "PlaybackContinuing"):
                        key = self.key_of.get(event["playback"]["media_uri"], "?")
                        if not heard or heard[-1] != key:
                            heard.append(key)
                        if key in press:
                            keys = press.pop(key)
                            async with http.post(
                                base + f"channels/{me}/dtmf",
                                params={"dtmf": keys, "between": "100", "duration": "100"},
                            ):
                                pass
                        if key == until and hang_at is None:
                            hang_at = time.monotonic() + 0.3
                    elif kind in ("StasisEnd", "ChannelDestroyed", "ChannelHangupRequest") and (
                        (event.get("channel") or {}).get("id") in (me, line_id)
                    ):
                        by_line = True
                        break
            finally:
                with contextlib.suppress(aiohttp.ClientError):
                    await http.delete(base + f"channels/{me}")
                await ws.close()
        return Heard(heard, by_line, round(time.monotonic() - started, 1))


def header_scenario(workdir: Path) -> Path:
    """The SIPp caller of tests/sipp/caller.xml, its INVITE carrying the
    header the sector's exchange sets on a transferred call."""
    workdir.mkdir(parents=True, exist_ok=True)
    text = (SCENARIOS / "caller.xml").read_text()
    marked = text.replace("Subject: infolinia test\n", f"Subject: infolinia test\n      {HEADER}\n")
    assert marked != text
    path = workdir / "caller_with_header.xml"
    path.write_text(marked)
    return path


def tone_share(samples: list[int], rate: int) -> float:
    """The share of the signal's energy at the consultant's tone (Goertzel)."""
    coefficient = 2 * math.cos(2 * math.pi * TONE_HZ / rate)
    at_tone = total = 0.0
    block = rate // 50  # 20 ms
    for start in range(0, len(samples) - block, block):
        s1 = s2 = 0.0
        part = samples[start : start + block]
        for x in part:
            s1, s2 = x + coefficient * s1 - s2, s1
        power = s1 * s1 + s2 * s2 - coefficient * s1 * s2
        at_tone += 2 * power / block
        total += sum(x * x for x in part)
    return at_tone / total if total else 0.0


@dataclass
class Run:
    heard: dict[str, Heard]
    header_call: list[str]  # prompt keys the SIPp caller with the header heard
    app: AppProcess
    log_from: int
    recording: Recording
    wav: bytes
    web: dict[str, Any]
    purged_output: tuple[int, bool, bool]  # exit code, row gone, file gone
    records: list[CallRecord]
    audit: list[AuditEntry]
    survey_figures: dict[str, Any]

    def log(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.app.entries()[self.log_from :] if e["event"] == event]


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def page_session(user: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{ADMIN}/admin/login") as form:
        token = csrf_in(await form.text())
    data = {"user": user, "password": PASSWORD, "csrf": token}
    async with http.post(f"{ADMIN}/admin/login", data=data) as answer:
        assert answer.status == 200, await answer.text()
    return http


def in_the_browser(name: str) -> dict[str, Any]:
    """The bank's auditor, in a real browser (Debian's chromium, Playwright):
    *Nagrania rozmów* lists the recording and its player plays it (the
    browser loads the WAV and knows its length)."""
    seen: dict[str, Any] = {}
    if not Path(CHROMIUM).exists():
        return seen  # the test below says so
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1000, "height": 600}).new_page()
            page.goto(f"{ADMIN}/admin/login")
            page.get_by_label("Użytkownik").fill(AUDITOR)
            page.get_by_label("Hasło").fill(PASSWORD)
            page.get_by_role("button", name="Zaloguj").click()
            page.wait_for_load_state()
            page.get_by_role("link", name="Nagrania rozmów").click()
            page.wait_for_load_state()
            seen["url"] = page.url
            row = page.locator(f'tr[data-name="{name}"]')
            seen["rows"] = row.count()
            seen["duration"] = row.locator("audio").evaluate(
                """audio => new Promise((done, failed) => {
                    audio.addEventListener("loadedmetadata", () => done(audio.duration));
                    audio.addEventListener("error", () => failed(audio.error && audio.error.code));
                    audio.load();
                })"""
            )
            shots = os.environ.get("ADMIN_SCREENSHOTS")
            if shots:
                page.screenshot(path=Path(shots) / "recordings.png")
        finally:
            browser.close()
    return seen


async def admin_routes(name: str) -> dict[str, Any]:
    """The bank's auditor downloads the recording; another bank's auditor
    asks for the list and the file."""
    seen: dict[str, Any] = {}
    page = f"{ADMIN}/admin/recordings/{TENANT}"
    async with await page_session(AUDITOR) as http:
        async with http.get(f"{page}/{name}.wav") as answer:
            seen["play"] = (answer.status, answer.headers.copy(), await answer.read())
        async with http.get(f"{page}/{name}.wav", params={"download": "1"}) as answer:
            seen["download"] = (answer.status, answer.headers.copy(), await answer.read())
    async with await page_session(STRANGER) as http:
        async with http.get(page) as answer:
            seen["stranger_list"] = answer.status
        async with http.get(f"{page}/{name}.wav") as answer:
            seen["stranger_play"] = answer.status
    return seen


@pytest.fixture(scope="module")
def run(app: AppProcess, ari: Ari, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    connected(app, ari)
    workdir = tmp_path_factory.mktemp("handover")
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    uris = build_deployment(settings, with_adapters=False).tenants[TENANT].prompts.media_uris()
    store = Store(settings.state)
    accounts = Accounts(store)
    accounts.set_user(AUDITOR, "auditor", TENANT, PASSWORD)
    accounts.set_user(STRANGER, "auditor", "izbica", PASSWORD)
    audit = AuditLog(store)
    audit_from = audit.head()[0]
    log_from = len(app.entries())
    began = time.time()
    caller = Caller(ari, uris)

    async def header_call() -> list[str]:
        async with Witness(ari) as witness:
            result = await sipp_call(
                PLAIN,
                "",
                wait_ms=200,
                workdir=workdir / "header",
                scenario_name=str(header_scenario(workdir / "header")),
                caller="48600000187",
                hangup_after_ms=6000,
            )
            assert result.returncode == 0, result.output
            created = await witness.wait_for(
                lambda e: (
                    e["type"] == "ChannelCreated"
                    and e["channel"]["caller"]["number"] == "48600000187"
                    and e["channel"]["name"].startswith("PJSIP/")
                ),
                timeout=1,
            )
            events = witness.on_channel(created["channel"]["id"])
        key_of = {uri: key for key, uri in uris.items()}
        keys: list[str] = []
        for event in events:
            if event["type"] in ("PlaybackStarted", "PlaybackContinuing"):
                key = key_of.get(event["playback"]["media_uri"], "?")
                if not keys or keys[-1] != key:
                    keys.append(key)
        return keys

    async def scenario() -> tuple[dict[str, Heard], list[str]]:
        calls = {
            "line": caller.call(
                HANDOVER_LINE,
                press={"ask_customer_number": CUSTOMER, "ask_birth_date_or_star": BORN},
                until="choose_card",
            ),
            "sector_number": caller.call(PLAIN, number=SECTOR_NUMBER, until="handover_greeting"),
            "notice": caller.call(PLAIN, press={"recording_notice": "8"}, until="main_menu"),
            "consultant": caller.call(
                PLAIN, press={"main_menu": "0", "survey_question": "4"}, until="survey_thanks"
            ),
        }
        header = asyncio.ensure_future(header_call())
        results = await asyncio.gather(*calls.values())
        return dict(zip(calls, results, strict=True)), await header

    try:
        started = time.monotonic()
        heard, header = asyncio.run(scenario())
        book = RecordingBook(store)
        found: list[Recording] = []
        for _ in range(50):  # kept in the background once the conversation ended
            found = book.listed(TENANT)
            if found and found[0].started >= began:
                break
            time.sleep(0.1)
        assert found and found[0].started >= began, found
        recording = found[0]
        wav = Path(recording.path).read_bytes()
        browser = in_the_browser(recording.name)
        web = {**asyncio.run(admin_routes(recording.name)), "browser": browser}
        # The bank keeps recordings a moment (keep_days): past it, the purge.
        time.sleep(max(0.0, recording.started + 86400 * 0.00002 - time.time() + 0.1))
        code = cli_main(["--config", str(TEST_CONFIG), "recordings", "purge", TENANT])
        purged = (
            code,
            book.find(TENANT, recording.name) is None,
            not Path(recording.path).exists(),
        )
        records: list[CallRecord] = []
        for _ in range(50):
            records = CallRecords(store).records(TENANT, began, time.time() + 1)
            if any(r.survey_score is not None for r in records):
                break
            time.sleep(0.1)
        report = figures(store, TENANT, began, time.time() + 1)
        entries = [e for e in audit.entries(limit=100_000) if e.seq > audit_from]
        print(f"the scenarios took {time.monotonic() - started:.1f}s")
        yield Run(
            heard,
            header,
            app,
            log_from,
            recording,
            wav,
            web,
            purged,
            records,
            entries,
            dict(report.survey),
        )
    finally:
        accounts.remove_user(AUDITOR)
        accounts.remove_user(STRANGER)


def test_the_handover_line_goes_straight_to_card_blocking_date_of_birth_first(run: Run) -> None:
    heard = run.heard["line"].keys
    assert "main_menu" not in heard and "greeting" not in heard, heard
    assert heard.index("handover_greeting") < heard.index("ask_customer_number"), heard
    assert heard.index("ask_customer_number") < heard.index("ask_birth_date_or_star"), heard
    # The date of birth identified the customer: their cards, to choose one to block.
    assert heard[-1] == "choose_card" and "ask_telekod_or_star" not in heard, heard
    assert "login_refused" not in heard, heard
    # The date of birth typed is in no log line of the app.
    logged = [json.dumps(e) for e in run.app.entries()[run.log_from :]]
    assert logged and not [line for line in logged if BORN in line]


def test_a_sip_header_or_the_sectors_number_hands_over_on_the_plain_line(run: Run) -> None:
    for heard in (run.header_call, run.heard["sector_number"].keys):
        assert "handover_greeting" in heard and "main_menu" not in heard, heard
        assert "greeting" not in heard, heard
    # Without either, the same line is the bank's ordinary line.
    assert "handover_greeting" not in run.heard["notice"].keys


def test_every_call_hears_the_notice_and_8_plays_the_full_information(run: Run) -> None:
    notice = run.heard["notice"].keys
    assert notice[0] == "recording_notice", notice
    full = notice.index("recording_notice_full")
    assert full < notice.index("greeting") < notice.index("main_menu"), notice
    # A caller who presses nothing hears the notice only, then the greeting.
    plain = run.heard["consultant"].keys
    assert plain[0] == "recording_notice" and "recording_notice_full" not in plain, plain
    assert run.header_call[0] == "recording_notice", run.header_call


def test_the_consultant_part_is_recorded_from_the_answer_and_nothing_before(run: Run) -> None:
    recording, wav = run.recording, run.wav
    [connected] = [e for e in run.log("caller connected to agent") if e["queue"] == "handover/main"]
    answered = datetime.fromisoformat(connected["ts"].replace("Z", "+00:00")).timestamp()
    assert recording.started >= answered - 0.01, (recording.started, answered)
    assert recording.agent == "Local/quick@infolinia-test-agents/n"
    assert len(wav) == recording.bytes > 44 and wav[:4] == b"RIFF"
    with wave.open(io.BytesIO(wav)) as audio:
        rate, frames = audio.getframerate(), audio.readframes(audio.getnframes())
    samples = list(struct.unpack(f"<{len(frames) // 2}h", frames))
    seconds = len(samples) / rate
    # The consultant talks 4 s; the call before the answer (notice, greeting,
    # menu, transfer) is not in it.
    call = run.heard["consultant"].seconds
    assert 2.0 < seconds < 5.0 < call, (seconds, call)
    # What is in it is the consultant's tone, not the menu's speech.
    assert tone_share(samples, rate) > 0.5


def test_the_banks_auditor_lists_and_plays_it_and_every_access_is_audited(run: Run) -> None:
    browser = run.web["browser"]
    assert browser, f"no {CHROMIUM}: the page was not tried in a browser"
    # The auditor's menu leads to the bank's list, the row's player loads the WAV.
    assert browser["url"].endswith(f"/admin/recordings/{TENANT}") and browser["rows"] == 1
    assert abs(browser["duration"] - run.recording.seconds) < 1.0, browser
    status, headers, body = run.web["play"]
    assert status == 200 and headers["Content-Type"] == "audio/wav" and body == run.wav
    status, headers, body = run.web["download"]
    assert status == 200 and headers["Content-Disposition"].startswith("attachment") and body
    assert run.web["stranger_list"] == 403 and run.web["stranger_play"] == 403
    accessed = [
        (e.action, e.reference, json.loads(e.detail)["user"])
        for e in run.audit
        if e.tenant == TENANT and e.action.startswith("recording")
    ]
    name = run.recording.name
    # The list, the browser's plays (one request or a few), the plain GET, the download.
    assert accessed[0] == ("recordings_list", "", AUDITOR), accessed
    plays = accessed[1:-1]
    assert len(plays) >= 2 and set(plays) == {("recording_play", name, AUDITOR)}, accessed
    assert accessed[-1] == ("recording_download", name, AUDITOR), accessed


def test_the_purge_deletes_it_after_the_banks_retention(run: Run) -> None:
    assert run.purged_output == (0, True, True)


def test_the_survey_answer_is_in_the_call_record_and_the_report(run: Run) -> None:
    heard = run.heard["consultant"].keys
    assert heard.index("survey_question") < heard.index("survey_thanks"), heard
    scored = [r for r in run.records if r.survey_score is not None]
    assert [r.survey_score for r in scored] == [4], run.records
    assert scored[0].consultant
    assert run.survey_figures["answered"] == 1 and run.survey_figures["score"] == {"4": 1}
