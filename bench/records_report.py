"""How long a bank's report takes over many call records (issue 23): one
million synthetic records (and their operations and states reached) in one
store, spread over ten banks and twelve months, one bank ("duzy") taking
half of them; then the report of ``infolinia report``
(:func:`stasis_app.reports.figures.figures`, with every figure: the queue's
service level, announcements, callbacks, survey scores and the shipped
flow's funnels) for a month of the big bank, a month of a small one, and
the big bank's whole year, on SQLite and on PostgreSQL, each timed as the
best and the median of several runs, with the query plans of its main
query and of the states reached; and the whole ``infolinia report --json``
command once (a new process: Python's start, the imports and loading the
flow included).

    .venv/bin/python bench/records_report.py [--records 1000000] [--runs 5] [--json]

The records are written straight into the tables, in batches (what the app
writes one at a time as calls end), then ``ANALYZE`` is run (what
PostgreSQL's autovacuum does after a large load). It starts the private
PostgreSQL of devtools.postgres (name ``bench-records``, port 55442, no
fsync) and leaves it running for the next run (``python -m devtools.postgres
--name bench-records --port 55442 down`` stops it).
"""

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devtools.postgres import Postgres
from stasis_app.flow.model import load_flow
from stasis_app.reports.figures import GROUPS, figures
from stasis_app.reports.funnel import Path as FlowPath
from stasis_app.reports.funnel import paths
from stasis_app.reports.records import COMPLETED, HUNG_UP, TRANSFERRED, CallRecord, insert
from stasis_app.reports.trail import QueueVisit
from stasis_app.store import Connection, Store
from stasis_app.verbs.registry import VerbRegistry

REPO = Path(__file__).resolve().parent.parent
BANKS = ["duzy", *(f"bank{n}" for n in range(1, 10))]
DAY = 86400.0
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
MONTH = (datetime(2026, 6, 1, tzinfo=UTC).timestamp(), datetime(2026, 7, 1, tzinfo=UTC).timestamp())
YEAR = (YEAR_START, datetime(2027, 1, 1, tzinfo=UTC).timestamp())
BATCH = 20_000

# Kinds of call, their weights, and what each did (the bank flow's states).
START = ("greeting", "main_menu")
BLOCK = (*START, "block_number", "block_pin", "block_auth", "block_menu", "cards", "card_choose",
         "card_confirm", "card_block", "card_blocked", "after_card_block")  # fmt: skip
BALANCE = (*START, "balance_number", "balance_pin", "balance_auth", "balance", "balance_say",
           "balance_menu")  # fmt: skip
HISTORY = (*BALANCE, "history", "history_say", "balance_menu")
KINDS: list[tuple[float, tuple[str, ...], tuple[tuple[str, str], ...], str, str]] = [
    # weight, states, operations, ending, queue outcome ("": no queue)
    (0.20, BLOCK, (("list_cards", "ok"), ("block_card", "ok")), HUNG_UP, ""),
    (0.05, BLOCK, (("list_cards", "ok"), ("block_card", "registered")), COMPLETED, ""),
    (0.25, BALANCE, (("accounts", "ok"),), HUNG_UP, ""),
    (0.10, HISTORY, (("accounts", "ok"), ("last_operations", "ok")), COMPLETED, ""),
    (0.12, START, (), HUNG_UP, ""),
    (0.05, (*START, "balance_number"), (), HUNG_UP, ""),
    (0.13, (*START, "consultant"), (), TRANSFERRED, "answered"),
    (0.05, (*START, "consultant"), (), HUNG_UP, "abandoned"),
    (0.03, (*START, "consultant"), (), COMPLETED, "callback"),
    (0.02, (*START, "consultant", "goodbye"), (), COMPLETED, "timed_out"),
]


def synthetic(count: int, seed: int = 23) -> Iterator[CallRecord]:
    """``count`` records over 2026, half of them the big bank's."""
    rng = random.Random(seed)
    weights = [kind[0] for kind in KINDS]
    for n in range(count):
        tenant = "duzy" if rng.random() < 0.5 else rng.choice(BANKS[1:])
        started = YEAR_START + rng.random() * 365 * DAY
        _, states, operations, ending, queue = rng.choices(KINDS, weights)[0]
        wait = round(rng.expovariate(1 / 40), 1) if queue else None
        heard = int(wait // 30) + 1 if wait is not None else 0  # one at once, then every 30 s
        agent = "PJSIP/anna" if queue == "answered" else ""
        visits = (QueueVisit("main", queue, wait, agent, 5.0, heard),)
        yield CallRecord(
            tenant=tenant,
            line="100",
            node=f"node{n % 2 + 1}",
            call_id=f"{started:.3f}.{n}",
            started=round(started, 3),
            ended=round(started + 90, 3),
            flow="bank.yaml",
            flow_version="0123456789ab",
            ending=ending,
            states=tuple((state, round(rng.uniform(1, 12), 3)) for state in states),
            operations=operations,
            queues=visits if queue else (),
            survey_score=rng.randint(1, 5) if rng.random() < 0.1 else None,
        )


def fill(store: Store, count: int) -> float:
    """Write ``count`` records in batches; the seconds it took."""
    began = time.monotonic()
    records = synthetic(count)
    while batch := [next(records, None) for _ in range(BATCH)]:
        rows = [r for r in batch if r is not None]
        if not rows:
            break

        def work(db: Connection, rows: list[CallRecord] = rows) -> None:
            insert(db, rows)

        store.transaction(work)
        if len(rows) < BATCH:
            break
    store.transaction(lambda db: db.execute("ANALYZE"))
    return time.monotonic() - began


REACHED = "SELECT state, COUNT(*) FROM call_states WHERE tenant = ? AND started >= ? " \
    "AND started < ? GROUP BY state"  # fmt: skip


def plan(store: Store, tenant: str, start: float, end: float, query: str = "") -> list[str]:
    """The plan of the report's main query (the period's records, grouped),
    or of ``query`` (over tenant, start, end)."""
    prefix = "EXPLAIN QUERY PLAN " if store.dialect == "sqlite" else "EXPLAIN ANALYZE "
    sql = query or GROUPS.format(version="")
    args = (tenant, start, end) if query else (HUNG_UP, tenant, start, end)
    rows = store.read(lambda db: db.execute(prefix + sql, args).fetchall())
    return [str(row[-1] if store.dialect == "sqlite" else row[0]) for row in rows]


def bank_paths() -> list[FlowPath]:
    """The shipped flow's paths: the report's funnels."""
    return paths(load_flow(REPO / "config" / "flows" / "bank.yaml", VerbRegistry()))


def timed(store: Store, tenant: str, span: tuple[float, float], runs: int) -> dict[str, Any]:
    times, calls = [], 0
    flow_paths = bank_paths()  # loaded once, as the app (the page) has its flow loaded
    for _ in range(runs):
        began = time.perf_counter()
        found = figures(store, tenant, *span, flow_paths=flow_paths, service_level_seconds=30)
        calls = found.calls
        times.append(time.perf_counter() - began)
    return {
        "calls": calls,
        "best_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
    }


def command(where: Path | str, env: dict[str, str], scratch: Path) -> float:
    """``infolinia report duzy --from 2026-06-01 --to 2026-06-30 --json``, wall time."""
    config = scratch / f"config-{abs(hash(str(where)))}.yaml"
    banks = "".join(
        f"  {bank}: {{name: {bank}, lines: ['{100 + n}'], flow: {REPO}/config/flows/bank.yaml, "
        "adapter: {name: demo},"
        " records: {timezone: UTC}}\n"
        for n, bank in enumerate(BANKS)
    )
    config.write_text(f"ari: {{password: x}}\nstate: {where}\ntenants:\n{banks}")
    args = [sys.executable, "-m", "stasis_app", "--config", str(config), "report", "duzy",
            "--from", "2026-06-01", "--to", "2026-06-30", "--json"]  # fmt: skip
    began = time.perf_counter()
    out = subprocess.run(
        args, capture_output=True, text=True, check=True, env={**os.environ, **env}, cwd=REPO
    ).stdout
    seconds = time.perf_counter() - began
    assert json.loads(out)["calls"] > 0
    return round(seconds, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each report")
    parser.add_argument("--json", action="store_true", help="results as JSON")
    args = parser.parse_args()
    server = Postgres("bench-records", 55442, durable=False)
    print("starting the bench's PostgreSQL ...", file=sys.stderr)
    server.up()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="infolinia-records-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        for engine in ("sqlite", "postgresql"):
            where: Path | str
            env: dict[str, str] = {}
            if engine == "sqlite":
                where = scratch / "state.sqlite"
            else:
                os.environ.update(server.env())
                env = server.env()
                server.drop_database("bench_records")
                where = server.create_database("bench_records")
            store = Store(where)
            print(f"{engine}: writing {args.records} records ...", file=sys.stderr)
            loaded = fill(store, args.records)
            row: dict[str, Any] = {
                "engine": engine,
                "records": args.records,
                "load_s": round(loaded, 1),
                "big_bank_month": timed(store, "duzy", MONTH, args.runs),
                "small_bank_month": timed(store, "bank3", MONTH, args.runs),
                "big_bank_year": timed(store, "duzy", YEAR, args.runs),
                "plan": plan(store, "duzy", *MONTH),
                "plan_states": plan(store, "duzy", *MONTH, REACHED),
                "command_s": command(where, env, scratch),
            }
            results.append(row)
            print(json.dumps(row, indent=2), file=sys.stderr)
            store.close()
    report = {"cpus": os.cpu_count(), "machine": platform.platform(), "results": results}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{'engine':10} {'report':18} {'calls':>7} {'best s':>7} {'median s':>8}")
    for row in results:
        for name in ("big_bank_month", "small_bank_month", "big_bank_year"):
            figure = row[name]
            print(
                f"{row['engine']:10} {name:18} {figure['calls']:7} "
                f"{figure['best_s']:7.3f} {figure['median_s']:8.3f}"
            )
        print(f"{row['engine']:10} the whole command (a new process): {row['command_s']} s")
        print(f"{row['engine']:10} plan: " + " | ".join(row["plan"]))
        print(f"{row['engine']:10} plan of the states reached: " + " | ".join(row["plan_states"]))


if __name__ == "__main__":
    main()
