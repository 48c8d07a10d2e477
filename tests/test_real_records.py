"""Call records from real calls (issue 23): six calls placed at once
through the sandbox to line 122 (tenant ``reports``: the bank flow, a queue
whose one agent answers at once) each leave exactly one record, with the
states they went through, the operations done, the queue's wait and
announcements, and how the call ended, and ``infolinia report reports
--json`` counts exactly those calls:

* a card blocked (customer 12345678, telekod, card 1), the caller hanging
  up at the menu after the block;
* a balance heard, the caller hanging up at the balance menu;
* a caller hanging up at the main menu;
* a caller hanging up at the telekod prompt (after the customer number);
* a caller asking for a consultant (0), answered by the queue's agent;
* a caller asking for one while the agent talks to the first: they hear
  one waiting-time announcement and hang up (abandoned).
"""

import json
import socket

import pytest

from stasis_app.reports.records import COMPLETED, HUNG_UP, TRANSFERRED, CallRecord
from tests.support.real_records import AGENT, CALLS, LINE, TENANT, Placed

pytestmark = pytest.mark.asterisk

# The calls are placed once per run (tests/support/real_records.py: the
# session fixture ``placed``; the reports page reads the same records).


def states(record: CallRecord) -> list[str]:
    return [state for state, _ in record.states]


def test_each_call_left_one_record_of_what_it_did(placed: Placed) -> None:
    assert sorted(placed.records) == sorted(CALLS), placed.transcripts
    block = placed.records["block"]
    assert block.operations == (("list_cards", "ok"), ("block_card", "ok"))
    assert states(block)[:3] == ["start", "greeting", "main_menu"]  # start: the route
    assert states(block)[-4:] == ["card_confirm", "card_block", "card_blocked", "after_card_block"]
    assert block.ending == HUNG_UP  # at the menu after the block
    balance = placed.records["balance"]
    assert balance.operations == (("accounts", "ok"),)
    assert (balance.last_state, balance.ending) == ("balance_menu", HUNG_UP)
    menu = placed.records["menu"]
    assert (states(menu), menu.operations, menu.ending) == (
        ["start", "greeting", "main_menu"],
        (),
        HUNG_UP,
    )
    telekod = placed.records["telekod"]
    assert states(telekod) == ["start", "greeting", "main_menu", "block_number", "block_pin"]
    assert (telekod.operations, telekod.ending) == ((), HUNG_UP)
    queue = placed.records["queue"]
    assert states(queue) == ["start", "greeting", "main_menu", "consultant"]
    assert queue.ending == TRANSFERRED
    [visit] = queue.queues
    assert (visit.queue, visit.outcome, visit.agent) == ("main", "answered", AGENT)
    assert visit.wait is not None and 0 <= visit.wait < 10
    assert visit.entered is not None and 0 < visit.entered < queue.ended - queue.started
    abandoned = placed.records["abandoned"]
    assert states(abandoned) == ["start", "greeting", "main_menu", "consultant"]
    assert abandoned.ending == HUNG_UP  # never reached the consultant
    [waited] = abandoned.queues
    assert (waited.outcome, waited.agent, waited.announcements) == ("abandoned", "", 1)
    assert waited.wait is not None and 0 < waited.wait < 10
    for record in placed.records.values():
        assert (record.tenant, record.line, record.language) == (TENANT, LINE, "pl")
        assert record.flow == "bank.yaml" and len(record.flow_version) == 12
        assert record.node == socket.gethostname()  # settings.node's default
        assert record.ended >= record.started + sum(seconds for _, seconds in record.states) - 1
        # No customer number, no telekod, no caller number in what it did.
        did = json.dumps([record.states, record.operations, record.as_dict()["queues"]])
        assert "12345678" not in did and "1234" not in did and "600000000" not in did
    assert COMPLETED not in {r.ending for r in placed.records.values()}


def test_infolinia_report_counts_exactly_those_calls(placed: Placed) -> None:
    report = placed.report
    assert report["calls"] == 6
    assert report["self_service"] == 2  # the block and the balance
    assert report["transfers"] == 1
    assert report["endings"] == {HUNG_UP: 5, COMPLETED: 0, TRANSFERRED: 1, "failed": 0}
    assert report["operations"] == {
        "accounts": {"ok": 1},
        "block_card": {"ok": 1},
        "list_cards": {"ok": 1},
    }
    queue = report["queue"]
    assert {k: queue[k] for k in ("offered", "answered", "abandoned", "callback", "timed_out")} == {
        "offered": 2, "answered": 1, "abandoned": 1, "callback": 0, "timed_out": 0,
    }  # fmt: skip
    answered = placed.records["queue"].queues[0].wait
    abandoned = placed.records["abandoned"].queues[0].wait
    assert answered is not None and abandoned is not None
    assert queue["wait_p50"] == min(answered, abandoned)
    assert queue["wait_p90"] == max(answered, abandoned)
    # Service level: the answered call within 30 s, of the two that waited.
    assert (queue["queued"], queue["answered_within"], queue["service_level"]) == (2, 1, 50.0)
    assert queue["service_level_seconds"] == 30
    assert queue["abandoned_wait_p50"] == queue["abandoned_wait_p90"] == abandoned
    assert sum(report["abandoned_after"].values()) == 1
    # The abandoned caller heard one waiting-time announcement.
    assert report["announcements"]["1"]["abandoned"] == 1
    assert sum(c["abandoned"] for c in report["announcements"].values()) == 1
    assert report["callbacks"] == {"requested": 0, "done": 0}
    assert report["survey"] == {}  # no survey asked
    assert report["drop_off"] == {
        "after_card_block": 1, "balance_menu": 1, "block_pin": 1, "consultant": 1, "main_menu": 1,
    }  # fmt: skip
    # The funnels: the block path (two callers chose 1: the block and the
    # one who hung up at the telekod), the balance path (one).
    blocking, balance, *_ = report["funnel"]  # and 5, 6: information, rates
    steps = {s["state"]: (s["reached"], s["hung_up"]) for s in blocking["steps"]}
    assert (blocking["path"], balance["path"]) == ("main_menu 1", "main_menu 2")
    assert steps["block_number"] == (2, 0)
    assert steps["block_pin"] == (2, 1)
    assert steps["block_auth"] == steps["card_block"] == (1, 0)
    assert steps["after_card_block"] == (1, 1)
    reached = {s["state"]: (s["reached"], s["hung_up"]) for s in balance["steps"]}
    assert reached["balance_number"] == reached["balance"] == (1, 0)
    assert reached["balance_menu"] == (1, 1) and reached["history"] == (0, 0)
    assert report["nodes"] == {socket.gethostname(): 6}
