"""Call records and the report over them (issue 23): a flow's run leaves
its states, operations and ending in the call's record; a bank's figures
for a period count exactly its calls of that period, in its time zone, on
both engines; old records go after the bank's retention; a store that does
not take a record never touches the call; ``infolinia report`` prints the
figures as JSON and CSV."""

import csv
import dataclasses
import io
import json
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import stasis_app.reports.records as records_module
from adapters.demo import DemoBank, DemoSettings
from adapters.spec import Customer
from stasis_app.cli import main
from stasis_app.config import load_settings
from stasis_app.errors import ConfigError
from stasis_app.flow.context import CallContext
from stasis_app.flow.engine import run_flow
from stasis_app.flow.model import Flow, load_flow
from stasis_app.queue import callbacks
from stasis_app.queue.callbacks import CallbackBook
from stasis_app.reports.figures import CALLBACK_DONE, compare, figures, percentile
from stasis_app.reports.funnel import funnel, paths
from stasis_app.reports.records import (
    COMPLETED,
    FAILED,
    HUNG_UP,
    TRANSFERRED,
    CallRecord,
    CallRecords,
    ending,
    from_trail,
)
from stasis_app.reports.trail import CallTrail, QueueVisit
from stasis_app.store import Store
from stasis_app.store.migrate import MIGRATIONS, upgrade
from stasis_app.tenants import Tenant
from stasis_app.verbs.registry import VerbRegistry
from tests.support.fake_call import FakeCall

pytestmark = pytest.mark.unit

BANK_FLOW = Path(__file__).resolve().parent.parent / "config" / "flows" / "bank.yaml"


def bank(tenant: str, name: str, line: str) -> str:
    """A bank of a test's config, on the shipped flow."""
    where = f"lines: ['{line}'], flow: {BANK_FLOW}"
    return f"  {tenant}: {{name: {name}, {where}, adapter: {{name: demo}}}}\n"


def bank_flow() -> Flow:
    return load_flow(BANK_FLOW, VerbRegistry())


# 2026-12-06 00:00 in Warsaw (UTC+1) is 2026-12-05 23:00 UTC.
DAY = datetime(2026, 12, 5, 23, 0, tzinfo=UTC).timestamp()
HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_trail_times_each_state_until_the_next_and_the_last_until_the_end() -> None:
    clock = Clock()
    trail = CallTrail(clock)
    trail.entered("greeting")
    clock.now += 2.5
    trail.entered("main_menu")
    clock.now += 4.0
    assert trail.steps() == [("greeting", 2.5), ("main_menu", 4.0)]
    record = from_trail(
        trail,
        tenant="izbica",
        line="100",
        node="n1",
        call_id="1.1",
        flow="bank.yaml",
        flow_version="abc",
        outcome=HUNG_UP,
        now=lambda: DAY + 10,
    )
    assert (record.started, record.ended) == (DAY + 3.5, DAY + 10)
    assert (record.ending, record.last_state, record.done) == (HUNG_UP, "main_menu", 0)


def test_a_call_that_reached_a_consultant_ended_transferred_however_it_ended() -> None:
    trail = CallTrail()
    assert ending("completed", trail) == COMPLETED
    assert ending("asterisk unavailable", trail) == FAILED
    assert ending("app stopping", trail) == FAILED
    trail.queued(QueueVisit("konsultanci", "answered", 3.0, "PJSIP/anna"))
    assert ending("caller hung up", trail) == TRANSFERRED  # hung up after talking
    routed = CallTrail()
    routed.to_consultant_route()
    assert ending("transferred", routed) == TRANSFERRED


FLOW = """\
initial: greeting
states:
  greeting: {verb: say, params: {prompt: [greeting]}, on: {done: cards}}
  cards: {verb: operation, params: {name: list_cards}, on: {ok: balance, empty: bye,
          refused: bye, unavailable: bye, not_allowed: bye}}
  balance: {verb: operation, params: {name: accounts}, on: {ok: bye, empty: bye,
            refused: bye, unavailable: bye, not_allowed: bye}}
  bye: {verb: hangup}
"""


async def test_a_flow_run_leaves_its_states_and_operations_in_the_record(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW)
    flow = load_flow(path, VerbRegistry())
    bank = DemoBank(DemoSettings(database=tmp_path / "d.sqlite", tenant="izbica"))
    tenant = Tenant(
        id="izbica", name="BS Izbica", lines=["100"], flow=path, adapter={"name": "demo"}
    )
    ctx = CallContext(call=FakeCall(), tenant=tenant, bank=bank)
    ctx.customer, ctx.level = Customer("12345678"), "identified"  # no telekod: no balance
    await run_flow(flow, ctx)
    record = from_trail(
        ctx.trail,
        tenant="izbica",
        line="100",
        node="n1",
        call_id="1.2",
        flow=path.name,
        flow_version=flow.version,
        outcome="completed",
    )
    assert [state for state, _ in record.states] == ["greeting", "cards", "balance", "bye"]
    assert record.operations == (("list_cards", "ok"), ("accounts", "not_allowed"))
    assert (record.ending, record.done) == (COMPLETED, 1)
    assert len(flow.version) == 12 and flow.version.isalnum()
    # Nothing of the customer in the record.
    assert "12345678" not in json.dumps(record.as_dict())


def record(
    call_id: str,
    started: float,
    ending: str,
    states: tuple[str, ...],
    operations: tuple[tuple[str, str], ...] = (),
    queues: tuple[QueueVisit, ...] = (),
    tenant: str = "izbica",
    node: str = "n1",
) -> CallRecord:
    return CallRecord(
        tenant=tenant,
        line="100",
        node=node,
        call_id=call_id,
        started=started,
        ended=started + 60,
        flow="bank.yaml",
        flow_version="abc",
        ending=ending,
        states=tuple((state, 1.0) for state in states),
        operations=operations,
        queues=queues,
    )


BLOCK = record(
    "1.1",
    DAY + 8 * HOUR,
    COMPLETED,
    ("greeting", "main_menu", "block_menu", "card_block", "bye"),
    (("list_cards", "ok"), ("block_card", "ok")),
)
BALANCE = record(
    "1.2", DAY + 9 * HOUR, COMPLETED, ("main_menu", "balance"), (("accounts", "ok"),), node="n2"
)
MENU_HANGUP = record("1.3", DAY + 10 * HOUR, HUNG_UP, ("greeting", "main_menu"))
ANSWERED = record(
    "1.4",
    DAY + 11 * HOUR,
    TRANSFERRED,
    ("main_menu", "consultant"),
    queues=(QueueVisit("konsultanci", "answered", 4.0, "PJSIP/anna"),),
)
ABANDONED = record(
    "1.5",
    DAY + 12 * HOUR,
    HUNG_UP,
    ("main_menu", "consultant"),
    queues=(QueueVisit("konsultanci", "abandoned", 12.0),),
)
TODAY = (BLOCK, BALANCE, MENU_HANGUP, ANSWERED, ABANDONED)
# Not in the report of izbica's 2026-12-06: the day before (23:59 in Warsaw), another bank.
OTHERS = (
    record("0.9", DAY - 60, HUNG_UP, ("main_menu",)),
    record("2.1", DAY + HOUR, COMPLETED, ("x",), (("accounts", "ok"),), tenant="cieszyn"),
)


def expected_figures() -> dict[str, object]:
    return {
        "tenant": "izbica",
        "start": DAY,
        "end": DAY + 24 * HOUR,
        "flow_version": None,
        "calls": 5,
        "self_service": 2,
        "self_service_rate": 40.0,
        "transfers": 1,
        "transfer_rate": 20.0,
        "endings": {HUNG_UP: 2, COMPLETED: 2, TRANSFERRED: 1, FAILED: 0},
        "operations": {"accounts": {"ok": 1}, "block_card": {"ok": 1}, "list_cards": {"ok": 1}},
        "queue": {
            "offered": 2,
            "answered": 1,
            "abandoned": 1,
            "callback": 0,
            "timed_out": 0,
            "wait_p50": 4.0,
            "wait_p90": 12.0,
            "queued": 2,
            "answered_within": 1,
            "service_level_seconds": 30,
            "service_level": 50.0,
            "abandoned_wait_p50": 12.0,
            "abandoned_wait_p90": 12.0,
        },
        "abandoned_after": {"0-10s": 0, "10-30s": 1, "30-60s": 0, "60-120s": 0, "120s+": 0},
        "announcements": {"0": {"queued": 2, "abandoned": 1, "answered": 1}},
        "callbacks": {"requested": 0, "done": 0},
        "survey": {},
        "drop_off": {"consultant": 1, "main_menu": 1},
        "funnel": [],
        "nodes": {"n1": 4, "n2": 1},
    }


def test_a_banks_figures_count_exactly_its_calls_of_the_period(state_where: Path | str) -> None:
    records = CallRecords(Store(state_where))
    for call in (*TODAY, *OTHERS):
        records.write(call)
    records.write(BLOCK)  # written again: still one record
    assert figures(records.store, "izbica", DAY, DAY + 24 * HOUR).as_dict() == expected_figures()
    assert records.records("izbica", DAY, DAY + 24 * HOUR) == list(TODAY)


def test_old_records_go_after_the_banks_retention(state_where: Path | str) -> None:
    records = CallRecords(Store(state_where))
    for call in (*TODAY, *OTHERS):
        records.write(call)
    # 400 days and 09:30 later: the day before's call, the block (08:00) and
    # the balance (09:00) are older than 400 days; the rest are not.
    now = DAY + 400 * 24 * HOUR + 9.5 * HOUR
    assert records.delete_older("izbica", 400, now=now) == 3
    left = records.records("izbica", 0, now)
    assert [r.call_id for r in left] == ["1.3", "1.4", "1.5"]
    operations = figures(records.store, "izbica", 0, now).operations
    assert operations == {}  # the deleted calls' operations went with them
    assert records.records("cieszyn", 0, now) != []  # another bank's own retention


def test_old_records_go_a_batch_at_a_time(
    state_where: Path | str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bank's retention deletes in short transactions (here two records
    each), and still deletes exactly the records past it."""
    monkeypatch.setattr(records_module, "DELETE_BATCH", 2)
    records = CallRecords(Store(state_where))
    for call in (*TODAY, *OTHERS):
        records.write(call)
    transactions: list[str | None] = []
    transaction = records.store.transaction

    def counted(work: Any, scope: str | None = None) -> Any:
        transactions.append(scope)
        return transaction(work, scope)

    monkeypatch.setattr(records.store, "transaction", counted)
    now = DAY + 400 * 24 * HOUR + 9.5 * HOUR
    assert records.delete_older("izbica", 400, now=now) == 3
    assert transactions == ["records:izbica"] * 3  # 2, 1, then none left
    assert [r.call_id for r in records.records("izbica", 0, now)] == ["1.3", "1.4", "1.5"]


async def test_a_store_that_does_not_take_a_record_is_logged_and_counted_never_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    failed: list[int] = []
    records = CallRecords(Store(tmp_path / "state.sqlite"), on_failed=lambda: failed.append(1))

    def store_down(*args: object) -> None:
        raise OSError("disk I/O error")

    monkeypatch.setattr(records.store, "transaction", store_down)
    with caplog.at_level(logging.ERROR):
        records.keep(BLOCK)  # returns at once
        await records.drain()
    assert failed == [1]
    assert "call record not written" in caplog.text


def test_a_bad_retention_is_a_clear_config_error(tmp_path: Path) -> None:
    config = tmp_path / "infolinia.yaml"
    config.write_text(
        "ari: {password: x}\ntenants:\n  a: {name: A, lines: ['1'], flow: f.yaml,"
        " adapter: {name: demo}, records: {keep_days: 0}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert caught.value.field == "tenants.a.records.keep_days"
    assert "greater than or equal to 1" in caught.value.problem


def test_percentiles_are_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0


def test_infolinia_report_prints_the_figures_as_json_and_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.sqlite"
    config = tmp_path / "infolinia.yaml"
    config.write_text(
        f"ari: {{password: x}}\nstate: {state}\ntenants:\n"
        + bank("izbica", "BS Izbica", "100")
        + bank("cieszyn", "BS Cieszyn", "101")
    )
    records = CallRecords(Store(state))
    for call in (*TODAY, *OTHERS):
        records.write(call)
    args = ["--config", str(config), "report", "izbica", "--from", "2026-12-06"]
    assert main([*args, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {
        **expected_figures(),
        "funnel": funnel(paths(bank_flow()), {"block_menu": 1, "card_block": 1, "balance": 1}, {}),
        "from": "2026-12-06",
        "to": "2026-12-06",
        "timezone": "Europe/Warsaw",
    }
    assert main([*args, "--to", "2026-12-06", "--csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["figure", "item", "value"]
    assert ["calls", "", "5"] in rows and ["operation", "block_card ok", "1"] in rows
    assert ["drop_off", "main_menu", "1"] in rows and ["queue", "wait_p90", "12.0"] in rows
    # The day before holds the call at 23:59 in Warsaw only.
    assert main([*args[:-1], "2026-12-05", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["calls"] == 1
    assert main([*args]) == 0
    text = capsys.readouterr().out
    assert "self-service   2 (40%)" in text and "hung up in     consultant 1, main_menu 1" in text
    assert main(["--config", str(config), "report", "nowhere"]) == 2
    assert "no bank 'nowhere'" in capsys.readouterr().err
    # --to alone counts from today: a day before today is a mistake, said so.
    assert main(["--config", str(config), "report", "izbica", "--to", "2026-12-05"]) == 2
    assert "the last day is before the first" in capsys.readouterr().err


def visit(outcome: str, wait: float | None, heard: int = 0) -> tuple[QueueVisit, ...]:
    return (QueueVisit("konsultanci", outcome, wait, "", 3.0, heard),)


QUEUED = [  # (outcome, wait, announcements heard)
    ("answered", 5.0, 0),
    ("answered", 20.0, 1),
    ("answered", 45.0, 2),  # past a 30 s threshold, within a 60 s one
    ("abandoned", 8.0, 0),
    ("abandoned", 35.0, 1),
    ("abandoned", 130.0, 3),
    ("callback", 25.0, 1),
]


def queue_day(records: CallRecords, scores: tuple[int | None, ...] = ()) -> None:
    for n, (outcome, wait, heard) in enumerate(QUEUED):
        ending_ = TRANSFERRED if outcome == "answered" else HUNG_UP
        call = record(f"q.{n}", DAY + 9 * HOUR + n, ending_, ("main_menu", "consultant"),
                      queues=visit(outcome, wait, heard))  # fmt: skip
        score = scores[n] if n < len(scores) else None
        records.write(dataclasses.replace(call, survey_score=score))
    # Never joined (closed): offered, not queued.
    records.write(record("q.closed", DAY + 10 * HOUR, COMPLETED, ("consultant",),
                         queues=visit("closed", None)))  # fmt: skip


def test_the_queues_service_level_abandons_and_announcements(state_where: Path | str) -> None:
    records = CallRecords(Store(state_where))
    queue_day(records)
    found = figures(records.store, "izbica", DAY, DAY + 24 * HOUR)
    queue = found.queue
    assert (queue["offered"], queue["queued"], queue["closed"]) == (8, 7, 1)
    assert (queue["answered_within"], queue["service_level"]) == (2, 28.6)  # 2 of 7 in 30 s
    assert (queue["abandoned_wait_p50"], queue["abandoned_wait_p90"]) == (35.0, 130.0)
    assert found.abandoned_after == {"0-10s": 1, "10-30s": 0, "30-60s": 1, "60-120s": 0,
                                     "120s+": 1}  # fmt: skip
    assert found.announcements == {
        "0": {"queued": 2, "abandoned": 1, "answered": 1},
        "1": {"queued": 3, "abandoned": 1, "answered": 1},
        "2": {"queued": 1, "abandoned": 0, "answered": 1},
        "3": {"queued": 1, "abandoned": 1, "answered": 0},
    }
    # The bank's threshold: 60 s takes the 45 s answer in.
    wider = figures(records.store, "izbica", DAY, DAY + 24 * HOUR, service_level_seconds=60)
    assert (wider.queue["answered_within"], wider.queue["service_level"]) == (3, 42.9)
    assert ("queue", "service_level", "42.9") in wider.rows()
    assert found.survey == {}  # no scores: no survey figures, no survey rows
    assert not [row for row in found.rows() if row[0] == "survey"]


def test_survey_scores_are_counted_when_calls_carry_them(state_where: Path | str) -> None:
    records = CallRecords(Store(state_where))
    queue_day(records, scores=(5, 4, None, 1, 5))
    found = figures(records.store, "izbica", DAY, DAY + 24 * HOUR)
    assert found.survey == {"answered": 4, "mean": 3.75, "score": {"1": 1, "4": 1, "5": 2}}
    assert ("survey", "score 5", "2") in found.rows() and ("survey", "mean", "3.75") in found.rows()
    [kept] = [r for r in records.records("izbica", DAY, DAY + HOUR * 24) if r.call_id == "q.0"]
    assert kept.survey_score == 5
    trail = CallTrail()
    trail.surveyed(4)
    made = from_trail(trail, tenant="izbica", line="100", node="n1", call_id="s", flow="f",
                      flow_version="v", outcome=COMPLETED)  # fmt: skip
    assert made.survey_score == 4


def test_callbacks_requested_and_those_staff_marked_done(state_where: Path | str) -> None:
    store = Store(state_where)
    book = CallbackBook(store)
    first = book.add("izbica", "konsultanci", "600100200")
    book.add("izbica", "konsultanci", "600100201")
    book.add("cieszyn", "konsultanci", "600100202")
    assert book.mark_done(first, "iza")
    now = datetime.now(UTC).timestamp()
    found = figures(store, "izbica", now - HOUR, now + HOUR)
    assert found.callbacks == {"requested": 2, "done": 1}
    assert figures(store, "izbica", now - 3 * HOUR, now - HOUR).callbacks == {
        "requested": 0, "done": 0,
    }  # fmt: skip


def test_the_funnel_follows_each_path_of_the_flow(state_where: Path | str) -> None:
    flow = bank_flow()
    found_paths = paths(flow)
    # 0: one step; 5 and 6 are the bank's information and rates (issue 21)
    assert [p.name for p in found_paths] == [
        "main_menu 1",
        "main_menu 2",
        "main_menu 5",
        "main_menu 6",
    ]
    block = [state for state, _ in found_paths[0].steps]
    assert block[:4] == ["block_number", "block_pin", "block_auth", "block_menu"]
    assert block[-3:] == ["card_block", "card_blocked", "after_card_block"]
    records = CallRecords(Store(state_where))
    start = ("greeting", "main_menu")
    calls = [
        (*start, "block_number", "block_pin", "block_auth", "block_menu", "cards", "card_choose",
         "card_confirm", "card_block", "card_blocked", "after_card_block"),
        (*start, "block_number", "block_pin"),  # hung up at the telekod
        (*start, "block_number", "block_pin", "block_auth", "block_refused", "block_number",
         "block_pin"),  # a wrong telekod, then hung up at the second: block_pin once
        (*start, "balance_number"),
    ]  # fmt: skip
    for n, states in enumerate(calls):
        records.write(record(f"f.{n}", DAY + HOUR + n, HUNG_UP, states))
    found = figures(records.store, "izbica", DAY, DAY + 24 * HOUR, flow_paths=found_paths)
    blocking, balance, *_ = found.funnel  # and 5, 6: information, rates
    steps = {s["state"]: (s["reached"], s["hung_up"]) for s in blocking["steps"]}
    assert steps["block_number"] == (3, 0)
    assert steps["block_pin"] == (3, 2)
    assert steps["block_auth"] == (2, 0)
    assert (steps["block_menu"], steps["after_card_block"]) == ((1, 0), (1, 1))
    assert [(s["state"], s["reached"]) for s in balance["steps"][:2]] == [
        ("balance_number", 1), ("balance_pin", 0),
    ]  # fmt: skip
    assert ("funnel", "main_menu 1 block_pin hung_up", "2") in found.rows()


def test_two_periods_or_two_flow_versions_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.sqlite"
    config = tmp_path / "infolinia.yaml"
    config.write_text(
        f"ari: {{password: x}}\nstate: {state}\ntenants:\n" + bank("izbica", "BS Izbica", "100")
    )
    records = CallRecords(Store(state))
    for call in TODAY:
        records.write(call)
    # The day before: one call of a new flow version, hung up at the menu.
    newer = dataclasses.replace(MENU_HANGUP, call_id="n.1", started=DAY - 2 * HOUR,
                                flow_version="new")  # fmt: skip
    records.write(newer)
    store = records.store
    this = figures(store, "izbica", DAY, DAY + 24 * HOUR)
    before = figures(store, "izbica", DAY - 24 * HOUR, DAY)
    rows = {(f, i): (a, b, d) for f, i, a, b, d in compare(this.rows(), before.rows())}
    assert rows[("calls", "")] == ("5", "1", "4")
    assert rows[("drop_off", "main_menu")] == ("1", "1", "0")
    assert rows[("drop_off", "consultant")] == ("1", "", "")  # the day before has none
    assert rows[("self_service_rate", "")] == ("40.0", "0.0", "40.0")
    args = ["--config", str(config), "report", "izbica", "--from", "2026-12-06"]
    assert main([*args, "--compare-from", "2026-12-05", "--csv"]) == 0
    printed = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert printed[0] == ["figure", "item", "value", "compared", "difference"]
    assert ["calls", "", "5", "1", "4"] in printed
    # Two flow versions over both days: "abc" (TODAY's) against "new".
    both = [*args[:-1], "2026-12-05", "--to", "2026-12-06"]
    assert main([*both, "--flow-version", "abc", "--compare-flow-version", "new", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["this"]["calls"], shown["compared"]["calls"]) == (5, 1)
    assert (shown["this"]["flow_version"], shown["compared"]["flow_version"]) == ("abc", "new")
    assert shown["this"]["callbacks"] == {}  # a callback request knows no flow version
    assert {"figure": "calls", "item": "", "value": "5", "compared": "1",
            "difference": "4"} in shown["difference"]  # fmt: skip
    assert main([*args, "--compare-from", "2026-12-05"]) == 0
    text = capsys.readouterr().out
    assert "compared with 2026-12-05 to 2026-12-05" in text


def test_a_bad_service_level_threshold_is_a_clear_config_error(tmp_path: Path) -> None:
    config = tmp_path / "infolinia.yaml"
    config.write_text(
        "ari: {password: x}\ntenants:\n  a: {name: A, lines: ['1'], flow: f.yaml,"
        " adapter: {name: demo}, records: {service_level_seconds: 0}}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(config, env={})
    assert caught.value.field == "tenants.a.records.service_level_seconds"
    assert caught.value.file == str(config)


def test_records_of_a_store_before_migration_11_get_their_states_and_versions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    upgrade(db, path, MIGRATIONS[:10])  # the store just before the reports' migration
    states = json.dumps([["greeting", 1.0], ["main_menu", 2.0], ["block_number", 3.0],
                         ["main_menu", 1.0]])  # fmt: skip
    db.execute(
        "INSERT INTO call_records (node, call_id, tenant, line, started, ended, flow, "
        "flow_version, language, ending, last_state, done, consultant, queue, queue_outcome, "
        "queue_wait, agent, states, operations, queues) VALUES ('n1', 'old', 'izbica', '100', "
        f"{DAY + HOUR}, {DAY + HOUR + 60}, 'bank.yaml', 'v9', 'pl', 'caller hung up', "
        f"'main_menu', 1, 0, '', '', NULL, '', '{states}', '[[\"accounts\", \"ok\"]]', '[]')"
    )
    db.execute(
        "INSERT INTO call_operations (node, call_id, seq, tenant, started, kind, outcome) "
        f"VALUES ('n1', 'old', 0, 'izbica', {DAY + HOUR}, 'accounts', 'ok')"
    )
    db.close()
    store = Store(path)  # migration 11 on open
    found = figures(store, "izbica", DAY, DAY + 24 * HOUR, flow_version="v9")
    assert found.reached == {"greeting": 1, "main_menu": 1, "block_number": 1}
    assert found.operations == {"accounts": {"ok": 1}}  # its operation took the record's version
    assert found.announcements == {} and found.survey == {}
    [old] = CallRecords(store).records("izbica", DAY, DAY + 24 * HOUR)
    assert old.survey_score is None


def test_the_clis_funnels_follow_the_banks_published_flow_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.sqlite"
    config = tmp_path / "infolinia.yaml"
    config.write_text(
        f"ari: {{password: x}}\nstate: {state}\ntenants:\n" + bank("izbica", "I", "1")
    )
    args = ["--config", str(config), "report", "izbica", "--from", "2026-12-06", "--json"]
    assert main(args) == 0
    assert [p["path"] for p in json.loads(capsys.readouterr().out)["funnel"]] == [
        "main_menu 1", "main_menu 2", "main_menu 5", "main_menu 6",
    ]  # fmt: skip
    # A published version whose main menu offers the balance under 3.
    text = BANK_FLOW.read_text().replace('"2": balance_number', '"3": balance_number')
    assert text != BANK_FLOW.read_text()
    Store(state).transaction(
        lambda db: db.execute(
            "INSERT INTO flow_versions (tenant, number, text, hash, author, at, comment, origin, "
            "based_on, state, published_by, published_at, problem) VALUES ('izbica', 2, ?, "
            "'h', 'iza', '', '', 'editor', 1, 'published', 'iza', '', '')",
            (text,),
        )
    )
    assert main(args) == 0
    assert [p["path"] for p in json.loads(capsys.readouterr().out)["funnel"]] == [
        "main_menu 1", "main_menu 3", "main_menu 5", "main_menu 6",
    ]  # fmt: skip


def test_the_reports_read_callbacks_done_as_the_queue_marks_them() -> None:
    """reports.figures keeps its own copy of the queue's "done" state (it may
    not import the call logic): the two must stay one value."""
    assert CALLBACK_DONE == callbacks.DONE
