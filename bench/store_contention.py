"""What the shared state store carries when many calls write at once: audit
appends and login checks (the guard's verdict and reservation, then its
finish) per second, from 1, 4 and 16 writers spread over one or two nodes
(each node a Store of its own, as each node's app has), on SQLite (the
baseline: one file, one machine) and on PostgreSQL (the cluster's store), in
one run.

Every write transaction of both engines is serialized (SQLite's BEGIN
IMMEDIATE; on PostgreSQL a transaction-level advisory lock): the audit chain
needs one append at a time, and the login guard's verdict and reservation
must be one step. So the figures are the ceiling of a whole deployment,
whatever the number of nodes (docs/scaling.md).

    .venv/bin/python bench/store_contention.py [--seconds 5] [--json]

It starts the private PostgreSQL of devtools.postgres (name ``bench``, port
55439, no fsync unless ``--durable``) and leaves it running for the next run
(``python -m devtools.postgres --name bench --port 55439 down`` stops it).
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devtools.postgres import Postgres
from stasis_app.config import SecuritySettings
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.audit_key import AuditKey
from stasis_app.safeguards.login_guard import LoginGuard
from stasis_app.store import Store

KEY = AuditKey(b"\x01" * 32, "bench")
WRITERS = (1, 4, 16)


def audit_work(store: Store, writer: int) -> Callable[[int], None]:
    log = AuditLog(store, KEY)

    def one(n: int) -> None:
        log.append(tenant="bench", action="card_block", result="ok", call_id=f"{writer}-{n}")

    return one


def login_work(store: Store, writer: int) -> Callable[[int], None]:
    guard = LoginGuard(store, SecuritySettings(login_rate_per_minute=10**9))

    def one(n: int) -> None:
        # A right login: verdict and reservation, then the reservation taken back.
        attempt = guard.begin("bench", f"48{writer}", f"{writer:04d}{n:06d}", "telekod")
        guard.finish(attempt, "ok")

    return one


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measure")
    parser.add_argument("--durable", action="store_true", help="PostgreSQL with fsync on")
    parser.add_argument("--json", action="store_true", help="results as JSON")
    args = parser.parse_args()
    server = Postgres("bench", 55439, durable=args.durable)
    print("starting the bench's PostgreSQL ...", file=sys.stderr)
    server.up()
    os.environ.update(server.env())
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="infolinia-store-bench-") as scratch:
        for engine in ("sqlite", "postgresql"):
            for name, work in (("audit append", audit_work), ("login check", login_work)):
                for nodes in (1, 2):
                    where: str | Path
                    if engine == "sqlite":
                        where = Path(scratch) / f"{name[:5]}-{nodes}.sqlite"
                    else:
                        database = f"bench_{name[:5]}_{nodes}"
                        server.drop_database(database)
                        where = server.create_database(database)
                    stores = [Store(where) for _ in range(nodes)]
                    for writers in WRITERS:
                        if writers < nodes:
                            continue
                        per_second = measure(stores, work, writers, args.seconds)
                        rows.append({
                            "engine": engine, "operation": name, "nodes": nodes,
                            "writers": writers, "per_second": round(per_second),
                        })  # fmt: skip
                        print(f"  {rows[-1]}", file=sys.stderr)
                    for store in stores:
                        store.close()
    for row in rows:
        base = next(
            r["per_second"]
            for r in rows
            if r["engine"] == "sqlite" and r["operation"] == row["operation"] and r["writers"] == 1
        )
        row["ratio_to_sqlite_1_writer"] = round(row["per_second"] / base, 2)
    report = {"cpus": os.cpu_count(), "machine": platform.platform(), "results": rows}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{'engine':10} {'operation':13} nodes writers  per s  ratio")
    for r in rows:
        print(
            f"{r['engine']:10} {r['operation']:13} {r['nodes']:5} {r['writers']:7}"
            f" {r['per_second']:6} {r['ratio_to_sqlite_1_writer']:6}"
        )


if __name__ == "__main__":
    main()
