"""The cluster's shared state on real calls: both nodes' apps keep their
state in one PostgreSQL database (tests/support/cluster.py), so what one
node learns every node knows. Shown here, on the webservice bank (line 111,
its core a reference core this module runs on 127.0.0.1:18766, so the test
counts every request that reached the bank) and a demo bank:

* wrong telekods typed on both nodes (the home node drained between the
  calls) add up to one lock, and the right telekod is then refused without
  asking the bank;
* a prompt edit made with node1's environment is heard on node2's next call
  (the delay is measured and printed);
* a block confirmed on node1 while the bank's blocks are down is journaled,
  and node2's journal worker delivers it once node1's app is gone.
"""

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from adapters.demo import DemoBank, DemoSettings
from devtools.cluster_node import KAMAILIO_LISTEN, Node, log_entries
from devtools.simulator import CallSimulator, Transcript
from stasis_app.admin.prompts import PromptAdmin
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from stasis_app.reports.records import CallRecords
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.journal import DELIVERED, PENDING, BlockJournal
from stasis_app.safeguards.login_guard import LoginGuard
from stasis_app.store import Store
from stasis_app.store.postgres import POOL_WAIT
from tests.support.admin_http import put_greeting
from tests.support.cluster import (
    CLUSTER_CONFIG,
    CLUSTER_CORE_PORT,
    CLUSTER_DEMO_BANK,
    RunningCluster,
    call,
    calls,
)
from tests.support.reference_core import ReferenceCoreThread, Seen
from tests.support.sipp import SippResult, sipp_call
from tests.test_real_bank import digits_from_words, said, words_after

pytestmark = [pytest.mark.asterisk, pytest.mark.cluster]

WEBSERVICE_LINE, WEBSERVICE = "111", "webservice"
VICTIM, VICTIM_PIN = "87654321", "4321"  # demo seed
# The bound for an edit made on one node to be heard on another.
EDIT_WITHIN = 2.0


@pytest.fixture(scope="module")
def core() -> Iterator[ReferenceCoreThread]:
    """The webservice bank's core (the test config points line 111 here)."""
    server = ReferenceCoreThread(
        DemoSettings(database=CLUSTER_DEMO_BANK, tenant=WEBSERVICE), port=CLUSTER_CORE_PORT
    ).start()
    server.core.bank.reset()
    yield server
    server.core.bank.reset()
    server.stop()


@pytest.fixture(autouse=True)
def _state_login(
    _no_ambient_config: None, cluster2: RunningCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shared state's password file, as an app has it (tests/conftest.py
    clears every INFOLINIA_ variable before each test)."""
    for key, value in cluster2.postgres.env().items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def store(_state_login: None, cluster2: RunningCluster) -> Iterator[Store]:
    """The state both nodes share, opened as an app opens it (password from a file)."""
    opened = Store(cluster2.cluster.state)
    yield opened
    opened.close()


def simulator(cluster: RunningCluster, node: Node) -> tuple[CallSimulator, dict[str, str]]:
    """A caller placed straight on ``node``'s Asterisk (the node Kamailio would
    pick), naming what it hears from the config and the shared store's edits;
    and the webservice bank's prompt texts."""
    settings = load_settings(CLUSTER_CONFIG, env=cluster.env(node))
    deployment = build_deployment(settings, with_adapters=False)
    shared = Store(settings.state)
    try:
        PromptAdmin(deployment, shared).load_stored()
    finally:
        shared.close()
    texts = dict(deployment.tenants[WEBSERVICE].prompts.texts)
    return CallSimulator(settings.ari, deployment.heard_texts()), texts


def dial(simulator: CallSimulator, line: str, keys: str) -> Transcript:
    return asyncio.run(
        simulator.call(line, keys.split(), quiet_gap=0.3, timeout=60, hangup_after=1.0)
    )


def home_of(cluster: RunningCluster, line: str, workdir: Path) -> Node:
    """The node Kamailio sends ``line``'s calls to (one call to see)."""
    cluster.mark()
    result = asyncio.run(call(line, workdir, hold_ms=300))
    assert result.returncode == 0, result.output
    (served,) = cluster.wait_served(1)
    return cluster.cluster.node(served.node)


def keyed_call(
    line: str, keys: str, workdir: Path, hangup_after_ms: int | None = None
) -> SippResult:
    """A SIPp caller through Kamailio that presses ``keys`` and waits for the
    line to hang up (or, with ``hangup_after_ms``, hangs up that long after
    its keys)."""
    return asyncio.run(
        sipp_call(
            line,
            keys,
            wait_ms=1500,
            workdir=workdir,
            scenario_name="caller_keys_via_proxy.xml",
            target=KAMAILIO_LISTEN,
            hangup_after_ms=hangup_after_ms,
        )
    )


def infolinia_as(cluster: RunningCluster, node: Node, *command: str) -> str:
    """``infolinia COMMAND`` run with ``node``'s environment (its state, its login)."""
    done = subprocess.run(
        [sys.executable, "-m", "stasis_app", "--config", str(CLUSTER_CONFIG), *command],
        env={**os.environ, **cluster.env(node)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def logins_about(seen: list[Seen], number: str) -> int:
    return sum(
        s.path == "/v1/authenticate" and s.body.get("customer_number") == number for s in seen
    )


def test_wrong_telekods_on_two_nodes_add_up_to_one_lock(
    cluster2: RunningCluster, core: ReferenceCoreThread, store: Store, tmp_path: Path
) -> None:
    """Three wrong telekods on the bank's home node; the node is drained
    (``infolinia cluster drain``), so the next calls go to the other node:
    two more wrong ones there lock the customer, and the right telekod is
    then refused without the bank being asked."""
    home = home_of(cluster2, WEBSERVICE_LINE, tmp_path / "home")
    other = next(n for n in cluster2.nodes if n != home)
    guard = LoginGuard(store, load_settings(CLUSTER_CONFIG, resolve_secrets=False, env={}).security)
    guard.unlock(WEBSERVICE, VICTIM)
    asked_before = logins_about(core.core.seen, VICTIM)
    audit = AuditLog(store)
    seen_before = audit.head()[0]

    cluster2.mark()
    wrong3 = "2" + "".join(f"{VICTIM}99{i}0#" for i in range(3))
    first = keyed_call(WEBSERVICE_LINE, wrong3, tmp_path / "three")
    assert first.returncode == 0, first.output
    subprocess.run(
        [sys.executable, "-m", "stasis_app", "--config", str(CLUSTER_CONFIG), "cluster", "drain",
         home.name],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    try:
        cluster2.wait_dispatcher(home, "D")
        # Two wrong telekods, then the line asks again: the caller gives up.
        second = keyed_call(WEBSERVICE_LINE, f"2{VICTIM}9980#{VICTIM}9981#", tmp_path / "two", 4000)
        assert second.returncode == 0, second.output
        asked_at_lock = logins_about(core.core.seen, VICTIM) - asked_before
        right = keyed_call(WEBSERVICE_LINE, f"2{VICTIM}{VICTIM_PIN}#", tmp_path / "right")
        assert right.returncode == 0, right.output
        served = cluster2.wait_served(3)
    finally:
        subprocess.run(
            [sys.executable, "-m", "stasis_app", "--config", str(CLUSTER_CONFIG), "cluster",
             "undrain", home.name],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
    cluster2.wait_dispatcher(home, "A")
    try:
        assert [c.node for c in served] == [home.name, other.name, other.name], served
        asked = logins_about(core.core.seen, VICTIM) - asked_before
        print(f"bank asked {asked_at_lock} times before the lock, {asked} in all")
        assert asked_at_lock == 5 and asked == 5  # the right telekod never reached the bank
        entries = [
            e
            for e in audit.entries(tenant=WEBSERVICE, limit=1000)
            if e.seq > seen_before and e.action == "authenticate" and e.customer == "*****321"
        ]
        assert [e.result for e in entries] == ["refused"] * 5 + ["locked"]
        by_node = [e.call_id.split("-", 1)[0] for e in entries]
        print(f"audit of the six logins, by node: {by_node}")
        assert by_node == [home.name] * 3 + [other.name] * 3
        _, locked_until = guard.failures(WEBSERVICE, VICTIM, "authenticate")
        minutes = (locked_until - time.time()) / 60
        print(f"locked in the shared store for {minutes:.0f} more minutes")
        assert locked_until > time.time()
    finally:
        guard.unlock(WEBSERVICE, VICTIM)
        core.core.bank.reset()


def applied_at(node: Node, offset: int, timeout: float) -> float:
    """When ``node``'s app logged that it applied prompt edits (after ``offset``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in log_entries(node.app_log, offset):
            if entry.get("event") == "prompt edits applied":
                return datetime.fromisoformat(str(entry["ts"]).replace("Z", "+00:00")).timestamp()
        time.sleep(0.05)
    raise AssertionError(f"{node.name} did not apply the edit within {timeout} s")


def test_a_prompt_edit_through_node1_is_heard_on_node2s_next_call(
    cluster2: RunningCluster, store: Store, tmp_path: Path
) -> None:
    """A bank's greeting is changed through node1's admin API; node2 (the
    bank's home) applies it within 2 s, measured from before the request was
    sent, and its next call plays the new text. The old text goes back with
    ``infolinia prompts set`` run with node1's environment."""
    node1, node2 = cluster2.nodes
    line = next(
        line
        for line in ("100", "102", "101")
        if home_of(cluster2, line, tmp_path / f"home-{line}") == node2
    )
    tenant = {"100": "izbica", "101": "cieszyn", "102": "staszow"}[line]

    def first_heard() -> str:
        caller, _ = simulator(cluster2, node2)
        transcript = asyncio.run(caller.call(line, [], quiet_gap=0.3, timeout=30, hangup_after=0))
        return next(step.text for step in transcript.steps if step.kind == "prompt")

    old = first_heard()
    new = f"Zmiana z pierwszego węzła {int(time.time()) % 1000}."
    token = store.create_token("test-cluster-admin", tenant)
    try:
        offset = node2.app_log.stat().st_size
        sent = time.time()
        assert asyncio.run(put_greeting(node1.admin_port, token, tenant, new, expected=old)) == 200
        answered = time.time()
        delay = applied_at(node2, offset, timeout=10) - sent
        heard = first_heard()
        print(
            f"{tenant}'s greeting edited through node1's API (answered in "
            f"{answered - sent:.2f}s): node2 applied it {delay:.2f}s after the request"
        )
        assert heard == new
        assert delay <= EDIT_WITHIN
    finally:
        store.revoke_token("test-cluster-admin")
        offset = node2.app_log.stat().st_size
        began = time.time()
        infolinia_as(cluster2, node1, "prompts", "set", tenant, "greeting", old, "--who", "test")
        back = applied_at(node2, offset, timeout=10) - began
        print(f"  the old text set back with node1's 'prompts set': on node2 {back:.2f}s later")
    assert first_heard() == old


def test_a_journaled_block_of_a_node_that_died_is_delivered_by_the_other(
    cluster2: RunningCluster, core: ReferenceCoreThread, store: Store, tmp_path: Path
) -> None:
    """The bank's blocks answer 503 while node2's app is being restarted: a
    card block confirmed on node1 (the bank's home) is read a reference and
    journaled in the shared store; node1's app is killed; the bank is back,
    node2's app starts, and its journal worker delivers the block, once.
    (node2 is stopped meanwhile because its worker, trying the block while
    the bank is down, would open its circuit breaker for
    ``security.breaker_seconds``, 30 s, before delivering.)"""
    home = home_of(cluster2, WEBSERVICE_LINE, tmp_path / "home")
    other = next(n for n in cluster2.nodes if n != home)
    caller, texts = simulator(cluster2, home)
    journal = BlockJournal(store)
    core.core.bank.reset()
    other.stop_app()
    try:
        core.core.faults.blocks_down = True
        try:
            transcript = dial(caller, WEBSERVICE_LINE, "1 12345678 1234# 1 1 1")
            spoken = said(transcript)
            assert texts["block_registered"] in spoken, transcript.as_text()
            reference = digits_from_words(words_after(transcript, texts["block_registered"]))
            [entry] = [e for e in journal.entries(PENDING) if e.reference == reference]
            home.kill_app()
        finally:
            core.core.faults.blocks_down = False
        held = store.read(
            lambda db: db.execute(
                "SELECT claimed_by, claimed_until FROM journal WHERE reference = ?", (reference,)
            ).fetchone()
        )
        lapse = max(0.0, float(held[1]) - time.time())
        print(f"{home.name}'s app killed; its claim on the block: {held[0] or 'none'}")
        offset = other.app_log.stat().st_size
        started = time.monotonic()
        cluster2.cluster.start_app(other)
        deadline = time.monotonic() + lapse + 20
        while time.monotonic() < deadline:
            [now] = [e for e in journal.entries() if e.reference == reference]
            if now.state != PENDING:
                break
            time.sleep(0.1)
        took = time.monotonic() - started
        print(
            f"  delivered by {other.name} {took:.1f}s after its app was started "
            f"(a claim left to lapse: {lapse:.0f}s)"
        )
        assert now.state == DELIVERED and now.operation_id == entry.operation_id
        assert core.core.bank.snapshot("12345678")["cards"][0]["status"] == "blocked"
        delivered_by = [
            e for e in log_entries(other.app_log, offset)
            if e.get("event") == "journalled block delivered"
        ]  # fmt: skip
        assert len(delivered_by) == 1, delivered_by
        proof = [(e.action, e.result) for e in AuditLog(store).entries(reference=reference)]
        assert proof == [("block_card", "journaled"), ("block_card", "delivered")]
        assert len(core.core.bank.snapshot("12345678")["blocks"]) == 1  # asked once
    finally:
        with contextlib.suppress(Exception):
            core.core.bank.reset()
        for node in (home, other):
            if node.app_pid() is None:
                cluster2.cluster.start_app(node)
            cluster2.wait_registered(node, present=True)


# Lines that play and wait for keys for longer than a load call holds: the load.
LOAD_LINES = ["100", "101", "102", "107", "109", "112"]
# How long a node waits for PostgreSQL before it gives up on a write (the
# pool's wait, stasis_app/store/postgres.py POOL_WAIT), and a margin: a caller
# stays on the line through that silence.
STORE_WAIT = POOL_WAIT + 2


async def logged(node: Node, offset: int, event: str, timeout: float, **fields: str) -> float:
    """Wait until ``node``'s app logs ``event`` (with ``fields``) after ``offset``;
    the seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        for entry in log_entries(node.app_log, offset):
            if entry.get("event") == event and all(entry.get(k) == v for k, v in fields.items()):
                return time.monotonic() - began
        await asyncio.sleep(0.05)
    raise AssertionError(f"{node.name} did not log {event!r} {fields} within {timeout} s")


def test_every_call_leaves_a_record_naming_its_node_in_the_shared_store(
    cluster2: RunningCluster, store: Store, tmp_path: Path
) -> None:
    """Calls to the three demo banks through Kamailio: each leaves one call
    record in PostgreSQL naming the node that served it (the records of
    every node in one place, for the bank's reports)."""
    began = time.time() - 1
    cluster2.mark()
    results = calls(["100", "101", "102"], tmp_path, hold_ms=500)
    assert all(r.returncode == 0 for r in results), [r.output for r in results]
    served = sorted((str(c.tenant), c.node) for c in cluster2.wait_served(3))
    records = CallRecords(store)
    found: list[tuple[str, str]] = []
    deadline = time.monotonic() + 15  # written once each call has ended
    while time.monotonic() < deadline:
        found = sorted(
            (r.tenant, r.node)
            for tenant, _ in served
            for r in records.records(tenant, began, time.time() + 1)
        )
        if len(found) >= len(served):
            break
        time.sleep(0.2)
    print(f"records by bank and node: {found}")
    assert found == served
    assert {node for _, node in found} <= {n.name for n in cluster2.nodes}


def test_postgresql_restarted_under_load(
    cluster2: RunningCluster, store: Store, tmp_path: Path
) -> None:
    """About 20 calls in progress through Kamailio and a caller blocking a
    card when PostgreSQL stops: the calls finish; the blocker, logged in
    before, confirms during the outage and hears the bank's reference (the
    audit entry waits in the node's spool); a login during the outage is
    refused politely (the bank "cannot be reached", not the apology);
    PostgreSQL starts again, the spool reaches the store, and nothing is
    written twice."""
    settings = load_settings(CLUSTER_CONFIG, resolve_secrets=False, env={})
    izbica = DemoBank(DemoSettings(**settings.tenants["izbica"].adapter.settings))
    izbica.reset()
    blocker_node = home_of(cluster2, "100", tmp_path / "home-100")
    login_node = next(n for n in cluster2.nodes if n != blocker_node)
    blocker, _ = simulator(cluster2, blocker_node)
    texts = dict(  # the demo banks' texts (the same prompts file for every bank)
        build_deployment(settings, with_adapters=False).tenants["izbica"].prompts.texts
    )
    login_caller, _ = simulator(cluster2, login_node)
    postgres = cluster2.postgres
    spool = blocker_node.home / "block-spool"
    audit_before = AuditLog(store).head()[0]
    offset = blocker_node.app_log.stat().st_size
    load_lines = LOAD_LINES * 3 + LOAD_LINES[:2]  # 20
    times: dict[str, float] = {}

    async def scenario() -> tuple[list[SippResult], Transcript, Transcript]:
        keys = ["1", "12345678", "1234#", "1", "1", "1"]
        blocking = asyncio.ensure_future(
            # The caller waits through a silence: the audit waits for the store first.
            blocker.call("100", keys, quiet_gap=0.3, timeout=60, hangup_after=STORE_WAIT)
        )
        await logged(blocker_node, offset, "caller logged in", 30)
        load = asyncio.gather(
            *(
                call(line, tmp_path / f"load-{i}-{line}", hold_ms=10000)
                for i, line in enumerate(load_lines)
            )
        )
        await logged(blocker_node, offset, "operation done", 30, operation="list_cards")
        await asyncio.sleep(0.2)  # its audit entry written
        login_offset = login_node.app_log.stat().st_size
        times["stop"] = time.monotonic()
        await asyncio.to_thread(postgres.down)
        times["stopped"] = time.monotonic()
        login = asyncio.ensure_future(
            login_caller.call(
                "101", ["2", "12345678", "1234#"], quiet_gap=0.3, timeout=60, hangup_after=2
            )
        )
        # PostgreSQL comes back once the blocker has heard its reference and the
        # login has been refused: both happened while it was down.
        await logged(blocker_node, offset, "prompt", 60, prompt="after_block_menu")
        await logged(login_node, login_offset, "prompt", 60, prompt="bank_unavailable")
        times["start"] = time.monotonic()
        await asyncio.to_thread(postgres.up)
        times["started"] = time.monotonic()
        return list(await load), await blocking, await login

    cluster2.mark()
    try:
        load, blocked, login = asyncio.run(scenario())
    finally:
        if postgres.pid() is None:
            postgres.up()
    print(
        f"PostgreSQL down {times['started'] - times['stop']:.1f}s "
        f"(stop took {times['stopped'] - times['stop']:.1f}s, "
        f"start {times['started'] - times['start']:.1f}s) under {len(load)} calls"
    )
    # SIPp's own port race (a port picked free and taken by another SIPp
    # before it binds): such a call never reached Kamailio.
    unplaced = [r for r in load if r.returncode and "Unable to bind" in r.output]
    failed = [r.output[-600:] for r in load if r.returncode and r not in unplaced]
    served = cluster2.wait_served(len(load) + 2, timeout=20)
    ended = [c for c in served if c.outcome]
    print(
        f"  load calls failed at SIPp: {len(failed)} (never placed: {len(unplaced)}); "
        f"calls the apps ended: {len(ended)}, "
        f"outcomes {sorted({str(c.outcome) for c in ended})}"
    )
    # The blocker heard the whole path: the bank's reference.
    spoken = said(blocked)
    assert texts["card_blocked"] in spoken, blocked.as_text()
    reference = digits_from_words(words_after(blocked, texts["card_blocked"]))
    assert len(reference) >= 6 and texts["apology"] not in spoken
    # The login during the outage: refused politely.
    heard_login = said(login)
    print(f"  login during the outage heard: {heard_login}")
    assert texts["bank_unavailable"] in heard_login, login.as_text()
    assert texts["apology"] not in heard_login
    # The spool reached the store once PostgreSQL was back: once.
    deadline = time.monotonic() + 40  # the pool's reconnection backs off while it is down
    while any(spool.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(spool.glob("*.json")), "the node's spool was not moved into the store"
    print(f"  spool empty {time.monotonic() - times['started']:.1f}s after PostgreSQL was back")
    proof = AuditLog(store).entries(reference=reference)
    assert [(e.action, e.result) for e in proof] == [("block_card", "confirmed")], proof
    assert '"spooled"' in proof[0].detail
    after = [e for e in AuditLog(store).entries(limit=5000) if e.seq > audit_before]
    keys = [(e.call_id, e.action, e.result, e.reference, e.detail) for e in after]
    assert len(keys) == len(set(keys)), "an audit entry was written twice"
    journal = BlockJournal(store).entries()
    assert len({e.operation_id for e in journal}) == len(journal)
    assert [c["status"] for c in izbica.snapshot("12345678")["cards"]][:1] == ["blocked"]
    izbica.reset()
    # The calls in progress finished: the callers hung up when they meant to.
    assert failed == [] and len(unplaced) <= 2, failed
    assert sum(c.outcome == "caller hung up" for c in ended) >= len(load) - len(unplaced)
