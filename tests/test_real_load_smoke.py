"""A short load smoke run: 20 SIPp callers at once on the bank line (10 ask
for the balance, 10 block a card), the load benchmark's own scenarios
(bench/load_paths.py) on the test config's prompts. It fails only on failed
calls, never on timings: those belong in bench/load.py's report."""

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from adapters.demo import DemoBank, DemoSettings
from bench.load_paths import BALANCE, CARD_BLOCK, CallerPath, segment_files, write_scenario
from stasis_app.config import load_settings
from stasis_app.deployment import build_deployment
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess
from tests.support.sipp import free_udp_port

pytestmark = pytest.mark.asterisk

CALLS_PER_PATH = 10


async def run_sipp(path: CallerPath, workdir: Path) -> tuple[int, str]:
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    book = build_deployment(settings, with_adapters=False).tenants["izbica"].prompts
    length = write_scenario(path, segment_files(book), workdir)
    proc = await asyncio.create_subprocess_exec(
        *("sipp", "127.0.0.1:5060", "-sf", str(workdir / f"{path.name}.xml"), "-s", "100"),
        *("-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(free_udp_port() & ~1)),
        # All callers within about a second, then wait for them.
        *("-r", str(CALLS_PER_PATH), "-l", str(CALLS_PER_PATH), "-m", str(CALLS_PER_PATH)),
        *("-recv_timeout", "20000", "-timeout", f"{round(length + 30)}s", "-timeout_error"),
        *("-nostdin", "-trace_err", "-error_file", str(workdir / "errors.log")),
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    errors = workdir / "errors.log"
    text = out.decode(errors="replace")[-3000:]
    if errors.exists():
        text += "\n" + errors.read_text(errors="replace")[-3000:]
    return proc.returncode or 0, text


def calls_ended(app: AppProcess, seen: int) -> list[dict[str, object]]:
    """The 'call ended' log entries of our callers since entry ``seen``."""
    new = app.entries()[seen:]
    ours = {
        e["call_id"]
        for e in new
        if e["event"] == "call started" and str(e.get("caller", "")).startswith("4850")
    }
    return [e for e in new if e["event"] == "call ended" and e.get("call_id") in ours]


async def both_paths(workdir: Path) -> list[tuple[int, str]]:
    return await asyncio.gather(
        *(run_sipp(path, workdir / path.name) for path in (BALANCE, CARD_BLOCK))
    )


def test_twenty_callers_at_once_all_finish_their_path(live_app: AppProcess, tmp_path: Path) -> None:
    assert shutil.which("sipp"), "sipp is not installed (Debian package sip-tester)"
    settings = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
    DemoBank(DemoSettings(**settings.tenants["izbica"].adapter.settings)).reset()
    seen = len(live_app.entries())
    results = asyncio.run(both_paths(tmp_path))
    for (code, output), path in zip(results, (BALANCE, CARD_BLOCK), strict=True):
        assert code == 0, f"{path.name}: SIPp saw failed calls:\n{output}"
    ended = calls_ended(live_app, seen)
    deadline = time.monotonic() + 10  # the app logs a call's end just after the caller's BYE
    while len(ended) < 2 * CALLS_PER_PATH and time.monotonic() < deadline:
        time.sleep(0.1)
        ended = calls_ended(live_app, seen)
    assert len(ended) == 2 * CALLS_PER_PATH
    endings = sorted((e["outcome"], e["state"]) for e in ended)
    expected = sorted(
        [("caller hung up", BALANCE.end_state)] * CALLS_PER_PATH
        + [("caller hung up", CARD_BLOCK.end_state)] * CALLS_PER_PATH
    )
    assert endings == expected
