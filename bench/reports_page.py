"""How long the admin page's *Raporty* takes over many call records (issue
23): the synthetic records of bench/records_report.py (the big bank's half
written as the test config's ``izbica``) in one store (SQLite, or the
bench's PostgreSQL of bench/records_report.py: port 55442), then the page
of a month, of a day and of a year of that bank served by the real admin
page (aiohttp's test server, logged in), each timed as the best and the
median of several requests; the first request of a month also draws the
flow's diagram with Graphviz (later ones reuse it). Also timed alone: the
figures (:func:`~stasis_app.reports.figures.figures`) and the calls per day
(:func:`~stasis_app.reports.figures.calls_per`) of the month.

    .venv/bin/python bench/reports_page.py [--engine sqlite|postgresql] [--records 1000000]
        [--runs 5] [--json]
"""

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import records_report  # noqa: E402
from devtools.postgres import Postgres  # noqa: E402
from stasis_app.admin.prompts import PromptAdmin  # noqa: E402
from stasis_app.config import load_settings  # noqa: E402
from stasis_app.deployment import build_deployment  # noqa: E402
from stasis_app.reports.figures import calls_per, figures  # noqa: E402
from stasis_app.reports.records import CallRecord  # noqa: E402
from stasis_app.store import Store  # noqa: E402
from stasis_app.telephony.live_calls import CallRegistry  # noqa: E402
from tests.conftest import TEST_CONFIG  # noqa: E402
from tests.support.admin_site import Clock, accounts_with, admin_client, login  # noqa: E402
from tests.support.isolated_admin import isolated_env  # noqa: E402

PAGES = {
    "month (2026-06)": "period=month&day=2026-06-15",
    "day (2026-06-15)": "period=day&day=2026-06-15",
    "year (2026)": "period=custom&from=2026-01-01&to=2026-12-31",
}
_synthetic = records_report.synthetic


def as_izbica(count: int, seed: int = 23) -> Iterator[CallRecord]:
    for record in _synthetic(count, seed):
        yield dataclasses.replace(record, tenant="izbica") if record.tenant == "duzy" else record


def best_and_median(seconds: list[float]) -> dict[str, float]:
    return {"best": round(min(seconds), 3), "median": round(statistics.median(seconds), 3)}


def timed(work: Callable[[], object], runs: int) -> dict[str, float]:
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - began)
    return best_and_median(seconds)


def prompt_admin(folder: Path, where: Path | str) -> PromptAdmin:
    """The test config's banks, prompts under ``folder``, the store at ``where``."""
    settings = load_settings(TEST_CONFIG, env=isolated_env(folder), resolve_secrets=False)
    return PromptAdmin(build_deployment(settings, with_adapters=False), Store(where))


async def pages(admin: PromptAdmin, runs: int) -> dict[str, Any]:
    accounts = accounts_with(admin, Clock(), ("bench", "admin", "izbica"))
    out: dict[str, Any] = {}
    async with admin_client(admin, accounts, CallRegistry()) as client:
        await login(client, "bench")
        for name, query in PAGES.items():
            seconds = []
            for _ in range(runs):
                began = time.perf_counter()
                answer = await client.get(f"/admin/reports/izbica?{query}")
                text = await answer.text()
                seconds.append(time.perf_counter() - began)
                assert answer.status == 200, text
            out[name] = {**best_and_median(seconds), "first": round(seconds[0], 3)}
            out[name]["kb"] = round(len(text.encode()) / 1024)
    zone = ZoneInfo("Europe/Warsaw")
    start, end = records_report.MONTH
    store = admin.store
    out["figures alone (month)"] = timed(lambda: figures(store, "izbica", start, end), runs)
    out["calls_per alone (month)"] = timed(
        lambda: calls_per(store, "izbica", start, end, zone), runs
    )
    out["calls in the month"] = sum(n for _, n in calls_per(store, "izbica", start, end, zone))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    records_report.synthetic = as_izbica  # fill() writes these
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        where: Path | str = folder / "state.sqlite"
        if args.engine == "postgresql":
            server = Postgres("bench-records", 55442, durable=False)
            server.up()
            os.environ.update(server.env())
            server.drop_database("bench_reports_page")
            where = server.create_database("bench_reports_page")
        store = Store(where)
        filled = records_report.fill(store, args.records)
        store.close()
        result = {"engine": args.engine, "records": args.records, "fill_s": round(filled, 1)}
        result |= asyncio.run(pages(prompt_admin(folder, where), args.runs))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, value in result.items():
        print(f"{name:28} {value}")


if __name__ == "__main__":
    main()
