"""The cluster on real calls: SIPp calls Kamailio (127.0.0.1:5070), which
spreads them over two Asterisk nodes (127.0.0.2, 127.0.0.3), each with its
own app (tests/support/cluster.py starts them once per run). Shown here:
every demo bank is served; a bank's calls land on its home node; a node
whose app is killed, or whose Asterisk is killed, gets no new calls within
the issue's 5 s, and new calls succeed on the other node."""

import asyncio
import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from adapters.demo import DemoBank, DemoSettings
from devtools.cluster_node import Node, log_entries
from devtools.simulator import CallSimulator, Transcript
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from tests.support.cluster import (
    CLUSTER_CONFIG,
    DEMO_BANKS,
    RunningCluster,
    agent_answers,
    call,
    calls,
    register_agent,
    ring_from,
)
from tests.support.sipp import SippResult, free_udp_port
from tests.test_real_bank import TEXTS, digits_from_words, said, words_after

pytestmark = [pytest.mark.asterisk, pytest.mark.cluster]

# The bound: a node that stops serving gets no new calls after this.
OUT_WITHIN = 5.0
# Lines of the test config whose first prompts play at once (no core is asked
# before the caller presses keys): enough numbers to reach both nodes.
LINES = ["100", "101", "102", "104", "107", "109", "111", "112", "114"]


def infolinia(*command: str) -> str:
    """Run ``infolinia --config CLUSTER_CONFIG COMMAND`` as a person does; its output."""
    done = subprocess.run(
        [sys.executable, "-m", "stasis_app", "--config", str(CLUSTER_CONFIG), *command],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# The home nodes, found once per run: the dispatcher's hash over the dialled
# number and the node list does not change while nodes leave and come back.
_HOMES: dict[str, str] = {}


def homes(cluster: RunningCluster, tmp_path: Path) -> dict[str, str]:
    """Each line of LINES and the node that served both of two calls to it
    (placed by the first test that asks; later ones reuse the answer)."""
    if _HOMES:
        return dict(_HOMES)
    cluster.mark()
    results = calls(LINES * 2, tmp_path / "homes")
    assert all(r.returncode == 0 for r in results), [r.output for r in results if r.returncode]
    served = cluster.wait_served(len(LINES) * 2)
    nodes: dict[str, set[str]] = defaultdict(set)
    for call_served in served:
        nodes[call_served.line].add(call_served.node)
    assert sorted(nodes) == sorted(LINES), served
    for line, where in nodes.items():
        assert len(where) == 1, f"line {line}'s calls landed on {sorted(where)}"
    _HOMES.update({line: where.pop() for line, where in nodes.items()})
    return dict(_HOMES)


def test_a_call_to_every_demo_bank_is_served_through_kamailio(
    cluster2: RunningCluster, tmp_path: Path
) -> None:
    cluster2.mark()
    results = calls(list(DEMO_BANKS), tmp_path)
    assert all(r.returncode == 0 for r in results), [r.output for r in results if r.returncode]
    served = cluster2.wait_served(len(DEMO_BANKS))
    assert sorted((c.line, c.tenant, c.outcome) for c in served) == [
        (line, tenant, "caller hung up") for line, tenant in sorted(DEMO_BANKS.items())
    ]


def test_each_bank_lands_on_its_home_node_and_both_nodes_serve(
    cluster2: RunningCluster, tmp_path: Path
) -> None:
    home = homes(cluster2, tmp_path)
    print(f"home nodes: {home}")
    assert set(home.values()) == {n.name for n in cluster2.nodes}


def test_a_killed_app_takes_its_node_out_until_it_is_back(
    cluster2: RunningCluster, tmp_path: Path
) -> None:
    """kill -9 of one node's app: Kamailio sends that node's banks to the
    other node within 5 s (the registration the app kept lapses), and back
    to their home node once the app runs again."""
    home = homes(cluster2, tmp_path)
    line = next(iter(home))
    node = cluster2.cluster.node(home[line])
    killed_at = time.monotonic()
    node.kill_app()
    gone = cluster2.wait_registered(node, present=False)
    print(f"{node.name}'s app killed: out of Kamailio's set after {gone:.1f}s")
    assert gone <= OUT_WITHIN

    cluster2.mark()
    result = asyncio.run(call(line, tmp_path / "while-down"))
    assert result.returncode == 0, result.output
    (served,) = cluster2.wait_served(1)
    assert served.node != node.name and served.outcome == "caller hung up"
    print(f"line {line} served by {served.node} {time.monotonic() - killed_at:.1f}s after")

    cluster2.cluster.start_app(node)
    cluster2.wait_registered(node, present=True)
    cluster2.mark()
    result = asyncio.run(call(line, tmp_path / "back"))
    assert result.returncode == 0, result.output
    (served,) = cluster2.wait_served(1)
    assert served.node == node.name, "the node did not rejoin"


def test_a_drained_node_gets_no_new_calls_and_undrained_it_is_home_again(
    cluster2: RunningCluster, tmp_path: Path
) -> None:
    """``infolinia cluster drain NODE`` (the command): its banks' new calls go
    to the other node while it finishes its own; ``undrain`` takes it back."""
    home = homes(cluster2, tmp_path)
    line = next(iter(home))
    node = cluster2.cluster.node(home[line])
    kamailio = cluster2.cluster.kamailio

    async def drained_during_a_call() -> tuple[SippResult, SippResult]:
        in_progress = asyncio.ensure_future(call(line, tmp_path / "in-progress", hold_ms=3000))
        await asyncio.sleep(1)
        await asyncio.to_thread(infolinia, "cluster", "drain", node.name)
        new = await call(line, tmp_path / "new", hold_ms=500)
        return await in_progress, new

    cluster2.mark()
    try:
        in_progress, new = asyncio.run(drained_during_a_call())
        assert in_progress.returncode == 0, in_progress.output  # it finished where it was
        assert new.returncode == 0, new.output
        served = {c.node for c in cluster2.wait_served(2)}
        assert served == {node.name, next(n.name for n in cluster2.nodes if n != node)}
        time.sleep(2)  # probes keep coming: a drained node stays out
        assert (kamailio.destinations().get(node.sip) or "").startswith("D")
    finally:
        infolinia("cluster", "undrain", node.name)
    cluster2.wait_dispatcher(node, "A")
    cluster2.mark()
    result = asyncio.run(call(line, tmp_path / "undrained", hold_ms=500))
    assert result.returncode == 0, result.output
    assert [c.node for c in cluster2.wait_served(1)] == [node.name]


def test_a_killed_asterisk_node_under_calls_loses_only_its_calls(
    cluster2: RunningCluster, tmp_path: Path
) -> None:
    """kill -9 of one node's Asterisk with calls in progress on both nodes:
    the dead node's calls are lost, the other node's finish, and new calls
    to the dead node's banks are served by the other node within 5 s. Two
    callers block cards on the dead node meanwhile (the kill comes once the
    first has confirmed): every block a caller heard a reference for is at
    the bank under that reference."""
    home = homes(cluster2, tmp_path)
    cluster = cluster2.cluster
    victim = cluster.node(home["100"])
    settings = load_settings(CLUSTER_CONFIG, env=cluster.app_environment(victim))
    blocker = CallSimulator(
        settings.ari, build_deployment(settings, with_adapters=False).heard_texts()
    )
    izbica = DemoBank(DemoSettings(**settings.tenants["izbica"].adapter.settings))
    izbica.reset()
    blocks: list[asyncio.Future[Transcript]] = []
    survivor = next(n for n in cluster2.nodes if n != victim)
    victim_lines = [line for line, name in home.items() if name == victim.name]
    # About 40 calls in progress: four to every line, held 6 s, both nodes busy.
    load_lines = LINES * 4
    killed_at = wall_killed_at = 0.0

    async def timed(line: str, workdir: Path) -> tuple[SippResult, float]:
        result = await call(line, workdir, hold_ms=6000)
        return result, time.monotonic()

    async def scenario() -> tuple[list[tuple[SippResult, float]], list[tuple[float, SippResult]]]:
        nonlocal killed_at, wall_killed_at
        offset = victim.app_log.stat().st_size
        for customer, pin in BLOCKERS:  # on the victim, as Kamailio sends line 100
            keys = ["1", customer, f"{pin}#", "1", "1", "1"]
            blocks.append(
                asyncio.ensure_future(
                    blocker.call("100", keys, quiet_gap=0.3, timeout=60, hangup_after=1.0)
                )
            )
        await asyncio.to_thread(block_done, victim, offset)
        load = asyncio.gather(
            *(timed(line, tmp_path / f"load-{i}-{line}") for i, line in enumerate(load_lines))
        )
        await asyncio.sleep(2.5)  # every load call answered and in progress
        killed_at, wall_killed_at = time.monotonic(), time.time()
        await asyncio.to_thread(victim.kill_asterisk, cluster.sandbox.root)
        new: list[tuple[float, SippResult]] = []
        for i in range(6):  # a new call to the dead node's bank every half second
            started = time.monotonic() - killed_at
            new.append((started, await call(victim_lines[0], tmp_path / f"new-{i}", 500)))
            await asyncio.sleep(0.5)
        await asyncio.gather(*blocks, return_exceptions=True)
        return list(await load), new

    cluster2.mark()
    load_results, new_calls = asyncio.run(scenario())
    try:
        heard = blocks_heard(blocks)
        at_bank = {
            b["reference"] for customer, _ in BLOCKERS for b in izbica.snapshot(customer)["blocks"]
        }
        print(
            f"blockers on {victim.name}: {len(heard)} of {len(BLOCKERS)} heard a reference "
            f"before the kill; the bank has {len(at_bank)} blocks"
        )
        assert heard and set(heard) <= at_bank  # no confirmed block lost
        lost = [
            (line, ended - killed_at)
            for line, (result, ended) in zip(load_lines, load_results, strict=True)
            if result.returncode != 0
        ]
        lost_lines = sorted({line for line, _ in lost})
        seen = [t for _, t in lost] or [0.0]
        print(
            f"killed {victim.name}'s Asterisk with {len(load_lines)} calls in progress "
            f"({sum(home[line] == victim.name for line in load_lines)} on it): {len(lost)} lost, "
            f"on lines {lost_lines}; SIPp saw each when its hangup failed, "
            f"{min(seen):.1f}-{max(seen):.1f}s "
            "after the kill (its media stopped at once)"
        )
        assert set(lost_lines) <= set(victim_lines)
        survivor_lines = [line for line in load_lines if home[line] == survivor.name]
        assert len(load_results) - len(lost) >= len(survivor_lines)
        for started, result in new_calls:
            print(f"  new call placed {started:4.1f}s after the kill: SIPp {result.returncode}")
        first_ok = next(started for started, result in new_calls if result.returncode == 0)
        assert first_ok <= OUT_WITHIN
        after = [result for started, result in new_calls if started >= first_ok]
        assert all(r.returncode == 0 for r in after), "a new call failed after the failover"
        served = cluster2.served()
        new_served = [c for c in served if c.line == victim_lines[0] and c.node == survivor.name]
        assert len(new_served) >= len(after)
        reached = min(c.started for c in new_served) - wall_killed_at
        print(f"  the first new call reached {survivor.name}'s app {reached:.1f}s after the kill")
        assert reached <= OUT_WITHIN
    finally:  # the next tests (and runs) get both nodes back
        victim.start_asterisk(cluster.sandbox)
        cluster2.wait_registered(victim, present=True, timeout=30)
        cluster2.wait_dispatcher(victim, "A")
    print(f"{victim.name} back {time.monotonic() - killed_at:.0f}s after the kill")
    izbica.reset()


# Demo customers (adapters/demo.py) blocking their first card in the kill test.
BLOCKERS = [("87654321", "4321"), ("12345678", "1234")]


def block_done(node: Node, offset: int, timeout: float = 60) -> None:
    """Wait until a caller on ``node`` has heard a block's whole reference (the
    menu after it has begun; logged after ``offset``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in log_entries(node.app_log, offset):
            if entry.get("event") == "prompt" and entry.get("prompt") == "after_block_menu":
                return
        time.sleep(0.05)
    raise AssertionError(f"no caller on {node.name} heard a block's reference within {timeout} s")


def blocks_heard(calls: "list[asyncio.Future[Transcript]]") -> list[str]:
    """The references callers heard whole after "card blocked" (the menu after
    it began: a reference cut off by the kill is not one a caller was read)."""
    heard = []
    for done in calls:
        if done.cancelled() or done.exception() is not None:
            continue  # the node died under the simulated caller's ARI
        spoken = said(done.result())
        if TEXTS["card_blocked"] in spoken and TEXTS["after_block_menu"] in spoken:
            heard.append(digits_from_words(words_after(done.result(), TEXTS["card_blocked"])))
    return heard


def test_a_phone_registered_at_kamailio_is_rung_by_either_node(
    cluster2: RunningCluster, tmp_path: Path
) -> None:
    """A consultant's phone registers once, at Kamailio; every node reaches it
    there (through Kamailio's location table), not at a node of its own."""
    password = cluster2.cluster.sandbox.ari_password()
    for node in cluster2.nodes:
        port = free_udp_port()
        register_agent("agent7", port)

        async def ring(node: Node = node, port: int = port) -> SippResult:
            phone = asyncio.ensure_future(agent_answers(port, tmp_path / node.name))
            await asyncio.sleep(0.5)  # SIPp listens
            await ring_from(node, password, "agent7")
            return await phone

        result = asyncio.run(ring())
        assert result.returncode == 0, f"{node.name}: {result.output}"
    assert "agent7" in cluster2.cluster.kamailio.registered()


def test_a_banks_queue_rings_its_consultant_registered_at_kamailio(
    cluster2: RunningCluster, tmp_path: Path
) -> None:
    """Line 121's queue has one consultant, ``Proxy/agent8``: a phone that
    registers at Kamailio, not at a node. While it is not registered the
    queue counts it as logged out (the node's app asked Kamailio); once it
    registers, a caller through Kamailio asking for a consultant is put
    through to it by whichever node is the bank's home."""
    port = free_udp_port()
    register_agent("agent8", port, expires=0)  # whatever an earlier run left
    cluster2.mark()
    alone = asyncio.run(call("121", tmp_path / "alone", hold_ms=3000))
    assert alone.returncode == 0, alone.output
    assert cluster2.logged("no agent logged in"), "the queue did not see its phone logged out"

    register_agent("agent8", port, expires=60)

    async def put_through() -> tuple[SippResult, SippResult]:
        phone = asyncio.ensure_future(agent_answers(port, tmp_path / "agent8"))
        await asyncio.sleep(0.5)  # SIPp listens
        caller = await call("121", tmp_path / "caller", hold_ms=7000)
        return caller, await phone

    cluster2.mark()
    try:
        caller, phone = asyncio.run(put_through())
    finally:
        register_agent("agent8", port, expires=0)
    assert caller.returncode == 0, caller.output
    assert phone.returncode == 0, f"the phone was not rung and hung up: {phone.output}"
    ringing = cluster2.logged("agent ringing")
    assert [(node, e["agent"]) for node, e in ringing] == [(ringing[0][0], "Proxy/agent8")]
    assert cluster2.logged("agent whispered"), "the consultant was not put through"


def test_cluster_status_says_what_runs_where(cluster2: RunningCluster) -> None:
    """``infolinia cluster status --json``, as a person runs it."""
    status = json.loads(infolinia("cluster", "status", "--json"))
    assert status["sip"] == "127.0.0.1:5070" and status["kamailio_pid"] is not None
    assert status["state"] == cluster2.cluster.state
    for node, shown in zip(cluster2.nodes, status["nodes"], strict=True):
        assert shown["node"] == node.name and shown["sip"] == node.sip
        assert shown["ari_answers"] and shown["app_registered"]
        assert shown["dispatcher"].startswith("A")
        assert shown["calls_in_progress"] == 0
