"""Load benchmark: SIPp callers on the real Asterisk sandbox, through the app
and through the same paths as plain dialplan (the baseline), in one run.

    .venv/bin/python bench/load.py --concurrency 10,50,100,200 --seconds 60 \
        [--paths balance,card_block] [--targets baseline,app,app-ws] [--out results.jsonl] [--json]

Targets: ``baseline`` (plain dialplan), ``app`` (the app with the demo
adapter: the demo bank's core, PIN hashing included, runs in the app's
process), ``app-ws`` (the app with the ``webservice`` adapter; line 100's
bank core is the reference webservice core, tests/support/reference_core.py,
in a process of its own, as a bank's core runs on its own machine; its CPU is
reported apart) and ``ari-floor`` (bench/ari_floor_app.py: the baseline's
dialplan done by the least Python ARI app, over the app's ARI transport; the
floor under any app's figures).

For each concurrency C, path and target, SIPp starts calls at C per call
length (steady load: about C calls in progress once the first have run a
call's length) for --seconds, then waits for the last to end. Each run
reports calls attempted, completed and failed (with SIPp's reasons, and for
the app calls whose flow did not end where the caller left it), CPU seconds
per completed call of the app, of Asterisk and of SIPp (/proc/PID/stat),
the app's peak memory (VmHWM) and memory per call in progress, and the wait
from a key reaching the app to the next prompt starting (p50/p95/p99 from
the app's /metrics histogram). The baseline has no app, so no such wait.

It needs the sandbox (`infolinia sandbox up`; started if down) and no other
`infolinia run` connected. It resets its demo bank first and starts the app
itself for each run with bench/infolinia-bench.yaml. A shared sandbox: run
each level under the team's lock, e.g.
`flock /tmp/infolinia-asterisk.lock .venv/bin/python bench/load.py --concurrency 50`.
bench/load_report.py turns --out files into the table and plot.
"""

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64encode
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from ari_floor_app import PROGRAMS
from load_paths import PATHS, SEGMENTS, CallerPath, segment_files, write_scenario

from devtools.sandbox import ARI_URL, ARI_USER, Sandbox
from stasis_app.config import Settings, load_settings
from stasis_app.deployment import build_deployment

BENCH = Path(__file__).resolve().parent
CONFIG = BENCH / "infolinia-bench.yaml"
TICKS = os.sysconf("SC_CLK_TCK")
REPO = BENCH.parent
CORE_SECRET_ENV = "INFOLINIA_BENCH_CORE_SECRET"  # the app-ws target's HMAC key
APP_TARGETS = ("app", "app-ws")
FLOOR = "ari-floor"
SAMPLE_EVERY = 1.0  # app RSS from /proc (costs the app nothing)
KEEP_CARDS_ACTIVE = """
CREATE TRIGGER IF NOT EXISTS bench_cards_stay_active AFTER UPDATE OF status ON cards
WHEN NEW.status = 'blocked'
BEGIN UPDATE cards SET status = 'active' WHERE tenant = NEW.tenant AND card_id = NEW.card_id; END
"""
SCRAPE_EVERY = 5  # samples: calls in progress from /metrics (costs the app a little)


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Ari:
    def __init__(self, password: str) -> None:
        self.password = password  # for the floor app, through its environment
        token = b64encode(f"{ARI_USER}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}

    def call(self, method: str, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        url = f"{ARI_URL}ari/{path}" + (f"?{query}" if query else "")
        request = urllib.request.Request(url, method=method, headers=self.headers)
        with urllib.request.urlopen(request, timeout=5) as answer:
            body = answer.read()
        return json.loads(body) if body else None

    def apps(self) -> list[str]:
        return [app["name"] for app in self.call("GET", "applications")]

    def hang_up_all(self, rounds: int = 30) -> int:
        """Hang up every channel left in Asterisk (again while more appear,
        up to ``rounds`` seconds); how many there were."""
        seen: set[str] = set()
        for _ in range(rounds):
            left = [c["id"] for c in self.call("GET", "channels")]
            if not left:
                break
            seen.update(left)
            for channel_id in left:
                with contextlib.suppress(urllib.error.URLError, TimeoutError):  # gone, or slow
                    self.call("DELETE", f"channels/{channel_id}")
            time.sleep(1)
        return len(seen)

    def set_global(self, name: str, value: str) -> None:
        self.call("POST", "asterisk/variable", variable=name, value=value)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def machine_ticks() -> tuple[int, int, int]:
    """This machine's CPU time since boot, in ticks: (busy, idle, steal).

    Steal is time the hypervisor gave this virtual machine's CPUs to others:
    a run with much of it ran on a busy host, and its CPU figures are not
    comparable with a quiet run's."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq, idle + iowait, steal


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def bench_config(
    workdir: Path,
    admin_port: int,
    config: Path = CONFIG,
    core_port: int | None = None,
    max_calls: int | None = None,
) -> Path:
    """A bench config (bench/infolinia-bench.yaml) with a free admin port and
    absolute paths, written into ``workdir``. With ``core_port``, the first
    bank (line 100) uses the webservice adapter against a core on that port;
    with ``max_calls``, the app hands calls beyond that many back to the
    dialplan (``ari.max_calls``)."""
    raw = yaml.safe_load(config.read_text())
    raw["admin"]["port"] = admin_port
    if max_calls is not None:
        raw["ari"]["max_calls"] = max_calls
    raw["prompts"] = str((BENCH / raw["prompts"]).resolve())
    for tenant in raw["tenants"].values():
        tenant["flow"] = str((BENCH / tenant["flow"]).resolve())
    name = config.name
    if core_port is not None:
        first = next(iter(raw["tenants"].values()))
        first["adapter"] = {
            "name": "webservice",
            "settings": {
                "base_url": f"http://127.0.0.1:{core_port}/",
                "secret_env": CORE_SECRET_ENV,
            },
        }
        name = f"ws-{name}"
    path = workdir / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


def scrape(port: int) -> dict[str, float]:
    """/metrics as {'name{labels}': value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def quantiles(
    metrics: dict[str, float],
    qs: tuple[float, ...],
    histogram: str = "infolinia_key_to_prompt_seconds",
    where: str = "",
) -> dict[str, float | None]:
    """Quantiles of a histogram (by default infolinia_key_to_prompt_seconds)
    over every tenant (and series whose labels hold ``where``), in ms,
    interpolated within buckets as Prometheus' histogram_quantile does."""
    buckets: dict[float, float] = {}
    for name, value in metrics.items():
        if name.startswith(histogram + "_bucket{") and where in name:
            le = name.split('le="', 1)[1].split('"', 1)[0]
            bound = float("inf") if le == "+Inf" else float(le)
            buckets[bound] = buckets.get(bound, 0.0) + value
    bounds = sorted(buckets)
    total = buckets.get(float("inf"), 0.0)
    result: dict[str, float | None] = {}
    for q in qs:
        key = f"p{round(q * 100)}_ms"
        if total == 0:
            result[key] = None
            continue
        rank, low, below = q * total, 0.0, 0.0
        for bound in bounds:
            if buckets[bound] >= rank:
                if bound == float("inf"):
                    result[key] = low * 1000  # beyond the last bucket: its bound, a floor
                else:
                    share = (rank - below) / max(buckets[bound] - below, 1e-9)
                    result[key] = round((low + (bound - low) * share) * 1000, 2)
                break
            low, below = bound, buckets[bound]
    result["observations"] = total
    return result


class AppRun:
    """`infolinia run` with the bench config, its log in a file."""

    def __init__(self, config: Path, log: Path, ari: Ari, prefix: list[str] | None = None) -> None:
        self.config, self.log, self.ari = config, log, ari
        # Runs the app's module under another program (a profiler) in the same process.
        self.prefix = prefix or [sys.executable]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 180) -> int:
        # The last run's app may take a moment to leave (Asterisk drops the
        # app once its websocket and its channels are gone).
        gone_by = time.monotonic() + 90
        while "infolinia" in self.ari.apps():
            if time.monotonic() > gone_by:
                raise SystemExit("another 'infolinia' Stasis app is connected; stop it first")
            time.sleep(0.5)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.command(),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.environment(),
            )
        deadline = time.monotonic() + timeout
        while "infolinia" not in self.ari.apps():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the app did not connect; see {self.log}")
            time.sleep(0.2)
        return self.proc.pid

    def command(self) -> list[str]:
        return [*self.prefix, "-m", "stasis_app", "--config", str(self.config), "run"]

    def environment(self) -> dict[str, str]:
        return dict(os.environ)  # the app reads its ARI password from the config's file

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def ended_calls(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("event") == "call ended":
                    entries.append(entry)
        return entries


class FloorRun(AppRun):
    """bench/ari_floor_app.py on ``path``, in place of the app."""

    def __init__(self, segments: Path, path: str, log: Path, ari: Ari) -> None:
        super().__init__(segments, log, ari)  # no config: the segments' files instead
        self.segments, self.path = segments, path

    def command(self) -> list[str]:
        floor = BENCH / "ari_floor_app.py"
        return [sys.executable, str(floor), "--path", self.path, "--segments", str(self.segments)]

    def environment(self) -> dict[str, str]:
        return {**os.environ, "ARI_PASSWORD": self.ari.password}

    def expected_state(self, tail: str) -> str:
        """Where a call is when the caller hangs up: the Read() after the path's tail."""
        steps = [step.segment for step in PROGRAMS[self.path]]
        return steps[steps.index(tail) + 1]


class CoreRun:
    """The reference webservice core over the bench's demo bank, in its own process."""

    def __init__(self, database: Path, port: int, log: Path) -> None:
        self.database, self.port, self.log = database, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> int:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [
                    *(sys.executable, "-m", "tests.support.reference_core"),
                    *("--database", str(self.database), "--tenant", "izbica"),
                    *("--port", str(self.port), "--secret-env", CORE_SECRET_ENV),
                ],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return self.proc.pid
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the reference core did not start; see {self.log}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def sipp_stats(csv: Path) -> dict[str, Any]:
    lines = [line for line in csv.read_text().splitlines() if line.strip()]
    header, last = lines[0].split(";"), lines[-1].split(";")
    row = dict(zip(header, last, strict=False))
    reasons = {
        name.removesuffix("(C)"): int(value)
        for name, value in row.items()
        if name.startswith("Failed") and name.endswith("(C)") and value.strip() not in ("", "0")
    }
    reasons.pop("FailedCall", None)
    return {
        "attempted": int(row["TotalCallCreated"]),
        "completed": int(row["SuccessfulCall(C)"]),
        "failed": int(row["FailedCall(C)"]),
        "reasons": reasons,
        "retransmissions": int(row.get("Retransmissions(C)", "0") or 0),
    }


def run_one(
    target: str,
    path: CallerPath,
    concurrency: int,
    seconds: float,
    scenario: Path,
    call_seconds: float,
    ctx: dict[str, Any],
    stops: contextlib.ExitStack,
) -> dict[str, Any]:
    """One run; the app and the core it starts are stopped by ``stops`` (after
    an error too: none is left running)."""
    workdir: Path = ctx["workdir"] / f"{target}-{path.name}-{concurrency}"
    workdir.mkdir(parents=True, exist_ok=True)
    ari: Ari = ctx["ari"]
    app: AppRun | None = None
    core: CoreRun | None = None
    if target == "app-ws":
        core = CoreRun(ctx["database"], ctx["core_port"], workdir / "core.log")
        stops.callback(core.stop)
        core_pid = core.start()
    if target in APP_TARGETS:
        config = ctx["config_ws"] if target == "app-ws" else ctx["config"]
        app = AppRun(config, workdir / "app.log", ari, ctx["app_prefix"])
    elif target == FLOOR:
        app = FloorRun(ctx["floor_segments"], path.name, workdir / "app.log", ari)
    if app is not None:
        stops.callback(app.stop)
        app_pid = app.start()
        time.sleep(1.0)  # let start-up work settle before the idle figures
        idle_rss = status_kb(app_pid, "VmRSS")
    else:
        ari.set_global("INFOLINIA_BENCH", "1")
    calls = max(concurrency, round(concurrency * seconds / call_seconds))
    asterisk = ctx["asterisk_pid"]
    cpu_before = {"asterisk": cpu_seconds(asterisk)}
    ticks_before = machine_ticks()
    if app is not None:
        cpu_before["app"] = cpu_seconds(app_pid)
    if core is not None:
        cpu_before["core"] = cpu_seconds(core_pid)
    line = path.app_line if app is not None else path.baseline_line
    # Start-up requests (the event filter, the first ping) are not a call's.
    ari_before = scrape(ctx["admin_port"]) if target in APP_TARGETS else {}
    cmd = [
        *(["sipp", "127.0.0.1:5060", "-sf", str(scenario), "-s", line]),
        *(["-i", "127.0.0.1", "-p", str(free_port(socket.SOCK_DGRAM))]),
        *(["-mp", str(free_port(socket.SOCK_DGRAM) & ~1)]),
        *(["-r", str(concurrency), "-rp", str(round(call_seconds * 1000))]),
        *(["-l", str(concurrency), "-m", str(calls)]),
        *(["-recv_timeout", "20000", "-timeout", f"{round(seconds + 3 * call_seconds + 60)}s"]),
        *(["-timeout_error", "-nostdin", "-trace_stat", "-stf", str(workdir / "stats.csv")]),
        *(["-fd", "5", "-trace_err", "-error_file", str(workdir / "errors.log")]),
    ]
    samples: list[tuple[float, int, float]] = []  # (seconds, app RSS kB, active calls)
    started = time.monotonic()
    with (workdir / "sipp.out").open("wb") as out:
        sipp = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT)
        sipp_cpu, active = 0.0, 0.0
        while sipp.poll() is None:
            with contextlib.suppress(OSError):
                sipp_cpu = cpu_seconds(sipp.pid)
            if app is not None:
                if target == FLOOR:  # no /metrics: no count of calls in progress
                    active = 0.0
                elif len(samples) % SCRAPE_EVERY == 0:
                    metrics = scrape(ctx["admin_port"])
                    active = sum(
                        v for k, v in metrics.items() if k.startswith("infolinia_active_calls")
                    )
                samples.append(
                    (round(time.monotonic() - started, 1), status_kb(app_pid, "VmRSS"), active)
                )
            time.sleep(SAMPLE_EVERY)
    wall = time.monotonic() - started
    cpu_after = {"asterisk": cpu_seconds(asterisk)}
    m_busy, m_idle, m_steal = (a - b for a, b in zip(machine_ticks(), ticks_before, strict=True))
    m_all = max(m_busy + m_idle + m_steal, 1)
    result: dict[str, Any] = {
        "target": target,
        "path": path.name,
        "concurrency": concurrency,
        "seconds": seconds,
        "call_seconds": round(call_seconds, 1),
        "wall_seconds": round(wall, 1),
        **sipp_stats(workdir / "stats.csv"),
        # The whole machine over the run (every process, both CPUs): how busy,
        # and how much of its CPUs' time the host took away (steal).
        "machine_busy_percent": round(100 * m_busy / m_all, 1),
        "machine_steal_percent": round(100 * m_steal / m_all, 1),
    }
    done = max(result["completed"], 1)
    result["asterisk_cpu_ms_per_call"] = round(
        (cpu_after["asterisk"] - cpu_before["asterisk"]) * 1000 / done, 1
    )
    result["sipp_cpu_ms_per_call"] = round(sipp_cpu * 1000 / done, 1)
    if core is not None:
        result["core_cpu_ms_per_call"] = round(
            (cpu_seconds(core_pid) - cpu_before["core"]) * 1000 / done, 1
        )
    if app is not None:
        cpu_after["app"] = cpu_seconds(app_pid)
        result["app_cpu_ms_per_call"] = round(
            (cpu_after["app"] - cpu_before["app"]) * 1000 / done, 1
        )
        result["app_peak_rss_mb"] = round(status_kb(app_pid, "VmHWM") / 1024, 1)
        result["app_idle_rss_mb"] = round(idle_rss / 1024, 1)
        busy = [(rss, active) for _, rss, active in samples if active >= 0.8 * concurrency]
        if busy:
            rss = statistics.median(r for r, _ in busy)
            active = statistics.median(a for _, a in busy)
            result["app_kb_per_active_call"] = round((rss - idle_rss) / active, 1)
        result["rss_samples"] = samples
    if isinstance(app, FloorRun):
        app.stop()
        expected = app.expected_state(path.tail[-1])
        result["app_wrong_endings"] = wrong_endings(app.ended_calls(), expected)
    elif app is not None:
        final = scrape(ctx["admin_port"])
        result["key_to_prompt"] = quantiles(final, (0.5, 0.95, 0.99))
        result["key_to_prompt_app"] = quantiles(
            final, (0.5, 0.95, 0.99), "infolinia_key_to_prompt_app_seconds"
        )
        result["key_to_prompt_by_wait"] = {
            waited: quantiles(
                final,
                (0.5, 0.95, 0.99),
                "infolinia_key_to_prompt_by_wait_seconds",
                f'waited_on="{waited}"',
            )
            for waited in sorted(
                {
                    name.split('waited_on="', 1)[1].split('"', 1)[0]
                    for name in final
                    if name.startswith("infolinia_key_to_prompt_by_wait_seconds_count{")
                }
            )
        }
        result["ari_per_call"] = ari_per_call(ari_before, final, done)
        result["handed_back_over_limit"] = int(final.get("infolinia_calls_over_limit_total", 0))
        app.stop()
        ended = app.ended_calls()
        result["app_calls_ended"] = len(ended)
        result["app_wrong_endings"] = wrong_endings(ended, path.end_state)
    if app is None:
        ari.set_global("INFOLINIA_BENCH", "")
    # Calls SIPp gave up on (no BYE) stay in Asterisk, and would load the next
    # run: hang them up, and say how many there were.
    result["channels_left"] = ari.hang_up_all()
    return result


def wrong_endings(ended: list[dict[str, Any]], state: str) -> dict[str, int]:
    """Calls that did not end with the caller hanging up in ``state``, by how they ended."""
    wrong: dict[str, int] = {}
    for entry in ended:
        if (entry.get("outcome"), entry.get("state")) != ("caller hung up", state):
            label = f"{entry.get('outcome')} in {entry.get('state')}"
            wrong[label] = wrong.get(label, 0) + 1
    return wrong


def ari_per_call(before: dict[str, float], after: dict[str, float], calls: int) -> dict[str, Any]:
    """ARI requests (by method and operation), events (by type) and event
    characters per completed call, from the app's infolinia_ari_* counters."""

    def per_call(prefix: str, label: str) -> dict[str, float]:
        found: dict[str, float] = {}
        for name, value in after.items():
            if name.startswith(prefix + "{"):
                labels = dict(
                    part.split("=", 1) for part in name[len(prefix) + 1 : -1].split(",") if part
                )
                key = " ".join(labels[k].strip('"') for k in label.split())
                found[key] = round((value - before.get(name, 0.0)) / calls, 2)
        return {key: count for key, count in sorted(found.items()) if count}

    requests = per_call("infolinia_ari_requests_total", "method operation")
    events = per_call("infolinia_ari_events_total", "type")
    size = per_call("infolinia_ari_event_bytes_total", "type")
    return {
        "requests": requests,
        "requests_total": round(sum(requests.values()), 1),
        "transports": per_call("infolinia_ari_requests_sent_total", "transport"),
        "events": events,
        "events_total": round(sum(events.values()), 1),
        "event_bytes": size,
        "event_bytes_total": round(sum(size.values())),
    }


def prepare(settings: Settings, ari: Ari, config: Path) -> dict[str, list[str]]:
    """Reset the demo bank, keep its cards active, set the baseline's prompt globals."""
    subprocess.run(
        [sys.executable, "-m", "stasis_app", "--config", str(config), "demo-bank", "reset"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    # Every card-block caller blocks the first demo customer's first card: the
    # block is recorded (with its reference) as always, but the card stays
    # active, so the next caller finds it too (this bench database only).
    database = settings.tenants["izbica"].adapter.settings["database"]
    with contextlib.closing(sqlite3.connect(str(database))) as db, db:
        db.execute(KEEP_CARDS_ACTIVE)
    deployment = build_deployment(settings, with_adapters=False)
    book = deployment.tenants["izbica"].prompts
    files = segment_files(book)
    missing = [f for fs in files.values() for f in fs if not Path(f + ".wav").exists()]
    if missing:  # render once, as `infolinia run` would, so durations can be read
        asyncio.run(book.render_all())
    for segment in SEGMENTS:
        ari.set_global(f"INFOLINIA_BENCH_{segment}", "&".join(files[segment]))
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="10,50", help="comma-separated levels")
    parser.add_argument("--seconds", type=float, default=60, help="how long calls are started")
    parser.add_argument("--paths", default="balance,card_block")
    parser.add_argument(
        "--targets",
        default="baseline,app",
        help="baseline, app, app-ws and ari-floor (see above), in this order, repeats allowed",
    )
    parser.add_argument(
        "--max-calls",
        type=int,
        help="the app's ari.max_calls: calls beyond it go back to the dialplan (its fallback)",
    )
    parser.add_argument(
        "--app-prefix",
        help="run the app's module under this command in the app's own process, e.g. "
        "'.venv/bin/memray run --native -o app.bin' (CPU figures then include it)",
    )
    parser.add_argument("--out", type=Path, help="append each run's result to this JSON-lines file")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, stats)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("sipp") is None:
        raise SystemExit("sipp is not installed (Debian package sip-tester)")
    workdir = Path(tempfile.mkdtemp(prefix="infolinia-load-"))
    admin_port = free_port(socket.SOCK_STREAM)
    config = bench_config(workdir, admin_port, max_calls=args.max_calls)
    core_port = free_port(socket.SOCK_STREAM)
    os.environ.setdefault(CORE_SECRET_ENV, secrets.token_hex(32))  # the app inherits it
    settings = load_settings(config, resolve_secrets=False)
    box = Sandbox.default(prompt_dir=settings.voice.cache_dir)
    box.up()
    ari = Ari(box.ari_password())
    Path("/tmp/infolinia-bench").mkdir(exist_ok=True)
    files = prepare(settings, ari, config)
    floor_segments = workdir / "segments.json"
    floor_segments.write_text(json.dumps(files))
    ctx = {
        "workdir": workdir,
        "ari": ari,
        "config": config,
        "config_ws": bench_config(
            workdir, admin_port, core_port=core_port, max_calls=args.max_calls
        ),
        "core_port": core_port,
        "database": Path(settings.tenants["izbica"].adapter.settings["database"]),
        "admin_port": admin_port,
        "asterisk_pid": box.pid(),
        "app_prefix": shlex.split(args.app_prefix) if args.app_prefix else None,
        "floor_segments": floor_segments,
    }
    scenarios = {
        name: (workdir / f"{name}.xml", write_scenario(PATHS[name], files, workdir))
        for name in args.paths.split(",")
    }
    stamp = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}",
        "python": platform.python_version(),
        "asterisk": box.version(),
        "command": " ".join(["bench/load.py", *sys.argv[1:]]),
    }
    results = []
    try:
        for level in (int(c) for c in args.concurrency.split(",")):
            for name, (scenario, call_seconds) in scenarios.items():
                for target in args.targets.split(","):
                    with contextlib.ExitStack() as stops:
                        run = run_one(
                            target,
                            PATHS[name],
                            level,
                            args.seconds,
                            scenario,
                            call_seconds,
                            ctx,
                            stops,
                        )
                    result = {**stamp, **run}
                    results.append(result)
                    if args.out:
                        with args.out.open("a") as out:
                            out.write(json.dumps(result) + "\n")
                    if not args.json:
                        print(summary(result), flush=True)
    finally:
        with contextlib.suppress(Exception):
            ari.set_global("INFOLINIA_BENCH", "")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"work folder kept: {workdir}", file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                [{k: v for k, v in r.items() if k != "rss_samples"} for r in results], indent=2
            )
        )


def summary(r: dict[str, Any]) -> str:
    text = (
        f"{r['target']:8} {r['path']:10} C={r['concurrency']:<4} calls {r['attempted']:4}"
        f" ok {r['completed']:4} failed {r['failed']:3} {r['reasons'] or ''}"
        f" | Asterisk {r['asterisk_cpu_ms_per_call']} ms/call"
    )
    if r["target"] in APP_TARGETS:
        k = r["key_to_prompt"]
        text += (
            f" | app {r['app_cpu_ms_per_call']} ms/call, peak {r['app_peak_rss_mb']} MB,"
            f" {r.get('app_kb_per_active_call')} kB/call | key->prompt p50 {k['p50_ms']}"
            f" p95 {k['p95_ms']} p99 {k['p99_ms']} ms | wrong endings {r['app_wrong_endings']}"
        )
        own, ari = r["key_to_prompt_app"], r["ari_per_call"]
        text += (
            f" | app's share p50 {own['p50_ms']} p99 {own['p99_ms']} ms"
            f" | ARI a call: {ari['requests_total']} requests, {ari['events_total']} events,"
            f" {ari['event_bytes_total']} B of events"
        )
    elif r["target"] == FLOOR:
        text += f" | app {r['app_cpu_ms_per_call']} ms/call, peak {r['app_peak_rss_mb']} MB"
        text += f" | wrong endings {r['app_wrong_endings']}"
    if "core_cpu_ms_per_call" in r:
        text += f" | core {r['core_cpu_ms_per_call']} ms/call"
    text += f" | machine busy {r['machine_busy_percent']} %, steal {r['machine_steal_percent']} %"
    if r.get("channels_left"):
        text += f" | {r['channels_left']} channels left in Asterisk, hung up"
    return text


if __name__ == "__main__":
    main()
