"""The reports page (*Raporty*) without Asterisk: a bank's admin or auditor
reads the figures of a day, week, month or chosen dates from the call
records in the store, as the CLI counts them; every figure downloads as
the CLI's CSV rows; another bank's staff are refused; calls per day and
per hour count each call on its day in the bank's time zone; the flow's
diagram marks where callers hung up."""

import csv
import dataclasses
import io
import re
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from stasis_app.admin.prompts import PromptAdmin
from stasis_app.admin.web.accounts import Accounts
from stasis_app.admin.web.charts import bars, columns, funnel
from stasis_app.admin.web.periods import Period, asked_period, period_of
from stasis_app.admin.web.reports import marked_dot
from stasis_app.cli import main
from stasis_app.reports.figures import buckets, calls_per, figures
from stasis_app.reports.funnel import paths
from stasis_app.reports.records import COMPLETED, HUNG_UP, CallRecords
from stasis_app.store import Store
from stasis_app.telephony.live_calls import CallRegistry
from tests.conftest import TEST_CONFIG
from tests.support.admin_site import Clock, accounts_with, admin_client, login
from tests.support.isolated_admin import isolated_prompt_admin
from tests.test_call_records import DAY, HOUR, OTHERS, TODAY, record

# live_state: uses the test config's state, prompt cache or demo bank, as the
# real calls' app does (./dev test runs it with them, never beside them).
pytestmark = [pytest.mark.unit, pytest.mark.live_state]

Client = TestClient[web.Request, web.Application]
WARSAW = ZoneInfo("Europe/Warsaw")
THE_DAY = "2026-12-06"  # DAY: its midnight in Warsaw
PAGE = f"/admin/reports/izbica?period=day&day={THE_DAY}"
CSV = f"/admin/reports/izbica/report.csv?period=day&day={THE_DAY}"


@pytest.fixture
def admin(tmp_path: Path) -> PromptAdmin:
    admin = isolated_prompt_admin(tmp_path)
    records = CallRecords(admin.store)
    for call in (*TODAY, *OTHERS):  # izbica's day, the day before, and cieszyn's
        records.write(call)
    return admin


@pytest.fixture
def accounts(admin: PromptAdmin) -> Accounts:
    return accounts_with(
        admin,
        Clock(),
        ("iza", "admin", "izbica"),
        ("ewa", "auditor", "izbica"),
        ("anna", "admin", "cieszyn"),
        ("celina", "auditor", "cieszyn"),
        ("jan", "supervisor", "izbica"),
        ("root", "admin", "*"),
    )


@pytest.fixture
async def client(admin: PromptAdmin, accounts: Accounts) -> AsyncIterator[Client]:
    async with admin_client(admin, accounts, CallRegistry()) as client:
        yield client


def cells(html: str) -> dict[tuple[str, str], str]:
    """The page's figures: (figure, item) -> the text shown."""
    found = re.findall(r'data-figure="([^"]+)" data-item="([^"]*)">([^<]*)<', html)
    return {(figure, item.replace("&#x27;", "'")): value for figure, item, value in found}


async def test_an_admin_reads_the_days_figures_as_the_cli_counts_them(client: Client) -> None:
    await login(client, "iza")
    home = await client.get("/admin/reports", allow_redirects=False)
    assert home.status == 303 and home.headers["Location"] == "/admin/reports/izbica"
    answer = await client.get(PAGE)
    html = await answer.text()
    assert answer.status == 200 and answer.headers["Cache-Control"] == "no-store"
    assert '<a href="/admin/reports">Raporty</a>' in html  # in the admin's menu
    shown = cells(html)
    assert {k: v for k, v in shown.items() if k[0] == "summary"} == {
        ("summary", "calls"): "5",
        ("summary", "self_service"): "2",
        ("summary", "self_service_rate"): "40%",
        ("summary", "transfers"): "1",
        ("summary", "transfer_rate"): "20%",
    }
    assert shown[("operation", "block_card ok")] == "1"
    assert shown[("operation", "accounts ok")] == "1"
    queue = {item: v for (figure, item), v in shown.items() if figure == "queue"}
    assert queue == {
        "offered": "2",
        "answered": "1",
        "abandoned": "1",
        "callback": "0",
        "timed_out": "0",
        "wait_p50": "4.0",
        "wait_p90": "12.0",
        "queued": "2",
        "answered_within": "1",
        "service_level_seconds": "30",
        "service_level": "50.0",
        "abandoned_wait_p50": "12.0",
        "abandoned_wait_p90": "12.0",
    }
    assert "Poziom obsługi: <strong>50.0%</strong>" in html
    assert shown[("abandoned_after", "10-30s")] == "1"
    assert shown[("announcements", "0 abandoned")] == "1"
    assert "Ankieta" not in html  # no call carries a survey's score
    # The funnel of each path: the block reached the block menu and the card block.
    assert shown[("funnel", "main_menu 1 block_menu reached")] == "1"
    assert shown[("funnel", "main_menu 1 block_number reached")] == "0"
    assert shown[("funnel", "main_menu 2 balance reached")] == "1"
    assert html.count('<svg class="chart funnel"') == 4  # main menu 1, 2, 5, 6 (5, 6: issue 21)
    drop_off = {item: v for (figure, item), v in shown.items() if figure == "drop_off"}
    assert drop_off == {"consultant": "1", "main_menu": "1"}
    assert "blokada karty: wykonano" in html and "rozłączone podczas oczekiwania" in html
    # One day: calls per hour, 24 columns, the five calls at 08:00 to 12:00.
    hours = re.findall(r"<title>(2026-12-06 \d\d:00): (\d+)</title>", html)
    assert len(hours) == 24
    assert {h[-5:]: int(n) for h, n in hours if int(n)} == {
        "08:00": 1,
        "09:00": 1,
        "10:00": 1,
        "11:00": 1,
        "12:00": 1,
    }
    # Drawn here: no script, nothing fetched from elsewhere.
    assert "<script" not in html and 'src="http' not in html and "<link" not in html


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
async def test_the_flow_diagram_marks_the_states_where_callers_hung_up(client: Client) -> None:
    await login(client, "ewa")  # an auditor of the bank reads it too
    html = await (await client.get(PAGE)).text()
    diagram = html[html.index('id="drop-off-diagram"') :]
    diagram = diagram[: diagram.index("</svg>")]
    assert "<svg" in diagram
    # Each mark is in its state's box (a box's texts follow its title).
    marks = {}
    for box in re.split(r'<g id="node\d+" class="node">', diagram)[1:]:
        state, count = (
            re.search(r"<title>(\w+)</title>", box),
            re.search(r"rozłączyło się: (\d+)", box),
        )
        if state and count:
            marks[state.group(1)] = count.group(1)
    assert marks == {"main_menu": "1", "consultant": "1"}
    # The table beside it says what the caller hears in that state (the
    # test config's short prompts).
    assert "<td>main_menu</td><td>Menu.</td>" in html


def test_a_marked_diagram_changes_only_the_states_where_callers_hung_up(admin: PromptAdmin) -> None:
    flow = admin.deployment.tenants["izbica"].flow
    dot = marked_dot(flow, {"main_menu": 3, "an_old_state": 2})
    changed = [line for line in dot.splitlines() if "rozłączyło się" in line]
    assert len(changed) == 1 and changed[0].startswith("  main_menu [")
    assert "rozłączyło się: 3" in changed[0] and 'fillcolor="#c62828"' in changed[0]
    assert marked_dot(flow, {}) == marked_dot(flow, {"an_old_state": 2})


async def test_every_figure_downloads_as_the_clis_csv_rows(
    client: Client,
    admin: PromptAdmin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await login(client, "iza")
    answer = await client.get(CSV)
    assert answer.status == 200 and answer.content_type == "text/csv"
    assert (
        'filename="raport-izbica-2026-12-06-2026-12-06.csv"'
        in answer.headers["Content-Disposition"]
    )
    text = await answer.text()
    rows = list(csv.reader(io.StringIO(text)))
    flow_paths = paths(admin.deployment.tenants["izbica"].flow)
    expected = figures(admin.store, "izbica", DAY, DAY + 24 * HOUR, flow_paths=flow_paths).rows()
    assert rows == [["figure", "item", "value"], *map(list, expected)]
    # Byte for byte what `infolinia report --csv` prints for the same store.
    monkeypatch.setenv("INFOLINIA_STATE", str(admin.store.path))
    cli = ["--config", str(TEST_CONFIG), "report", "izbica", "--from", THE_DAY, "--csv"]
    assert main(cli) == 0
    assert capsys.readouterr().out == text
    # One figure: its rows only; the calls per hour: a row for each hour.
    queue = list(csv.reader(io.StringIO(await (await client.get(CSV + "&figure=queue")).text())))
    assert [row[0] for row in queue[1:]] == ["queue"] * 13 and ["queue", "abandoned", "1"] in queue
    summary = await (await client.get(CSV + "&figure=summary")).text()
    assert summary == (
        "figure,item,value\ncalls,,5\nself_service,,2\nself_service_rate,,40.0\n"
        "transfers,,1\ntransfer_rate,,20.0\n"
    )
    hourly = list(
        csv.reader(io.StringIO(await (await client.get(CSV + "&figure=calls_per_hour")).text()))
    )
    assert len(hourly) == 25 and hourly[9] == ["calls_per_hour", "2026-12-06 08:00", "1"]
    assert sum(int(row[2]) for row in hourly[1:]) == 5
    # A figure the report has not (nor a header to inject into the file's name).
    for figure in ("calls_per_day", "nothing", 'x"; filename="evil.exe'):
        answer = await client.get(CSV, params={"figure": figure})
        assert answer.status == 400 and "Content-Disposition" not in answer.headers


async def test_another_banks_staff_are_refused_and_nobody_unknown_gets_in(
    client: Client,
) -> None:
    assert (await client.get(PAGE, allow_redirects=False)).status == 303  # to the login
    await login(client, "anna")  # cieszyn's admin
    for path in (PAGE, CSV, "/admin/reports/izbica"):
        answer = await client.get(path)
        assert answer.status == 403, path
        assert "Nie masz dostępu do banku izbica" in await answer.text()
    own = await client.get("/admin/reports/cieszyn?period=day&day=2026-12-06")
    assert cells(await own.text())[("summary", "calls")] == "1"  # its own call only


@pytest.mark.parametrize(("user", "status"), [("celina", 403), ("jan", 403), ("root", 200)])
async def test_who_may_read_a_banks_report(client: Client, user: str, status: int) -> None:
    await login(client, user)
    assert (await client.get(PAGE)).status == status


async def test_staff_of_every_bank_choose_one_and_an_unknown_bank_is_not_found(
    client: Client,
) -> None:
    await login(client, "root")
    listing = await (await client.get("/admin/reports")).text()
    assert 'href="/admin/reports/izbica"' in listing and 'href="/admin/reports/cieszyn"' in listing
    assert (await client.get("/admin/reports/nowhere")).status == 404
    assert (await client.get("/admin/reports/nowhere/report.csv")).status == 404


async def test_a_week_a_month_and_chosen_dates(client: Client) -> None:
    await login(client, "iza")
    week = await (await client.get(f"/admin/reports/izbica?period=week&day={THE_DAY}")).text()
    # The week of Sunday 2026-12-06: Monday 11-30 to 12-06, with the call at
    # 23:59 on 12-05; per day, seven columns.
    assert "2026-11-30 do 2026-12-06" in week
    assert cells(week)[("summary", "calls")] == "6"
    days = re.findall(r"<title>(\d{4}-\d\d-\d\d): (\d+)</title>", week)
    assert days[0][0] == "2026-11-30" and len(days) == 7
    assert dict(days)["2026-12-05"] == "1" and dict(days)["2026-12-06"] == "5"
    assert "period=week&amp;day=2026-11-23" in week  # the week before
    month = await (await client.get(f"/admin/reports/izbica?period=month&day={THE_DAY}")).text()
    assert "2026-12-01 do 2026-12-31" in month and cells(month)[("summary", "calls")] == "6"
    assert "period=month&amp;day=2026-11-01" in month and "day=2027-01-01" in month
    custom = await client.get("/admin/reports/izbica?period=custom&from=2026-12-05&to=2026-12-06")
    assert cells(await custom.text())[("summary", "calls")] == "6"
    for bad, says in [
        ("period=custom&from=2026-12-06&to=2026-12-05", "przed pierwszym"),
        ("period=custom&from=2025-01-01&to=2026-12-05", "366 dni"),
        ("period=day&day=6.12.2026", "To nie jest data"),
        ("period=year", "Nie ma takiego okresu"),
    ]:
        answer = await client.get(f"/admin/reports/izbica?{bad}")
        assert answer.status == 400 and says in await answer.text(), bad


async def test_a_period_without_calls_says_so(client: Client) -> None:
    await login(client, "iza")
    html = await (await client.get("/admin/reports/izbica?period=day&day=2026-01-01")).text()
    assert cells(html)[("summary", "calls")] == "0"
    assert cells(html)[("summary", "self_service_rate")] == "-"
    assert "Nikt się nie rozłączył" in html and "Nikt nie trafił do kolejki" in html


def test_periods_are_whole_days_weeks_and_months() -> None:
    sunday = date(2026, 12, 6)
    assert period_of("week", sunday) == Period("week", date(2026, 11, 30), date(2026, 12, 6))
    assert period_of("month", sunday) == Period("month", date(2026, 12, 1), date(2026, 12, 31))
    assert period_of("month", sunday).shifted(1).last == date(2027, 1, 31)
    assert period_of("month", date(2027, 3, 15)).shifted(-1).last == date(2027, 2, 28)
    assert asked_period({}, sunday) == Period("day", sunday, sunday)
    chosen = asked_period({"period": "custom", "from": "2026-12-01", "to": "2026-12-03"}, sunday)
    assert chosen.shifted(-1) == Period("custom", date(2026, 11, 28), date(2026, 11, 30))
    start, end = Period("day", sunday, sunday).bounds(WARSAW)
    assert (start, end) == (DAY, DAY + 24 * HOUR)
    for far in (
        {"day": "9999-12-31"},
        {"period": "custom", "from": "2026-12-01", "to": "9999-12-31"},
    ):
        with pytest.raises(ValueError, match="Data spoza lat"):  # a 400 on the page, not a 500
            asked_period(far, sunday)


def test_calls_per_day_and_hour_count_each_call_on_its_day_in_the_banks_zone(
    state_where: Path | str,
) -> None:
    records = CallRecords(Store(state_where))
    for call in (*TODAY, *OTHERS):
        records.write(call)
    week = calls_per(records.store, "izbica", DAY - 6 * 24 * HOUR, DAY + 24 * HOUR, WARSAW)
    assert week == [
        ("2026-11-30", 0),
        ("2026-12-01", 0),
        ("2026-12-02", 0),
        ("2026-12-03", 0),
        ("2026-12-04", 0),
        ("2026-12-05", 1),  # 23:59 in Warsaw, 22:59 UTC
        ("2026-12-06", 5),
    ]
    hours = calls_per(records.store, "izbica", DAY, DAY + 24 * HOUR, WARSAW, hourly=True)
    assert len(hours) == 24 and sum(n for _, n in hours) == 5
    assert hours[8] == ("2026-12-06 08:00", 1) and hours[0] == ("2026-12-06 00:00", 0)


def test_a_day_when_the_clocks_change_has_25_hours_and_a_month_its_days() -> None:
    # 2026-10-25 in Warsaw: 02:00-03:00 twice (CEST, then CET).
    start = datetime(2026, 10, 24, 22, tzinfo=UTC).timestamp()
    end = datetime(2026, 10, 25, 23, tzinfo=UTC).timestamp()
    hours = buckets(start, end, WARSAW, hourly=True)
    assert len(hours) == 25 and [label[-5:] for label, _ in hours[2:4]] == ["02:00", "02:00"]
    march = Period("month", date(2027, 3, 1), date(2027, 3, 31)).bounds(WARSAW)
    days = buckets(*march, WARSAW, hourly=False)
    assert len(days) == 31 and days[-1][0] == "2027-03-31"


def test_a_call_at_a_days_last_second_is_on_that_day(tmp_path: Path) -> None:
    records = CallRecords(Store(tmp_path / "state.sqlite"))
    records.write(record("x", DAY + 24 * HOUR - 0.5, HUNG_UP, ("main_menu",)))
    days = calls_per(records.store, "izbica", DAY, DAY + 2 * 24 * HOUR, WARSAW)
    assert days == [("2026-12-06", 1), ("2026-12-07", 0)]


def test_charts_escape_their_labels_and_draw_a_bar_per_item() -> None:
    drawn = bars([("<b>x</b>", 3), ("y", 1)], "Operacje", whole=4)
    assert "&lt;b&gt;x&lt;/b&gt;" in drawn and "<b>" not in drawn
    assert drawn.count('<g class="bar">') == 2 and "3 (75%)" in drawn
    many = columns([(f"2026-12-{d:02}", d) for d in range(1, 32)], "Połączenia na dzień")
    assert many.count('<g class="column">') == 31
    assert ">01.12</text>" in many and ">2026-12-01</text>" not in many  # short axis labels
    assert "Brak połączeń" in columns([], "x") and "Brak połączeń" in bars([], "x")


def side_by_side(html: str) -> dict[tuple[str, str], tuple[str, str, str]]:
    """The comparison's rows: (figure, item) -> (this, compared, difference)."""
    found = re.findall(
        r'data-figure="([^"]+)" data-item="([^"]*)" data-side="(\w+)">([^<]*)<', html
    )
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for figure, item, side, value in found:
        rows.setdefault((figure, item), {})[side] = value
    return {k: (v["this"], v["compared"], v["difference"]) for k, v in rows.items()}


async def test_a_period_beside_the_one_before_and_its_csv_is_the_clis(
    client: Client,
    admin: PromptAdmin,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await login(client, "iza")
    html = await (await client.get(PAGE + "&compare=previous")).text()
    rows = side_by_side(html)
    assert rows[("calls", "")] == ("5", "1", "4")  # 2026-12-05 holds the call at 23:59
    assert rows[("drop_off", "main_menu")] == ("1", "1", "0")
    assert rows[("drop_off", "consultant")] == ("1", "-", "-")
    assert "2026-12-06 (ten okres) wobec 2026-12-05 (porównanie)" in html
    assert "compare=previous" in html  # kept in the links (CSV, the day before, after)
    answer = await client.get(CSV + "&compare=previous")
    assert (
        'filename="raport-izbica-2026-12-06-2026-12-06-vs-2026-12-05-2026-12-05.csv"'
        in (answer.headers["Content-Disposition"])
    )
    text = await answer.text()
    assert text.startswith("figure,item,value,compared,difference\ncalls,,5,1,4\n")
    monkeypatch.setenv("INFOLINIA_STATE", str(admin.store.path))
    cli = ["--config", str(TEST_CONFIG), "report", "izbica", "--from", THE_DAY, "--csv",
           "--compare-from", "2026-12-05"]  # fmt: skip
    assert main(cli) == 0
    assert capsys.readouterr().out == text
    # Chosen dates, and two flow versions of one period.
    chosen = await client.get(PAGE + "&compare=custom&cfrom=2026-12-01&cto=2026-12-05")
    assert side_by_side(await chosen.text())[("calls", "")] == ("5", "1", "4")
    versions = await client.get(PAGE + "&compare=version&version=abc&cversion=other")
    html = await versions.text()
    assert side_by_side(html)[("calls", "")] == ("5", "0", "5")
    assert '<option value="abc" selected>abc (5 poł.)</option>' in html
    bad = await client.get(PAGE + "&compare=custom&cfrom=2026-12-05&cto=2026-12-01")
    assert bad.status == 400 and "przed pierwszym" in await bad.text()


async def test_survey_scores_show_only_when_calls_carry_them(
    client: Client, admin: PromptAdmin
) -> None:
    await login(client, "iza")
    records = CallRecords(admin.store)
    for n, score in enumerate((5, 3, 5)):
        call = record(f"s.{n}", DAY + 14 * HOUR + n, COMPLETED, ("main_menu", "bye"))
        records.write(dataclasses.replace(call, survey_score=score))
    html = await (await client.get(PAGE)).text()
    assert 'id="survey"' in html
    shown = cells(html)
    assert (shown[("survey", "answered")], shown[("survey", "mean")]) == ("3", "4.33")
    assert (shown[("survey", "score 5")], shown[("survey", "score 3")]) == ("2", "1")


def test_a_funnel_draws_a_bar_per_step_and_marks_hang_ups() -> None:
    drawn = funnel([("block_number", 4, 0), ("block_pin", 3, 1), ("<x>", 0, 0)], "Wybór 1")
    assert drawn.count('<g class="step">') == 3
    assert "3 (75%)" in drawn and "rozłączyło się: 1" in drawn and "&lt;x&gt;" in drawn
