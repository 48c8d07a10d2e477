"""The reports page (*Raporty*) in a real browser (Debian's chromium, driven
by Playwright) over the records of real calls (issue 23): the six calls of
tests/test_real_records.py through the sandbox to line 122 (a card
blocked, a balance heard, callers hanging up at the main menu and at the
telekod, one answered by the queue's agent, one abandoning the queue after
a waiting-time announcement). The bank's admin sees exactly the counts
``infolinia report`` prints (the queue's service level, the abandoned
call, the funnels of the block and balance paths), the flow's diagram
marks the five states where those callers hung up, the CSV is the CLI's
CSV byte for byte, and another bank's admin is refused. And a month of a
busy bank (records written straight into the app's store: a day's calls
rising and falling over the week) reads as the CLI counts it, a bar per
day, and beside the month before (an older flow version, where more
callers hung up at the menu) as the CLI compares them.

The screenshots goes to ``$ADMIN_SCREENSHOTS`` when set (as in
tests/test_real_admin_page.py: ``ADMIN_SCREENSHOTS=docs/admin``).
"""

import json
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser

import tests.support.real_records as real_records
import tests.test_real_admin_page as admin_page
from stasis_app.admin.web.accounts import Accounts
from stasis_app.admin.web.reports import shown_compared
from stasis_app.config import load_settings
from stasis_app.reports.records import (
    COMPLETED,
    HUNG_UP,
    TRANSFERRED,
    CallRecord,
    CallRecords,
    insert,
)
from stasis_app.reports.trail import QueueVisit
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess

pytestmark = pytest.mark.asterisk

# The browser fixtures of the admin page's tests, used here as they are
# there; the four real calls' records come from the run's ``placed``
# (tests/support/real_records.py), shared with tests/test_real_records.py.
browser = admin_page.browser
shots = admin_page.shots

TENANT = real_records.TENANT
BUSY = "staszow"  # the month's bank
USERS = {"test-reports-admin": TENANT, "test-reports-other": "cieszyn", "test-reports-busy": BUSY}


@pytest.fixture
def accounts(live_app: AppProcess) -> Iterator[Accounts]:
    accounts = Accounts(Store(load_settings(TEST_CONFIG, resolve_secrets=False, env={}).state))
    for name, tenant in USERS.items():
        accounts.set_user(name, "admin", tenant, admin_page.PASSWORD)
    yield accounts
    for name in USERS:
        accounts.remove_user(name)


def cli_report(tenant: str, first: str, last: str, *output: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "stasis_app", "--config", str(TEST_CONFIG), "report", tenant,
         "--from", first, "--to", last, *output],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def period_query(report: dict[str, str]) -> str:
    """The page's period for the days the CLI counted (the calls may straddle midnight)."""
    if report["from"] == report["to"]:
        return f"period=day&day={report['from']}"
    return f"period=custom&from={report['from']}&to={report['to']}"


def test_the_banks_admin_sees_the_real_calls_as_the_cli_counts_them(
    placed: real_records.Placed,
    live_app: AppProcess,
    accounts: Accounts,
    browser: Browser,
    shots: Path | None,
) -> None:
    report = placed.report
    url = f"{admin_page.BASE}/admin/reports/{TENANT}?{period_query(report)}"
    page = admin_page.logged_in(browser, "test-reports-admin")
    try:
        page.get_by_role("link", name="Raporty").click()
        assert page.url.endswith(f"/admin/reports/{TENANT}")  # today, its only bank
        page.goto(url)

        def shown(figure: str, item: str) -> str:
            return page.locator(f'td[data-figure="{figure}"][data-item="{item}"]').inner_text()

        assert shown("summary", "calls") == str(report["calls"]) == "6"
        assert shown("summary", "self_service") == str(report["self_service"]) == "2"
        assert shown("summary", "self_service_rate") == "33%"
        assert shown("summary", "transfers") == str(report["transfers"]) == "1"
        assert shown("summary", "transfer_rate") == "17%"
        for kind, outcomes in report["operations"].items():
            for outcome, n in outcomes.items():
                assert shown("operation", f"{kind} {outcome}") == str(n)
        for item in ("offered", "answered", "abandoned", "callback", "timed_out"):
            assert shown("queue", item) == str(report["queue"][item])
        assert (shown("queue", "answered"), shown("queue", "abandoned")) == ("1", "1")
        assert shown("queue", "service_level") == "50.0" == str(report["queue"]["service_level"])
        assert "Poziom obsługi: 50.0%" in page.locator("p.service-level").inner_text()
        assert shown("queue", "abandoned_wait_p50") == str(report["queue"]["abandoned_wait_p50"])
        assert shown("announcements", "1 abandoned") == "1"
        drop_off = page.locator('td[data-figure="drop_off"]')
        assert {
            drop_off.nth(i).get_attribute("data-item"): drop_off.nth(i).inner_text()
            for i in range(drop_off.count())
        } == {state: str(n) for state, n in report["drop_off"].items()}
        # The diagram: each state where a caller hung up, marked in its own box
        # (the main menu, the telekod prompt, the queue, the menus after a
        # block and after the balance).
        marked = {}
        for box in page.locator("#drop-off-diagram g.node").all():
            texts = box.locator("text").all_text_contents()
            counts = [t for t in texts if t.startswith("rozłączyło się")]
            if counts:
                marked[box.locator("title").text_content() or ""] = counts[0].split(": ")[1]
        assert marked == {
            "after_card_block": "1", "balance_menu": "1", "main_menu": "1", "block_pin": "1",
            "consultant": "1",
        }  # fmt: skip
        # The funnels, as the CLI counts them: two callers chose the block,
        # one of them hung up at the telekod.
        for path in report["funnel"]:
            for step in path["steps"]:
                item = f"{path['path']} {step['state']}"
                assert shown("funnel", f"{item} reached") == str(step["reached"])
                assert shown("funnel", f"{item} hung_up") == str(step["hung_up"])
        assert shown("funnel", "main_menu 1 block_pin reached") == "2"
        assert shown("funnel", "main_menu 1 block_pin hung_up") == "1"
        assert page.locator("svg.funnel").count() == len(report["funnel"])  # one per menu key
        block_funnel = page.locator("svg.funnel").first.locator("text.hung-up")
        assert block_funnel.all_text_contents() == ["rozłączyło się: 1"] * 2  # telekod, after
        # Calls per hour (or day): the six calls.
        columns = page.locator("svg.chart g.column title").all_text_contents()
        assert sum(int(t.rsplit(": ", 1)[1]) for t in columns) == 6
        admin_page.snap(page, shots, "reports.png", full_page=True)
        page.locator("#drop-off-diagram").scroll_into_view_if_needed()
        admin_page.snap(page, shots, "reports-drop-off.png")
        page.locator("#funnel-1").scroll_into_view_if_needed()
        admin_page.snap(page, shots, "reports-funnel.png")
        # "CSV" downloads what `infolinia report --csv` prints, byte for byte.
        href = page.locator("a.csv").first.get_attribute("href")
        assert href is not None and "/report.csv?" in href
        download = page.request.get(admin_page.BASE + href)
        assert download.status == 200
        cli = cli_report(TENANT, str(report["from"]), str(report["to"]), "--csv")
        assert download.text() == cli
    finally:
        page.context.close()
    other = admin_page.logged_in(browser, "test-reports-other")
    try:
        answer = other.goto(url)
        assert answer is not None and answer.status == 403
        assert re.search(f"Nie masz dostępu do banku {TENANT}", other.content())
        assert other.request.get(admin_page.BASE + href).status == 403
    finally:
        other.context.close()


# What the month's calls did: (weight, states, operations, ending, queue outcome).
START = ("greeting", "main_menu")
KINDS = [
    (30, (*START, "block_number", "block_pin", "block_auth", "block_menu", "card_block",
          "after_card_block"), (("list_cards", "ok"), ("block_card", "ok")), HUNG_UP, ""),
    (30, (*START, "balance_number", "balance_pin", "balance_auth", "balance", "balance_menu"),
     (("accounts", "ok"),), HUNG_UP, ""),
    (12, START, (), HUNG_UP, ""),
    (6, (*START, "block_number", "block_pin"), (), HUNG_UP, ""),
    (14, (*START, "consultant"), (), TRANSFERRED, "answered"),
    (6, (*START, "consultant"), (), HUNG_UP, "abandoned"),
    (2, (*START, "consultant"), (), COMPLETED, "callback"),
]  # fmt: skip


def a_busy_month(
    first: date, zone: ZoneInfo, version: str = "0123456789ab", menu_weight: int = 12
) -> list[CallRecord]:
    """Calls of every day of ``first``'s month, more on Mondays, few at
    weekends; ``menu_weight``: how often callers hang up at the main menu."""
    rng = random.Random(23)
    kinds = [(menu_weight, *kind[1:]) if kind[1] == START else kind for kind in KINDS]
    out: list[CallRecord] = []
    day = first
    while day.month == first.month:
        calls = (60 - 8 * day.weekday()) if day.weekday() < 5 else 8
        for n in range(calls):
            at = datetime.combine(day, time(8), tzinfo=zone).timestamp() + rng.uniform(0, 10 * 3600)
            _, states, operations, ending, queue = rng.choices(kinds, [k[0] for k in kinds])[0]
            wait = round(rng.expovariate(1 / 25), 1) if queue else None
            heard = int(wait // 30) + 1 if wait is not None else 0
            out.append(
                CallRecord(
                    tenant=BUSY, line="102", node="n1", call_id=f"month-{day}-{n}",
                    started=at, ended=at + 120, flow="bank.yaml", flow_version=version,
                    ending=ending, states=tuple((state, 5.0) for state in states),
                    operations=operations,
                    queues=(QueueVisit("main", queue, wait, "", 3.0, heard),) if queue else (),
                )
            )  # fmt: skip
        day += timedelta(days=1)
    return out


def test_a_month_of_a_busy_bank_reads_as_the_cli_counts_it(
    live_app: AppProcess, accounts: Accounts, browser: Browser, shots: Path | None
) -> None:
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    zone = ZoneInfo(settings.tenants[BUSY].records.timezone)
    first = date(2026, 6, 1)  # a month no real call of a test run falls in
    records = CallRecords(Store(settings.state))
    month = a_busy_month(first, zone)
    # May: an older version of the flow, where more callers hung up at the menu.
    before = a_busy_month(date(2026, 5, 1), zone, version="older000000a", menu_weight=30)
    # Written in one transaction (a second run's: still once each).
    records.store.transaction(lambda db: insert(db, [*before, *month]), f"records:{BUSY}")
    report = json.loads(cli_report(BUSY, "2026-06-01", "2026-06-30", "--json"))
    assert report["calls"] == len(month)
    compared = json.loads(
        cli_report(BUSY, "2026-06-01", "2026-06-30", "--json",
                   "--compare-from", "2026-05-01", "--compare-to", "2026-05-31")
    )  # fmt: skip
    assert compared["compared"]["calls"] == len(before)
    page = admin_page.logged_in(browser, "test-reports-busy")
    try:
        page.goto(f"{admin_page.BASE}/admin/reports/{BUSY}?period=month&day=2026-06-15")
        shown = page.locator('td[data-figure="summary"][data-item="calls"]').inner_text()
        assert shown == str(len(month))
        drop_off = page.locator('td[data-figure="drop_off"]')
        assert {
            drop_off.nth(i).get_attribute("data-item"): int(drop_off.nth(i).inner_text())
            for i in range(drop_off.count())
        } == report["drop_off"]
        days = page.locator("svg.chart g.column title").all_text_contents()
        assert len(days) == 30 and days[0] == "2026-06-01: 60"  # a Monday
        admin_page.snap(page, shots, "reports-month.png", full_page=True)
        # Beside the month before, chosen on the page: the CLI's figures and differences.
        page.locator('select[name="compare"]').select_option("previous")
        page.get_by_role("button", name="Pokaż").click()
        page.wait_for_selector("#comparison")
        cells = page.locator("td[data-side]").evaluate_all(
            "cells => cells.map(c => [c.dataset.figure, c.dataset.item, c.dataset.side,"
            " c.innerText])"
        )
        sides: dict[tuple[str, str], dict[str, str]] = {}
        for figure, item, side, value in cells:
            sides.setdefault((figure, item), {})[side] = value
        assert sides == {
            (row["figure"], row["item"]): {
                "this": row["value"] or "-",
                "compared": row["compared"] or "-",
                "difference": row["difference"] or "-",
            }
            for row in compared["difference"]
            if shown_compared(row["figure"], row["value"], row["compared"])
        }
        menu = page.locator('td[data-figure="drop_off"][data-item="main_menu"][data-side]')
        this, earlier, change = menu.all_inner_texts()
        assert int(change) == int(this) - int(earlier) < 0  # fewer hung up at the menu
        page.locator("#comparison").scroll_into_view_if_needed()
        admin_page.snap(page, shots, "reports-compare.png")
    finally:
        page.context.close()
