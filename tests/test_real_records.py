"""Call records from real calls (issue 23): four calls through the sandbox
to line 122 (tenant ``reports``: the bank flow, a queue whose one agent
answers at once) each leave exactly one record, with the states they went
through, the operations done and how the call ended, and ``infolinia
report reports --json`` counts exactly those calls:

* a card blocked (customer 12345678, telekod, card 1), the caller hanging
  up at the menu after the block;
* a balance heard, the caller hanging up at the balance menu;
* a caller hanging up at the main menu;
* a caller asking for a consultant (0), answered by the queue's agent.
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
    assert states(block)[:2] == ["greeting", "main_menu"]
    assert states(block)[-4:] == ["card_confirm", "card_block", "card_blocked", "after_card_block"]
    assert block.ending == HUNG_UP  # at the menu after the block
    balance = placed.records["balance"]
    assert balance.operations == (("accounts", "ok"),)
    assert (balance.last_state, balance.ending) == ("balance_menu", HUNG_UP)
    menu = placed.records["menu"]
    assert (states(menu), menu.operations, menu.ending) == (["greeting", "main_menu"], (), HUNG_UP)
    queue = placed.records["queue"]
    assert states(queue) == ["greeting", "main_menu", "consultant"]
    assert queue.ending == TRANSFERRED
    [visit] = queue.queues
    assert (visit.queue, visit.outcome, visit.agent) == ("main", "answered", AGENT)
    assert visit.wait is not None and 0 <= visit.wait < 10
    assert visit.entered is not None and 0 < visit.entered < queue.ended - queue.started
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
    assert report["calls"] == 4
    assert report["self_service"] == 2  # the block and the balance
    assert report["transfers"] == 1
    assert report["endings"] == {HUNG_UP: 3, COMPLETED: 0, TRANSFERRED: 1, "failed": 0}
    assert report["operations"] == {
        "accounts": {"ok": 1},
        "block_card": {"ok": 1},
        "list_cards": {"ok": 1},
    }
    queue = report["queue"]
    assert {k: queue[k] for k in ("offered", "answered", "abandoned", "callback", "timed_out")} == {
        "offered": 1, "answered": 1, "abandoned": 0, "callback": 0, "timed_out": 0,
    }  # fmt: skip
    assert queue["wait_p50"] == queue["wait_p90"] == placed.records["queue"].queues[0].wait
    assert report["drop_off"] == {"after_card_block": 1, "balance_menu": 1, "main_menu": 1}
    assert report["nodes"] == {socket.gethostname(): 4}
