"""Cluster load benchmark: what Kamailio and PostgreSQL cost per call, next
to one node, in one run (issue 19, docs/performance.md).

    flock /tmp/infolinia-asterisk.lock .venv/bin/python bench/cluster_load.py \\
        [--concurrency 50,200] [--seconds 30] [--path card_block] [--json] [--out FILE]

Two set-ups, each at every level of --concurrency (calls in progress), the
same SIPp caller (bench/load_paths.py) on the same bench config
(bench/infolinia-bench.yaml, three demo banks on lines 100-102):

* single: the sandbox's one Asterisk (127.0.0.1:5060) and one app with the
  SQLite state, exactly as bench/load.py's target ``app`` (its run_one);
* cluster: Kamailio (127.0.0.1:5070) in front of --nodes Asterisk nodes
  (127.0.0.2, .3, ...) with one app each (devtools/cluster.py), all sharing a
  PostgreSQL state: a private PostgreSQL 15 of its own (devtools/postgres.py,
  name ``bench-cluster``, port 55440, fsync on, a fresh database per run).
  The calls go to lines 100, 101 and 102 in turn; Kamailio's dispatcher sends
  each line to its bank's home node, so the split over the nodes is the one
  the three banks hash to (reported as ``calls_by_node``).

For each run: calls attempted, completed and failed (SIPp's counters and
reasons; for the apps also calls whose flow did not end where the caller hung
up), and CPU ms per completed call of each process kind from /proc/PID/stat
(utime+stime, over the process and its children, reaped ones included):
the app(s), Asterisk(s), and in the cluster Kamailio (all its processes) and
PostgreSQL (the postmaster and every backend and worker). For PostgreSQL
also, per completed call: write transactions (transaction ids the server
handed out: only writes get one), WAL bytes (pg_current_wal_lsn before and
after), and, after an 11 s pause that lets idle backends flush their
statistics, committed transactions and rows inserted/updated/deleted of the
app's database (pg_stat_database). Kamailio's and PostgreSQL's shares are
their CPU over the cluster's whole CPU per call; the ratios put each cluster
figure over the single-node figure of the same level, measured in this run.
The cluster's idle cost (before its first level: CPU ms, write transactions
and WAL bytes per second with no call) is reported apart: it is in every
per-call figure, as load.py's figures include each process's idle work
during the run, and ``idle_per_call`` says how much of each figure it is.
The single node's idle work is in its figures too but not measured apart.

Needs Debian's sip-tester, kamailio and postgresql-15, the sandbox (started
if down) and nothing else on 127.0.0.2-3 or 5070: run it under the team's
lock. The single node runs first, then the cluster is started (in its own
folder, /var/cache/infolinia/bench-cluster), run, and stopped with its
PostgreSQL, even on failure. Each level of the card-block path takes about
95 s (calls start over one call's length, the last ends one length later):
some 7.5 minutes in all on 2 CPUs, cluster start-up included.
"""

import argparse
import contextlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from load import (
    TICKS,
    Ari,
    bench_config,
    free_port,
    prepare,
    run_one,
    sipp_stats,
)
from load_paths import PATHS, CallerPath, write_scenario

from devtools.cluster import Cluster
from devtools.cluster_node import KAMAILIO_LISTEN, log_entries, terminate
from devtools.postgres import Postgres
from devtools.sandbox import Sandbox
from stasis_app.config import load_settings

HOME = Path("/var/cache/infolinia/bench-cluster")
PG_NAME, PG_PORT, PG_DATABASE = "bench-cluster", 55440, "cluster_load"
LINES = ("100", "101", "102")  # the bench config's three banks
STATS_SETTLE_S = 11.0  # PostgreSQL 15 backends flush idle statistics within 10 s
IDLE_S = 10.0  # the cluster's idle cost is measured over this long
SAMPLE_EVERY_S = 5.0  # calls in progress from each node's /metrics


def say(message: str) -> None:
    print(f"[cluster bench] {message}", file=sys.stderr, flush=True)


# --- what processes cost ---------------------------------------------------------


def _children() -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            found.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return found


def tree_cpu_seconds(pid: int | None) -> float:
    """utime+stime of ``pid`` and every descendant, plus what their reaped
    children used (cutime+cstime): a backend that ended during the run counts."""
    if pid is None:
        return 0.0
    children, total, todo = _children(), 0.0, [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / TICKS  # utime stime cutime cstime
        todo.extend(children.get(current, []))
    return total


@dataclass
class ClusterProcesses:
    """The cluster's processes, by kind, as they run now."""

    cluster: Cluster
    postgres: Postgres

    def pids(self) -> dict[str, list[int | None]]:
        root = self.cluster.sandbox.root
        nodes = self.cluster.nodes
        return {
            "app": [node.app_pid() for node in nodes],
            "asterisk": [node.asterisk_pid(root) for node in nodes],
            "kamailio": [self.cluster.kamailio.pid()],
            "postgres": [self.postgres.pid()],
        }

    def cpu(self) -> dict[str, float]:
        return {kind: sum(map(tree_cpu_seconds, pids)) for kind, pids in self.pids().items()}


# --- what PostgreSQL wrote -------------------------------------------------------


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def pg_now(server: Postgres) -> dict[str, int]:
    """Next transaction id and WAL position (immediate), and the app
    database's counters (as far as the backends have flushed them)."""
    with server.connect() as db:  # the role's own database: not the app's
        xid, lsn = db.execute(
            "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, "
            "pg_current_wal_lsn()::text"
        ).fetchone() or (0, "0/0")
        row = db.execute(
            "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted "
            "FROM pg_stat_database WHERE datname = %s",
            (PG_DATABASE,),
        ).fetchone() or (0, 0, 0, 0, 0)
    names = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted")
    return {"xid": int(xid), "wal": _lsn(str(lsn)), **dict(zip(names, map(int, row), strict=True))}


# --- the cluster's run -------------------------------------------------------------


class NodeAri(Ari):
    """load.py's ARI client, pointed at one node's Asterisk."""

    def __init__(self, url: str, password: str) -> None:
        super().__init__(password)
        self.url = url

    def call(self, method: str, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        request = urllib.request.Request(
            f"{self.url}ari/{path}{query}", method=method, headers=self.headers
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            body = answer.read()
        return json.loads(body) if body else None


def proxy_scenario(scenario: Path, workdir: Path) -> Path:
    """load_paths' caller, through a record-routing proxy and to the line
    of the injection file's first field: the ACK and the BYE follow the
    route set (as tests/sipp/caller_via_proxy.xml does)."""
    text = scenario.read_text().replace("[service]", "[field0]")
    text = text.replace('rtd="true"/>', 'rtd="true" rrs="true"/>')
    for method, cseq in (("ACK", "1 ACK"), ("BYE", "2 BYE")):
        text = text.replace(
            f"{method} sip:[field0]@[remote_ip]:[remote_port] SIP/2.0",
            f"{method} [next_url] SIP/2.0",
        )
        text = text.replace(
            f"Call-ID: [call_id]\n      CSeq: {cseq}",
            f"[routes]\n      Call-ID: [call_id]\n      CSeq: {cseq}",
        )
    if text.count("[routes]") != 2 or text.count("[next_url]") != 2:
        raise SystemExit(f"{scenario} no longer has the shape this benchmark rewrites")
    out = workdir / f"proxy-{scenario.name}"
    out.write_text(text)
    (workdir / "lines.csv").write_text("SEQUENTIAL\n" + "".join(f"{line};\n" for line in LINES))
    return out


def endings(entries: list[dict[str, Any]], path: CallerPath) -> tuple[int, dict[str, int]]:
    """Calls ended, and those whose flow was not where the caller left it."""
    ended = [e for e in entries if e.get("event") == "call ended"]
    wrong = Counter(
        f"{e.get('outcome')} in {e.get('state')}"
        for e in ended
        if (e.get("outcome"), e.get("state")) != ("caller hung up", path.end_state)
    )
    return len(ended), dict(wrong)


def run_cluster(
    procs: ClusterProcesses,
    path: CallerPath,
    concurrency: int,
    seconds: float,
    scenario: Path,
    call_seconds: float,
    workdir: Path,
) -> dict[str, Any]:
    """One level through Kamailio, measured as run_one measures one node."""
    workdir.mkdir(parents=True, exist_ok=True)
    nodes = procs.cluster.nodes
    offsets = {n.name: n.app_log.stat().st_size for n in nodes}
    calls = max(concurrency, round(concurrency * seconds / call_seconds))
    cmd = [
        *(
            "sipp",
            KAMAILIO_LISTEN,
            "-sf",
            str(scenario),
            "-inf",
            str(scenario.parent / "lines.csv"),
        ),
        *("-i", "127.0.0.1", "-p", str(free_port(socket.SOCK_DGRAM))),
        *("-mp", str(free_port(socket.SOCK_DGRAM) & ~1), "-m", str(calls), "-l", str(concurrency)),
        *("-r", str(concurrency), "-rp", str(round(call_seconds * 1000)), "-recv_timeout", "20000"),
        *("-timeout", f"{round(seconds + 3 * call_seconds + 60)}s", "-timeout_error", "-nostdin"),
        *("-trace_stat", "-stf", str(workdir / "stats.csv"), "-fd", "5"),
        *("-trace_err", "-error_file", str(workdir / "errors.log")),
    ]
    cpu_before, pg_before = procs.cpu(), pg_now(procs.postgres)
    peak: dict[str, int] = {}
    started = time.monotonic()
    with (workdir / "sipp.out").open("wb") as out:
        sipp = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
        while sipp.poll() is None:
            in_progress = {n.name: n.calls_in_progress() or 0 for n in nodes}
            in_progress["total"] = sum(in_progress.values())
            peak = {k: max(v, peak.get(k, 0)) for k, v in in_progress.items()}
            with contextlib.suppress(subprocess.TimeoutExpired):
                sipp.wait(SAMPLE_EVERY_S)
    wall = time.monotonic() - started
    cpu_after, pg_after = procs.cpu(), pg_now(procs.postgres)
    say(f"cluster C={concurrency}: calls ended; {STATS_SETTLE_S:.0f}s for PostgreSQL's statistics")
    time.sleep(STATS_SETTLE_S)
    pg_settled = pg_now(procs.postgres)
    result: dict[str, Any] = {
        "target": "cluster",
        "path": path.name,
        "concurrency": concurrency,
        "nodes": len(nodes),
        "seconds": seconds,
        "call_seconds": round(call_seconds, 1),
        "wall_seconds": round(wall, 1),
        **sipp_stats(workdir / "stats.csv"),
        "peak_in_progress": peak,
    }
    done = max(result["completed"], 1)
    for kind in cpu_before:
        used = cpu_after[kind] - cpu_before[kind]
        result[f"{kind}_cpu_ms_per_call"] = round(used * 1000 / done, 1)
    result["pg_write_xacts_per_call"] = round((pg_after["xid"] - pg_before["xid"]) / done, 2)
    result["pg_wal_bytes_per_call"] = round((pg_after["wal"] - pg_before["wal"]) / done)
    for counter in ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted"):
        result[f"pg_{counter}_per_call"] = round(
            (pg_settled[counter] - pg_before[counter]) / done, 2
        )
    by_node: dict[str, dict[str, int]] = {}
    wrong: dict[str, int] = {}
    ended_total = 0
    for node in nodes:
        entries = log_entries(node.app_log, offsets[node.name])
        lines = Counter(str(e.get("line")) for e in entries if e.get("event") == "call started")
        by_node[node.name] = dict(sorted(lines.items()))
        ended, node_wrong = endings(entries, path)
        ended_total += ended
        wrong.update({f"{node.name}: {k}": v for k, v in node_wrong.items()})
    result["calls_by_node"] = by_node
    result["app_calls_ended"] = ended_total
    result["app_wrong_endings"] = wrong
    password = procs.cluster.sandbox.ari_password()
    result["channels_left"] = sum(NodeAri(n.ari_url, password).hang_up_all() for n in nodes)
    return result


def idle_cost(procs: ClusterProcesses) -> dict[str, float]:
    """CPU ms and PostgreSQL write transactions per second of the cluster with no call."""
    cpu_before, pg_before = procs.cpu(), pg_now(procs.postgres)
    time.sleep(IDLE_S)
    cpu_after, pg_after = procs.cpu(), pg_now(procs.postgres)
    cost = {
        f"{kind}_cpu_ms_per_s": round((cpu_after[kind] - cpu_before[kind]) * 1000 / IDLE_S, 1)
        for kind in cpu_before
    }
    cost["pg_write_xacts_per_s"] = round((pg_after["xid"] - pg_before["xid"]) / IDLE_S, 2)
    cost["pg_wal_bytes_per_s"] = round((pg_after["wal"] - pg_before["wal"]) / IDLE_S)
    return cost


def idle_share(idle: dict[str, float], result: dict[str, Any]) -> dict[str, float]:
    """What the idle cluster would have used over this run's wall time, per
    completed call: the part of each per-call figure no call caused."""
    per_s = result["wall_seconds"] / max(result["completed"], 1)
    return {name.replace("_per_s", "_per_call"): round(v * per_s, 1) for name, v in idle.items()}


def refuse_another_cluster(sandbox: Sandbox, config: Path) -> None:
    """Stop here if a cluster from the default folder (the tests', a
    developer's) holds the addresses ours needs."""
    theirs = Cluster(sandbox, config)
    if theirs.running_nodes() or theirs.kamailio.pid() is not None:
        raise SystemExit(
            f"a cluster runs from {theirs.home} (127.0.0.2-3, {KAMAILIO_LISTEN}): "
            "stop it first (infolinia cluster down)"
        )


@contextlib.contextmanager
def running_cluster(sandbox: Sandbox, config: Path, size: int) -> Iterator[ClusterProcesses]:
    """PostgreSQL (a fresh database) and the cluster, stopped afterwards whatever happens."""
    refuse_another_cluster(sandbox, config)
    server = Postgres(PG_NAME, PG_PORT)
    cluster: Cluster | None = None
    try:
        say(f"PostgreSQL {PG_NAME} on port {PG_PORT}: starting, fresh database {PG_DATABASE}")
        server.up()
        server.drop_database(PG_DATABASE)
        settings = load_settings(config, resolve_secrets=False)
        cluster = Cluster(
            sandbox,
            config,
            size=size,
            home=HOME,
            app_env=server.env(),
            state_url=server.create_database(PG_DATABASE),
            seed_prompts=settings.voice.cache_dir,
        )
        cluster.down()  # what an interrupted run left in our folder
        cluster.up()
        yield ClusterProcesses(cluster, server)
    finally:
        say("stopping the cluster and its PostgreSQL")
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.down()
        with contextlib.suppress(Exception):
            server.down()


# --- the report ----------------------------------------------------------------------

KINDS = ("app", "asterisk", "kamailio", "postgres")


def total_cpu(result: dict[str, Any]) -> float:
    return float(sum(result.get(f"{kind}_cpu_ms_per_call", 0.0) for kind in KINDS))


def compare(single: dict[str, Any], cluster: dict[str, Any]) -> dict[str, Any]:
    """The cluster's figures over the single node's, at one level."""

    def ratio(a: float, b: float) -> float | None:
        return round(a / b, 2) if b else None

    whole = total_cpu(cluster)
    return {
        "concurrency": single["concurrency"],
        "completed": ratio(cluster["completed"], single["completed"]),
        "failed": [single["failed"], cluster["failed"]],
        "app_cpu_per_call": ratio(cluster["app_cpu_ms_per_call"], single["app_cpu_ms_per_call"]),
        "asterisk_cpu_per_call": ratio(
            cluster["asterisk_cpu_ms_per_call"], single["asterisk_cpu_ms_per_call"]
        ),
        "total_cpu_per_call": ratio(whole, total_cpu(single)),
        "kamailio_share": ratio(cluster["kamailio_cpu_ms_per_call"], whole),
        "postgres_share": ratio(cluster["postgres_cpu_ms_per_call"], whole),
        "kamailio_over_single_total": ratio(cluster["kamailio_cpu_ms_per_call"], total_cpu(single)),
        "postgres_over_single_total": ratio(cluster["postgres_cpu_ms_per_call"], total_cpu(single)),
    }


def summary(r: dict[str, Any]) -> str:
    cpu = ", ".join(
        f"{kind} {r[f'{kind}_cpu_ms_per_call']}" for kind in KINDS if f"{kind}_cpu_ms_per_call" in r
    )
    text = (
        f"{r['target']:7} C={r['concurrency']:<4} calls {r['attempted']:4} ok {r['completed']:4}"
        f" failed {r['failed']:3} {r['reasons'] or ''} | CPU ms/call: {cpu}"
        f" | wrong endings {r['app_wrong_endings'] or 0}"
    )
    if r["target"] == "cluster":
        text += (
            f" | PostgreSQL/call: {r['pg_write_xacts_per_call']} write xacts,"
            f" {r['pg_wal_bytes_per_call']} WAL bytes, {r['pg_xact_commit_per_call']} commits"
            f" | by node {r['calls_by_node']}"
        )
    if r.get("channels_left"):
        text += f" | {r['channels_left']} channels left, hung up"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", default="50,200", help="comma-separated levels")
    parser.add_argument(
        "--seconds", type=float, default=30, help="how long calls are started (load.py's)"
    )
    parser.add_argument("--path", default="card_block", choices=sorted(PATHS))
    parser.add_argument("--nodes", type=int, default=2, help="Asterisk nodes behind Kamailio")
    parser.add_argument("--out", type=Path, help="write the JSON report to this file too")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (SIPp, logs)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args()
    for tool in ("sipp", "kamailio"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is not installed")
    levels = [int(c) for c in args.concurrency.split(",")]
    path = PATHS[args.path]
    workdir = Path(tempfile.mkdtemp(prefix="infolinia-cluster-load-"))
    admin_port = free_port(socket.SOCK_STREAM)
    config = bench_config(workdir, admin_port)
    settings = load_settings(config, resolve_secrets=False)
    box = Sandbox.default(prompt_dir=settings.voice.cache_dir)
    refuse_another_cluster(box, config)
    box.up()
    ari = Ari(box.ari_password())
    Path("/tmp/infolinia-bench").mkdir(exist_ok=True)
    files = prepare(settings, ari, config)
    scenario = workdir / f"{path.name}.xml"
    call_seconds = write_scenario(path, files, workdir)
    ctx = {
        "workdir": workdir,
        "ari": ari,
        "config": config,
        "admin_port": admin_port,
        "asterisk_pid": box.pid(),
        "app_prefix": None,
    }
    report: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}",
        "load_before": os.getloadavg(),
        "asterisk": box.version(),
        "command": " ".join(["bench/cluster_load.py", *sys.argv[1:]]),
        "path": path.name,
        "call_seconds": round(call_seconds, 1),
        "single": [],
        "cluster": [],
    }
    try:
        for level in levels:
            say(f"single node, C={level} ({path.name}, calls of {call_seconds:.0f}s)")
            result = run_one("app", path, level, args.seconds, scenario, call_seconds, ctx)
            result.pop("rss_samples", None)
            report["single"].append(result)
            say(summary(result))
        with running_cluster(box, config, args.nodes) as procs:
            report["cluster_idle"] = idle_cost(procs)
            say(f"cluster idle: {report['cluster_idle']}")
            through_proxy = proxy_scenario(scenario, workdir)
            for level in levels:
                say(f"cluster of {args.nodes}, C={level} through Kamailio")
                result = run_cluster(
                    procs, path, level, args.seconds, through_proxy, call_seconds,
                    workdir / f"cluster-{level}",
                )  # fmt: skip
                result["idle_per_call"] = idle_share(report["cluster_idle"], result)
                report["cluster"].append(result)
                say(summary(result))
    finally:
        # run_one stops its app and SIPp when it returns, not when it raises:
        # whatever this process started and left running is stopped here.
        for pid in _children().get(os.getpid(), []):
            terminate(pid, grace=20)
        report["load_after"] = os.getloadavg()
        if args.out:  # what was measured, even if a later step failed
            args.out.write_text(json.dumps(report, indent=2) + "\n")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"work folder kept: {workdir}")
    report["ratios"] = [
        compare(s, c) for s, c in zip(report["single"], report["cluster"], strict=True)
    ]
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    if args.json:
        print(text)
    else:
        for result in [*report["single"], *report["cluster"]]:
            print(summary(result))
        for ratios in report["ratios"]:
            print(f"cluster / single: {ratios}")


if __name__ == "__main__":
    main()
