"""What the shared state store carries when many calls write at once: audit
appends, and login checks (the guard's verdict and reservation, then its
finish) per second, from 1, 4 and 16 writers spread over one or two nodes
(each node a Store of its own, as each node's app has), on SQLite (one
file, one machine) and on PostgreSQL (the cluster's store), in one run.

On PostgreSQL each figure is measured twice, alternately: with every write
taking the store's one lock (``one lock``: how the store wrote before write
scopes, the baseline) and as the app writes now (``scopes``: a bank's login
checks beside another bank's, the audit chain's appends beside both;
docs/state.md). SQLite has one write lock per file either way. Operations:

* ``audit append``: one entry per transaction (the CLI's and admin's way);
* ``audit record``: entries recorded by concurrent calls, as the app does:
  what arrives while one append commits goes into the next (group commit);
* ``login check``: every writer logs in to a bank of its own (a deployment
  of many banks).

    .venv/bin/python bench/store_contention.py [--seconds 3] [--durable] [--json]

It (re)starts the private PostgreSQL of devtools.postgres (name ``bench``, port
55439, no fsync unless ``--durable``) and leaves it running afterwards
(``python -m devtools.postgres --name bench --port 55439 down`` stops it).
"""

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from devtools.postgres import Postgres
from stasis_app.config import SecuritySettings
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.audit_key import AuditKey
from stasis_app.safeguards.login_guard import LoginGuard
from stasis_app.store import Connection, Store

KEY = AuditKey(b"\x01" * 32, "bench")
WRITERS = (1, 4, 16)
T = TypeVar("T")


def audit_work(store: Store, writer: int) -> Callable[[int], None]:
    log = AuditLog(store, KEY)

    def one(n: int) -> None:
        log.append(tenant="bench", action="card_block", result="ok", call_id=f"{writer}-{n}")

    return one


def login_work(store: Store, writer: int) -> Callable[[int], None]:
    guard = LoginGuard(store, SecuritySettings(login_rate_per_minute=10**9))

    def one(n: int) -> None:
        # A right login: verdict and reservation, then the reservation taken back.
        attempt = guard.begin(f"bank{writer}", f"48{writer}", f"{n:08d}", "telekod")
        guard.finish(attempt, "ok")

    return one


def one_lock(store: Store) -> Store:
    """``store`` writing as before write scopes: every transaction takes the
    store's one lock (the scope a caller names is dropped)."""
    transaction = store.transaction

    def unscoped(work: Callable[[Connection], T], scope: str | None = None) -> T:
        return transaction(work)

    store.transaction = unscoped  # type: ignore[method-assign]
    return store


def measure(
    stores: list[Store], work: Callable[[Store, int], Callable[[int], None]], writers: int,
    seconds: float,
) -> float:  # fmt: skip
    """Operations per second from ``writers`` threads, dealt round the stores."""
    counts = [0] * writers
    stop = time.monotonic() + seconds

    def run(writer: int) -> None:
        one = work(stores[writer % len(stores)], writer)
        while time.monotonic() < stop:
            one(counts[writer])
            counts[writer] += 1

    threads = [threading.Thread(target=run, args=(w,)) for w in range(writers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - started)


def measure_records(stores: list[Store], writers: int, seconds: float) -> tuple[float, float]:
    """Audit entries per second recorded by ``writers`` concurrent calls
    (asyncio tasks, dealt round the nodes: one event loop per node, as each
    node's app has), and entries per transaction."""
    logs = [AuditLog(store, KEY) for store in stores]
    counts = [0] * writers
    stop = time.monotonic() + seconds

    async def call(writer: int) -> None:
        log = logs[writer % len(logs)]
        while time.monotonic() < stop:
            await log.record(tenant="bench", action="card_block", result="ok", call_id=f"{writer}")
            counts[writer] += 1

    async def node(index: int) -> None:
        await asyncio.gather(*(call(w) for w in range(writers) if w % len(logs) == index))

    threads = [threading.Thread(target=asyncio.run, args=(node(i),)) for i in range(len(logs))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return sum(counts) / elapsed, sum(counts) / max(1, sum(log.commits for log in logs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measure")
    parser.add_argument("--durable", action="store_true", help="PostgreSQL with fsync on")
    parser.add_argument("--json", action="store_true", help="results as JSON")
    args = parser.parse_args()
    server = Postgres("bench", 55439, durable=args.durable)
    print("starting the bench's PostgreSQL ...", file=sys.stderr)
    server.down()  # one left running may have been started with the other fsync setting
    server.up()
    os.environ.update(server.env())
    rows: list[dict[str, Any]] = []
    operations = ("audit append", "audit record", "login check")
    with tempfile.TemporaryDirectory(prefix="infolinia-store-bench-") as scratch:
        for engine, locking in (("sqlite", "one lock"), ("postgresql", "both")):
            for name in operations:
                for nodes in (1, 2):
                    for writers in WRITERS:
                        if writers < nodes:
                            continue
                        # PostgreSQL: the baseline and the scopes one after the other.
                        for mode in ("one lock", "scopes") if locking == "both" else (locking,):
                            where: str | Path
                            tag = f"{name[:5]}{name[6]}_{nodes}_{writers}_{mode[0]}"
                            if engine == "sqlite":
                                where = Path(scratch) / f"{tag}.sqlite"
                            else:
                                server.drop_database(f"bench_{tag}")
                                where = server.create_database(f"bench_{tag}")
                            stores = [Store(where) for _ in range(nodes)]
                            if mode == "one lock":
                                stores = [one_lock(store) for store in stores]
                            per_write = 1.0
                            if name == "audit record":
                                per_second, per_write = measure_records(
                                    stores, writers, args.seconds
                                )
                            else:
                                work = audit_work if name == "audit append" else login_work
                                per_second = measure(stores, work, writers, args.seconds)
                            rows.append({
                                "engine": engine, "locking": mode, "operation": name,
                                "nodes": nodes, "writers": writers,
                                "per_second": round(per_second),
                                "entries_per_transaction": round(per_write, 1),
                            })  # fmt: skip
                            print(f"  {rows[-1]}", file=sys.stderr)
                            for store in stores:
                                store.close()
    for row in rows:  # the baseline: how the store wrote before (one lock, one entry a transaction)
        operation = "audit append" if row["operation"] == "audit record" else row["operation"]
        base = next(
            r["per_second"]
            for r in rows
            if r["engine"] == row["engine"]
            and r["locking"] == "one lock"
            and r["operation"] == operation
            and (r["nodes"], r["writers"]) == (row["nodes"], row["writers"])
        )
        row["ratio_to_before"] = round(row["per_second"] / base, 2)
    report = {"cpus": os.cpu_count(), "machine": platform.platform(), "results": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print("ratio: to the same writers with one lock and one audit entry a transaction (before)")
    print(f"{'engine':10} {'locking':8} {'operation':12} nodes writers  per s  per tx  ratio")
    for r in rows:
        print(
            f"{r['engine']:10} {r['locking']:8} {r['operation']:12} {r['nodes']:5} "
            f"{r['writers']:7} {r['per_second']:6} {r['entries_per_transaction']:7} "
            f"{r['ratio_to_before']:6}"
        )


if __name__ == "__main__":
    main()
