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

import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from adapters.demo import DemoBank, DemoSettings
from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator, Transcript
from stasis_app.config import load_settings
from stasis_app.reports.records import COMPLETED, HUNG_UP, TRANSFERRED, CallRecord, CallRecords
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG, call_simulator, connected
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari

pytestmark = pytest.mark.asterisk

LINE, TENANT = "122", "reports"
AGENT = "Local/quick@infolinia-test-agents/n"
CALLS = {  # name: (key groups, hang up after)
    "block": (["1", "12345678", "1234#", "1", "1", "1"], 1.5),
    "balance": (["2", "12345678", "1234#"], 1.5),
    "menu": ([], 0.0),
    "queue": (["0"], None),  # the line hangs up after the agent did
}


@dataclass
class Placed:
    transcripts: dict[str, Transcript]
    records: dict[str, CallRecord]  # by call name, matched on what each did
    report: dict[str, Any]


def _name(record: CallRecord) -> str:
    kinds = [kind for kind, _ in record.operations]
    if "block_card" in kinds:
        return "block"
    if "accounts" in kinds:
        return "balance"
    return "queue" if record.queues else "menu"


async def _place(simulator: CallSimulator) -> dict[str, Transcript]:
    calls = [
        simulator.call(LINE, keys, quiet_gap=1.0, timeout=45, hangup_after=after)
        for keys, after in CALLS.values()
    ]
    return dict(zip(CALLS, await asyncio.gather(*calls), strict=True))


@pytest.fixture(scope="module")
def placed(app: AppProcess, ari: Ari, sandbox: Sandbox) -> Iterator[Placed]:
    connected(app, ari)
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    store = Store(settings.state)
    records = CallRecords(store)
    records.delete_older(TENANT, 0)  # this run's records only (an earlier test's calls)
    # The bank's cards as seeded: an earlier run's block left card 1111 blocked.
    DemoBank(DemoSettings(**settings.tenants[TENANT].adapter.settings)).reset()
    zone = ZoneInfo(settings.tenants[TENANT].records.timezone)
    first = datetime.now(zone).date()
    began = time.monotonic()
    transcripts = asyncio.run(_place(call_simulator(sandbox)))
    found: list[CallRecord] = []
    for _ in range(100):  # written in the background once each call ended
        found = records.records(TENANT, 0, time.time() + 60)
        if len(found) >= len(CALLS):
            break
        time.sleep(0.1)
    print(f"{len(CALLS)} calls and their records took {time.monotonic() - began:.1f}s")
    last = datetime.now(zone).date()  # the calls may straddle midnight there
    out = subprocess.run(
        [sys.executable, "-m", "stasis_app", "--config", str(TEST_CONFIG), "report", TENANT,
         "--from", first.isoformat(), "--to", last.isoformat(), "--json"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    yield Placed(transcripts, {_name(r): r for r in found}, json.loads(out))
    store.close()


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
