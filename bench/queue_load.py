"""Queue benchmark: SIPp callers wait in one consultant queue served by five
consultants, with the caller's place and wait announced every 10 s.

    .venv/bin/python bench/queue_load.py [--callers 50] [--out queue.json] [--json]

All callers dial line 103 of bench/infolinia-queue-bench.yaml within about a
second and wait (music, announcements) until their consultant (a Local
channel into the dialplan's infolinia-bench-agents: it answers, talks 10 s
with a tone and hangs up) ends the call. Reported:

* CPU seconds of the app and of Asterisk over the same run (/proc/PID/stat):
  Asterisk, moving the audio of every waiting caller, is the baseline the
  app's figure is a ratio of;
* announcement drift: how late each periodic announcement started against
  its schedule (p50/p99 from the app's /metrics histogram, and p99 as a share
  of the 10 s interval);
* dispatch: from a consultant being free for a waiting caller to that
  consultant being rung (p50/p99);
* exits by outcome, SIPp's completed and failed calls, wall time, the app's
  peak memory.

It needs the sandbox (started if down) and no other `infolinia run`
connected: run it under the team's lock,
`flock /tmp/infolinia-asterisk.lock .venv/bin/python bench/queue_load.py`.
"""

import argparse
import json
import platform
import socket
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from load import (
    AppRun,
    Ari,
    bench_config,
    cpu_seconds,
    free_port,
    quantiles,
    scrape,
    sipp_stats,
    status_kb,
)

from devtools.sandbox import Sandbox
from stasis_app.config import load_settings

BENCH = Path(__file__).resolve().parent
CONFIG = BENCH / "infolinia-queue-bench.yaml"
SCENARIO = BENCH / "sipp" / "queue-caller.xml"
DRIFT = "infolinia_queue_announcement_drift_seconds"
DISPATCH = "infolinia_queue_dispatch_seconds"


def run(callers: int, workdir: Path) -> dict[str, Any]:
    settings = load_settings(CONFIG, resolve_secrets=False)
    sandbox = Sandbox.default(prompt_dir=settings.voice.cache_dir)
    sandbox.up()
    asterisk = sandbox.pid()
    assert asterisk is not None
    ari = Ari(sandbox.ari_password())
    admin_port = free_port(socket.SOCK_STREAM)
    app = AppRun(bench_config(workdir, admin_port, CONFIG), workdir / "app.log", ari)
    app_pid = app.start()
    queue = settings.tenants["kolejka"].queues["main"]
    try:
        time.sleep(1.0)
        before = {"app": cpu_seconds(app_pid), "asterisk": cpu_seconds(asterisk)}
        cmd = [
            *("sipp", "127.0.0.1:5060", "-sf", str(SCENARIO), "-s", "103"),
            *("-i", "127.0.0.1", "-p", str(free_port(socket.SOCK_DGRAM))),
            *("-mp", str(free_port(socket.SOCK_DGRAM) & ~1)),
            *("-r", str(callers), "-l", str(callers), "-m", str(callers)),
            *("-recv_timeout", "900000", "-timeout", "1200s", "-timeout_error", "-nostdin"),
            *("-trace_stat", "-stf", str(workdir / "stats.csv"), "-fd", "5"),
            *("-trace_err", "-error_file", str(workdir / "errors.log")),
        ]
        started = time.monotonic()
        peak_waiting = 0.0
        with (workdir / "sipp.out").open("wb") as out:
            sipp = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
            while sipp.poll() is None:
                metrics = scrape(admin_port)
                waiting = sum(
                    v for k, v in metrics.items() if k.startswith("infolinia_queue_waiting")
                )
                peak_waiting = max(peak_waiting, waiting)
                time.sleep(1.0)
        wall = time.monotonic() - started
        after = {"app": cpu_seconds(app_pid), "asterisk": cpu_seconds(asterisk)}
        metrics = scrape(admin_port)
        peak_rss = status_kb(app_pid, "VmHWM")
    finally:
        app.stop()
    exits = {
        k.split('outcome="', 1)[1].split('"', 1)[0]: int(v)
        for k, v in metrics.items()
        if k.startswith("infolinia_queue_exits_total{")
    }
    drift = quantiles(metrics, (0.5, 0.99), DRIFT)
    app_cpu, asterisk_cpu = after["app"] - before["app"], after["asterisk"] - before["asterisk"]
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "callers": callers,
        "agents": len(queue.agents),
        "announce_every": queue.announce_every,
        "wall_seconds": round(wall, 1),
        "peak_waiting": peak_waiting,
        **sipp_stats(workdir / "stats.csv"),
        "exits": exits,
        "app_cpu_seconds": round(app_cpu, 2),
        "asterisk_cpu_seconds": round(asterisk_cpu, 2),
        "app_to_asterisk_cpu": round(app_cpu / asterisk_cpu, 2) if asterisk_cpu else None,
        "app_peak_rss_mb": round(peak_rss / 1024, 1),
        "announcement_drift_ms": drift,
        "drift_p99_share_of_interval": (
            round(drift["p99_ms"] / 1000 / queue.announce_every, 4)
            if drift.get("p99_ms") is not None
            else None
        ),
        "dispatch_ms": quantiles(metrics, (0.5, 0.99), DISPATCH),
        "workdir": str(workdir),
    }


def summary(r: dict[str, Any]) -> str:
    d, s = r["announcement_drift_ms"], r["dispatch_ms"]
    return "\n".join(
        [
            f"{r['callers']} callers, {r['agents']} agents, announcements every "
            f"{r['announce_every']}s: {r['completed']} completed, {r['failed']} failed "
            f"{r['reasons'] or ''} in {r['wall_seconds']}s (peak {r['peak_waiting']:.0f} waiting)",
            f"exits: {r['exits']}",
            f"CPU: app {r['app_cpu_seconds']}s, Asterisk {r['asterisk_cpu_seconds']}s "
            f"-> app/Asterisk {r['app_to_asterisk_cpu']}; app peak RSS {r['app_peak_rss_mb']} MB",
            f"announcement drift: p50 {d['p50_ms']} ms, p99 {d['p99_ms']} ms "
            f"({d['observations']:.0f} announcements; p99 = "
            f"{r['drift_p99_share_of_interval']} of the interval)",
            f"agent free -> rung: p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms "
            f"({s['observations']:.0f} rings)",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=50)
    parser.add_argument("--out", type=Path, help="append the result as one JSON line")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="infolinia-queue-bench-"))
    print(f"[queue bench] {args.callers} callers; working in {workdir}", flush=True)
    result = run(args.callers, workdir)
    if args.out:
        with args.out.open("a") as out:
            out.write(json.dumps(result) + "\n")
    print(json.dumps(result, indent=2) if args.json else summary(result))


if __name__ == "__main__":
    main()
