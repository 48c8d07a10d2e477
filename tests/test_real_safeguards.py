"""A bank line's safeguards on real calls: secrets never written anywhere,
guessing locked across calls, a block never lost when the core is down, and
"please wait" instead of silence while the core is slow."""

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.demo import DemoBank, DemoSettings
from devtools.sandbox import Sandbox
from devtools.simulator import CallSimulator, Transcript
from stasis_app.config import load_settings
from stasis_app.safeguards.audit import AuditLog
from stasis_app.safeguards.journal import DELIVERED, BlockJournal
from stasis_app.safeguards.login_guard import LoginGuard
from stasis_app.store import Store
from tests.conftest import TEST_CONFIG, call_simulator, connected
from tests.support.app_process import AppProcess
from tests.support.ari_client import Ari
from tests.support.leak_scan import leaks
from tests.support.reference_core import ReferenceCoreThread, Seen
from tests.test_real_bank import TEXTS, digits_from_words, heard, said, together, words_after

pytestmark = pytest.mark.asterisk

SETTINGS = load_settings(TEST_CONFIG, resolve_secrets=False, env={})
WEBSERVICE_LINE = "111"
# The demo customer whose secrets occur nowhere else (adapters/demo.py).
PIN, BORN_TYPED, BORN_ISO = "271828", "19081947", "1947-08-19"
WRONG_PIN = "271829"
LOCKED_NUMBER = "87654321"  # the lock test's customer


@pytest.fixture
def core() -> Iterator[ReferenceCoreThread]:
    server = started_core()
    yield server
    server.stop()


@pytest.fixture
def store() -> Store:
    return Store(SETTINGS.state)


async def calls_at_once(simulator: CallSimulator, line: str, *keys: str) -> list[Transcript]:
    return await asyncio.gather(
        *(
            simulator.call(line, k.split(), quiet_gap=0.3, timeout=120, hangup_after=1.0)
            for k in keys
        )
    )


def calls(simulator: CallSimulator, line: str, *keys: str) -> list[Transcript]:
    return asyncio.run(calls_at_once(simulator, line, *keys))


def started_core() -> ReferenceCoreThread:
    server = ReferenceCoreThread(
        DemoSettings(database=Path("/tmp/infolinia-tests/demo-bank.sqlite"), tenant="webservice")
    ).start()
    server.core.bank.reset()
    return server


# Tests whose calls cannot disturb each other run them at once, in a round
# that a module fixture places (with a reference core of its own); each test
# then asserts on its own transcripts and on what was measured when its calls
# were over. The restart test runs alone: it kills the app.


@dataclass
class Heard:
    transcripts: list[Transcript]
    bank_asked_before_lock: int = -1  # requests about the lock test's number, first two calls
    bank_asked_when_locked: int = -1  # requests about it in the last call
    left_out: int = -1  # log entries: customer text left out


async def secrets_calls(simulator: CallSimulator) -> Heard:
    staszow = DemoBank(DemoSettings(**SETTINGS.tenants["staszow"].adapter.settings))
    staszow.reset()
    transcripts = await asyncio.gather(
        *(
            simulator.call(line, keys.split(), quiet_gap=0.3, timeout=120, hangup_after=1.0)
            for line, keys in (
                (WEBSERVICE_LINE, f"2 31415926 {PIN}# 1"),  # balance and history
                # a wrong PIN, then the date of birth; internet banking
                (WEBSERVICE_LINE, f"1 31415926 {WRONG_PIN}# 31415926 * {BORN_TYPED} 2 1"),
                ("102", f"1 31415926 * {BORN_TYPED} 1 1 1"),  # a card, on another bank
            )
        )
    )
    return Heard(transcripts)


def about(seen: list[Seen], number: str) -> list[Seen]:
    """The core's requests about one customer number (in the path or the body)."""
    return [
        s for s in seen if number in s.path.split("/") or s.body.get("customer_number") == number
    ]


async def lock_calls(simulator: CallSimulator, core: ReferenceCoreThread) -> Heard:
    number = LOCKED_NUMBER
    [first] = await calls_at_once(  # three: the call ends
        simulator, WEBSERVICE_LINE, f"2 {number} 0000# {number} 0001# {number} 0002#"
    )
    [second] = await calls_at_once(  # the fifth in a row locks
        simulator, WEBSERVICE_LINE, f"2 {number} 0003# {number} 0004#"
    )
    asked = len(about(core.core.seen, number))
    [locked] = await calls_at_once(simulator, WEBSERVICE_LINE, f"2 {number} 4321#")  # right PIN
    return Heard(
        [first, second, locked],
        bank_asked_before_lock=asked,
        bank_asked_when_locked=len(about(core.core.seen, number)) - asked,
    )


@pytest.fixture(scope="module")
def secrets_and_lock(
    app: AppProcess, ari: Ari, sandbox: Sandbox
) -> dict[str, Heard | BaseException]:
    """The secrets test's three calls (customer 31415926) while the lock test's
    calls guess the telekod of 87654321 on the same webservice bank."""
    connected(app, ari)
    simulator = call_simulator(sandbox)
    guard = LoginGuard(Store(SETTINGS.state), SETTINGS.security)
    guard.unlock("webservice", LOCKED_NUMBER)
    server = started_core()
    try:
        return asyncio.run(
            together(secrets=secrets_calls(simulator), lock=lock_calls(simulator, server))
        )
    finally:
        server.stop()
        guard.unlock("webservice", LOCKED_NUMBER)


def test_pins_and_birth_dates_reach_no_log_and_no_file(
    live_app: AppProcess, sandbox: Sandbox, secrets_and_lock: dict[str, Heard | BaseException]
) -> None:
    """Right and wrong telekods, and a date of birth, typed on two banks (one
    of them over the webservice); then every file the system wrote is searched."""
    transcripts = heard(secrets_and_lock, "secrets").transcripts
    assert TEXTS["balance_is"] in said(transcripts[0])
    assert TEXTS["ib_blocked"] in said(transcripts[1])
    assert TEXTS["card_blocked"] in said(transcripts[2])
    time.sleep(0.5)  # logs flushed
    secrets = [PIN, WRONG_PIN, BORN_TYPED, BORN_ISO, "19.08.1947"]
    places = [
        live_app.log_path.parent,  # the app's log
        Path(SETTINGS.state).parent,  # state store (a file here), demo bank, test data
        SETTINGS.voice.cache_dir,  # rendered prompts and live speech
        sandbox.root / "var" / "log" / "asterisk",  # Asterisk's logs and CDRs
        sandbox.root / "var" / "spool" / "asterisk",
        sandbox.root / "var" / "lib" / "asterisk",
    ]
    assert leaks(places, secrets) == []
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
    store: Store, secrets_and_lock: dict[str, Heard | BaseException]
) -> None:
    """Three wrong telekods in one call, two in the next: the fifth locks, and
    a third call with the right telekod is refused without asking the bank
    about that customer (another caller uses the same bank meanwhile)."""
    calls = heard(secrets_and_lock, "lock")
    first, second, locked = calls.transcripts
    assert said(first)[-1] == TEXTS["too_many_failures"]
    assert said(second)[-1] == TEXTS["too_many_failures"]
    assert TEXTS["balance_is"] not in said(locked)
    assert said(locked)[-1] == TEXTS["too_many_failures"]
    assert calls.bank_asked_before_lock >= 5  # each wrong telekod was the bank's to judge
    assert calls.bank_asked_when_locked == 0  # the bank was not even asked
    results = [
        e.result
        for e in AuditLog(store).entries(tenant="webservice", limit=10_000)
        if e.action == "authenticate" and e.customer == "*****321"
    ]
    assert results[-6:] == ["refused"] * 5 + ["locked"]


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


@contextlib.contextmanager
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


async def slow_core_calls(simulator: CallSimulator) -> Heard:
    return Heard(await calls_at_once(simulator, WEBSERVICE_LINE, "2 12345678 1234#"))


async def full_disk_calls(simulator: CallSimulator, app: AppProcess) -> Heard:
    DemoBank(DemoSettings(**SETTINGS.tenants["izbica"].adapter.settings)).reset()
    transcripts = await calls_at_once(simulator, "100", "2 87654321 4321# 1")  # one: Żabka
    left_out = app.count(lambda e: e.get("event") == "customer text could not be spoken; left out")
    return Heard(transcripts, left_out=left_out)


@pytest.fixture(scope="module")
def slow_core_and_full_disk(
    app: AppProcess, ari: Ari, sandbox: Sandbox
) -> dict[str, Heard | BaseException]:
    """A balance call to the webservice bank while its core answers slowly, and
    a history call to Izbica (demo core, no delay) while the disk is full; the
    first call reads no history, so it speaks no customer text."""
    connected(app, ari)
    simulator = call_simulator(sandbox)
    server = started_core()
    server.core.faults.delay = 1.5  # longer than security.filler_after, within the timeouts
    try:
        with full_live_disk():
            return asyncio.run(
                together(
                    slow_core=slow_core_calls(simulator),
                    full_disk=full_disk_calls(simulator, app),
                )
            )
    finally:
        server.stop()


def test_a_slow_core_makes_the_caller_hear_please_wait_not_silence(
    slow_core_and_full_disk: dict[str, Heard | BaseException],
) -> None:
    [transcript] = heard(slow_core_and_full_disk, "slow_core").transcripts
    spoken = said(transcript)
    assert TEXTS["please_wait"] in spoken
    assert spoken.index(TEXTS["please_wait"]) < spoken.index(TEXTS["balance_is"])


def test_a_full_disk_leaves_out_the_names_and_nothing_else(
    slow_core_and_full_disk: dict[str, Heard | BaseException],
) -> None:
    """Counterparty names are synthesized per call; with no room for them the
    caller still hears the history (amounts, dates, directions), no apology."""
    calls = heard(slow_core_and_full_disk, "full_disk")
    [transcript] = calls.transcripts
    spoken = said(transcript)
    history = spoken[spoken.index(TEXTS["history_intro"]) + 1 :]
    assert history.count(TEXTS["operation_out"]) == 1
    assert "(spoken live)" not in history and TEXTS["apology"] not in spoken
    assert calls.left_out >= 1
