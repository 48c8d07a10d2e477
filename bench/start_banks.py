"""How long a node takes from start to ready to serve, with many banks in one
deployment, when the prompts are already rendered (a warm start, or a node
joining a cluster whose prompt folder another node filled): the shipped three
banks (the baseline) against N generated banks, in one run.

Each bank of the generated config is the shipped config's Cieszyn with its
own name, line and greeting (so each bank has one prompt of its own to
render, and shares the rest). Each measure runs in a fresh process, as a
starting node would: reading and checking the config, building the
deployment (flows, prompt books), and making every prompt of every bank
ready to play. Before the measures, a cold start of each config fills the
folder (``--cold`` reports the N banks' one: minutes for 500 banks).

    .venv/bin/python bench/start_banks.py [--banks 500] [--cold] [--json]

espeak-ng only (gTTS needs the internet); adapters are not created (the demo
adapter opens a database: that is start-up cost of the bank's choosing).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "infolinia.yaml"

# What a starting node does before it serves, timed phase by phase (run in
# a fresh interpreter for each measure: nothing is warm in its memory).
NODE_START = """
import asyncio, json, sys, time
from pathlib import Path
started = time.monotonic()
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
settings = load_settings(Path(sys.argv[1]), resolve_secrets=False)
read = time.monotonic()
deployment = build_deployment(settings, with_adapters=False)
built = time.monotonic()

async def render() -> None:
    for book in deployment.all_books():
        await book.render_all()

asyncio.run(render())
ready = time.monotonic()
print(json.dumps({
    "config_seconds": round(read - started, 2),
    "deployment_seconds": round(built - read, 2),
    "render_seconds": round(ready - built, 2),
    "ready_seconds": round(ready - started, 2),
    "prompts": sum(len(book.texts) for book in deployment.all_books()),
}))
"""


def generated_config(banks: int | None, folder: Path) -> Path:
    """The shipped config with ``banks`` copies of Cieszyn (None: as shipped),
    espeak-ng only, with its state and prompts under ``folder``."""
    config: dict[str, Any] = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    config["prompts"] = str(SHIPPED.parent / config["prompts"])
    for tenant in config["tenants"].values():
        tenant["flow"] = str(SHIPPED.parent / tenant["flow"])
    if banks is not None:
        model = config["tenants"]["cieszyn"]
        config["tenants"] = {}
        for n in range(banks):
            bank = json.loads(json.dumps(model))
            bank["name"] = f"Bank Spółdzielczy numer {n}"
            bank["lines"] = [str(10000 + n)]
            bank["prompts"]["greeting"] = f"Dzień dobry. Tu infolinia banku numer {n}."
            config["tenants"][f"bank{n:04d}"] = bank
    config["voice"]["engines"] = [e for e in config["voice"]["engines"] if e["name"] != "gtts"]
    config["voice"]["cache_dir"] = str(folder / "prompts")
    config["state"] = str(folder / "state.sqlite")
    path = folder / f"infolinia-{banks or 'shipped'}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def start_node(config: Path) -> dict[str, Any]:
    """One node's start in a fresh process, timed by phase."""
    env = {**os.environ, "INFOLINIA_AUDIT_KEY": "0" * 64, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", NODE_START, str(config)],
        env=env, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--banks", type=int, default=500, help="banks in the generated config")
    parser.add_argument("--cold", action="store_true", help="report the cold render's time too")
    parser.add_argument("--json", action="store_true", help="results as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="infolinia-start-") as scratch:
        folder = Path(scratch)
        baseline_config = generated_config(None, folder)
        many_config = generated_config(args.banks, folder)
        print(f"rendering {args.banks} banks' prompts once (cold) ...", file=sys.stderr)
        cold_started = time.monotonic()
        cold = start_node(many_config)
        cold_seconds = round(time.monotonic() - cold_started, 1)
        start_node(baseline_config)  # the shipped banks' own prompts, rendered too
        results = [
            {"banks": 3, **start_node(baseline_config)},
            {"banks": args.banks, **start_node(many_config)},
        ]
    baseline = results[0]["ready_seconds"]
    for result in results:
        result["ratio_to_3_banks"] = round(result["ready_seconds"] / baseline, 1)
    report: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "warm_starts": results,
    }
    if args.cold:
        report["cold_start"] = {"banks": args.banks, "seconds": cold_seconds, **cold}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"warm start to ready, {report['cpus']} CPUs:")
    for r in results:
        print(
            f"  {r['banks']:4d} banks, {r['prompts']:6d} prompts: {r['ready_seconds']:6.2f} s"
            f" (config {r['config_seconds']} s, deployment {r['deployment_seconds']} s,"
            f" render {r['render_seconds']} s)  {r['ratio_to_3_banks']}x"
        )
    if args.cold:
        print(f"  cold start of {args.banks} banks: {cold_seconds} s")


if __name__ == "__main__":
    main()
