"""A bank line's safeguards on real calls: secrets never written anywhere,
guessing locked across calls, a block never lost when the core is down, and
"please wait" instead of silence while the core is slow."""

import asyncio
import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.demo import DemoBank, DemoSettings
from stasis_app.audit import AuditLog
from stasis_app.config import load_settings
from stasis_app.journal import DELIVERED, BlockJournal
from stasis_app.login_guard import LoginGuard
from stasis_app.sandbox import Sandbox
from stasis_app.simulator import CallSimulator, Transcript
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG
from tests.support.app_process import AppProcess
from tests.support.reference_core import ReferenceCoreThread
from tests.test_real_bank import TEXTS, digits_from_words, said, words_after

pytestmark = pytest.mark.asterisk

SETTINGS = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
WEBSERVICE_LINE = "111"
# The demo customer whose secrets occur nowhere else (adapters/demo.py).
PIN, BORN_TYPED, BORN_ISO = "271828", "19081947", "1947-08-19"


@pytest.fixture
def core() -> Iterator[ReferenceCoreThread]:
    server = ReferenceCoreThread(
        DemoSettings(database=Path("/tmp/infolinia-tests/demo-bank.sqlite"), tenant="webservice")
    ).start()
    server.core.bank.reset()
    yield server
    server.stop()


@pytest.fixture
def store() -> Store:
    return Store(SETTINGS.state)


def calls(simulator: CallSimulator, line: str, *keys: str) -> list[Transcript]:
    async def together() -> list[Transcript]:
        return await asyncio.gather(
            *(
                simulator.call(line, k.split(), quiet_gap=0.3, timeout=120, hangup_after=1.0)
                for k in keys
            )
        )

    return asyncio.run(together())


def hex_runs(text: bytes) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(rb"[0-9a-fA-F]{16,}", text)]


def leaks(root: Path, secrets: list[str]) -> list[str]:
    """Every file under ``root`` holding a secret, unless it sits inside a long
    hex run (a hash or an id, where six digits may occur by chance)."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for secret in secrets:
            for match in re.finditer(re.escape(secret.encode()), data):
                inside = any(a <= match.start() and match.end() <= b for a, b in hex_runs(data))
                if not inside:
                    found.append(f"{path}: {secret}")
    return found


def test_pins_and_birth_dates_reach_no_log_and_no_file(
    live_app: AppProcess, simulator: CallSimulator, core: ReferenceCoreThread, sandbox: Sandbox
) -> None:
    """Right and wrong telekods, and a date of birth, typed on two banks (one
    of them over the webservice); then every file the system wrote is searched."""
    wrong = "271829"
    staszow = DemoBank(DemoSettings(**SETTINGS.tenants["staszow"].adapter.settings))
    staszow.reset()

    async def three_calls() -> list[Transcript]:
        return await asyncio.gather(
            *(
                simulator.call(line, keys.split(), quiet_gap=0.3, timeout=120, hangup_after=1.0)
                for line, keys in (
                    (WEBSERVICE_LINE, f"2 31415926 {PIN}# 1"),  # balance and history
                    # a wrong PIN, then the date of birth; internet banking
                    (WEBSERVICE_LINE, f"1 31415926 {wrong}# 31415926 * {BORN_TYPED} 2 1"),
                    ("102", f"1 31415926 * {BORN_TYPED} 1 1 1"),  # a card, on another bank
                )
            )
        )

    transcripts = asyncio.run(three_calls())
    assert TEXTS["balance_is"] in said(transcripts[0])
    assert TEXTS["ib_blocked"] in said(transcripts[1])
    assert TEXTS["card_blocked"] in said(transcripts[2])
    time.sleep(0.5)  # logs flushed
    secrets = [PIN, wrong, BORN_TYPED, BORN_ISO, "19.08.1947"]
    places = [
        live_app.log_path.parent,  # the app's log
        SETTINGS.state.parent,  # state store, demo bank, test data
        SETTINGS.voice.cache_dir,  # rendered prompts and live speech
        sandbox.root / "var" / "log" / "asterisk",  # Asterisk's logs and CDRs
        sandbox.root / "var" / "spool" / "asterisk",
        sandbox.root / "var" / "lib" / "asterisk",
    ]
    found = [leak for place in places if place.exists() for leak in leaks(place, secrets)]
    assert found == []
    # The audit trail has every attempt, with the masked number only.
    entries = AuditLog(Store(SETTINGS.state)).entries(limit=10_000)
    ours = [e for e in entries if e.customer == "*****926"]
    assert {(e.action, e.result) for e in ours} >= {
        ("authenticate", "ok"),
        ("authenticate", "refused"),
        ("identify", "ok"),
        ("block_card", "confirmed"),
        ("block_internet_banking", "confirmed"),
        ("accounts", "ok"),
    }


def test_five_failures_across_calls_lock_phone_login_without_asking_the_bank(
    live_app: AppProcess, simulator: CallSimulator, core: ReferenceCoreThread, store: Store
) -> None:
    number = "87654321"
    guard = LoginGuard(store, SETTINGS.security)
    guard.unlock("webservice", number)
    try:
        first, second = (
            calls(simulator, WEBSERVICE_LINE, keys)[0]
            for keys in (
                f"2 {number} 0000# {number} 0001# {number} 0002#",  # three: the call ends
                f"2 {number} 0003# {number} 0004#",  # the fifth in a row locks
            )
        )
        assert said(first)[-1] == TEXTS["too_many_failures"]
        assert said(second)[-1] == TEXTS["too_many_failures"]
        asked = len(core.core.seen)
        [locked] = calls(simulator, WEBSERVICE_LINE, f"2 {number} 4321#")  # the right PIN
        assert TEXTS["balance_is"] not in said(locked)
        assert said(locked)[-1] == TEXTS["too_many_failures"]
        assert len(core.core.seen) == asked  # the bank was not even asked
        results = [
            e.result
            for e in AuditLog(store).entries(tenant="webservice", limit=10_000)
            if e.action == "authenticate" and e.customer == "*****321"
        ]
        assert results[-6:] == ["refused"] * 5 + ["locked"]
    finally:
        guard.unlock("webservice", number)


def test_a_block_confirmed_while_the_core_is_down_is_registered_and_delivered_later(
    live_app: AppProcess, simulator: CallSimulator, core: ReferenceCoreThread, store: Store
) -> None:
    """The bank's blocks answer 503: the caller hears that the report is
    registered and its reference; the app is then restarted (the journal
    survives), the bank comes back, and the block is delivered."""
    core.core.faults.blocks_down = True
    [transcript] = calls(simulator, WEBSERVICE_LINE, "1 12345678 1234# 1 1 1")
    spoken = said(transcript)
    assert TEXTS["block_registered"] in spoken and TEXTS["card_blocked"] not in spoken
    reference = digits_from_words(words_after(transcript, TEXTS["block_registered"]))
    journal = BlockJournal(store)
    [entry] = [e for e in journal.entries("pending") if e.reference == reference]
    assert core.core.bank.snapshot("12345678")["cards"][0]["status"] == "active"

    live_app.kill()  # nothing in the journal may be lost
    core.core.faults.blocks_down = False
    live_app.start()
    deadline = time.monotonic() + 20
    while journal.entries("pending") and time.monotonic() < deadline:
        time.sleep(0.2)
    [done] = [e for e in journal.entries() if e.reference == reference]
    assert done.state == DELIVERED
    assert core.core.bank.snapshot("12345678")["cards"][0]["status"] == "blocked"
    proof = [(e.action, e.result) for e in AuditLog(store).entries(reference=reference)]
    assert proof == [("block_card", "journaled"), ("block_card", "delivered")]
    assert entry.operation_id == done.operation_id  # delivered under the same id


def test_a_slow_core_makes_the_caller_hear_please_wait_not_silence(
    live_app: AppProcess, simulator: CallSimulator, core: ReferenceCoreThread
) -> None:
    core.core.faults.delay = 1.5  # longer than security.filler_after, within the timeouts
    [transcript] = calls(simulator, WEBSERVICE_LINE, "2 12345678 1234#")
    spoken = said(transcript)
    assert TEXTS["please_wait"] in spoken
    assert spoken.index(TEXTS["please_wait"]) < spoken.index(TEXTS["balance_is"])


@pytest.fixture
def full_live_disk() -> Iterator[Path]:
    """A full file system where the app speaks customer text (a tiny tmpfs
    over the live-speech folder, filled up): writing there fails with ENOSPC."""
    live = SETTINGS.voice.cache_dir / "live"
    live.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(live)], check=True)
    try:
        with contextlib.suppress(OSError), (live / "filler").open("wb") as out:
            out.write(b"\0" * 65536)
        yield live
    finally:
        subprocess.run(["umount", "-l", str(live)], check=True)


def test_a_full_disk_leaves_out_the_names_and_nothing_else(
    live_app: AppProcess, simulator: CallSimulator, full_live_disk: Path
) -> None:
    """Counterparty names are synthesized per call; with no room for them the
    caller still hears the history (amounts, dates, directions), no apology."""
    DemoBank(DemoSettings(**SETTINGS.tenants["izbica"].adapter.settings)).reset()
    [transcript] = calls(simulator, "100", "2 87654321 4321# 1")  # one operation: Żabka
    spoken = said(transcript)
    history = spoken[spoken.index(TEXTS["history_intro"]) + 1 :]
    assert history.count(TEXTS["operation_out"]) == 1
    assert "(spoken live)" not in history and TEXTS["apology"] not in spoken
    assert live_app.count(lambda e: e.get("event") == "customer text could not be spoken; left out")
