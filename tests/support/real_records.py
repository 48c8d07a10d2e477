"""The six real calls whose call records the records and reports tests
read (issue 23), placed at once, once per test run: through the sandbox to
line 122 (tenant ``reports``: the bank flow, a queue whose one agent
answers at once and would talk 20 s): a card blocked, a balance heard, a
caller hanging up at the main menu, one hanging up at the telekod prompt,
a caller put through to the queue's agent (hanging up after 10 s of talk),
and one who comes to the queue 2.5 s later, while the agent talks, hears
one waiting-time announcement and hangs up (abandoned). ``placed`` holds
what they heard, their records, and ``infolinia report --json`` over
them."""

import asyncio
import json
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
from stasis_app.reports.records import CallRecord, CallRecords
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG, call_simulator, connected
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari

LINE, TENANT = "122", "reports"
AGENT = "Local/long@infolinia-test-agents/n"
CALLS = {  # name: (key groups, hang up after, seconds before calling)
    "block": (["1", "12345678", "1234#", "1", "1", "1"], 1.5, 0.0),
    "balance": (["2", "12345678", "1234#"], 1.5, 0.0),
    "menu": ([], 0.0, 0.0),
    "telekod": (["1", "12345678"], 0.5, 0.0),  # hangs up at "Telekod lub gwiazdka."
    # Talks to the agent (who would talk 20 s) and hangs up after 10 s: the
    # agent is busy until then.
    "queue": (["0"], 10.0, 0.0),
    # Comes to the queue while the agent talks: hears the first waiting-time
    # announcement (the next would come 30 s later) and hangs up.
    "abandoned": (["0"], 1.2, 2.5),
}


@dataclass
class Placed:
    transcripts: dict[str, Transcript]
    records: dict[str, CallRecord]  # by call name, matched on what each did
    report: dict[str, Any]


def name_of(record: CallRecord) -> str:
    kinds = [kind for kind, _ in record.operations]
    if "block_card" in kinds:
        return "block"
    if "accounts" in kinds:
        return "balance"
    if record.queues:
        return "queue" if record.queues[-1].outcome == "answered" else "abandoned"
    return "telekod" if record.last_state == "block_pin" else "menu"


async def place(simulator: CallSimulator) -> dict[str, Transcript]:
    async def call(keys: list[str], after: float, delay: float) -> Transcript:
        await asyncio.sleep(delay)
        return await simulator.call(LINE, keys, quiet_gap=0.4, timeout=45, hangup_after=after)

    calls = [call(*spec) for spec in CALLS.values()]
    return dict(zip(CALLS, await asyncio.gather(*calls), strict=True))


@pytest.fixture(scope="session")
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
    transcripts = asyncio.run(place(call_simulator(sandbox)))
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
    yield Placed(transcripts, {name_of(r): r for r in found}, json.loads(out))
    store.close()
