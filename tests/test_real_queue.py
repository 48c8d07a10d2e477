"""The consultant queue on real calls (stasis_app.queue): callers from the
call simulator, consultants as Local channels into the dialplan's
``infolinia-test-agents`` (quick answers at once, slow after 2 s, long
stays 20 s, silent never answers). The scenarios are independent and run at
the same time, once per module; each test checks one of them.

Lines (tests/data/config/infolinia.yaml): 114 one slow agent, 115 silent
then quick, 116 nobody answers (max wait 6 s), 117 closed, 118 a long call
for a supervisor, 119 no agent logged in, 120 an agent whose line drops
during the whisper, then quick.
"""

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator, Transcript
from stasis_app.admin.web.accounts import Accounts
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.queue.callbacks import CallbackBook
from stasis_app.reports.records import CallRecords
from stasis_app.safeguards.audit import AuditEntry, AuditLog
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG, wait_registered
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari

pytestmark = pytest.mark.asterisk

ADMIN = "http://127.0.0.1:18090"
SUPERVISOR = "nadzorca"  # line 118's bank's configured supervisor (tenants.*.supervisors)
SUPERVISOR_PHONE = "Local/supervisor@infolinia-test-agents/n"
# What an eavesdropper would type instead of a configured name: a dial string to
# an address of theirs (loopback here: nothing may leave this machine), a Local
# channel into the dialplan, an endpoint. None may ring anything.
EAVESDROPPER = "127.0.0.9"
HOSTILE = [
    {"endpoint": f"PJSIP/softphone/sip:eve@{EAVESDROPPER}"},
    {"supervisor": f"PJSIP/softphone/sip:eve@{EAVESDROPPER}"},
    {"supervisor": SUPERVISOR_PHONE},
    {"supervisor": "Local/supervisor@from-internal"},
    {"supervisor": "eve"},
    {"supervisor": SUPERVISOR, "endpoint": f"PJSIP/softphone/sip:eve@{EAVESDROPPER}"},
]
WEB_PASSWORD = "nadzor-haslo-123"


@dataclass
class Seen:
    """What the scenarios observed besides the callers' transcripts."""

    bridges: list[dict[str, Any]] = field(default_factory=list)  # snapshots of ARI bridges
    supervision: dict[str, Any] = field(default_factory=dict)  # by mode
    metrics: str = ""
    cli_status: Any = None
    web: dict[str, Any] = field(default_factory=dict)  # the admin page's queues view
    hostile: list[tuple[int, str]] = field(default_factory=list)  # refused requests' answers
    prompts_token_status: int = 0  # a prompts-only token asking to supervise
    snoops_after_hostile: list[str] = field(default_factory=list)
    datagrams_to_eavesdropper: list[bytes] = field(default_factory=list)
    cli_hostile: tuple[int, str] = (0, "")  # `infolinia queue supervise --phone <dial string>`


@dataclass
class Run:
    transcripts: dict[str, Transcript]
    seen: Seen
    app: AppProcess
    log_from: int
    callbacks: CallbackBook
    audit: list[AuditEntry]

    def log(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.app.entries()[self.log_from :] if e["event"] == event]


def texts(transcript: Transcript) -> list[str]:
    return [step.text for step in transcript.steps if step.kind == "prompt"]


async def watch_bridges(ari: Ari, seen: Seen, stop: asyncio.Event) -> None:
    while not stop.is_set():
        for bridge in await ari.request("GET", "bridges"):
            if bridge.get("name", "").startswith(("queue ", "talk ")):
                seen.bridges.append(bridge)
        await asyncio.sleep(0.25)


async def cli(*args: str) -> Any:
    """``infolinia ARGS --json`` on the test config, its output parsed."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stasis_app", "--config", str(TEST_CONFIG), *args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


async def snoop_channels(ari: Ari) -> list[str]:
    channels = await ari.request("GET", "channels")
    return [f"{c['id']} {c['name']} {c['state']}" for c in channels if "Snoop/" in c["name"]]


async def eavesdropper_hears(seconds: float, during: Any) -> list[bytes]:
    """Datagrams that reach a SIP port on :data:`EAVESDROPPER` while ``during`` runs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((EAVESDROPPER, 5060))
    sock.setblocking(False)
    heard: list[bytes] = []
    try:
        await during
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(BlockingIOError):
                heard.append(sock.recv(4096))
            await asyncio.sleep(0.05)
    finally:
        sock.close()
    return heard


async def try_hostile(http: aiohttp.ClientSession, url: str, call: str, seen: Seen) -> None:
    """Every request naming something other than a configured supervisor is refused."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "stasis_app", "--config", str(TEST_CONFIG), "queue", "supervise",
        call, "--phone", f"PJSIP/softphone/sip:eve@{EAVESDROPPER}",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    seen.cli_hostile = (proc.returncode or 0, err.decode())
    for body in HOSTILE:
        for mode in ("listen", "barge"):
            async with http.post(url, json={"mode": mode, **body}) as response:
                seen.hostile.append((response.status, (await response.json())["error"]))


async def supervise(ari: Ari, token: str, prompts_token: str, seen: Seen) -> None:
    """When line 118's caller talks to the agent: listen in, then stop."""
    auth = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=auth) as http:
        call = None
        for _ in range(100):
            async with http.get(f"{ADMIN}/api/queues") as response:
                queues = (await response.json())["queues"]
            talking = [t for q in queues if q["tenant"] == "queue_supervised" for t in q["talking"]]
            if talking:
                call = talking[0]["call"]
                break
            await asyncio.sleep(0.2)
        assert call is not None, "line 118's caller never reached the agent"
        seen.cli_status = await cli("queue", "status", "--tenant", "queue_supervised", "--json")
        seen.web = await supervise_from_the_page(call)
        url = f"{ADMIN}/api/tenants/queue_supervised/calls/{call}/supervise"
        seen.datagrams_to_eavesdropper = await eavesdropper_hears(
            1.5, try_hostile(http, url, call, seen)
        )
        seen.snoops_after_hostile = await snoop_channels(ari)
        prompts_only = {"Authorization": f"Bearer {prompts_token}"}
        body = {"mode": "listen", "supervisor": SUPERVISOR}
        async with http.post(url, json=body, headers=prompts_only) as response:
            seen.prompts_token_status = response.status
        for mode in ("listen", "whisper", "barge"):
            async with http.post(url, json={"mode": mode, "supervisor": SUPERVISOR}) as response:
                assert response.status == 201, await response.text()
                session = await response.json()
            seen_now: dict[str, Any] = {"mode": session["mode"], "snoops_during": []}
            for _ in range(50):
                async with http.get(f"{ADMIN}/api/supervision") as response:
                    states = {s["session"]: s["state"] for s in (await response.json())["sessions"]}
                seen_now["snoops_during"] = await snoop_channels(ari)
                if states.get(session["session"]) == "joined" and seen_now["snoops_during"]:
                    break
                await asyncio.sleep(0.1)
            seen_now["state_seen"] = states.get(session["session"])
            delete = f"{ADMIN}/api/supervision/{session['session']}"
            async with http.delete(delete) as response:
                assert response.status == 200, await response.text()
            for _ in range(25):
                seen_now["snoops_after"] = await snoop_channels(ari)
                if not seen_now["snoops_after"]:
                    break
                await asyncio.sleep(0.2)
            seen.supervision[mode] = seen_now


def csrf_in(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def page_session(user: str) -> aiohttp.ClientSession:
    """Logged in to the admin page as ``user`` (a browser's cookie jar)."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{ADMIN}/admin/login") as form:
        token = csrf_in(await form.text())
    data = {"user": user, "password": WEB_PASSWORD, "csrf": token}
    async with http.post(f"{ADMIN}/admin/login", data=data) as answer:
        assert answer.status == 200, await answer.text()
    return http


async def supervise_from_the_page(call: str) -> dict[str, Any]:
    """The queues page of line 118's bank shows the call; its supervisor
    listens in from there and ends it; another bank's supervisor cannot."""
    seen: dict[str, Any] = {}
    async with await page_session("nadzorca-118") as http:
        async with http.get(f"{ADMIN}/admin/queues") as response:
            seen["page"] = html = await response.text()
        async with http.get(f"{ADMIN}/admin/queues/events") as events:
            while not (line := await events.content.readline()).startswith(b"data: "):
                assert line, "the event stream ended"
            seen["event"] = json.loads(line.removeprefix(b"data: "))
        form = {"csrf": csrf_in(html), "call": call, "mode": "listen", "phone": SUPERVISOR_PHONE}
        async with http.post(f"{ADMIN}/admin/queues/supervise", data=form) as response:
            seen["typed_phone_status"] = response.status  # a phone typed in: refused
        form = {"csrf": csrf_in(html), "call": call, "mode": "listen", "supervisor": SUPERVISOR}
        async with http.post(f"{ADMIN}/admin/queues/supervise", data=form) as response:
            seen["after_listen"] = html = await response.text()
        found = re.search(r'name="session" value="([^"]+)"', html)
        seen["session"] = found.group(1) if found else None
        form = {"csrf": csrf_in(html), "session": seen["session"] or ""}
        async with http.post(f"{ADMIN}/admin/queues/stop", data=form) as response:
            seen["after_stop"] = await response.text()
    async with await page_session("nadzorca-izbica") as http:
        async with http.get(f"{ADMIN}/admin/queues") as response:
            seen["other_bank_page"] = html = await response.text()
        form = {"csrf": csrf_in(html), "call": call, "mode": "barge", "supervisor": SUPERVISOR}
        async with http.post(f"{ADMIN}/admin/queues/supervise", data=form) as response:
            seen["other_bank_status"] = response.status
    return seen


async def scenarios(
    simulator: CallSimulator, ari: Ari, token: str, prompts_token: str
) -> tuple[dict[str, Transcript], Seen]:
    seen = Seen()
    stop = asyncio.Event()
    watcher = asyncio.create_task(watch_bridges(ari, seen, stop))

    async def later(delay: float, line: str, keys: list[str], **kwargs: Any) -> Transcript:
        await asyncio.sleep(delay)
        return await simulator.call(line, keys, **kwargs)

    calls = {
        "first": later(0, "114", [], timeout=40),
        "second": later(0.7, "114", [], timeout=40),
        "next_agent": later(0, "115", [], timeout=30),
        "callback": later(0, "116", ["1", "1"], timeout=30, caller_number="601234567"),
        "timed_out": later(0, "116", [], timeout=40),
        "closed": later(0, "117", ["1", "1"], timeout=30, caller_number="602345678"),
        "no_agents": later(0, "119", [], timeout=30),
        "supervised": later(0, "118", [], timeout=14),
        "dropped": later(0, "120", [], timeout=30),
    }
    names = list(calls)
    supervision = asyncio.create_task(supervise(ari, token, prompts_token, seen))
    results = await asyncio.gather(*calls.values())
    await supervision
    stop.set()
    await watcher
    async with aiohttp.ClientSession() as http, http.get(f"{ADMIN}/metrics") as response:
        seen.metrics = await response.text()
    return dict(zip(names, results, strict=True)), seen


@pytest.fixture(scope="module")
def run(app: AppProcess, ari: Ari, sandbox: Sandbox) -> Iterator[Run]:
    if app.proc is None or app.proc.poll() is not None:
        app.start()
    asyncio.run(wait_registered(ari, "infolinia"))
    settings = load_settings(TEST_CONFIG, env={"INFOLINIA_ARI_PASSWORD": sandbox.ari_password()})
    simulator = CallSimulator(
        settings.ari, build_deployment(settings, with_adapters=False).heard_texts()
    )
    store = Store(settings.state)
    token = store.create_token("test-queue", "*", ("queues", "supervise"))
    prompts_token = store.create_token("test-queue-prompts", "*")  # the default: prompts only
    accounts = Accounts(store)
    accounts.set_user("nadzorca-118", "supervisor", "queue_supervised", WEB_PASSWORD)
    accounts.set_user("nadzorca-izbica", "supervisor", "izbica", WEB_PASSWORD)
    log_from = len(app.entries())
    audit = AuditLog(store)
    audit_from = audit.head()[0]
    started = time.monotonic()
    try:
        transcripts, seen = asyncio.run(scenarios(simulator, ari, token, prompts_token))
    finally:
        store.revoke_token("test-queue")
        store.revoke_token("test-queue-prompts")
    print(f"queue scenarios took {time.monotonic() - started:.1f}s")
    entries = [e for e in audit.entries(limit=100_000) if e.seq > audit_from]
    yield Run(transcripts, seen, app, log_from, CallbackBook(store), entries)


def test_two_callers_one_agent_the_second_hears_place_two_then_one(run: Run) -> None:
    second = texts(run.transcripts["second"])
    places = [t for t in second if t in ("drugą", "pierwszą")]
    assert places[0] == "drugą", second
    assert "pierwszą" in places, second
    assert places.index("pierwszą") > 0
    # Both waited in the queue's holding bridge at the same time, with music.
    holding = [b for b in run.seen.bridges if b["name"] == "queue queue_pair/main"]
    assert any(len(b["channels"]) == 2 for b in holding), holding
    assert all(b["bridge_type"] == "holding" for b in holding)


def test_the_agent_hears_the_whisper_then_is_bridged_with_the_caller(run: Run) -> None:
    whispered = [e for e in run.log("agent whispered") if e["queue"] == "queue_pair/main"]
    connected = [e for e in run.log("caller connected to agent") if e["queue"] == "queue_pair/main"]
    assert len(whispered) == 2 and len(connected) == 2, (whispered, connected)
    assert {e["leg"] for e in whispered} == {e["leg"] for e in connected}
    entries = run.app.entries()
    for leg in {e["leg"] for e in connected}:
        order = [e["event"] for e in entries if e.get("leg") == leg]
        assert order.index("agent whispered") < order.index("caller connected to agent")
    # Caller and agent shared a mixing bridge; then the agent hung up and so did the line.
    talks = [b for b in run.seen.bridges if b["name"] == "talk queue_pair/main"]
    assert any(b["bridge_type"] == "mixing" and len(b["channels"]) == 2 for b in talks), talks
    for name in ("first", "second"):
        assert run.transcripts[name].outcome == "the line hung up", run.transcripts[name]


def test_an_agent_who_does_not_answer_is_passed_over_for_the_next(run: Run) -> None:
    missed = [e for e in run.log("agent did not answer") if e["queue"] == "queue_next/main"]
    assert [e["agent"] for e in missed] == ["Local/silent@infolinia-test-agents/n"], missed
    connected = [e for e in run.log("caller connected to agent") if e["queue"] == "queue_next/main"]
    assert [e["agent"] for e in connected] == ["Local/quick@infolinia-test-agents/n"]
    assert run.transcripts["next_agent"].outcome == "the line hung up"


def test_an_agent_whose_line_drops_before_the_join_sends_the_caller_to_the_next(
    run: Run,
) -> None:
    dropped = [
        e
        for e in run.log("agent leg ended before the caller was joined; the caller waits on")
        if e["queue"] == "queue_dropped/main"
    ]
    assert [e["agent"] for e in dropped] == ["Local/dropper@infolinia-test-agents/n"], dropped
    connected = [
        e for e in run.log("caller connected to agent") if e["queue"] == "queue_dropped/main"
    ]
    assert [e["agent"] for e in connected] == ["Local/quick@infolinia-test-agents/n"]
    assert run.transcripts["dropped"].outcome == "the line hung up"


def test_a_waiting_caller_leaves_a_callback_request_with_their_number(run: Run) -> None:
    heard = texts(run.transcripts["callback"])
    assert "Oddzwonimy." in heard, heard
    assert heard[heard.index("Numer") + 1 : heard.index("Numer") + 10] == list(
        ["sześć", "zero", "jeden", "dwa", "trzy", "cztery", "pięć", "sześć", "siedem"]
    )
    requests = [c for c in run.callbacks.list("queue_waiting") if c.number == "601234567"]
    assert len(requests) == 1, requests
    assert requests[0].queue == "main" and requests[0].state == "open"


def test_past_the_maximum_wait_the_caller_is_offered_a_callback_then_a_goodbye(run: Run) -> None:
    heard = texts(run.transcripts["timed_out"])
    assert "Wciąż zajęci." in heard, heard
    after = heard[heard.index("Wciąż zajęci.") :]
    assert after[:2] == ["Wciąż zajęci.", "Oddzwonienie, 1."], after
    assert after[-1] == "Do widzenia.", after
    assert run.transcripts["timed_out"].outcome == "the line hung up"


def test_outside_working_hours_the_caller_is_told_at_once_and_may_leave_a_callback(
    run: Run,
) -> None:
    heard = texts(run.transcripts["closed"])
    assert heard[:3] == ["Dzień dobry.", "Poza godzinami.", "Oddzwonienie, 1."], heard
    assert "Oddzwonimy." in heard
    assert [c.number for c in run.callbacks.list("queue_closed")] == ["602345678"]


def test_with_no_agent_logged_in_the_caller_is_told_and_the_flow_goes_on(run: Run) -> None:
    heard = texts(run.transcripts["no_agents"])
    assert "Nikt nie odbierze." in heard, heard
    assert heard[heard.index("Nikt nie odbierze.") + 1] == "Oddzwonienie, 1."
    assert heard[-1] == "Do widzenia.", heard  # the flow's goodbye after "failed"


def test_a_supervisor_listens_whispers_and_barges_through_snoops_that_go_when_stopped(
    run: Run,
) -> None:
    for mode in ("listen", "whisper", "barge"):
        seen = run.seen.supervision[mode]
        assert seen["mode"] == mode and seen["state_seen"] == "joined", seen
        assert seen["snoops_during"], f"no snoop channel while supervising ({mode})"
        assert seen["snoops_after"] == [], seen
    # three through the API, one from the admin page
    assert len(run.log("supervision started")) == len(run.log("supervision ended")) == 4
    # What `infolinia queue status` showed meanwhile: the call with its agent.
    (queue,) = run.seen.cli_status
    assert queue["tenant"] == "queue_supervised" and queue["waiting"] == []
    assert [t["agent"] for t in queue["talking"]] == ["Local/long@infolinia-test-agents/n"]


def test_only_a_configured_supervisor_is_rung_never_a_phone_typed_into_a_request(
    run: Run,
) -> None:
    seen = run.seen
    assert len(seen.hostile) == 2 * len(HOSTILE)
    assert {status for status, _ in seen.hostile} == {400}, seen.hostile
    assert all("supervisor" in error for _, error in seen.hostile), seen.hostile
    assert seen.snoops_after_hostile == []  # nothing was snooped
    assert seen.datagrams_to_eavesdropper == []  # and nothing was sent to their address
    assert seen.prompts_token_status == 403  # a token made to edit prompts cannot supervise
    code, said = seen.cli_hostile  # `infolinia queue supervise CALL --phone <dial string>`
    assert code == 1 and "is not a supervisor of queue_supervised" in said, said
    refused = [e for e in run.audit if (e.action, e.result) == ("supervision", "refused")]
    # Each refusal names who asked: the API's token, the command line's, the page's user.
    assert len(refused) == 2 * len(HOSTILE) + 2
    who = {json.loads(e.detail)["who"] for e in refused}
    assert {"token:test-queue", "web:nadzorca-118"} < who, who
    assert any(name.startswith("token:cli-") for name in who), who


def test_starting_and_stopping_a_supervision_is_audited_with_who_did_it(run: Run) -> None:
    entries = [(e.result, json.loads(e.detail)) for e in run.audit if e.action == "supervision"]
    started = [d for result, d in entries if result == "started"]
    ended = [d for result, d in entries if result == "ended"]
    assert sorted(d["who"] for d in started) == ["token:test-queue"] * 3 + ["web:nadzorca-118"]
    assert all(d["supervisor"] == SUPERVISOR and d["phone"] == SUPERVISOR_PHONE for d in started)
    assert sorted(d["ended_by"] for d in ended) == ["token:test-queue"] * 3 + ["web:nadzorca-118"]
    assert {d["session"] for d in started} == {d["session"] for d in ended}


def test_the_queues_page_shows_the_call_and_its_supervisor_listens_in_from_there(
    run: Run,
) -> None:
    web = run.seen.web
    assert "queue_supervised / main" in web["page"], web["page"]
    assert "Local/long@infolinia-test-agents/n: rozmawia" in web["page"]
    assert "Rozmawiają: 1" in web["page"]
    # The same part of the page, as the page's event stream sends it.
    assert "Rozmawiają: 1" in web["event"] and "<html" not in web["event"]
    assert "Dzwonimy do nadzorca na Local/supervisor" in web["after_listen"], web["after_listen"]
    assert web["typed_phone_status"] == 400
    assert web["session"] and web["session"] not in web["after_stop"]
    # A supervisor of another bank sees no such queue and cannot join the call.
    assert "queue_supervised" not in web["other_bank_page"]
    assert web["other_bank_status"] == 404
    screenshot(web["page"], "queues.png")


def screenshot(html: str, name: str) -> None:
    """Only when asked (ADMIN_SCREENSHOTS=docs/admin): the page as it was
    served during the call, drawn by Debian's chromium, for the docs."""
    folder = os.environ.get("ADMIN_SCREENSHOTS")
    if not folder:
        return
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(html.replace('<meta http-equiv="refresh"', "<meta"), encoding="utf-8")
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--screenshot={Path(folder).resolve() / name}", "--window-size=1100,760",
             page.as_uri()],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip


def test_callback_requests_are_listed_oldest_place_first_and_marked_done(run: Run) -> None:
    listed = asyncio.run(cli("queue", "callbacks", "--tenant", "queue_closed", "--json"))
    assert [c["number"] for c in listed] == ["602345678"]
    done = subprocess.run(
        [sys.executable, "-m", "stasis_app", "--config", str(TEST_CONFIG), "queue", "done",
         str(listed[0]["id"]), "--who", "ewa"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert asyncio.run(cli("queue", "callbacks", "--tenant", "queue_closed", "--json")) == []


def test_every_exit_of_the_queues_is_counted(run: Run) -> None:
    def count(tenant: str, outcome: str) -> float:
        prefix = (
            f'infolinia_queue_exits_total{{outcome="{outcome}",queue="main",tenant="{tenant}"}} '
        )
        line = next((ln for ln in run.seen.metrics.splitlines() if ln.startswith(prefix)), None)
        return float(line.split()[-1]) if line else 0.0

    assert count("queue_pair", "answered") >= 2
    assert count("queue_next", "answered") >= 1
    assert count("queue_waiting", "callback") >= 1
    assert count("queue_waiting", "timed_out") >= 1
    assert count("queue_closed", "callback") >= 1
    assert count("queue_nobody", "no_agents") >= 1
    assert count("queue_supervised", "answered") >= 1


def test_each_queue_call_leaves_a_call_record_with_its_queue_outcome(run: Run) -> None:
    """The call records (stasis_app/reports) say what the queue did with each caller."""
    records = CallRecords(Store(load_settings(TEST_CONFIG, resolve_secrets=False, env={}).state))

    def visits(tenant: str) -> list[tuple[str, str]]:
        found = records.records(tenant, 0, time.time() + 60)
        return sorted((v.outcome, v.agent) for r in found for v in r.queues)

    quick = "Local/quick@infolinia-test-agents/n"
    assert visits("queue_next") == [("answered", quick)]
    assert visits("queue_waiting") == [("callback", ""), ("timed_out", "")]
    assert visits("queue_closed") == [("callback", "")]  # closed: a callback left at once
    assert visits("queue_nobody") == [("no_agents", "")]
    assert visits("queue_dropped") == [("answered", quick)]
    assert visits("queue_supervised") == [("answered", "Local/long@infolinia-test-agents/n")]
    waits = [v.wait for r in records.records("queue_waiting", 0, time.time()) for v in r.queues]
    assert all(wait is not None and wait >= 0 for wait in waits)
